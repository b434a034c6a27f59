"""Exercises for chapter 04, "Summation, dot products and accumulation".

Reference answers are computed with :mod:`support.numbers.summation`, :mod:`support.numbers.formats`
and exact rationals, so that a question cannot disagree with the chapter.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from support.numbers import summation as sm
from support.exercises import Array, Bits, Choice, Explain, Function, Number, Question
from support.numbers.formats import fields, get_format, round_to

# ---------------------------------------------------------------------------
# Values shared by the questions (computed, not typed)
# ---------------------------------------------------------------------------

# Q1: 10**5 copies of float32(0.1), added left to right in FP32
_X1 = np.full(10**5, np.float32(0.1))
_NAIVE1 = sm.naive_sum(_X1, "float32")
_NPSUM1 = float(np.sum(_X1))
_EXACT1 = math.fsum(_X1.astype(np.float64))
assert len({_NAIVE1, _NPSUM1, _EXACT1, 10_000.0}) == 4

# Q2: where counting by ones stalls in float16
_STALL16 = sm.naive_sum(np.ones(5000), "float16")

# Q3: (2**24 + 2) + 1 in float32, a tie that rounds up
_Q3 = float(np.float32(2**24 + 2) + np.float32(1))

# Q4: the BF16 bits of the stall value 256
_BF16_FIELDS = (("sign", 1), ("exponent", 8), ("mantissa", 7))
_STALL_BF16 = sm.naive_sum(np.ones(300), "bfloat16")
_BITS4 = str(fields(_STALL_BF16, "bfloat16"))
_BITS4_512 = str(fields(2 * _STALL_BF16, "bfloat16"))
_BITS4_258 = str(fields(_STALL_BF16 + 2, "bfloat16"))

# Q5: fl(1 + 0.005) in BF16
_Q5 = float(round_to(1 + 0.005, "bfloat16"))

# Q6: a = b = 0.5 * ones(4096), products accumulated in BF16
_A6 = np.full(4096, 0.5)
_DOT6 = sm.dot(_A6, _A6, inputs="bfloat16", accumulate="bfloat16")
_DOT6_FP32 = sm.dot(_A6, _A6, inputs="bfloat16", accumulate="float32")

# Q7: the largest n with gamma_{n-1} <= 1% for u = 2**-24 (exact rational arithmetic)
_U32 = Fraction(sm.unit_roundoff("float32"))
_M7 = math.floor(Fraction(1, 101) / _U32)           # (n-1) u / (1 - (n-1) u) <= 1/100  <=>  (n-1) u <= 1/101
_N7 = _M7 + 1
assert sm.gamma(_N7 - 1, float(_U32)) <= 0.01 < sm.gamma(_N7, float(_U32))
_N7_NO_DENOMINATOR = math.floor(Fraction(1, 100) / _U32) + 1


# Q8: Kahan summation in float32
def _kahan_reference(x) -> float:
    return sm.kahan_sum(np.asarray(x, dtype=np.float32), "float32")


_KAHAN_CASES_DATA = [
    np.full(10_000, np.float32(1e-5)),                                        # the loop drifts here
    np.array([1.0, 1e8, -1e8], dtype=np.float32),                             # Kahan loses the 1 too
    np.random.default_rng(4).standard_normal(500).astype(np.float32),
    np.array([3.5], dtype=np.float32),
    np.array([2.0**24, 1.0, 1.0, 1.0, 1.0], dtype=np.float32),               # the loop stalls at 2**24
]
_KAHAN_CASES = [((x,), _kahan_reference(x)) for x in _KAHAN_CASES_DATA]


def _naive32(x) -> float:
    return float(np.cumsum(np.asarray(x, dtype=np.float32))[-1])


def _exact32(x) -> float:
    return float(np.float32(math.fsum(np.asarray(x, dtype=np.float64))))


def _kahan_sign_error(x) -> float:
    s = c = np.float32(0)
    for v in np.asarray(x, dtype=np.float32):
        y = v + c          # adds the correction instead of subtracting it
        t = s + y
        c = (t - s) - y
        s = t
    return float(s)


assert _naive32(_KAHAN_CASES_DATA[0]) != _KAHAN_CASES[0][1]
assert _exact32(_KAHAN_CASES_DATA[1]) != _KAHAN_CASES[1][1]
assert _kahan_sign_error(_KAHAN_CASES_DATA[0]) != _KAHAN_CASES[0][1]

# Q9: a float32 reduction on T = 1, 2, 4, 8 threads
_X9 = np.random.default_rng(2024).standard_normal(10_000).astype(np.float32)
_THREADS9 = [1, 2, 4, 8]
_BLOCKED9 = [sm.blocked_sum(_X9, "float32", block=_X9.size // t) for t in _THREADS9]
assert len(set(_BLOCKED9)) == len(_BLOCKED9)
_NPSUM9 = [float(np.sum(_X9))] * 4
_EXACT9 = [sm.exact_sum(_X9, "float32")] * 4
_PAIRWISE9 = [sm.blocked_sum(_X9, "float32", block=1)] + [
    sm.pairwise_sum(_X9, "float32", block=_X9.size // t) for t in _THREADS9[1:]]

QUESTIONS = [
    Question(
        title="Add 10⁵ copies of float32(0.1) in an FP32 loop",
        checker=Number(_NAIVE1),
        hints=[
            "A loop that adds left to right in float32 is exactly what `np.cumsum` does on a float32 array.",
            "`np.sum` is *not* a loop (it is pairwise), and `10_000` is not the sum of the float32 values.",
        ],
        solution_text=(
            "`np.cumsum` adds left to right and rounds every partial sum to float32, so its last element is "
            "the loop's result. The exact sum of the stored values (`math.fsum`) is not 10 000 either, since "
            "float32(0.1) is slightly more than 0.1.\n\n"
            "```python\nimport math, numpy as np\n"
            "x = np.full(10**5, np.float32(0.1))\n"
            "loop = float(np.cumsum(x)[-1])\n"
            "print(loop, float(np.sum(x)), math.fsum(x.astype(np.float64)))\n```\n\n"
            f"The loop gives {_NAIVE1!r}; `np.sum` gives {_NPSUM1!r} and the exact sum is {_EXACT1!r}."
        ),
        reference=_NAIVE1,
        wrong=[10_000.0, _NPSUM1, _EXACT1],
    ),
    Question(
        title="Where does counting by ones stall in float16?",
        checker=Number(_STALL16),
        hints=[
            "Every integer up to $2^p$ is a float16 number, with $p = 11$ significant bits (10 stored + 1 implicit).",
            "At $2^p$ the gap between floats becomes 2, so $2^p + 1$ is a tie. Which way do ties go?",
        ],
        solution_text=(
            f"float16 has $p = 11$, so every integer up to $2^{{11}} = {_STALL16:.0f}$ is representable. There "
            f"the spacing becomes 2, and ${_STALL16:.0f} + 1$ is a tie between {_STALL16:.0f} (even significand) "
            f"and {_STALL16 + 2:.0f} (odd): it rounds back to {_STALL16:.0f}, forever.\n\n"
            "```python\nimport numpy as np\n"
            "count = np.cumsum(np.ones(5000, dtype=np.float16))\n"
            "print(count[-1], np.float16(2048) + np.float16(1))\n```"
        ),
        reference=_STALL16,
        wrong=[1024.0, 2049.0, 4096.0, 65504.0],
    ),
    Question(
        title="(2²⁴ + 2) + 1 in FP32",
        checker=Number(_Q3),
        hints=[
            "Above $2^{24}$ the float32 numbers are the even integers: the gap is 2.",
            "$2^{24} + 3$ lies halfway between $2^{24} + 2$ and $2^{24} + 4$. Look at the last significand "
            "bit of each.",
        ],
        solution_text=(
            "In $[2^{24}, 2^{25})$ the spacing is 2. The exact sum $2^{24} + 3$ is a tie between "
            "$2^{24} + 2$ (significand ending in 1: odd) and $2^{24} + 4$ (ending in 0: even). Ties go to even, "
            f"so the sum rounds *up*, to {_Q3:,.0f}: adding 1 moved the number by 2.\n\n"
            "```python\nimport numpy as np\n"
            "print(int(np.float32(2**24 + 2) + np.float32(1)))\n```"
        ),
        reference=_Q3,
        wrong=[2.0**24 + 3, 2.0**24 + 2, 2.0**24],
    ),
    Question(
        title="The BF16 bits of the value where counting by ones stops",
        checker=Bits(_BITS4, fields=_BF16_FIELDS),
        hints=[
            "BF16 has $p = 8$: counting stalls at $2^8$.",
            "BF16 is 1 sign bit, 8 exponent bits with bias 127, 7 mantissa bits. A power of two has an all-zero "
            "mantissa (the leading 1 is implicit).",
        ],
        solution_text=(
            "Counting stalls at $2^8 = 256$. Its sign bit is 0, its exponent field is $8 + 127 = 135 = "
            "$ `10000111`, and its mantissa is all zeros because the leading 1 is implicit.\n\n"
            "```python\nfrom support.numbers.formats import fields\nimport ml_dtypes, numpy as np\n"
            "print(fields(256.0, 'bfloat16'))\n"
            "print(f\"{np.array(256.0, dtype=ml_dtypes.bfloat16).view(np.uint16):016b}\")\n```"
        ),
        reference=_BITS4,
        wrong=[_BITS4_512, _BITS4_258, "0 00001000 0000000", "0 10000111 1000000"],
    ),
    Question(
        title="Update a BF16 weight of 1.0 by 0.005",
        checker=Number(_Q5),
        hints=[
            "Near 1 the BF16 spacing is $2^{-7} = 0.0078125$; half of it is $2^{-8} = 0.00390625$.",
            "0.005 is more than half a gap: the sum is not absorbed. Which neighbour of 1.005 is nearest?",
        ],
        solution_text=(
            "The BF16 numbers around 1.005 are 1 and $1 + 2^{-7} = 1.0078125$. The update 0.005 is more than "
            "half the gap ($2^{-8} \\approx 0.0039$), so 1.005 is nearer to 1.0078125: the weight moves by a "
            "full ulp, more than asked. An update below $2^{-8}$ would have been lost entirely; the threshold "
            "is half an ulp, not one ulp.\n\n"
            "```python\nfrom support.numbers.formats import round_to\nprint(round_to(1 + 0.005, 'bfloat16'))\n```"
        ),
        reference=_Q5,
        wrong=[1.0, 1.005, 1 + 2**-8],
    ),
    Question(
        title="A BF16 dot product of 4096 halves with a BF16 accumulator",
        checker=Number(_DOT6),
        hints=[
            "Every product is $0.5 \\times 0.5 = 0.25$, exact. The exact dot product is 1024.",
            "The running sum grows by 0.25 until 0.25 is half the BF16 spacing of the sum. Where is the "
            "spacing 0.5?",
            "At that point $s + 0.25$ is a tie. Is $s$ even?",
        ],
        solution_text=(
            "The accumulator counts in steps of 0.25, exactly, while 0.25 is less than half its spacing. In "
            "$[64, 128)$ the BF16 spacing is $64 \\cdot 2^{-7} = 0.5$, so $64 + 0.25$ is a tie between 64 "
            "(significand `1.0000000`, even) and 64.5 (odd): it rounds back to 64. The sum is stuck at "
            f"{_DOT6:g}, 1/{_DOT6_FP32 / _DOT6:g} of the true {_DOT6_FP32:g}, which an FP32 accumulator gets "
            "exactly.\n\n"
            "```python\nimport numpy as np\nfrom support.numbers import summation as sm\n"
            "a = np.full(4096, 0.5)\n"
            "print(sm.dot(a, a, inputs='bfloat16', accumulate='bfloat16'),\n"
            "      sm.dot(a, a, inputs='bfloat16', accumulate='float32'))\n```"
        ),
        reference=_DOT6,
        wrong=[_DOT6_FP32, 128.0, 256.0, 32.0],
    ),
    Question(
        title="How long can an FP32 sum be before the worst-case bound exceeds 1%?",
        checker=Number(_N7),
        hints=[
            "Recursive summation of $n$ terms: $|\\hat s - s| \\le \\gamma_{n-1} \\sum |x_i|$ with "
            "$\\gamma_k = ku/(1 - ku)$ and $u = 2^{-24}$.",
            "$\\gamma_k \\le 1/100$ is the same as $k u \\le 1/101$. Solve for the largest integer $k$, then "
            "$n = k + 1$.",
        ],
        solution_text=(
            "$\\gamma_{n-1} = (n-1)u / (1 - (n-1)u) \\le 1/100 \\iff 100 (n-1) u \\le 1 - (n-1) u \\iff (n-1)u "
            f"\\le 1/101$. With $u = 2^{{-24}}$, $n - 1 \\le 2^{{24}}/101 = {2**24 / 101:,.2f}$, so $n = {_N7:,}$. "
            "Forgetting the denominator ($(n-1)u \\le 0.01$) gives a slightly larger, wrong $n$. The measured "
            "errors of the chapter stay far below this worst case.\n\n"
            "```python\nfrom fractions import Fraction\nimport math\nfrom support.numbers import summation as sm\n"
            "u = Fraction(1, 2**24)\nn = math.floor(Fraction(1, 101) / u) + 1\n"
            "print(n, sm.gamma(n - 1, float(u)), sm.gamma(n, float(u)))\n```"
        ),
        reference=_N7,
        wrong=[_N7_NO_DENOMINATOR, _N7 - 1, _N7 + 1],
    ),
    Question(
        title="Write Kahan's compensated summation in float32",
        checker=Function(_KAHAN_CASES),
        hints=[
            "Keep two float32 variables, the sum `s` and the correction `c`, both starting at `np.float32(0)`.",
            "For each term: `y = x_i - c`, `t = s + y`, `c = (t - s) - y`, `s = t`. Every operation must stay "
            "in float32: use `np.float32` scalars, not Python floats (which are float64).",
            "Return `float(s)`.",
        ],
        solution_text=(
            "```python\nimport numpy as np\n\n"
            "def kahan32(x):\n"
            "    s = c = np.float32(0)\n"
            "    for v in np.asarray(x, dtype=np.float32):\n"
            "        y = v - c\n"
            "        t = s + y\n"
            "        c = (t - s) - y      # minus the part of y that did not get into t\n"
            "        s = t\n"
            "    return float(s)\n```\n\n"
            "The tests include a case where Kahan's method is *not* exact: for `[1, 1e8, -1e8]` the 1 is "
            "lost when 1e8 is added (there $|y| > |s|$, and the correction cannot hold it), so the "
            "answer is 0 like the plain loop's. A function that returns the correctly rounded sum fails that "
            "test; one that adds left to right fails the first."
        ),
        reference=_kahan_reference,
        wrong=[_naive32, _exact32, _kahan_sign_error],
    ),
    Question(
        title="The same float32 sum on 1, 2, 4 and 8 threads",
        checker=Array(_BLOCKED9),
        hints=[
            "With $T$ threads, thread $k$ sums the $k$-th block of `n // T` consecutive elements left to right "
            "in float32; then one thread adds the $T$ partial sums left to right.",
            "`np.cumsum(x.reshape(T, -1), axis=1)[:, -1]` gives the $T$ block sums in float32; "
            "`np.cumsum` of those gives the total.",
        ],
        solution_text=(
            "```python\nimport numpy as np\n"
            "x = np.random.default_rng(2024).standard_normal(10_000).astype(np.float32)\n"
            "answer = []\nfor T in (1, 2, 4, 8):\n"
            "    partial = np.cumsum(x.reshape(T, -1), axis=1)[:, -1]   # each thread, left to right\n"
            "    answer.append(float(np.cumsum(partial)[-1]))             # then the T partial sums\n"
            "print(answer)\n```\n\n"
            "All four are different: the same numbers, added in a different order, round differently. "
            "`support.numbers.summation.blocked_sum(x, 'float32', block=len(x) // T)` computes the same thing."
        ),
        reference=_BLOCKED9,
        wrong=[_NPSUM9, _EXACT9, _PAIRWISE9],
    ),
    Question(
        title="Which float32 sum gives the same bits in every order?",
        checker=Choice(
            "c",
            options={
                "a": "`np.sum(x)` (numpy's pairwise summation)",
                "b": "Kahan's compensated summation in float32",
                "c": "`np.float32(math.fsum(x))`",
                "d": "a pairwise sum in float32 with a fixed binary tree",
            },
            feedback={
                "a": "The tree is fixed, but permuting the inputs puts different numbers in each pair, so the "
                     "roundings differ. In the chapter, 400 orders gave several different `np.sum` results.",
                "b": "Kahan's method is very accurate, but its roundings still depend on the order: in the "
                     "chapter, 400 orders gave more than one result.",
                "d": "A fixed tree makes the result repeatable for the same input *order* (and the same "
                     "number of threads), not for a permuted input.",
            },
        ),
        hints=[
            "A result is order-independent if it is a function of the *exact* sum only.",
        ],
        solution_text=(
            "`math.fsum` returns the exact sum correctly rounded to float64, which depends only on the "
            "multiset of values, so converting it to float32 gives the same bits in every order (it may "
            "occasionally differ from the correctly rounded float32 sum by double rounding, but always in the "
            "same way). The other three round partial sums that depend on the order.\n\n"
            "```python\nimport math, numpy as np\n"
            "rng = np.random.default_rng(0)\nx = rng.standard_normal(10_000).astype(np.float32)\n"
            "print({np.float32(math.fsum(rng.permutation(x).astype(np.float64))) for _ in range(20)})\n"
            "print(len({np.sum(rng.permutation(x)) for _ in range(20)}))\n```"
        ),
        reference="c",
        wrong=["a", "b", "d"],
    ),
    Question(
        title="Why do np.sum(x) and np.cumsum(x)[-1] differ for a float32 array?",
        checker=Choice(
            "b",
            options={
                "a": "`np.sum` accumulates float32 input in float64 and rounds at the end.",
                "b": "`np.sum` adds pairwise (8 interleaved accumulators over blocks of up to 128, halving "
                     "longer runs) along the contiguous axis, while `np.cumsum` adds left to right.",
                "c": "`np.cumsum` uses Kahan's compensated summation.",
                "d": "`np.sum` sorts the values by magnitude before adding them.",
            },
            feedback={
                "a": "For float32 input `np.sum` accumulates in float32; you get a float64 accumulator only "
                     "with `dtype=np.float64`. Its result then differs again.",
                "c": "`np.cumsum` is the plain loop: each partial sum is an output, rounded to float32.",
                "d": "Sorting would cost $O(n \\log n)$; numpy does not sort. The order is fixed by the "
                     "memory layout.",
            },
        ),
        hints=["Read the Notes of `help(np.sum)`, and compare with the loop `np.cumsum` must do."],
        solution_text=(
            "numpy's documentation says it uses partial pairwise summation along the fast (contiguous) axis. "
            "The source sums runs of up to 128 elements with 8 accumulators and halves longer runs. "
            "`np.cumsum` must output every partial sum, so it adds left to right. "
            "`support.numbers.summation.numpy_pairwise_sum` reproduces `np.sum` bit for bit:\n\n"
            "```python\nimport numpy as np\nfrom support.numbers import summation as sm\n"
            "x = np.full(10**6, np.float32(1e-5))\n"
            "print(np.sum(x), np.cumsum(x)[-1], sm.numpy_pairwise_sum(x, 'float32'))\n"
            "X = np.repeat(x[:, None], 2, axis=1)\n"
            "print(np.sum(X, axis=0))   # not the contiguous axis: left to right, like cumsum\n```"
        ),
        reference="b",
        wrong=["a", "c", "d"],
    ),
    Question(
        title="Why is a GPU reduction not bit-reproducible, and how can it be made so?",
        checker=Explain(
            model_answer=(
                "Floating-point addition is not associative: every addition rounds, and the rounding error "
                "depends on the operands. A parallel reduction splits the terms among threads and combines "
                "partial sums; the split depends on the number of threads, and with atomic additions the "
                "order in which partial sums arrive changes from run to run. Different orders give different "
                "roundings, hence different bits. To make it reproducible, either fix the reduction tree "
                "(fixed chunks combined in a fixed order, independent of the thread count and timing), or "
                "make the result a function of the exact sum: accumulate exactly (a long accumulator, or "
                "fsum-like algorithms) and round once, or pre-round every term to a common grid so that the "
                "additions are exact in any order (Demmel and Nguyen)."
            ),
            key_points=[
                "floating-point addition is not associative: the order changes the roundings",
                "thread count and atomics change the order (between configurations and between runs)",
                "fix the reduction tree: reproducible for a fixed configuration",
                "exact accumulation then one rounding, or pre-rounding: the same bits in any order",
                "reproducible is not the same as accurate",
            ],
        ),
        hints=[
            "Which algebraic law do the additions of a reduction silently assume?",
            "Think of two families of fixes: control the order, or make the order irrelevant.",
        ],
        solution_text=(
            "See the last section of the chapter. A parallel reduction adds in an order that depends on the "
            "number of threads and, with atomics, on timing; floating-point addition is not associative, so the "
            "bits change. Fix the order (a deterministic reduction tree), or make the order irrelevant: an exact "
            "long accumulator (or `math.fsum`) followed by one rounding, or pre-rounding the terms so that every "
            "addition is exact (Demmel and Nguyen).\n\n"
            "```python\nimport numpy as np\nfrom support.numbers import summation as sm\n"
            "rng = np.random.default_rng(0)\nx = rng.standard_normal(10_000).astype(np.float32)\n"
            "orders = np.stack([rng.permutation(x) for _ in range(50)])\n"
            "print(len(set(sm.naive_sum(orders))), len(set(sm.exact_sum(orders, 'float32'))),\n"
            "      len(set(sm.prerounded_sum(orders))))\n```"
        ),
        reference=(
            "Addition is not associative, and a parallel reduction adds in an order that depends on the "
            "thread count and on timing (atomics), so the roundings differ. Fix the reduction tree, or "
            "accumulate exactly and round once, or pre-round the terms so that every addition is exact."
        ),
    ),
]
