"""Exercises for chapter 12, "Numerical stability in neural networks".

Reference answers are computed with :mod:`support.training.stability` and
:mod:`support.numbers.formats`, so that a question cannot disagree with the chapter.
"""

from __future__ import annotations

import math

import numpy as np

from support.exercises import Array, Choice, Function, Number, Question
from support.numbers.formats import get_format, round_to
from support.training.stability import bce_with_logits, cross_entropy, layer_norm, log_softmax, rms_norm, softmax

_FP16 = get_format("float16")

# Q1, Q2: the logits [89.0, 89.1, 89.2] in float32
_LOGITS = [89.0, 89.1, 89.2]
_NAIVE1 = softmax(_LOGITS, precision="float32", stable=False)
_STABLE2 = float(softmax(_LOGITS, precision="float64")[2])
_UNIFORM2 = 1 / 3
_SMALLEST2 = float(softmax(_LOGITS, precision="float64")[0])

# Q3: the smallest integer logit whose exp overflows float16
_TOP3 = math.ceil(math.log(_FP16.max))
_LOG_MAX_FP32 = math.ceil(math.log(get_format("float32").max))

# Q4: log-softmax of [0, 200]
_LOGSM4 = float(log_softmax([0.0, 200.0], precision="float32")[0])
_NAIVE4 = float(log_softmax([0.0, 200.0], precision="float32", stable=False)[0])

# Q5: BCE with logits for z = -100, y = 1
_BCE5 = float(bce_with_logits([-100.0], [1.0], precision="float32")[0])
_NAIVE5 = float(bce_with_logits([-100.0], [1.0], precision="float32", stable=False)[0])

# Q6: depth at which 0.9**L falls below float16's smallest subnormal
_LAMBDA6 = 0.9
_DEPTH6 = math.floor(math.log(_FP16.min_subnormal) / math.log(_LAMBDA6)) + 1
_DEPTH6_NORMAL = math.floor(math.log(_FP16.min_normal) / math.log(_LAMBDA6)) + 1
assert _LAMBDA6 ** _DEPTH6 < _FP16.min_subnormal <= _LAMBDA6 ** (_DEPTH6 - 1)

# Q7: LayerNorm and RMSNorm with an offset of 1000, FP32 compute, output stored in BF16
_RNG7 = np.random.default_rng(7)
_Z7 = _RNG7.normal(size=(4, 512))


def _signal_error(y: np.ndarray, ref: np.ndarray) -> float:
    """Relative error of the part of the output that varies across features."""
    a, b = y - y.mean(-1, keepdims=True), ref - ref.mean(-1, keepdims=True)
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


_X7 = _Z7 + 1000.0
_LN7 = _signal_error(round_to(layer_norm(_X7, precision="float32"), "bfloat16"), layer_norm(_X7, precision="float64"))
_RMS7 = _signal_error(round_to(rms_norm(_X7, precision="float32"), "bfloat16"), rms_norm(_X7, precision="float64"))
assert _LN7 < 0.01 < 0.5 < _RMS7

# Q8: merge two partial log-sum-exp states (m, s) with s = sum(exp(x - m))


def _merge(m1: float, s1: float, m2: float, s2: float) -> np.ndarray:
    m = max(m1, m2)
    return np.array([m, s1 * math.exp(m1 - m) + s2 * math.exp(m2 - m)])


_MERGE_ARGS = [(1.0, 2.0, 3.0, 1.5), (1e4, 1.0, 1e4 - 1.0, 3.0), (-50.0, 4.0, 9000.0, 1.0),
               (700.0, 1.25, 700.0, 1.25), (-1e4, 2.0, -1e4 + 2.0, 1.0)]
_MERGE_CASES = [(args, _merge(*args)) for args in _MERGE_ARGS]


def _merge_naive(m1, s1, m2, s2):          # adds the totals exp(m) s: overflows at m = 1e4
    total = s1 * math.exp(min(m1, 709.0)) + s2 * math.exp(min(m2, 709.0))
    m = max(m1, m2)
    return np.array([m, total / math.exp(min(m, 709.0))])


def _merge_no_rescale(m1, s1, m2, s2):     # keeps the new maximum but forgets to rescale the sums
    return np.array([max(m1, m2), s1 + s2])


def _merge_wrong_side(m1, s1, m2, s2):     # rescales with exp(m - m_i) instead of exp(m_i - m)
    m = max(m1, m2)
    return np.array([m, s1 * math.exp(min(m - m1, 700.0)) + s2 * math.exp(min(m - m2, 700.0))])


# Q9: an experiment: naive cross-entropy in float16 over 1000 classes
_RNG9 = np.random.default_rng(12)
_X9 = _RNG9.normal(0, 3, size=(50, 1000))
_T9 = _RNG9.integers(0, 1000, 50)
_NAIVE9 = cross_entropy(_X9, _T9, precision="float16", stable=False)
_BAD9 = int((~np.isfinite(_NAIVE9)).sum())
_OVER9 = int((_X9.max(axis=1) > math.log(_FP16.max)).sum())     # counts only rows with one exp overflowing
assert 0 < _BAD9 < 50 and np.all(np.isfinite(cross_entropy(_X9, _T9, precision="float16")))

# Q10: the running (maximum, sum) of online softmax, block by block
_X10 = np.array([2.0, 1.0, 4.0, 3.0])


def _running(x: np.ndarray, rescale: bool = True, shift: bool = True) -> np.ndarray:
    states, m, total = [], -math.inf, 0.0
    for block in x.reshape(-1, 2):
        new_m = max(m, float(block.max()))
        factor = math.exp(m - new_m) if rescale else 1.0
        total = total * factor + float(np.exp(block - (new_m if shift else 0.0)).sum())
        m = new_m
        states.append([m, total])
    return np.array(states)


_STATES10 = _running(_X10)
assert abs(_STATES10[-1, 1] - np.exp(_X10 - _X10.max()).sum()) < 1e-12

QUESTIONS = [
    Question(
        title="Naive softmax of [89.0, 89.1, 89.2] in float32",
        checker=Choice(
            "a",
            options={
                "a": "[nan, nan, nan]",
                "b": "[0.3006, 0.3322, 0.3672]",
                "c": "[inf, inf, inf]",
                "d": "[0.0, 0.0, 0.0]",
            },
            feedback={
                "b": "That is the true softmax, which the stable form computes. Does exp(89) fit in float32?",
                "c": "exp(89) is inf, but softmax divides: what is inf / inf?",
                "d": "Nothing underflows here: the exponentials are too large, not too small.",
            },
        ),
        hints=[
            "float32's largest value is about 3.4 × 10³⁸. What is $e^{89}$?",
            "Every exponential overflows to inf, and so does their sum. What is inf / inf in IEEE 754?",
        ],
        solution_text=(
            "$e^{89} \\approx 4.5 \\times 10^{38}$ exceeds float32's maximum $3.4 \\times 10^{38}$ (its logarithm is "
            "about 88.72), so every exponential is inf, the sum is inf, and inf / inf is NaN: `[nan, nan, nan]`.\n\n"
            "```python\nimport numpy as np\nx = np.float32([89.0, 89.1, 89.2])\n"
            "with np.errstate(over='ignore', invalid='ignore'):\n    print(np.exp(x) / np.exp(x).sum())\n```"
        ),
        reference="a",
        wrong=["b", "c", "d"],
    ),
    Question(
        title="The largest probability of softmax([89.0, 89.1, 89.2])",
        checker=Number(_STABLE2, rtol=1e-4),
        hints=[
            "Softmax does not change when the same constant is subtracted from every logit.",
            "Subtract 89.2: the logits become [−0.2, −0.1, 0]. Now exponentiate.",
        ],
        solution_text=(
            "Subtract the maximum: $[-0.2, -0.1, 0]$, so $p_3 = 1 / (e^{-0.2} + e^{-0.1} + 1)$ "
            f"$\\approx$ {_STABLE2:.4f}.\n\n"
            "```python\nimport numpy as np\nx = np.array([89.0, 89.1, 89.2])\ne = np.exp(x - x.max())\nprint(e / e.sum())\n```"
        ),
        reference=_STABLE2,
        wrong=[_UNIFORM2, _SMALLEST2, float("nan")],
    ),
    Question(
        title="The smallest integer logit whose exp overflows float16",
        checker=Number(_TOP3),
        hints=[
            "float16's largest finite value is 65504.",
            "exp(x) overflows when x > ln 65504. Compute that logarithm.",
        ],
        solution_text=(
            f"$\\ln 65504 \\approx {math.log(_FP16.max):.3f}$: $e^{{11}}$ fits, $e^{{12}} \\approx 162755$ does not, so "
            f"the answer is {_TOP3}. A naive softmax in float16 fails as soon as one logit reaches 12.\n\n"
            "```python\nimport numpy as np\nprint(np.exp(np.float16([11, 12])))\n```"
        ),
        reference=_TOP3,
        wrong=[_TOP3 - 1, _LOG_MAX_FP32, 16],
    ),
    Question(
        title="log_softmax([0, 200])[0] in float32",
        checker=Number(_LOGSM4, rtol=1e-6),
        hints=[
            "The first probability is $e^{-200}/(1 + e^{-200})$: does it fit in float32?",
            "Its logarithm does not need the probability itself: $\\log p_i = x_i - \\text{logsumexp}(x)$.",
        ],
        solution_text=(
            "$\\log p_1 = 0 - \\log(e^0 + e^{200}) = -200 - \\log(1 + e^{-200}) = -200$ to float32 precision. "
            "`log(softmax(x))` gives −inf instead: $e^{-200} \\approx 1.4 \\times 10^{-87}$ underflows float32 "
            "(smallest subnormal $1.4 \\times 10^{-45}$) to 0, and log 0 = −inf.\n\n"
            "```python\nimport torch\nx = torch.tensor([0.0, 200.0])\n"
            "print(torch.log_softmax(x, 0), torch.log(torch.softmax(x, 0)))\n```"
        ),
        reference=_LOGSM4,
        wrong=[_NAIVE4, 0.0, -math.log(200.0)],
    ),
    Question(
        title="Binary cross-entropy of logit −100 with label 1",
        checker=Number(_BCE5, rtol=1e-6),
        hints=[
            "The loss is $-\\log \\sigma(z)$ with $\\sigma(z) = 1/(1 + e^{-z})$.",
            "$-\\log \\sigma(z) = \\log(1 + e^{-z}) = -z + \\log(1 + e^{z})$ for $z < 0$.",
        ],
        solution_text=(
            "$-\\log\\sigma(-100) = \\log(1 + e^{100}) = 100 + \\log(1 + e^{-100}) = 100$. The naive form computes "
            "$e^{100}$, which overflows float32, so $\\sigma = 0$ and the loss is inf. The stable form "
            "$\\max(z, 0) - zy + \\log(1 + e^{-|z|})$ never exponentiates a positive number.\n\n"
            "```python\nimport torch, torch.nn.functional as F\n"
            "print(F.binary_cross_entropy_with_logits(torch.tensor([-100.0]), torch.tensor([1.0])))\n```"
        ),
        reference=_BCE5,
        wrong=[_NAIVE5, 0.0, math.exp(-100.0)],
    ),
    Question(
        title="How deep before 0.9^L underflows float16?",
        checker=Number(_DEPTH6),
        hints=[
            "float16's smallest positive (subnormal) value is $2^{-24}$.",
            "Solve $0.9^L < 2^{-24}$ for the smallest integer $L$: $L > 24 \\ln 2 / (-\\ln 0.9)$.",
        ],
        solution_text=(
            f"$24 \\ln 2 / (-\\ln 0.9) \\approx {24 * math.log(2) / -math.log(0.9):.2f}$, so $L$ = {_DEPTH6}. "
            f"(Below the smallest *normal* value $2^{{-14}}$ it falls at $L$ = {_DEPTH6_NORMAL}: from there on "
            "the gradient is subnormal and loses a bit of precision per halving.)\n\n"
            "```python\nimport math\nprint(math.log(2.0**-24) / math.log(0.9))\n```"
        ),
        reference=_DEPTH6,
        wrong=[_DEPTH6 - 1, _DEPTH6_NORMAL, 240],
    ),
    Question(
        title="Which norm loses the signal when its output is stored in BF16?",
        checker=Choice(
            "a",
            options={
                "a": "RMSNorm: its output is about 1 + z/1000, and BF16's spacing near 1 erases z/1000.",
                "b": "LayerNorm: subtracting a mean of 1000 cancels catastrophically in FP32.",
                "c": "Both: an offset of 1000 is too large for BF16.",
                "d": "Neither: both outputs are accurate to BF16's precision.",
            },
            feedback={
                "b": "The mean is subtracted in FP32, where 1000 + z is stored with an error of about 3 × 10⁻⁵: "
                     "the centred values keep z almost exactly.",
                "c": "BF16 only stores the output. LayerNorm's output is z / σ, of order 1, which BF16 stores with "
                     "a relative error below 1 %.",
                "d": "RMSNorm's output is accurate relative to itself (≈ 1), but the part that varies with z is "
                     "only about 10⁻³ in size.",
            },
        ),
        hints=[
            "In exact arithmetic, what are LayerNorm(c + z) and RMSNorm(c + z) for c = 1000 and z of size 1?",
            "BF16 has 8 significant bits: the spacing of its values between 1 and 2 is $2^{-7}$.",
        ],
        solution_text=(
            "LayerNorm removes the mean, so its output is $\\approx z/\\sigma$, of order 1; BF16 stores it with a "
            f"relative error of about {_LN7:.1%}. RMSNorm divides by the root mean square "
            "$\\approx 1000$, so its output is $\\approx 1 + z/1000$: the signal is a deviation of about $10^{-3}$ "
            f"around 1, below BF16's spacing of $2^{{-7}}$ there. Measured: the signal error is {_RMS7:.0%}.\n\n"
            "```python\nimport numpy as np\nfrom support.numbers.formats import round_to\n"
            "from support.training.stability import layer_norm, rms_norm\n"
            "x = 1000 + np.random.default_rng(7).normal(size=512)\n"
            "print(np.unique(round_to(rms_norm(x, precision='float32'), 'bfloat16')))\n```"
        ),
        reference="a",
        wrong=["b", "c", "d"],
    ),
    Question(
        title="Merge two partial log-sum-exp states",
        checker=Function(_MERGE_CASES, compare=lambda expected: Array(expected, rtol=1e-9)),
        hints=[
            "A state $(m, s)$ stands for the total $e^m s$. The merged total is $e^{m_1}s_1 + e^{m_2}s_2$.",
            "Write that total as $e^{m}(\\ldots)$ with $m = \\max(m_1, m_2)$: never compute $e^{m_i}$ alone.",
        ],
        solution_text=(
            "With $m = \\max(m_1, m_2)$, $e^{m_1}s_1 + e^{m_2}s_2 = e^{m}\\,(s_1 e^{m_1 - m} + s_2 e^{m_2 - m})$. "
            "Both exponents are $\\le 0$, so nothing overflows; the one of the larger state is exactly 0. This is "
            "the update of online softmax and of fused attention kernels.\n\n"
            "```python\nimport math\n\ndef merge(m1, s1, m2, s2):\n    m = max(m1, m2)\n"
            "    return m, s1 * math.exp(m1 - m) + s2 * math.exp(m2 - m)\n```"
        ),
        reference=lambda m1, s1, m2, s2: tuple(_merge(m1, s1, m2, s2)),
        wrong=[_merge_naive, _merge_no_rescale, _merge_wrong_side],
    ),
    Question(
        title="Experiment: how many float16 cross-entropies fail?",
        checker=Number(_BAD9),
        hints=[
            "`cross_entropy(logits, targets, precision='float16', stable=False)` returns one loss per row.",
            "Count the entries that are not finite: `(~np.isfinite(losses)).sum()`.",
        ],
        solution_text=(
            f"{_BAD9} of the 50 rows give inf or NaN in float16 with the naive formula; the stable one gives 50 "
            "finite losses. A row fails as soon as one logit exceeds $\\ln 65504 \\approx 11.09$ or the sum of "
            "the exponentials exceeds 65504.\n\n"
            "```python\nimport numpy as np\nfrom support.training.stability import cross_entropy\n"
            "rng = np.random.default_rng(12)\nlogits = rng.normal(0, 3, size=(50, 1000))\n"
            "targets = rng.integers(0, 1000, 50)\n"
            "naive = cross_entropy(logits, targets, precision='float16', stable=False)\n"
            "print((~np.isfinite(naive)).sum())\n```"
        ),
        reference=_BAD9,
        wrong=[0, 50, _OVER9 if _OVER9 != _BAD9 else 50 - _BAD9],
    ),
    Question(
        title="The running maximum and sum of online softmax",
        checker=Array(_STATES10, rtol=1e-4),
        hints=[
            "After a block, $m$ is the largest logit seen so far and $\\ell = \\sum_{\\text{seen}} e^{x_i - m}$.",
            "When $m$ grows from $m$ to $m'$, the old sum is multiplied by $e^{m - m'}$ before the new block's "
            "terms are added.",
        ],
        solution_text=(
            "Block 1, [2, 1]: $m = 2$, $\\ell = 1 + e^{-1} \\approx 1.3679$. Block 2, [4, 3]: $m' = 4$, "
            "$\\ell' = 1.3679\\,e^{-2} + 1 + e^{-1} \\approx 1.5530$, which is $\\sum_i e^{x_i - 4}$ over all "
            "four logits: the two-pass denominator.\n\n"
            "```python\nimport math\nm1, l1 = 2.0, 1 + math.exp(-1)\n"
            "m2 = 4.0\nl2 = l1 * math.exp(m1 - m2) + math.exp(4 - m2) + math.exp(3 - m2)\n"
            "print([[m1, l1], [m2, l2]])\n```"
        ),
        reference=_STATES10,
        wrong=[_running(_X10, rescale=False), _running(_X10, shift=False), _STATES10[::-1]],
    ),
]
