"""Exercises for chapter 08, "Integer quantization in practice".

Reference answers are computed with :mod:`support.quant.uniform` and :mod:`support.metrics`, so
that a question cannot disagree with the chapter.  Nothing here loads the real model (importing
this module must stay fast); the real-layer experiment of question 11 is self-checked.
"""

from __future__ import annotations

import math

import numpy as np

from support.exercises import Array, Choice, Explain, Function, Number, Question
from support.metrics import sqnr_db
from support.quant.uniform import fake_quantize, quantize, quantize_multiplier, scale_zero_point

# Q1, Q2: the six weights, symmetric INT8 with an exact scale
_SIX = np.array([-0.45, 0.12, -0.03, 0.67, -0.89, 0.34])
_Q6 = quantize(_SIX, 8, scale_dtype="float64")
_S1 = _Q6.scale.item()
_CODES2 = _Q6.codes.astype(np.int64)
_S_128 = np.abs(_SIX).max() / 128                       # divides by 2**7 instead of 2**7 - 1
_S_255 = np.abs(_SIX).max() / 255                       # as if the codes were unsigned
_S_RANGE = (_SIX.max() - _SIX.min()) / 255              # the affine scale, on a symmetric grid

# Q3: the affine zero-point of a GELU-like range
_LO3, _HI3 = -0.17, 12.0
_S3, _Z3 = (v.item() for v in scale_zero_point(np.array([_LO3, _HI3]), 8, symmetric=False,
                                                 scale_dtype="float64"))
_Z3_TRUNC = int(-_LO3 / _S3)                             # truncated instead of rounded

# Q4: bits per weight of asymmetric INT4 in groups of 64 with a float16 scale
_BPW4 = quantize(np.linspace(-1, 1, 128).reshape(1, 128), 4, symmetric=False, group_size=64).bits_per_value

# Q5: the chapter's matrix: Gaussian 8 x 256, row 0 x 10, row 1 x 0.01, one INT8 scale
_W5 = np.random.default_rng(42).normal(size=(8, 256))
_W5[0] *= 10
_W5[1] *= 0.01
_STEP5 = quantize(_W5, 8).scale.item()
_TINY5 = np.abs(_W5[1]).max()

# Q7: how many int8 products fit an int32 accumulator in the worst case
_K7 = (2**31 - 1) // (128 * 128)
_K7_RESTRICTED = (2**31 - 1) // (127 * 127)

# Q8: the shift of the requantization multiplier
_SA8, _SW8, _SY8 = 0.02, 0.005, 0.25
_M8 = _SA8 * _SW8 / _SY8
_M0_8, _SHIFT8 = (int(v) for v in quantize_multiplier(_M8))
_EXP8 = math.frexp(_M8)[1]                               # M = f * 2**exp, f in [0.5, 1)


# Q9: the zero-point correction that folds into the bias
def _correction_reference(w_codes, a_zero_point):
    return -a_zero_point * np.asarray(w_codes, dtype=np.int64).sum(axis=1)


def _correction_plus(w_codes, a_zero_point):          # forgets the minus sign
    return a_zero_point * np.asarray(w_codes, dtype=np.int64).sum(axis=1)


def _correction_wrong_axis(w_codes, a_zero_point):    # sums over output channels
    return -a_zero_point * np.asarray(w_codes, dtype=np.int64).sum(axis=0)


def _correction_int8(w_codes, a_zero_point):          # sums in int8: wraps around
    return (-a_zero_point * np.asarray(w_codes, dtype=np.int8).sum(axis=1, dtype=np.int8)).astype(np.int64)


_RNG9 = np.random.default_rng(9)
_W9 = [_RNG9.integers(-127, 128, size=shape) for shape in ((3, 5), (4, 64), (2, 1))]
_W9.append(np.full((2, 16), 127))
_CORRECTION_CASES = [((w, z), _correction_reference(w, z)) for w, z in zip(_W9, (3, 128, -7, 100))]


# Q10: output SQNR of a linear layer with quantized weights
def _output_sqnr_reference(w, x, bits, group_size):
    w = np.asarray(w, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    kwargs = {"axis": 0} if group_size is None else {"group_size": group_size}
    return sqnr_db(x @ w.T, x @ fake_quantize(w, bits, **kwargs).T)


def _output_sqnr_of_weights(w, x, bits, group_size):        # the weight SQNR instead
    w = np.asarray(w, dtype=np.float64)
    kwargs = {"axis": 0} if group_size is None else {"group_size": group_size}
    return sqnr_db(w, fake_quantize(w, bits, **kwargs))


def _output_sqnr_per_tensor(w, x, bits, group_size):        # ignores the granularity
    w, x = np.asarray(w, dtype=np.float64), np.asarray(x, dtype=np.float64)
    return sqnr_db(x @ w.T, x @ fake_quantize(w, bits).T)


def _output_sqnr_groups_of_outputs(w, x, bits, group_size):  # groups along the wrong axis
    w, x = np.asarray(w, dtype=np.float64), np.asarray(x, dtype=np.float64)
    kwargs = {"axis": 1} if group_size is None else {"group_size": group_size, "axis": 0}
    return sqnr_db(x @ w.T, x @ fake_quantize(w, bits, **kwargs).T)


def _layer_case(seed, out_features, in_features, tokens):
    rng = np.random.default_rng(seed)
    w = rng.standard_t(df=4, size=(out_features, in_features)) * 0.05
    w[:, 3] *= 8                                              # a column of large weights
    x = rng.normal(size=(tokens, in_features))
    x[:, 3] *= 20                                             # an outlier input channel
    return w, x


_LAYERS10 = [_layer_case(10, 16, 64, 40), _layer_case(11, 32, 32, 20), _layer_case(12, 8, 128, 12)]
_SQNR_CASES = [((w, x, bits, group), _output_sqnr_reference(w, x, bits, group))
               for (w, x), bits, group in zip(_LAYERS10 + _LAYERS10[:1], (4, 8, 3, 4), (32, None, 16, None))]

QUESTIONS = [
    Question(
        title="The INT8 scale of six weights",
        checker=Number(_S1, rtol=1e-9),
        hints=[
            "Symmetric INT8 maps the largest magnitude onto the largest code.",
            "The codes run from −127 to 127 (restricted range): $s = \\max_i |w_i| / 127$.",
        ],
        solution_text=(
            "The largest magnitude is $|-0.89| = 0.89$, and the largest code is $2^7 - 1 = 127$, so "
            f"$s = 0.89 / 127 = {_S1:.8f}$.\n\n"
            "```python\nimport numpy as np\nfrom support.quant.uniform import quantize\n"
            "w = np.array([-0.45, 0.12, -0.03, 0.67, -0.89, 0.34])\n"
            "print(np.abs(w).max() / 127, quantize(w, 8, scale_dtype='float64').scale.item())\n```"
        ),
        reference=_S1,
        wrong=[_S_128, _S_255, _S_RANGE],
    ),
    Question(
        title="The INT8 codes of the six weights",
        checker=Array(_CODES2),
        hints=[
            "Divide each weight by the scale of question 1 and round to the nearest integer.",
            "Round, do not truncate: 0.67 / s is 95.6, which becomes 96.",
        ],
        solution_text=(
            "$q_i = \\operatorname{round}(w_i / s)$ with $s = 0.89/127$: "
            f"`{_CODES2.tolist()}`. The largest magnitude lands exactly on −127.\n\n"
            "```python\nimport numpy as np\nw = np.array([-0.45, 0.12, -0.03, 0.67, -0.89, 0.34])\n"
            "s = np.abs(w).max() / 127\nprint(np.rint(w / s).astype(int))\n```"
        ),
        reference=_CODES2,
        wrong=[np.trunc(_SIX / _S1).astype(np.int64), np.rint(_SIX / _S_128).astype(np.int64),
               np.floor(_SIX / _S1).astype(np.int64)],
    ),
    Question(
        title="The zero-point of an affine UINT8 grid",
        checker=Number(_Z3),
        hints=[
            "Affine quantization maps [min, max] onto the codes 0 … 255: $s = (\\max - \\min) / 255$.",
            "The zero-point is the code of the real value 0: $z = \\operatorname{round}(-\\min / s)$, an integer.",
        ],
        solution_text=(
            f"$s = (12.0 - (-0.17)) / 255 = {_S3:.6f}$ and $z = \\operatorname{{round}}(0.17 / s) = "
            f"\\operatorname{{round}}({-_LO3 / _S3:.3f}) = {_Z3}$. With that integer zero-point the real value 0 "
            "is the code $z$ exactly.\n\n"
            "```python\nimport numpy as np\nfrom support.quant.uniform import scale_zero_point\n"
            "s, z = scale_zero_point(np.array([-0.17, 12.0]), 8, symmetric=False, scale_dtype='float64')\n"
            "print(s.item(), z.item())\n```"
        ),
        reference=_Z3,
        wrong=[_Z3_TRUNC, 128, -_Z3, 0],
    ),
    Question(
        title="Bits per weight of asymmetric INT4 in groups of 64",
        checker=Number(_BPW4, rtol=1e-12),
        hints=[
            "Each group of 64 weights stores 64 codes of 4 bits, one float16 scale and one zero-point.",
            "The zero-point of a 4-bit grid is itself a 4-bit code.",
        ],
        solution_text=(
            f"$4 + (16 + 4) / 64 = {_BPW4}$ bits per weight: the codes, plus the scale and the zero-point "
            "shared by the group.\n\n"
            "```python\nimport numpy as np\nfrom support.quant.uniform import quantize\n"
            "w = np.random.default_rng(0).normal(size=(4, 256))\n"
            "print(quantize(w, 4, symmetric=False, group_size=64).bits_per_value)\n```"
        ),
        reference=_BPW4,
        wrong=[4.0, 4 + 16 / 64, 4 + 4 / 64, 4.5],
    ),
    Question(
        title="One INT8 scale for a matrix with an outlier row and a tiny row",
        checker=Choice(
            "a",
            options={
                "a": "Almost all of the tiny row's codes are 0: it keeps an SQNR near 0 dB.",
                "b": "The tiny row keeps the same SQNR as the other rows, because SQNR does not depend on scale.",
                "c": "The tiny row's values overflow and saturate at ±127.",
                "d": "The tiny row has the smallest squared error, so it is the best-quantized row.",
            },
            feedback={
                "b": "SQNR is scale-invariant only if the grid scales with the data. Here the step is set by "
                     f"the outlier row: {_STEP5:.3f}, against {_TINY5:.3f} for the tiny row's largest value.",
                "c": "Saturation happens to values beyond the largest code; the tiny row's values are far below it.",
                "d": "Its absolute error is small because its values are small; relative to its values the "
                     "error is total.",
            },
        ),
        hints=[
            "Which row sets the per-tensor scale? How large is the step compared with the tiny row's values?",
        ],
        solution_text=(
            f"The outlier row (×10) sets $s = \\max|W| / 127 = {_STEP5:.3f}$. The tiny row's largest value, "
            f"{_TINY5:.3f}, is below half a step ({_STEP5 / 2:.3f}), so every value rounds to 0: the row comes "
            "back as zeros, an SQNR of 0 dB. A per-channel or per-group scale gives the row its own step. The total MSE hides "
            "this, because the outlier row's error dominates it."
        ),
        reference="a",
        wrong=["b", "c", "d"],
    ),
    Question(
        title="Which scales can wait until after an integer dot product?",
        checker=Choice(
            "b",
            options={
                "a": "Any scale: per tensor, per channel, per group and per input channel.",
                "b": "Per-tensor scales, per-output-channel weight scales and per-token activation scales.",
                "c": "Only per-tensor scales.",
                "d": "Per-input-channel activation scales and per-group weight scales.",
            },
            feedback={
                "a": "A scale that changes along the summed index $k$ cannot be taken out of $\\sum_k$.",
                "c": "A scale that depends only on the output position (token $i$, channel $j$) also factors "
                     "out of the sum over $k$.",
                "d": "These change with the input index $k$, the index being summed: they stay inside the sum.",
            },
        ),
        hints=[
            "Write $y_{ij} = \\sum_k x_{ik} W_{jk}$ with $x_{ik} = s^a_{?} q^a_{ik}$ and $W_{jk} = s^w_{?} q^w_{jk}$.",
            "A scale can leave the sum only if it does not depend on $k$.",
        ],
        solution_text=(
            "$y_{ij} = \\sum_k (s^a_i q^a_{ik})(s^w_j q^w_{jk}) = s^a_i s^w_j \\sum_k q^a_{ik} q^w_{jk}$: scales "
            "that depend on the token $i$ or the output channel $j$ (or on nothing) leave the sum, which then "
            "runs on integers. A scale per input channel or per group of inputs depends on $k$; a kernel must "
            "rescale partial sums group by group or dequantize first (as W4A16 kernels do)."
        ),
        reference="b",
        wrong=["a", "c", "d"],
    ),
    Question(
        title="How many INT8 products can an INT32 accumulator always hold?",
        checker=Number(_K7),
        hints=[
            "Codes lie in [−128, 127]. What is the largest possible product of two codes?",
            "$(-128)\\times(-128) = 16384$. How many of those fit below $2^{31} - 1$?",
        ],
        solution_text=(
            f"The largest product is $(-128)^2 = 16384 = 2^{{14}}$, so $K$ products are safe while "
            f"$16384K \\le 2^{{31}} - 1$: $K = \\lfloor (2^{{31}} - 1) / 16384 \\rfloor = {_K7}$, one less than "
            "$2^{17}$ (the most negative sum, $-128 \\times 127 K$, allows more). With restricted codes "
            f"(±127) it would be {_K7_RESTRICTED}.\n\n"
            "```python\nprint((2**31 - 1) // (128 * 128))\n```"
        ),
        reference=_K7,
        wrong=[_K7_RESTRICTED, 2**17, 2**16, 2**15],
    ),
    Question(
        title="The shift of a requantization multiplier",
        checker=Number(_SHIFT8),
        hints=[
            "The multiplier is $M = s_a s_w / s_y$. Write it as $f \\cdot 2^{e}$ with $f$ in $[0.5, 1)$ (`math.frexp`).",
            "$m_0 = \\operatorname{round}(f \\cdot 2^{31})$ and $M = m_0 \\cdot 2^{-\\text{shift}}$, so shift $= 31 - e$.",
        ],
        solution_text=(
            f"$M = 0.02 \\times 0.005 / 0.25 = {_M8:g} = {math.frexp(_M8)[0]:.4f} \\times 2^{{{_EXP8}}}$, so "
            f"$m_0 = {_M0_8}$ and shift $= 31 - ({_EXP8}) = {_SHIFT8}$: requantizing is `(acc * m0) >> {_SHIFT8}` "
            "(with rounding).\n\n"
            "```python\nfrom support.quant.uniform import quantize_multiplier\n"
            "m0, shift = quantize_multiplier(0.02 * 0.005 / 0.25)\nprint(int(m0), int(shift), int(m0) / 2**int(shift))\n```"
        ),
        reference=_SHIFT8,
        wrong=[-_EXP8, 31, _SHIFT8 - 1, 31 + _EXP8],
    ),
    Question(
        title="Write the zero-point correction that folds into the bias",
        checker=Function(_CORRECTION_CASES),
        hints=[
            "Expand $\\sum_k (q^a_k - z_a)\\, q^w_{jk}$ into two sums. Which one does not depend on the activations?",
            "The correction for output channel $j$ is $-z_a \\sum_k q^w_{jk}$: a sum along each row of `w_codes`.",
            "Sum in int64, not in the codes' int8: 64 codes of 127 overflow int8.",
        ],
        solution_text=(
            "$\\sum_k (q^a_k - z_a) q^w_{jk} = \\sum_k q^a_k q^w_{jk} - z_a \\sum_k q^w_{jk}$. The second term "
            "depends only on the weights, so it is computed once and added to the int32 bias.\n\n"
            "```python\nimport numpy as np\n\ndef zero_point_correction(w_codes, a_zero_point):\n"
            "    return -a_zero_point * np.asarray(w_codes, dtype=np.int64).sum(axis=1)\n```"
        ),
        reference=_correction_reference,
        wrong=[_correction_plus, _correction_wrong_axis, _correction_int8],
    ),
    Question(
        title="Write the output SQNR of a layer with quantized weights",
        checker=Function(_SQNR_CASES, compare=lambda expected: Number(expected, rtol=1e-9)),
        hints=[
            "Quantize the weights with `fake_quantize(w, bits, group_size=g)`, or `axis=0` when `g` is None.",
            "Compare the outputs, not the weights: `sqnr_db(x @ w.T, x @ w_hat.T)`.",
        ],
        solution_text=(
            "```python\nimport numpy as np\nfrom support.metrics import sqnr_db\n"
            "from support.quant.uniform import fake_quantize\n\n"
            "def output_sqnr(w, x, bits, group_size):\n"
            "    kwargs = {'axis': 0} if group_size is None else {'group_size': group_size}\n"
            "    w_hat = fake_quantize(np.asarray(w, dtype=np.float64), bits, **kwargs)\n"
            "    return sqnr_db(x @ w.T, x @ w_hat.T)\n```\n\n"
            "In the test cases, input channel 3 is an outlier channel and column 3 of the weights is large, so "
            "the output SQNR differs from the weight SQNR."
        ),
        reference=_output_sqnr_reference,
        wrong=[_output_sqnr_of_weights, _output_sqnr_per_tensor, _output_sqnr_groups_of_outputs],
    ),
    Question(
        title="Experiment: output and weight SQNR of real layers",
        checker=Explain(
            model_answer=(
                "With INT4 weights in groups of 32, both layers have about the same weight SQNR, near 20 dB, "
                "but the feed-forward output layer keeps a much higher output SQNR than its weight SQNR, "
                "while the value layer keeps a lower one. The output error is X E^T: if the rounding error E "
                "is white, it picks up the average input energy ||X||^2/n, while the signal X W^T picks up "
                "the input energy along the directions the weights point to. The FFN output layer's few "
                "large weights sit on the input channels where the GELU activations are large (outlier "
                "features), so its signal is amplified more than the noise (a positive alignment gain); the "
                "value layer's weights point away from the high-variance input directions (a negative gain)."
            ),
            key_points=[
                "the weight SQNR is about the same for both layers",
                "the FFN output layer's output SQNR is higher, the value layer's lower, than the weight SQNR",
                "the difference is the alignment gain: how the weights line up with the real inputs",
                "so quantizers must be judged on the layer's output with real activations",
            ],
        ),
        hints=[
            "Compute both numbers for each layer: `sqnr_db(w, w_hat)` and your `output_sqnr`.",
            "Where do the large weights of the FFN output layer sit, and what do the inputs do there?",
        ],
        solution_text=(
            "The solution notebook runs the experiment and prints the four numbers; the chapter's section "
            "'The error that matters: a layer's output' explains the difference with the alignment gain."
        ),
        reference=(
            "The weight SQNRs are about equal, but the FFN output layer's output SQNR is much higher and the "
            "value layer's lower, because the error is white while the signal follows the weights' alignment "
            "with the real inputs."
        ),
    ),
]
