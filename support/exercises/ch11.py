"""Exercises for chapter 11, "Outliers, rotations and error-compensating quantizers".

Reference answers are computed with :mod:`support.quant.rotations`, :mod:`support.quant.outliers`,
:mod:`support.quant.uniform` and :mod:`support.metrics`, so that a question cannot disagree with the
chapter.  Nothing here loads the real model (importing this module must stay fast); the real-layer
experiment of question 10 is self-checked.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg

from support.exercises import Choice, Explain, Function, Number, Question
from support.exercises.checkers import Array
from support.metrics import sqnr_db
from support.quant.outliers import smooth, smoothquant_scales
from support.quant.rotations import fwht, hadamard_matrix
from support.quant.uniform import fake_quantize


def _crest(x) -> float:
    x = np.asarray(x, dtype=np.float64)
    return float(np.abs(x).max() / np.sqrt(np.mean(x**2)))


# Q1, Q2: the chapter's vector: 64 Gaussian values (sigma 0.1) and three outliers
_V = np.random.default_rng(42).normal(scale=0.1, size=64)
_V[:3] = [10.0, -8.0, 5.0]
_V_ROT = hadamard_matrix(64) @ _V
_CREST1 = _crest(_V)
_CREST2 = _crest(_V_ROT)
_MAX_OVER_MIN = float(np.abs(_V).max() / np.abs(_V).min())          # a ratio that says nothing
_MAX_OVER_MEAN = float(np.abs(_V).max() / np.abs(_V).mean())
_MAX_OVER_STD_ABS = float(np.abs(_V).max() / np.abs(_V).std())

# Q4: additions and subtractions of a radix-2 FWHT of length 4096
_N4 = 4096
_OPS4 = _N4 * int(np.log2(_N4))


# Q5: the unnormalised Walsh-Hadamard transform of integer codes, exact, along an axis
def _fwht_int_reference(x, axis=-1):
    a = np.moveaxis(np.array(x, dtype=np.int64), axis, -1)
    n = a.shape[-1]
    if n < 1 or n & (n - 1):
        raise ValueError(f"the length along the axis must be a power of two, got {n}")
    lead = a.shape[:-1]
    h = 1
    while h < n:
        pairs = a.reshape(*lead, n // (2 * h), 2, h)
        top, bottom = pairs[..., 0, :], pairs[..., 1, :]
        a = np.stack((top + bottom, top - bottom), axis=-2).reshape(*lead, n)
        h *= 2
    return np.moveaxis(a, -1, axis)


def _fwht_int_normalised(x, axis=-1):                    # the orthonormal transform instead
    a = np.asarray(x, dtype=np.int64)
    return fwht(a, axis=axis)


def _fwht_int_via_floats(x, axis=-1):                    # floats, rounded back: loses large codes
    a = np.asarray(x, dtype=np.int64)
    n = a.shape[axis]
    return np.rint(fwht(a, axis=axis) * np.sqrt(n)).astype(np.int64)


def _fwht_int_last_axis(x, axis=-1):                     # ignores the axis argument
    return _fwht_int_reference(x, -1)


def _sylvester_product(x, axis):
    """The expected result, by an exact integer product with scipy's Hadamard matrix."""
    a = np.moveaxis(np.asarray(x, dtype=np.int64), axis, -1)
    h = scipy.linalg.hadamard(a.shape[-1], dtype=np.int64)
    return np.moveaxis(a @ h, -1, axis)


_RNG5 = np.random.default_rng(5)
_X5 = [
    (np.array([1, 0, 0, 0]), -1),
    (_RNG5.integers(-127, 128, size=(3, 16)), 1),
    (_RNG5.integers(-127, 128, size=(8, 5)), 0),
    (_RNG5.integers(-8, 8, size=(2, 4, 32)), -2),
    (np.array([2**56 + 1, 2**56, -(2**56) + 3, 7, 2**55 - 1, 1, 0, -1]), 0),   # beyond float64's 53 bits
]
_FWHT_CASES = [((x, axis), _sylvester_product(x, axis)) for x, axis in _X5]
_FWHT_CASES.append(((np.arange(6), 0), ValueError))                          # 6 is not a power of two

# Q6: SmoothQuant's factor for one channel
_AMAX6, _WMAX6, _ALPHA6 = 30.0, 0.12, 0.5
_S6 = float(smoothquant_scales(np.array([_AMAX6]), np.array([_WMAX6]), _ALPHA6)[0])

# Q8: one GPTQ step by hand: two weights, H = [[2, 1], [1, 2]], grid step 0.25
_H8 = np.array([[2.0, 1.0], [1.0, 2.0]])
_W8 = np.array([0.3, -0.2])
_Q8 = 0.25 * np.round(_W8[0] / 0.25)
_HINV8 = np.linalg.inv(_H8)
_UPDATED8 = float(_W8[1] - (_W8[0] - _Q8) / _HINV8[0, 0] * _HINV8[0, 1])
_WRONG_SIGN8 = float(_W8[1] + (_W8[0] - _Q8) / _HINV8[0, 0] * _HINV8[0, 1])
_WITH_H8 = float(_W8[1] - (_W8[0] - _Q8) / _H8[0, 0] * _H8[0, 1])          # H instead of its inverse


# Q9: SmoothQuant W8A8 on a layer: output SQNR
def _w8a8_sqnr_reference(x, w, alpha):
    x = np.asarray(x, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    s = smoothquant_scales(np.abs(x).max(axis=0), np.abs(w).max(axis=0), alpha)
    x_s, w_s = smooth(x, w, s)
    return sqnr_db(x @ w.T, fake_quantize(x_s, 8) @ fake_quantize(w_s, 8, axis=0).T)


def _w8a8_sqnr_unsmoothed(x, w, alpha):                  # alpha ignored
    x, w = np.asarray(x, dtype=np.float64), np.asarray(w, dtype=np.float64)
    return sqnr_db(x @ w.T, fake_quantize(x, 8) @ fake_quantize(w, 8, axis=0).T)


def _w8a8_sqnr_inverted(x, w, alpha):                    # multiplies x and divides w
    x, w = np.asarray(x, dtype=np.float64), np.asarray(w, dtype=np.float64)
    s = smoothquant_scales(np.abs(x).max(axis=0), np.abs(w).max(axis=0), alpha)
    return sqnr_db(x @ w.T, fake_quantize(x * s, 8) @ fake_quantize(w / s, 8, axis=0).T)


def _w8a8_sqnr_weights_per_tensor(x, w, alpha):          # one weight scale for the whole matrix
    x, w = np.asarray(x, dtype=np.float64), np.asarray(w, dtype=np.float64)
    s = smoothquant_scales(np.abs(x).max(axis=0), np.abs(w).max(axis=0), alpha)
    x_s, w_s = smooth(x, w, s)
    return sqnr_db(x @ w.T, fake_quantize(x_s, 8) @ fake_quantize(w_s, 8).T)


def _smooth_case(seed, tokens, in_features, out_features):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(tokens, in_features))
    x[:, 1] *= 40                                         # an outlier channel in every token
    x[0, 5] = 60.0                                        # an outlier in one token
    w = rng.normal(scale=0.05, size=(out_features, in_features))
    w[3] *= 6                                             # a large output row
    return x, w


_LAYERS9 = [_smooth_case(90, 64, 32, 16), _smooth_case(91, 40, 64, 24)]
_SMOOTH_CASES = [((x, w, alpha), _w8a8_sqnr_reference(x, w, alpha))
                 for (x, w), alpha in zip(_LAYERS9 + _LAYERS9, (0.5, 0.8, 0.0, 0.3))]

QUESTIONS = [
    Question(
        title="The crest factor of a vector with outliers",
        checker=Number(_CREST1, rtol=1e-3),
        hints=[
            "The crest factor is $\\kappa = \\max_i |v_i| / \\sqrt{\\operatorname{mean}(v_i^2)}$: the largest "
            "magnitude in units of the root mean square.",
            "`np.abs(v).max() / np.sqrt(np.mean(v**2))`.",
        ],
        solution_text=(
            f"$\\kappa(v) = {np.abs(_V).max():.1f} / {np.sqrt(np.mean(_V**2)):.3f} = {_CREST1:.3f}$. "
            "A vector whose energy sits in one coordinate of $n$ has $\\kappa = \\sqrt n$ (8 for $n = 64$); "
            "three outliers give a little less.\n\n"
            "```python\nimport numpy as np\nv = np.random.default_rng(42).normal(scale=0.1, size=64)\n"
            "v[:3] = [10.0, -8.0, 5.0]\nprint(np.abs(v).max() / np.sqrt(np.mean(v**2)))\n```"
        ),
        reference=_CREST1,
        wrong=[_MAX_OVER_MIN, _MAX_OVER_MEAN, _MAX_OVER_STD_ABS, 8.0],
    ),
    Question(
        title="The crest factor after a Hadamard rotation",
        checker=Number(_CREST2, rtol=1e-3),
        hints=[
            "Rotate with the orthonormal Sylvester matrix: `hadamard_matrix(64) @ v` "
            "(or `scipy.linalg.hadamard(64) @ v / 8`).",
            "The rotation keeps the root mean square; only the maximum changes.",
        ],
        solution_text=(
            f"After the rotation $\\kappa = {_CREST2:.3f}$, against {_CREST1:.3f} before: each rotated "
            "coordinate is $\\pm v_1 \\pm v_2 \\pm \\dots$ divided by 8, so the three outliers are mixed into "
            "every coordinate and none stands out. The root mean square is unchanged (an orthogonal matrix "
            "keeps lengths).\n\n"
            "```python\nfrom support.quant.rotations import hadamard_matrix\n"
            "r = hadamard_matrix(64) @ v\nprint(np.abs(r).max() / np.sqrt(np.mean(r**2)))\n```"
        ),
        reference=_CREST2,
        wrong=[_CREST1, 1.0, 8.0],
    ),
    Question(
        title="Why does a Hadamard rotation before quantization reduce the error?",
        checker=Explain(
            model_answer=(
                "The rotation is orthogonal, so it keeps lengths: the squared quantization error made in the "
                "rotated basis is exactly the squared error after rotating back, and the layer's output is "
                "unchanged when both activations and weights are rotated. An absmax quantizer's step is set by "
                "the largest value, so its error relative to the signal grows with the crest factor max/RMS. "
                "Every entry of a Hadamard matrix is ±1/sqrt(n), so each rotated coordinate mixes all the "
                "inputs: outliers are spread over all coordinates, the maximum drops while the RMS stays, and "
                "the step shrinks. The gain is about the square of the ratio of crest factors when values fill "
                "the steps (INT8 here), smaller when most values round to zero anyway (INT4 on the example), "
                "and nothing at all for Gaussian data, whose distribution is the same in every basis."
            ),
            key_points=[
                "an orthogonal rotation preserves lengths, so errors are the same in both bases and "
                "XW^T = (XQ)(WQ)^T",
                "the absmax step, and so the error, scales with the crest factor max/RMS",
                "Hadamard entries are ±1/sqrt(n): outliers are spread over every coordinate",
                "no gain for Gaussian data; a smaller gain than the crest ratio squared at very low bit widths",
            ],
        ),
        hints=[
            "Compare the crest factors of questions 1 and 2, and recall how the absmax step is chosen.",
            "What does an orthogonal matrix do to the length of the error vector?",
        ],
        solution_text=(
            "See the chapter's section 'Spread them: rotations', equations (rotation) and (crest), and the "
            "table of INT4 and INT8 errors of the example vector."
        ),
        reference=(
            "An orthogonal rotation preserves lengths, so the error is the same in both bases; it lowers the "
            "crest factor max/RMS by spreading the outliers over all coordinates, so the absmax step and the "
            "error shrink (no gain on Gaussian data)."
        ),
    ),
    Question(
        title="The cost of a fast Walsh-Hadamard transform",
        checker=Number(_OPS4),
        hints=[
            "Each stage of the radix-2 transform pairs the $n$ values into $n/2$ butterflies "
            "$(a, b) \\to (a + b, a - b)$.",
            "How many stages double the block size from 1 to $n$? Count one addition and one subtraction "
            "per butterfly.",
        ],
        solution_text=(
            f"$\\log_2 4096 = 12$ stages of $4096 / 2 = 2048$ butterflies, each one addition and one subtraction: "
            f"$12 \\times 4096 = {_OPS4:,}$ operations, against $4096^2 = {_N4**2:,}$ multiply-adds for "
            f"the dense matrix, {_N4**2 // _OPS4} times more."
        ),
        reference=_OPS4,
        wrong=[_N4**2, _OPS4 // 2, _N4 * 11, _N4],
    ),
    Question(
        title="Write an exact integer Walsh-Hadamard transform",
        checker=Function(_FWHT_CASES, compare=lambda expected: Array(expected, check_dtype="int")),
        hints=[
            "Move the axis to the end, then repeat for h = 1, 2, 4, ...: view the last axis as blocks of "
            "2h values, pair value i with value i + h, and replace the pair (a, b) with (a + b, a - b).",
            "`a.reshape(*lead, n // (2 * h), 2, h)` gives the pairs as `[..., 0, :]` and `[..., 1, :]`; "
            "`np.stack((a + b, a - b), axis=-2)` puts them back in place.",
            "Stay in int64 throughout: a float64 holds integers exactly only up to 2**53.",
        ],
        solution_text=(
            "```python\nimport numpy as np\n\ndef fwht_int(x, axis=-1):\n"
            "    a = np.moveaxis(np.array(x, dtype=np.int64), axis, -1)\n"
            "    n = a.shape[-1]\n"
            "    if n < 1 or n & (n - 1):\n"
            "        raise ValueError(f'the length along the axis must be a power of two, got {n}')\n"
            "    lead = a.shape[:-1]\n"
            "    h = 1\n"
            "    while h < n:\n"
            "        pairs = a.reshape(*lead, n // (2 * h), 2, h)\n"
            "        top, bottom = pairs[..., 0, :], pairs[..., 1, :]\n"
            "        a = np.stack((top + bottom, top - bottom), axis=-2).reshape(*lead, n)\n"
            "        h *= 2\n"
            "    return np.moveaxis(a, -1, axis)\n```\n\n"
            "Additions and subtractions of integers are exact, so the result equals `x @ "
            "scipy.linalg.hadamard(n)` digit for digit, even for codes beyond $2^{53}$ where a float64 "
            "transform rounds."
        ),
        reference=_fwht_int_reference,
        wrong=[_fwht_int_normalised, _fwht_int_via_floats, _fwht_int_last_axis],
    ),
    Question(
        title="A SmoothQuant smoothing factor",
        checker=Number(_S6, rtol=1e-6),
        hints=[
            "$s_j = \\max|X_j|^{\\alpha} / \\max|W_j|^{1 - \\alpha}$.",
            "With $\\alpha = 0.5$ both maxima become $\\sqrt{\\max|X_j| \\max|W_j|}$ after smoothing.",
        ],
        solution_text=(
            f"$s = 30^{{0.5}} / 0.12^{{0.5}} = \\sqrt{{250}} = {_S6:.4f}$. The activation channel's maximum "
            f"becomes $30 / s = {_AMAX6 / _S6:.4f}$ and the weight column's $0.12 \\cdot s = {_WMAX6 * _S6:.4f}$: "
            "equal, as $\\alpha = 1/2$ intends.\n\n"
            "```python\nimport numpy as np\nfrom support.quant.outliers import smoothquant_scales\n"
            "print(smoothquant_scales(np.array([30.0]), np.array([0.12]), 0.5))\n```"
        ),
        reference=_S6,
        wrong=[np.sqrt(_AMAX6 * _WMAX6), _AMAX6 / _WMAX6, np.sqrt(_AMAX6), 1 / _S6],
    ),
    Question(
        title="What LLM.int8() keeps in 16 bits",
        checker=Choice(
            "b",
            options={
                "a": "The tokens (rows of X) that contain a value of magnitude 6 or more.",
                "b": "The input feature channels (columns of X, and the matching columns of W) in which some "
                     "token reaches magnitude 6 or more.",
                "c": "The output channels (rows of W) whose largest weight exceeds 6 times the median.",
                "d": "Every value of X of magnitude 6 or more, each one individually.",
            },
            feedback={
                "a": "A per-token split would not help: every token has a value in the outlier channels.",
                "c": "The decomposition splits the inner (summed) dimension, where the activation outliers live.",
                "d": "A sparse set of single values would need a sparse kernel; LLM.int8() splits whole columns "
                     "so that both parts are dense matrix products.",
            },
        ),
        hints=["Write $XW^\\top$ as a sum over the inner index $k$ and split that sum in two."],
        solution_text=(
            "$XW^\\top = X_{:,O} W_{:,O}^\\top + X_{:,R} W_{:,R}^\\top$: the columns $O$ of $X$ with some "
            "$|x_{tj}| \\ge 6$ (and the same columns of $W$) are multiplied in 16-bit floating point, the rest "
            "in INT8 with a scale per token and per output channel. Both parts are dense products."
        ),
        reference="b",
        wrong=["a", "c", "d"],
    ),
    Question(
        title="One GPTQ step by hand",
        checker=Number(_UPDATED8, rtol=1e-9),
        hints=[
            "Quantize the first weight to the grid: 0.3 becomes 0.25, an error of 0.05.",
            "GPTQ updates the second weight by $-(w_1 - q_1)\\, [H^{-1}]_{12} / [H^{-1}]_{11}$.",
        ],
        solution_text=(
            "$H^{-1} = \\tfrac13 \\begin{pmatrix} 2 & -1 \\\\ -1 & 2 \\end{pmatrix}$. The first weight rounds "
            f"to {_Q8}, an error of {_W8[0] - _Q8:.2f}, so the second becomes "
            f"$-0.2 - 0.05 \\cdot (-1/3) / (2/3) = {_UPDATED8}$. The inputs are positively correlated "
            "($H_{12} > 0$): rounding the first weight down lowers the output, and raising the second weight "
            "makes up for part of it.\n\n"
            "```python\nimport numpy as np\nh_inv = np.linalg.inv(np.array([[2.0, 1.0], [1.0, 2.0]]))\n"
            "print(-0.2 - (0.3 - 0.25) / h_inv[0, 0] * h_inv[0, 1])\n```"
        ),
        reference=_UPDATED8,
        wrong=[-0.2, _WRONG_SIGN8, _WITH_H8, -0.25],
    ),
    Question(
        title="Write the output SQNR of SmoothQuant W8A8",
        checker=Function(_SMOOTH_CASES, compare=lambda expected: Number(expected, rtol=1e-6)),
        hints=[
            "Factors from `smoothquant_scales(np.abs(x).max(axis=0), np.abs(w).max(axis=0), alpha)`, "
            "applied by `smooth(x, w, s)`.",
            "Activations: `fake_quantize(x_s, 8)` (one scale); weights: `fake_quantize(w_s, 8, axis=0)` "
            "(one per output row). Compare `x @ w.T` with the product of the two.",
        ],
        solution_text=(
            "```python\nimport numpy as np\nfrom support.metrics import sqnr_db\n"
            "from support.quant.outliers import smooth, smoothquant_scales\n"
            "from support.quant.uniform import fake_quantize\n\n"
            "def smoothquant_w8a8_sqnr(x, w, alpha):\n"
            "    x, w = np.asarray(x, dtype=np.float64), np.asarray(w, dtype=np.float64)\n"
            "    s = smoothquant_scales(np.abs(x).max(axis=0), np.abs(w).max(axis=0), alpha)\n"
            "    x_s, w_s = smooth(x, w, s)\n"
            "    return sqnr_db(x @ w.T, fake_quantize(x_s, 8) @ fake_quantize(w_s, 8, axis=0).T)\n```"
        ),
        reference=_w8a8_sqnr_reference,
        wrong=[_w8a8_sqnr_unsmoothed, _w8a8_sqnr_inverted, _w8a8_sqnr_weights_per_tensor],
    ),
    Question(
        title="Experiment: SmoothQuant's migration strength on a real layer",
        checker=Explain(
            model_answer=(
                "The output SQNR rises from alpha = 0 to a maximum at an intermediate alpha (around 0.7 to 0.8 "
                "for this FFN input layer) and falls again towards alpha = 1. Smoothing splits each channel's "
                "product max|X_j| max|W_j| = m_j into m_j^(1-alpha) for the activations and m_j^alpha for the "
                "weights. At alpha = 0 the weight columns are flattened and the activations carry the whole "
                "product, so their outlier channels, which set the per-tensor activation scale, are even "
                "stronger than without smoothing. Raising alpha flattens the activations and moves their range "
                "into the weight columns, which the per-row weight scales must absorb. At alpha = 1 the weight "
                "columns that meet the outlier channels dominate their rows, so the weight error grows: the "
                "best alpha balances the two errors."
            ),
            key_points=[
                "an interior optimum, not at 0 or 1",
                "small alpha: activation outlier channels set the activation scale (alpha = 0 is not 'no smoothing')",
                "large alpha: the range moves into the weights, whose error then grows",
                "alpha balances activation and weight quantization error",
            ],
        ),
        hints=[
            "Which tensor limits the error at alpha = 0, and which at alpha = 1?",
            "Print the largest channel maximum over the median of the smoothed activations and weights.",
        ],
        solution_text=(
            "The solution notebook runs the sweep and prints it; the chapter's section 'Move them: "
            "SmoothQuant' shows the same curve with per-token scales and 4-bit weights."
        ),
        reference=(
            "The SQNR peaks at an intermediate alpha: at small alpha the activation outliers set the "
            "activation scale, at large alpha the range moves into the weights, whose error then grows."
        ),
    ),
    Question(
        title="What AWQ scales",
        checker=Choice(
            "a",
            options={
                "a": "The weight columns that meet large average activations are multiplied by s > 1 before "
                     "round-to-nearest, and the activations divided by s, so those weights get a finer grid.",
                "b": "The output rows with the largest weights are multiplied by s > 1 so that they saturate less.",
                "c": "Every weight is multiplied by one global factor chosen to minimise the weight MSE.",
                "d": "The weights are rotated by a Hadamard matrix chosen from the activations.",
            },
            feedback={
                "b": "AWQ's factors are per input channel, from activation statistics, not per output row.",
                "c": "One global factor cancels out of an absmax quantizer; AWQ's factors are per input channel "
                     "and chosen by the output error.",
                "d": "That is QuaRot or QuIP#; AWQ only rescales channels.",
            },
        ),
        hints=["Weights that meet large activations contribute most to the output error."],
        solution_text=(
            "AWQ sets $s_j = (\\operatorname{mean}_t |X_{tj}|)^{\\alpha}$ per input channel, quantizes "
            "$W \\operatorname{diag}(s)$ by round-to-nearest and folds $\\operatorname{diag}(s)^{-1}$ into the "
            "previous operation; $\\alpha$ is chosen on a grid by the output error on calibration data, with "
            "$\\alpha = 0$ (plain RTN) among the candidates."
        ),
        reference="a",
        wrong=["b", "c", "d"],
    ),
    Question(
        title="Hadamard or random orthogonal rotation?",
        checker=Choice(
            "c",
            options={
                "a": "Only the Hadamard rotation leaves the layer's output unchanged; a random orthogonal one "
                     "changes it slightly.",
                "b": "A random orthogonal rotation costs O(n log n) and the Hadamard rotation O(n^2).",
                "c": "Both leave the output unchanged; the Hadamard rotation needs n log2 n additions and no "
                     "stored matrix, a random orthogonal one n^2 multiply-adds and n^2 stored numbers.",
                "d": "Both reduce the error of Gaussian weights by the same large factor.",
            },
            feedback={
                "a": "$X Q (W Q)^\\top = X W^\\top$ for every orthogonal $Q$.",
                "b": "The other way round: the fast transform exists for the Hadamard matrix.",
                "d": "A Gaussian matrix has the same distribution in every orthonormal basis: neither helps it.",
            },
        ),
        hints=["What does $Q Q^\\top = I$ give for $(XQ)(WQ)^\\top$? Which of the two has a fast transform?"],
        solution_text=(
            "Any orthogonal $Q$ gives $(XQ)(WQ)^\\top = XW^\\top$. The Sylvester Hadamard matrix has the butterfly "
            "factorisation ($n \\log_2 n$ additions, only $n$ random signs to store when randomized); a "
            "Haar-random orthogonal matrix must be stored and multiplied densely. On the chapter's real layer "
            "both spread the outlier channels; on Gaussian data neither gains anything."
        ),
        reference="c",
        wrong=["a", "b", "d"],
    ),
]
