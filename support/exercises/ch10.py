"""Exercises for chapter 10, "NF4, ternary and other non-uniform codes".

Reference answers are computed with :mod:`support.quant.codebooks`, :mod:`support.quant.uniform`
and :mod:`support.metrics`, so that a question cannot disagree with the chapter.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import norm

from support.exercises import Array, Choice, Explain, Function, Number, Question
from support.metrics import sqnr_db
from support.quant.codebooks import NF4, NF4_OFFSET, quantize_blockwise
from support.quant.uniform import quantize

# Q1: bits per parameter of NF4 with double quantization
_DQ1 = 4 + 8 / 64 + 32 / (64 * 256)

# Q2: bitsandbytes' end probability
_DELTA2 = ((1 - 1 / (2 * 15)) + (1 - 1 / (2 * 16))) / 2


# Q3: a NormalFloat table with any number of positive and negative levels
def _normal_float_table(n_pos, n_neg, offset):
    """n_pos positive and n_neg negative normal quantiles from `offset` towards 1/2, and 0, scaled to max 1."""
    positive = norm.ppf(np.linspace(offset, 0.5, n_pos + 1)[:-1])
    negative = -norm.ppf(np.linspace(offset, 0.5, n_neg + 1)[:-1])
    levels = np.sort(np.concatenate([negative, [0.0], positive]))
    return levels / levels.max()


def _table_equal_probability(n_pos, n_neg, offset):      # the naive quantile table: no zero, no offset
    n = n_pos + n_neg + 1
    levels = norm.ppf((np.arange(n) + 0.5) / n)
    return levels / levels.max()


def _table_keeps_endpoint(n_pos, n_neg, offset):         # keeps linspace's end point 1/2: a second zero
    positive = norm.ppf(np.linspace(offset, 0.5, n_pos + 1))
    negative = -norm.ppf(np.linspace(offset, 0.5, n_neg + 1))
    levels = np.sort(np.concatenate([negative, positive]))
    return levels / levels.max()


def _table_unscaled(n_pos, n_neg, offset):               # forgets to divide by the largest level
    return _normal_float_table(n_pos, n_neg, offset) * norm.ppf(offset)


def _table_no_zero(n_pos, n_neg, offset):               # forgets the exact zero
    levels = _normal_float_table(n_pos, n_neg, offset)
    return levels[levels != 0]


_TABLE_CASES = [((8, 7, NF4_OFFSET), _normal_float_table(8, 7, NF4_OFFSET)),
                ((4, 3, 0.95), _normal_float_table(4, 3, 0.95)),
                ((2, 1, 0.9), _normal_float_table(2, 1, 0.9)),
                ((16, 15, 0.99), _normal_float_table(16, 15, 0.99)),
                ((3, 3, 0.8), _normal_float_table(3, 3, 0.8))]
_NF4_MATCH3 = float(np.abs(_normal_float_table(8, 7, NF4_OFFSET) - NF4).max())

# Q4: share of Gaussian weights that absmean ternary sets to 0
_P0_4 = 2 * norm.cdf(math.sqrt(1 / (2 * math.pi))) - 1
_SIGMA_HALF4 = 2 * norm.cdf(0.5) - 1                    # threshold sigma/2 instead of gamma/2
_GAMMA4 = 2 * norm.cdf(math.sqrt(2 / math.pi)) - 1      # threshold gamma instead of gamma/2


# Q5: the entropy of a code stream
def _entropy_bits(codes):
    """Empirical entropy of the values in `codes`, in bits per code."""
    _, counts = np.unique(np.asarray(codes).ravel(), return_counts=True)
    p = counts / counts.sum()
    return float(-(p * np.log2(p)).sum())


def _entropy_nats(codes):                                # natural logarithm
    _, counts = np.unique(np.asarray(codes).ravel(), return_counts=True)
    p = counts / counts.sum()
    return float(-(p * np.log(p)).sum())


def _log2_distinct(codes):                               # the bound, not the entropy
    return math.log2(np.unique(np.asarray(codes)).size)


def _entropy_unnormalised(codes):                        # counts instead of probabilities
    _, counts = np.unique(np.asarray(codes).ravel(), return_counts=True)
    return float(-(counts * np.log2(counts)).sum())


_RNG5 = np.random.default_rng(5)
_ENTROPY_CASES = [(([0, 0, 1, 1],), 1.0), (([7, 7, 7],), 0.0), (([-1, 0, 1, 0],), 1.5),
                  ((np.arange(16),), 4.0),
                  ((np.array([[1, 1], [2, 3]]),), 1.5)]
_ternary5 = _RNG5.choice([-1, 0, 1], size=1000, p=[0.35, 0.3, 0.35]).astype(np.int8)
_ENTROPY_CASES.append(((_ternary5,), _entropy_bits(_ternary5)))

# Q6: binary SQNR of Gaussian weights
_BIN6 = -10 * math.log10(1 - 2 / math.pi)

# Q7: experiment: NF4 vs INT4 on a real feed-forward output layer
_REAL7 = "encoder.layer.2.output.dense.weight"


def _real_weight():
    from safetensors.numpy import load_file

    from support.models import model_path

    return load_file(model_path() / "model.safetensors")[_REAL7]


_W7 = _real_weight()
_NF4_7 = sqnr_db(_W7, quantize_blockwise(_W7, NF4, block_size=64).dequantize())
_INT4_7 = sqnr_db(_W7, quantize(_W7, 4, group_size=64, scale_dtype="float32").dequantize())
_GAP7 = _NF4_7 - _INT4_7
_ROW7 = sqnr_db(_W7, quantize(_W7, 4, axis=0, scale_dtype="float32").dequantize())

# Q8: multiplications of a ternary matrix-vector product
_ROWS8, _COLS8 = 1536, 384

QUESTIONS = [
    Question(
        title="Bits per parameter with double quantization",
        checker=Number(_DQ1, rtol=1e-4),
        hints=[
            "Without double quantization: 4 bits of code plus one float32 scale per 64 values.",
            "With it, each scale is an 8-bit code, and every 256 scales share one float32 scale of their own.",
        ],
        solution_text=(
            f"$4 + 8/64 + 32/(64 \\cdot 256) = {_DQ1:.6f}$ bits, against $4 + 32/64 = 4.5$: a saving of "
            f"{4.5 - _DQ1:.3f} bit per parameter (the one float32 mean of the scales is negligible).\n\n"
            "```python\nimport numpy as np\nfrom support.quant.codebooks import NF4, quantize_blockwise\n"
            "w = np.random.default_rng(0).normal(size=64 * 256 * 8)\n"
            "print(quantize_blockwise(w, NF4, double_quant=True).bits_per_value)\n```"
        ),
        reference=_DQ1,
        wrong=[4.5, 4.125, 4 + 8 / 64 + 32 / 256, 4.0],
    ),
    Question(
        title="Where NF4's end probability comes from",
        checker=Number(_DELTA2, rtol=1e-6),
        hints=[
            "With $n$ equal slices of probability, the centre of the last slice is at $1 - \\frac{1}{2n}$.",
            "Average that for $n = 15$ and $n = 16$.",
        ],
        solution_text=(
            f"$\\frac12\\left[(1 - \\frac{{1}}{{30}}) + (1 - \\frac{{1}}{{32}})\\right] = {_DELTA2:.7f}$, the "
            f"`offset={NF4_OFFSET}` of bitsandbytes' `create_normal_map`."
        ),
        reference=_DELTA2,
        wrong=[1 - 1 / 30, 1 - 1 / 32, 1 - 1 / 64, 0.99],
    ),
    Question(
        title="Write a NormalFloat table with any number of levels",
        checker=Function(_TABLE_CASES, compare=lambda expected: Array(expected, rtol=0, atol=2e-6)),
        hints=[
            "`np.linspace(offset, 0.5, n_pos + 1)` gives n_pos + 1 probabilities; drop the last (0.5 would give a "
            "second zero) and map them through `scipy.stats.norm.ppf`.",
            "Do the same with n_neg for the negative side (with a minus sign), add one 0, sort, and divide by the "
            "largest level.",
        ],
        solution_text=(
            "```python\nimport numpy as np\nfrom scipy.stats import norm\n\n"
            "def normal_float_table(n_pos, n_neg, offset):\n"
            "    positive = norm.ppf(np.linspace(offset, 0.5, n_pos + 1)[:-1])\n"
            "    negative = -norm.ppf(np.linspace(offset, 0.5, n_neg + 1)[:-1])\n"
            "    levels = np.sort(np.concatenate([negative, [0.0], positive]))\n"
            "    return levels / levels.max()\n```\n\n"
            f"With (8, 7, 0.9677083) it gives NF4 to within {_NF4_MATCH3:.1e}: bitsandbytes computes the `linspace` "
            "in float32 with torch, which differs from numpy's float64 in the last bits. (4, 3, δ) is a 3-bit "
            "NormalFloat with 8 levels."
        ),
        reference=_normal_float_table,
        wrong=[_table_equal_probability, _table_keeps_endpoint, _table_unscaled, _table_no_zero],
    ),
    Question(
        title="How many Gaussian weights become 0 in ternary",
        checker=Number(_P0_4, atol=5e-4),
        hints=[
            "Absmean: $\\gamma = E|w| = \\sigma\\sqrt{2/\\pi}$ for $w \\sim N(0, \\sigma^2)$.",
            "A weight rounds to 0 when $|w/\\gamma| < 1/2$, i.e. $|w| < \\gamma/2$.",
        ],
        solution_text=(
            "$P(|w| < \\gamma/2) = 2\\Phi\\left(\\frac{\\sqrt{2/\\pi}}{2}\\right) - 1 = 2\\Phi(1/\\sqrt{2\\pi}) - 1 = "
            f"{_P0_4:.4f}$.\n\n"
            "```python\nimport math\nfrom scipy.stats import norm\n"
            "print(2 * norm.cdf(math.sqrt(1 / (2 * math.pi))) - 1)\n```"
        ),
        reference=_P0_4,
        wrong=[_SIGMA_HALF4, _GAMMA4, 1 / 3, 0.5],
    ),
    Question(
        title="Write the entropy of a code stream",
        checker=Function(_ENTROPY_CASES, compare=lambda expected: Number(expected, atol=1e-9)),
        hints=[
            "Count how often each distinct value occurs (`np.unique(..., return_counts=True)`) and divide by the "
            "total: the frequencies $p_k$.",
            "$H = -\\sum_k p_k \\log_2 p_k$, in bits; accept any array shape.",
        ],
        solution_text=(
            "```python\nimport numpy as np\n\ndef entropy_bits(codes):\n"
            "    _, counts = np.unique(np.asarray(codes).ravel(), return_counts=True)\n"
            "    p = counts / counts.sum()\n"
            "    return float(-(p * np.log2(p)).sum())\n```\n\n"
            "It is the bits per code an ideal entropy coder needs; it reaches $\\log_2 k$ only when all $k$ codes "
            "are equally frequent."
        ),
        reference=_entropy_bits,
        wrong=[_entropy_nats, _log2_distinct, _entropy_unnormalised],
    ),
    Question(
        title="The SQNR of binary weights",
        checker=Number(_BIN6, atol=0.005),
        hints=[
            "With $s = E|w|$ the error power is $E[w^2] - s^2$.",
            "For $w \\sim N(0, \\sigma^2)$, $E|w| = \\sigma\\sqrt{2/\\pi}$.",
        ],
        solution_text=(
            "The error power is $\\sigma^2 - \\sigma^2 \\cdot 2/\\pi$, so SQNR $= -10\\log_{10}(1 - 2/\\pi) = "
            f"{_BIN6:.3f}$ dB for any σ; it is the 1-bit Lloyd-Max quantizer.\n\n"
            "```python\nimport numpy as np\nfrom support.metrics import sqnr_db\n"
            "from support.quant.codebooks import binary_quantize\n"
            "w = np.random.default_rng(0).normal(size=1_000_000)\n"
            "signs, s = binary_quantize(w)\nprint(sqnr_db(w, s * signs))\n```"
        ),
        reference=_BIN6,
        wrong=[20 * math.log10(2), -10 * math.log10(2 / math.pi), 10 * math.log10(2)],
    ),
    Question(
        title="Experiment: NF4 against INT4 on a real layer",
        checker=Number(_GAP7, atol=0.02),
        hints=[
            "Read the weight with `load_file(model_path() / 'model.safetensors')['encoder.layer.2.output.dense.weight']`.",
            "NF4: `quantize_blockwise(w, NF4, block_size=64).dequantize()`; INT4: "
            "`quantize(w, 4, group_size=64, scale_dtype='float32').dequantize()`; compare each with `sqnr_db(w, ...)`.",
        ],
        solution_text=(
            f"NF4 {_NF4_7:.2f} dB, INT4 {_INT4_7:.2f} dB: NF4 gains {_GAP7:.2f} dB, more than on Gaussian data, because "
            "this heavy-tailed layer squeezes most blocks' values towards 0, where NF4 has fine levels. (INT4 with "
            f"one scale per row instead of per 64 values: {_ROW7:.2f} dB.)\n\n"
            "```python\nfrom safetensors.numpy import load_file\nfrom support.metrics import sqnr_db\n"
            "from support.models import model_path\nfrom support.quant.codebooks import NF4, quantize_blockwise\n"
            "from support.quant.uniform import quantize\n"
            "w = load_file(model_path() / 'model.safetensors')['encoder.layer.2.output.dense.weight']\n"
            "nf4 = sqnr_db(w, quantize_blockwise(w, NF4, block_size=64).dequantize())\n"
            "int4 = sqnr_db(w, quantize(w, 4, group_size=64, scale_dtype='float32').dequantize())\n"
            "print(nf4 - int4)\n```"
        ),
        reference=_GAP7,
        wrong=[_NF4_7, _INT4_7, -_GAP7, _NF4_7 - _ROW7],
    ),
    Question(
        title="Multiplications in a ternary matrix-vector product",
        checker=Number(_ROWS8),
        hints=[
            "Each weight is $\\gamma$ times $-1$, 0 or $+1$, with one $\\gamma$ for the whole matrix.",
            "Inside a row, adding or subtracting an input needs no multiplication; when is $\\gamma$ applied?",
        ],
        solution_text=(
            f"$y_i = \\gamma \\left(\\sum_{{j: \\tilde w_{{ij}} = 1}} x_j - \\sum_{{j: \\tilde w_{{ij}} = -1}} x_j\\right)$: "
            f"one multiplication per output, {_ROWS8} in all, against {_ROWS8 * _COLS8} multiply-adds for a dense "
            "float matrix. The zeros are skipped, so the additions are about 70 % of the weights."
        ),
        reference=_ROWS8,
        wrong=[_ROWS8 * _COLS8, 0, _COLS8, round(0.69 * _ROWS8 * _COLS8)],
    ),
    Question(
        title="Why plain k-means loses to NF4 on heavy-tailed layers",
        checker=Choice(
            "b",
            options={
                "a": "Lloyd's algorithm does not converge on heavy-tailed data.",
                "b": "It treats every block alike, but a block's errors count in proportion to its absmax squared, and "
                     "the few blocks with an outlier have their other values squeezed near 0, where plain k-means "
                     "has no level.",
                "c": "NF4 has more levels than a 4-bit k-means codebook.",
                "d": "k-means levels cannot be stored in 4 bits.",
            },
            feedback={
                "a": "It converges; the chapter's fits all do. The objective is the problem, not the algorithm.",
                "c": "Both have 16 levels.",
                "d": "The codes are 4-bit indices in both cases; only the 16-entry table differs.",
            },
        ),
        hints=["Write the error of one weight as its block's scale times the error of its normalised value.",
               "Which blocks dominate the sum of squared errors?"],
        solution_text=(
            "$w - \\hat w = s_b (w/s_b - c_q)$: the tensor's squared error weights each block by $s_b^2$. Fitting the "
            "normalised values with equal weight optimises a different objective; weighting the samples by $s_b^2$ "
            "(`kmeans_codebook(..., weights=absmax**2)`) fixes it, and the fitted table then finds a level near 0 "
            "by itself."
        ),
        reference="b",
        wrong=["a", "c", "d"],
    ),
    Question(
        title="What NF4 is",
        checker=Choice(
            "c",
            options={
                "a": "The 16 equal-probability quantiles of a standard normal, divided by the largest.",
                "b": "The MSE-optimal (Lloyd-Max) 16-level quantizer for normal data.",
                "c": "8 positive and 7 negative normal quantiles, from an end probability of 0.9677083 towards 1/2, "
                     "plus an exact zero, divided by the largest.",
                "d": "A 4-bit float with 2 exponent bits and 1 mantissa bit.",
            },
            feedback={
                "a": "That table is symmetric and has no zero; every one of its entries differs from NF4's.",
                "b": "k-means (Lloyd) finds a table with a lower MSE than NF4 on the same data.",
                "d": "That is E2M1 (OCP FP4), or bitsandbytes' FP4, a different table.",
            },
        ),
        hints=["Count NF4's positive and negative levels.", "Is 0 one of its levels?"],
        solution_text=(
            "`create_normal_map(offset=0.9677083, use_extra_value=True)`: "
            "$\\Phi^{-1}$ of `linspace(δ, 0.5, 9)[:-1]` and of `linspace(δ, 0.5, 8)[:-1]` (negated), plus 0, divided "
            "by the largest."
        ),
        reference="c",
        wrong=["a", "b", "d"],
    ),
    Question(
        title="Is BitNet b1.58 stored in 1.58 bits per weight?",
        checker=Explain(
            model_answer=(
                "1.58 is log2(3), the information content of one of three equally likely values. Absmean ternary codes "
                "of Gaussian-like weights are nearly equally likely (entropy about 1.58 bits), so an ideal entropy "
                "coder would need about that. Real storage is coarser: one ternary code alone takes 2 bits, and "
                "packing five codes per byte (3^5 = 243 <= 256) gives 1.6 bits; the per-tensor scale adds almost "
                "nothing. The name describes the information, not the memory layout."
            ),
            key_points=[
                "1.58 = log2 3",
                "equals the entropy only if the three codes are equally likely",
                "2 bits per code stored alone",
                "5 trits per byte: 1.6 bits",
            ],
        ),
        hints=["What is log2 3?", "How many ternary values fit in one byte?"],
        solution_text=(
            "$\\log_2 3 \\approx 1.585$ is a bound reached only by an ideal code over equally likely values; byte "
            "packing gives 8/5 = 1.6 bits, the simple layout 2 bits."
        ),
        reference=(
            "1.58 is log2 3, the entropy of three equally likely codes; stored, a ternary weight takes 2 bits, or 1.6 "
            "with five per byte."
        ),
    ),
]
