"""Exercises for chapter 09, "The mathematics of quantization error".

Reference answers are computed with :mod:`support.quant.theory`, :mod:`support.quant.codebooks`,
:mod:`support.quant.uniform` and :mod:`support.metrics`, so that a question cannot disagree with
the chapter.
"""

from __future__ import annotations

import math

import numpy as np

from support.exercises import Choice, Explain, Function, Number, Question
from support.metrics import sqnr_db
from support.quant.codebooks import lloyd_max
from support.quant.theory import clipping_mse, optimal_clip, quantizer_mse, uniform_levels
from support.quant.uniform import quantize

# Q1: the theoretical SQNR of 3-bit uniform quantization (full-scale uniform signal, 8 levels)
_SQNR1 = -10 * math.log10(quantizer_mse(uniform_levels(3, math.sqrt(3), grid="midrise"), "uniform"))
_SINE1 = 20 * 3 * math.log10(2) + 10 * math.log10(1.5)          # the full-scale sine formula
_SEVEN1 = 20 * math.log10(2**3 - 2)                              # 7 levels, symmetric grid
_FOUR1 = 20 * 4 * math.log10(2)

# Q2: Δ²/12 for a step of 0.01
_STEP2 = 0.01
_MSE2 = _STEP2**2 / 12

# Q3: 8-bit symmetric absmax, Gaussian with amax = 4 sigma, from the noise model
_LOAD3 = 4.0
_SQNR3 = 10 * math.log10(12 * (2**7 - 1) ** 2 / _LOAD3**2)
_MIDRISE3 = 6.0206 * 8 + 4.7712 - 20 * math.log10(_LOAD3)        # the 2**b-cell formula


# Q4: the SQNR model as a function
def _sqnr_model(bits, loading):
    """SQNR (dB) of a symmetric b-bit grid clipped at `loading` standard deviations, by Δ²/12."""
    step = loading / (2 ** (bits - 1) - 1)
    return 10 * math.log10(12 / step**2)


def _sqnr_midrise(bits, loading):                # 2**b cells: a different grid
    return 10 * math.log10(12 / (2 * loading / 2**bits) ** 2)


def _sqnr_no_twelve(bits, loading):              # noise Δ² instead of Δ²/12
    return 10 * math.log10(1 / (loading / (2 ** (bits - 1) - 1)) ** 2)


def _sqnr_per_bit(bits, loading):                # 6.02 dB per bit, no loading factor
    return 6.02 * bits


def _sqnr_power(bits, loading):                  # 20 log10 of a power ratio
    return 20 * math.log10(12 / (loading / (2 ** (bits - 1) - 1)) ** 2)


_GAP4 = {b: _sqnr_model(b, 5.0) + 10 * math.log10(quantizer_mse(uniform_levels(b, 5.0))) for b in (2, 4, 8, 12)}
_MODEL_CASES = [((bits, load), _sqnr_model(bits, load)) for bits, load in
                ((8, 4.0), (4, 2.5), (3, 1.0), (16, 6.0), (2, 1.2))]

# Q5: Lloyd-Max 2-bit MSE for N(0, 1)
_LM5 = lloyd_max(bits=2).mse
_UNIFORM5 = optimal_clip(2, "normal", grid="midrise").mse

# Q6: the 2-bit Laplace optimum, by hand
_LAPLACE6 = optimal_clip(2, "laplace").clip

# Q7: an experiment: the MSE-optimal clipping ratio for Laplace data at 4 bits
_OPT7 = optimal_clip(4, "laplace")
_NORMAL7 = optimal_clip(4, "normal").clip
_RNG7 = np.random.default_rng(0)
_SAMPLE7 = _RNG7.laplace(0.0, 1 / math.sqrt(2), 200_000)
_ABSMAX7 = float(np.abs(_SAMPLE7).max())


# Q8: error through L orthogonal layers
def _depth_error(r, layers):
    """Relative error after `layers` orthogonal layers that each add noise power r (of their input)."""
    return math.sqrt((1 + r) ** layers - 1)


def _depth_linear(r, layers):                    # adds noise power without compounding
    return math.sqrt(r * layers)


def _depth_amplitude(r, layers):                 # adds amplitudes instead of powers
    return math.sqrt(r) * layers


def _depth_power(r, layers):                     # forgets the square root
    return (1 + r) ** layers - 1


_DEPTH_CASES = [((r, L), _depth_error(r, L)) for r, L in ((0.0315, 12), (1e-4, 12), (0.5, 3), (0.01, 100))]

# Q9: the real weight: 4-bit per-row SQNR
_REAL = "encoder.layer.0.output.dense.weight"


def _real_weight():
    from safetensors.numpy import load_file

    from support.models import model_path

    return load_file(model_path() / "model.safetensors")[_REAL]


_W9 = _real_weight()
_ROW9 = sqnr_db(_W9, quantize(_W9, 4, axis=0, scale_dtype="float32").dequantize())
_TENSOR9 = sqnr_db(_W9, quantize(_W9, 4, scale_dtype="float32").dequantize())
_COL9 = sqnr_db(_W9, quantize(_W9, 4, axis=1, scale_dtype="float32").dequantize())
_MODEL9 = float(np.mean([_sqnr_model(4, float(np.abs(r).max() / np.sqrt(np.mean(r**2)))) for r in _W9]))

QUESTIONS = [
    Question(
        title="The theoretical SQNR of 3-bit uniform quantization",
        checker=Number(_SQNR1, atol=0.01),
        hints=[
            "Signal: uniform on $[-A, A]$, power $A^2/3$. Quantizer: $2^3 = 8$ cells of width $\\Delta = 2A/8$.",
            "Noise power $\\Delta^2/12$. SQNR $= 10 \\log_{10}(\\text{signal}/\\text{noise})$.",
        ],
        solution_text=(
            "$\\Delta = 2A/2^b$, noise $\\Delta^2/12 = A^2/(3 \\cdot 4^b)$, signal $A^2/3$, so SQNR $= 10\\log_{10} 4^b "
            f"= 6.02\\,b$ dB $= {_SQNR1:.2f}$ dB for $b = 3$. (A full-scale sine wave gives {_SINE1:.2f} dB; a symmetric "
            f"grid with 7 levels, {_SEVEN1:.2f} dB.)\n\n"
            "```python\nimport math\nfrom support.quant.theory import quantizer_mse, uniform_levels\n"
            "levels = uniform_levels(3, math.sqrt(3), grid='midrise')   # unit-variance uniform data\n"
            "print(-10 * math.log10(quantizer_mse(levels, 'uniform')), 20 * 3 * math.log10(2))\n```"
        ),
        reference=_SQNR1,
        wrong=[_SINE1, _SEVEN1, _FOUR1, 6.02],
    ),
    Question(
        title="The noise power of a step of 0.01",
        checker=Number(_MSE2, rtol=1e-6),
        hints=["The error is spread evenly over $[-\\Delta/2, \\Delta/2]$.", "$\\int_{-\\Delta/2}^{\\Delta/2} e^2 / \\Delta \\, de$."],
        solution_text=(
            f"$\\Delta^2/12 = 10^{{-4}}/12 = {_MSE2:.4g}$: the variance of a uniform distribution of width $\\Delta$."
        ),
        reference=_MSE2,
        wrong=[_STEP2**2 / 4, _STEP2 / 12, _STEP2**2 / 6, _STEP2**2],
    ),
    Question(
        title="The SQNR of 8-bit absmax quantization of Gaussian data",
        checker=Number(_SQNR3, atol=0.01),
        hints=[
            "Symmetric 8-bit grid: the step is $\\Delta = \\mathrm{amax}/127 = 4\\sigma/127$.",
            "SQNR $= 10\\log_{10}(\\sigma^2 / (\\Delta^2/12))$.",
        ],
        solution_text=(
            f"$\\Delta = 4\\sigma/127$, so SQNR $= 10 \\log_{{10}}(12 \\cdot 127^2 / 16) = {_SQNR3:.2f}$ dB, about "
            f"{6.0206 * 8 - _SQNR3:.1f} dB below the $6.02 b$ of a full-scale uniform signal: the Gaussian uses only a "
            "small part of the range it reserves for its tails. (The $6.02b + 4.77 - 20\\log_{10}(c/\\sigma)$ formula "
            f"assumes $2^b$ cells, which gives {_MIDRISE3:.2f} dB.)"
        ),
        reference=_SQNR3,
        wrong=[8 * 6.0206, _MIDRISE3, 10 * math.log10(12 * 127**2 / 4)],
    ),
    Question(
        title="Write the SQNR model of a clipped uniform grid",
        checker=Function(_MODEL_CASES, compare=lambda expected: Number(expected, rtol=1e-9)),
        hints=[
            "The symmetric grid has levels $k\\Delta$, $|k| \\le 2^{b-1} - 1$, and the largest level is the clipping range.",
            "So $\\Delta = c / (2^{b-1} - 1)$ in units of $\\sigma$; the SQNR is $10\\log_{10}(1 / (\\Delta^2/12))$.",
        ],
        solution_text=(
            "```python\nimport math\n\ndef sqnr_model(bits, loading):\n"
            "    step = loading / (2 ** (bits - 1) - 1)\n"
            "    return 10 * math.log10(12 / step**2)\n```\n\n"
            "It ignores clipping and assumes $\\Delta^2/12$. Against the exact integral for normal data with "
            f"$c = 5\\sigma$ it is off by {_GAP4[4]:.3f} dB at 4 bits and {_GAP4[8]:.3f} dB at 8, but by "
            f"{_GAP4[12]:.2f} dB at 12 bits, where the clipped tail beyond $5\\sigma$ starts to dominate the shrinking "
            f"rounding error, and by {abs(_GAP4[2]):.1f} dB at 2 bits, where $\\Delta^2/12$ fails."
        ),
        reference=_sqnr_model,
        wrong=[_sqnr_midrise, _sqnr_no_twelve, _sqnr_per_bit, _sqnr_power],
    ),
    Question(
        title="The Lloyd-Max 2-bit MSE for N(0, 1)",
        checker=Number(_LM5, rtol=5e-4),
        hints=[
            "Lloyd-Max alternates two conditions: thresholds at midpoints, levels at the centroids of their cells.",
            "`support.quant.codebooks.lloyd_max(bits=2)` runs it with exact Gaussian integrals.",
        ],
        solution_text=(
            f"Levels ±{lloyd_max(bits=2).levels[2]:.4f}, ±{lloyd_max(bits=2).levels[3]:.4f}, threshold "
            f"{lloyd_max(bits=2).thresholds[2]:.4f}, MSE {_LM5:.4f} (Max 1960 prints 0.1175), against {_UNIFORM5:.4f} "
            "for the best uniform 4-level grid.\n\n"
            "```python\nfrom support.quant.codebooks import lloyd_max\nr = lloyd_max(bits=2)\nprint(r.levels, r.mse)\n```"
        ),
        reference=_LM5,
        wrong=[_UNIFORM5, lloyd_max(bits=1).mse, lloyd_max(bits=3).mse],
    ),
    Question(
        title="The 2-bit clipping optimum for Laplace data, by hand",
        checker=Number(_LAPLACE6, rtol=1e-6),
        hints=[
            "Levels $\\{-c, 0, c\\}$, thresholds $\\pm c/2$. Differentiate the MSE with respect to $c$: only the outer "
            "cells depend on it through their level.",
            "The condition is $E[(X - c);\\, X > c/2] = 0$. For a Laplace density of scale $b$, the tail beyond $t$ has "
            "mean $t + b$ (it is memoryless).",
        ],
        solution_text=(
            "$dD/dc = -4 \\int_{c/2}^\\infty (x - c)\\, p(x)\\, dx = 0$, i.e. the level $c$ is the centroid of its cell "
            "$[c/2, \\infty)$. The Laplace tail beyond $c/2$ has mean $c/2 + b$, so $c = c/2 + b$, $c = 2b$. With unit "
            f"variance $b = 1/\\sqrt 2$, so $c = \\sqrt 2 \\approx {_LAPLACE6:.4f}$ standard deviations.\n\n"
            "```python\nfrom support.quant.theory import optimal_clip\nprint(optimal_clip(2, 'laplace').clip)\n```"
        ),
        reference=_LAPLACE6,
        wrong=[1 / math.sqrt(2), 2.0, optimal_clip(2, "normal").clip],
    ),
    Question(
        title="Experiment: the MSE-optimal clipping ratio for Laplace data at 4 bits",
        checker=Number(_OPT7.clip, rtol=0.03),
        hints=[
            "Sample `x = np.random.default_rng(0).laplace(0, 1 / np.sqrt(2), 200_000)` (unit variance).",
            "For each c on a grid, quantize with `np.clip(np.rint(x / step), -7, 7) * step`, `step = c / 7`, and "
            "measure the MSE; take the c with the smallest.",
        ],
        solution_text=(
            f"The exact optimum is $c = {_OPT7.clip:.3f}\\sigma$ (SQNR {_OPT7.sqnr_db:.2f} dB); sampling finds it within a "
            f"few percent. For normal data it is {_NORMAL7:.3f}σ: heavier tails need a wider range. The absmax of the "
            f"sample, {_ABSMAX7:.1f}σ, would be far too wide.\n\n"
            "```python\nimport numpy as np\nx = np.random.default_rng(0).laplace(0, 1 / np.sqrt(2), 200_000)\n"
            "grid = np.linspace(2, 5, 121)\n"
            "mse = [np.mean((x - np.clip(np.rint(x / (c / 7)), -7, 7) * (c / 7)) ** 2) for c in grid]\n"
            "print(grid[np.argmin(mse)])\n"
            "from support.quant.theory import optimal_clip\nprint(optimal_clip(4, 'laplace'))\n```"
        ),
        reference=_OPT7.clip,
        wrong=[_NORMAL7, _ABSMAX7, math.sqrt(2)],
    ),
    Question(
        title="Write the error after L orthogonal layers",
        checker=Function(_DEPTH_CASES, compare=lambda expected: Number(expected, rtol=1e-9)),
        hints=[
            "Each layer adds noise whose power is a fraction r of the power of its (already noisy) input, independent "
            "of it; orthogonal layers keep powers unchanged.",
            "So the power of the quantized signal grows by $(1 + r)$ per layer. The relative error is the square root "
            "of (noise power / signal power).",
        ],
        solution_text=(
            "Noisy power after $L$ layers: $(1 + r)^L$ times the clean power; the noise is the excess, so the relative "
            "error is $\\sqrt{(1 + r)^L - 1} \\approx \\sqrt{L r}$ for small $r$.\n\n"
            "```python\nimport math\n\ndef depth_error(r, layers):\n    return math.sqrt((1 + r) ** layers - 1)\n```"
        ),
        reference=_depth_error,
        wrong=[_depth_linear, _depth_amplitude, _depth_power],
    ),
    Question(
        title="Experiment: a real layer at 4 bits",
        checker=Number(_ROW9, atol=0.02),
        hints=[
            "Read the weight with `load_file(model_path() / 'model.safetensors')['encoder.layer.0.output.dense.weight']` "
            "(`from safetensors.numpy import load_file`, `from support.models import model_path`).",
            "`quantize(w, 4, axis=0, scale_dtype='float32').dequantize()` gives one scale per row; compare with "
            "`sqnr_db(w, ...)`.",
        ],
        solution_text=(
            f"Per row, {_ROW9:.2f} dB; per tensor, {_TENSOR9:.2f} dB (the tensor's largest weight sets the step for "
            f"all of them); per column, {_COL9:.2f} dB. The noise model with each row's own amax/σ predicts "
            f"{_MODEL9:.2f} dB on average per row.\n\n"
            "```python\nfrom safetensors.numpy import load_file\nfrom support.models import model_path\n"
            "from support.metrics import sqnr_db\nfrom support.quant.uniform import quantize\n"
            "w = load_file(model_path() / 'model.safetensors')['encoder.layer.0.output.dense.weight']\n"
            "print(sqnr_db(w, quantize(w, 4, axis=0, scale_dtype='float32').dequantize()))\n```"
        ),
        reference=_ROW9,
        wrong=[_TENSOR9, _COL9, 4 * 6.0206],
    ),
    Question(
        title="When does the Δ²/12 model fail?",
        checker=Choice(
            "d",
            options={
                "a": "Only when the data are not Gaussian.",
                "b": "Only at 16 bits, where rounding errors of float64 dominate.",
                "c": "Never for round-to-nearest: the error is always uniform on [−Δ/2, Δ/2].",
                "d": "When the step is not small compared with the spread of the data (few bits, or data smaller than "
                     "Δ), and when values are clipped.",
            },
            feedback={
                "a": "It holds for any smooth density once the step is small; the chapter verifies it on normal and "
                     "Laplace data and on a real weight matrix.",
                "b": "At 16 bits the model is at its best.",
                "c": "The error lies in [−Δ/2, Δ/2] inside the range, but it is uniform only when the density is "
                     "nearly flat across each step; beyond the range it is unbounded (clipping).",
            },
        ),
        hints=["Think of data whose standard deviation is a third of a step.", "What is the error of a clipped value?"],
        solution_text=(
            "Bennett's condition: the density must be nearly constant across each step. With few bits, or data "
            "narrower than a step, the error follows the data (all of it rounds to 0 and the error is −x). Values "
            "beyond the clipping range add an overload error that Δ²/12 does not count."
        ),
        reference="d",
        wrong=["a", "b", "c"],
    ),
    Question(
        title="Why is the 6.02 dB per bit rule a slope and not a value?",
        checker=Explain(
            model_answer=(
                "Each extra bit halves the step Δ, which divides Δ²/12 by 4: +6.02 dB, whatever the data. The SQNR "
                "itself also depends on how the range is chosen relative to the data (the loading factor c/σ): "
                "6.02b is exact only for a uniform signal that fills the range exactly; a Gaussian clipped at its "
                "absmax, or a heavy-tailed weight matrix, sits many dB below, by 20 log10 of how far the range "
                "reaches beyond the typical value. At low bits the slope also changes, because the Δ²/12 model "
                "fails and the optimal clipping range moves with the number of bits."
            ),
            key_points=[
                "one bit halves Δ: noise /4, +6.02 dB",
                "the offset depends on the loading factor c/σ (20 log10)",
                "exact 6.02b only for a full-scale uniform signal",
                "heavy tails or absmax of many samples lower the curve",
                "at few bits the model and the slope change",
            ],
        ),
        hints=["What does one more bit do to Δ?", "What else appears in SQNR = σ² / (Δ²/12)?"],
        solution_text=(
            "SQNR $= 10\\log_{10}(12\\sigma^2/\\Delta^2)$ with $\\Delta \\propto c / 2^b$: the bits give the slope, "
            "the ratio of the range $c$ to $\\sigma$ gives the offset."
        ),
        reference=(
            "One bit halves the step and quarters the noise, +6.02 dB; the offset depends on the clipping range "
            "relative to sigma, so only a full-scale uniform signal reaches 6.02b."
        ),
    ),
]
