"""Exercises for chapter 03, "Rounding and floating-point arithmetic".

Reference answers are computed with :mod:`support.numbers.formats`, numpy and exact rationals
(:class:`fractions.Fraction`), so that a question cannot disagree with the chapter.
"""

from __future__ import annotations

from fractions import Fraction
import sys

import numpy as np

from support.exercises import Array, Bits, Choice, Explain, Function, Number, Question
from support.numbers.formats import fields, get_format, round_to, ulp
from support.notebook import minus

# ---------------------------------------------------------------------------
# Values shared by the questions (computed, not typed)
# ---------------------------------------------------------------------------

_FP32 = get_format("float32")
_U32 = _FP32.eps / 2                                             # 2**-24

# Q2: the smallest float32 d > 0 with 1 + d != 1 (the float right after u)
_SMALLEST_VISIBLE = float(np.nextafter(np.float32(_U32), np.float32(1)))

# Q3: ties on FP4 E2M1
_FP4_INPUTS = [0.25, 0.75, 1.25, 2.5, 3.5, 5.0, -2.5]
_FP4_RNE = round_to(np.array(_FP4_INPUTS), "float4_e2m1fn").tolist()
_FP4_RNA = round_to(np.array(_FP4_INPUTS), "float4_e2m1fn", mode="nearest_away").tolist()
_FP4_RZ = round_to(np.array(_FP4_INPUTS), "float4_e2m1fn", mode="toward_zero").tolist()


def _listing(values) -> str:
    return ", ".join(minus(f"{v:g}") for v in values)

# Q4: a BF16 tie, 1 + 2**-7 + 2**-8, between 1 + 2**-7 (odd) and 1 + 2**-6 (even)
_BF16_TIE = 1 + 2**-7 + 2**-8
_BF16_FIELDS = (("sign", 1), ("exponent", 8), ("mantissa", 7))
_BF16_BITS = str(fields(_BF16_TIE, "bfloat16"))
_BF16_TRUNCATED = str(fields(_BF16_TIE, "bfloat16", mode="toward_zero"))

# Q5: δ of fl32((1 + 2**-12)**2), exactly
_A5 = 1 + 2**-12
_EXACT5 = Fraction(_A5) ** 2
_FL5 = float(np.float32(_A5) * np.float32(_A5))
_DELTA5 = float((Fraction(_FL5) - _EXACT5) / _EXACT5)

# Q6: the smallest positive integer b with (1e8 + b) − 1e8 == b in float32
_BIG = np.float32(1e8)
_B6 = next(b for b in range(1, 65) if float((_BIG + np.float32(b)) - _BIG) == b)
_ULP_BIG = ulp(float(_BIG), "float32")

# Q8: fma test cases (exact rational arithmetic, then one rounding)


def _fma_reference(a: float, b: float, c: float) -> float:
    return float(Fraction(a) * Fraction(b) + Fraction(c))


_MAX64 = sys.float_info.max
_FMA_CASES = [((a, b, c), _fma_reference(a, b, c)) for a, b, c in [
    (1 + 2**-30, 1 - 2**-30, -1.0),      # two roundings give 0
    (3.0, 1 / 3, -1.0),                  # two roundings give 0
    (0.1, 10.0, -1.0),
    (2.0, 3.0, 1.0),
    (2.0**1000, 2.0**24, -_MAX64),       # a·b overflows on its own; a·b + c does not
    (1e-200, 1e-200, 1.0),
]]

# Q9: the κ at which u·κ² = 1 in float32
_KAPPA9 = _U32 ** -0.5

# Q11: stochastic rounding of 2.6 to FP4 E2M1
_X11 = 2.6
_LO11 = round_to(_X11, "float4_e2m1fn", mode="down")
_HI11 = round_to(_X11, "float4_e2m1fn", mode="up")
_VAR11 = (_X11 - _LO11) * (_HI11 - _X11)
_P11 = (_X11 - _LO11) / (_HI11 - _LO11)                        # probability of rounding up

_STERBENZ_PAIRS = [(1e8, 1.0), (0.7, 0.4), (3.0, 1.4), (0.3, 0.1)]
_RATIO = {k: float(np.float32(x)) / float(np.float32(y)) for k, (x, y) in zip("abcd", _STERBENZ_PAIRS)}
_EXACT = {k: float(np.float32(x) - np.float32(y)) == float(np.float32(x)) - float(np.float32(y))
          for k, (x, y) in zip("abcd", _STERBENZ_PAIRS)}
assert [k for k, r in _RATIO.items() if 0.5 <= r <= 2] == ["b"]
assert not _EXACT["a"] and _EXACT["c"] and not _EXACT["d"]      # as the feedback says

QUESTIONS = [
    Question(
        title="Why is 1.0 + 1e-8 == 1.0 in FP32 but not in FP64?",
        checker=Choice(
            "b",
            options={
                "a": "1e-8 underflows to zero in FP32, so nothing is added.",
                "b": "The exact sum lies closer to 1 than to the next FP32 number: 1e-8 is below "
                     "FP32's unit roundoff u = 2⁻²⁴ ≈ 6e-8, but far above FP64's u = 2⁻⁵³ ≈ 1.1e-16.",
                "c": "FP32 additions truncate (round toward zero); FP64 additions round to nearest.",
                "d": "1e-8 is below FP32's machine epsilon ε = 2⁻²³ ≈ 1.2e-7, and any addend below ε is lost.",
            },
            feedback={
                "a": "FP32 holds 1e-8 comfortably: its smallest normal number is about 1.2e-38, and "
                     "`np.float32(1e-8)` is not 0. The addend exists; it is the *sum* that is rounded.",
                "c": "Both round to nearest (ties to even) by default. The sum is lost even with "
                     "round-to-nearest, because 1e-8 is less than half the gap above 1.",
                "d": "The threshold is half of ε: u = ε/2 = 2^-24. For example 1 + 1e-7 (below ε, above u) "
                     "gives 1 + ε in FP32, not 1.",
            },
        ),
        hints=[
            "The floats next to 1 in FP32 are 1 and 1 + ε with ε = 2^-23. Where does 1 + 1e-8 lie between them?",
            "Round to nearest moves a number by at most half a gap: u = ε/2. Compare 1e-8 with u for both formats.",
        ],
        solution_text=(
            "Addition computes the exact sum 1 + 1e-8 and rounds it. In FP32 the neighbours of that sum are "
            "1 and 1 + 2^-23; it is within 1e-8 of 1 but about 1.1e-7 from 1 + 2^-23, so it rounds to 1. "
            "Any addend below u = 2^-24 ≈ 5.96e-8 is lost this way. FP64's gap above 1 is 2^-52 ≈ 2.2e-16, so "
            "1 + 1e-8 rounds to a float about 1e-8 above 1.\n\n"
            "```python\nimport numpy as np\n"
            "print(np.float32(1) + np.float32(1e-8) == 1)            # True\n"
            "print(1.0 + 1e-8 == 1.0)                                # False\n"
            "print(np.finfo(np.float32).eps / 2, np.finfo(np.float64).eps / 2)   # u of each\n"
            "print(np.float32(1) + np.float32(1e-7))                 # 1.0000001: above u, not lost\n```"
        ),
        reference="b",
        wrong=["a", "c", "d"],
    ),
    Question(
        title="The smallest float32 d with 1 + d ≠ 1",
        checker=Number(_SMALLEST_VISIBLE),
        hints=[
            "It is not ε: anything above ε/2 is already rounded up to 1 + ε.",
            "The exact sum 1 + 2^-24 lies exactly halfway between 1 and 1 + 2^-23. Which way does a tie go?",
            "The answer is the float32 right after 2^-24: `np.nextafter(np.float32(2**-24), np.float32(1))`.",
        ],
        solution_text=(
            "$1 + 2^{-24}$ is a tie between 1 (last mantissa bit 0, *even*) and $1 + 2^{-23}$ (odd), so it "
            "rounds to 1. Any float32 $d > 2^{-24}$ puts the exact sum above the midpoint, where it rounds up "
            "to $1 + 2^{-23}$. The smallest such $d$ is the next float32 after $2^{-24}$, "
            "$2^{-24}(1 + 2^{-23}) = 2^{-24} + 2^{-47}$.\n\n"
            "```python\nimport numpy as np\none, u = np.float32(1), np.float32(2**-24)\n"
            "d = np.nextafter(u, one)\n"
            "print(one + u == one, one + d == one)   # True False\n"
            "print(float(d), 2**-24 + 2**-47)\n```"
        ),
        reference=_SMALLEST_VISIBLE,
        wrong=[2.0**-23, 2.0**-24, 1e-8],
    ),
    Question(
        title="Round seven values to FP4 E2M1, ties to even",
        checker=Array(_FP4_RNE),
        hints=[
            "The non-negative FP4 E2M1 values are 0, 0.5, 1, 1.5, 2, 3, 4 and 6. Every input is a tie "
            "between two of them.",
            "A tie goes to the *even* neighbour, whose last mantissa bit is 0: 0, 1, 2 and 4 are even; "
            "0.5, 1.5, 3 and 6 are odd. Negative numbers round like their magnitudes.",
        ],
        solution_text=(
            "Each input lies halfway between two neighbours; the even one (mantissa bit 0) wins: "
            + ", ".join(minus(f"{x:g} → {r:g}") for x, r in zip(_FP4_INPUTS, _FP4_RNE))
            + f". Ties-away would give {_listing(_FP4_RNA)}.\n\n"
            "```python\nimport numpy as np\nfrom support.numbers.formats import round_to\n"
            f"x = np.array({_FP4_INPUTS})\n"
            "print(round_to(x, 'float4_e2m1fn'))                        # ties to even\n"
            "print(round_to(x, 'float4_e2m1fn', mode='nearest_away'))   # ties away, for comparison\n```"
        ),
        reference=_FP4_RNE,
        wrong=[_FP4_RNA, _FP4_RZ],
    ),
    Question(
        title="BF16 bits of the tie 1 + 2^-7 + 2^-8",
        checker=Bits(_BF16_BITS, fields=_BF16_FIELDS),
        hints=[
            "BF16 has 1 sign bit, 8 exponent bits (bias 127) and 7 mantissa bits; in [1, 2) the gap is 2^-7.",
            "1 + 2^-7 + 2^-8 lies halfway between 1 + 2^-7 (mantissa 0000001) and 1 + 2^-6 (mantissa 0000010).",
            "Ties go to the neighbour whose last mantissa bit is 0.",
        ],
        solution_text=(
            "The value is in [1, 2): sign 0, exponent field 0 + 127 = `01111111`. Its neighbours are "
            "$1 + 2^{-7}$ (mantissa `0000001`, odd) and $1 + 2^{-6}$ (mantissa `0000010`, even); "
            "the tie goes to the even one. Truncation would give `0000001`.\n\n"
            "```python\nimport ml_dtypes, numpy as np\nfrom support.numbers.formats import fields\n"
            "x = 1 + 2**-7 + 2**-8\n"
            "print(fields(x, 'bfloat16'))\n"
            "print(np.float32(x).astype(ml_dtypes.bfloat16))   # 1.01562 = 1 + 2**-6\n```"
        ),
        reference=_BF16_BITS,
        wrong=[
            _BF16_TRUNCATED,                      # truncation instead of rounding
            "0 10000000 0000010",                 # exponent with bias 128
            "0 01111111 1000001",                 # implicit 1 stored in the mantissa
        ],
    ),
    Question(
        title="The exact δ of one FP32 multiplication",
        checker=Number(_DELTA5, rtol=1e-7),
        hints=[
            "$(1 + 2^{-12})^2 = 1 + 2^{-11} + 2^{-24}$ exactly. Which two FP32 numbers surround it?",
            "It is a tie between $1 + 2^{-11}$ and $1 + 2^{-11} + 2^{-23}$. Which is even?",
            "$\\delta = (\\mathrm{fl}(x) - x)/x$ with $x$ the exact product, not 1. Use `fractions.Fraction`.",
        ],
        solution_text=(
            "The exact product $x = 1 + 2^{-11} + 2^{-24}$ is a tie; the even neighbour $1 + 2^{-11}$ wins, so "
            "$\\mathrm{fl}(x) - x = -2^{-24}$ and $\\delta = -2^{-24}/(1 + 2^{-11} + 2^{-24})$, a little smaller "
            "in magnitude than $u = 2^{-24}$, as the bound $|\\delta| \\le u/(1+u)$ requires.\n\n"
            "```python\nimport numpy as np\nfrom fractions import Fraction\n"
            "a = 1 + 2**-12\nexact = Fraction(a) ** 2\n"
            "computed = float(np.float32(a) * np.float32(a))\n"
            "delta = (Fraction(computed) - exact) / exact\n"
            "print(float(delta), float(delta) / 2**-24)\n```"
        ),
        reference=_DELTA5,
        wrong=[-_DELTA5, -(2.0**-24), 0.0],
    ),
    Question(
        title="The smallest b with (1e8 + b) − 1e8 == b in FP32",
        checker=Number(_B6),
        hints=[
            "What is the gap between FP32 numbers near 1e8? (`support.numbers.formats.ulp(1e8, 'float32')` or `np.spacing`.)",
            "1e8 + b is exact only if it is a float32. Watch the tie at b = ulp/2.",
        ],
        solution_text=(
            f"Near $10^8$ (between $2^{{26}}$ and $2^{{27}}$) FP32's ulp is $2^{{26-23}} = {_ULP_BIG:g}$, and $10^8$ "
            f"itself is a float32 (${int(1e8 // _ULP_BIG):,} \\times {_ULP_BIG:g}$, with an even last bit). For "
            f"$b < {_ULP_BIG / 2:g}$ the sum rounds back to $10^8$; $b = {_ULP_BIG / 2:g}$ is a tie that goes to the "
            f"even $10^8$; $b = {_ULP_BIG / 2 + 1:g}, \\dots, {_ULP_BIG - 1:g}$ round to $10^8 + {_ULP_BIG:g}$. The "
            f"first exact sum is at $b = {_B6}$.\n\n"
            "```python\nimport numpy as np\nbig = np.float32(1e8)\n"
            "print(np.spacing(big))\n"
            "print([float((big + np.float32(b)) - big) for b in range(1, 10)])\n```"
        ),
        reference=_B6,
        wrong=[1, 4, 16],
    ),
    Question(
        title="Which FP32 subtraction does Sterbenz's lemma guarantee to be exact?",
        checker=Choice(
            "b",
            options={
                "a": "1e8 − 1",
                "b": "0.7 − 0.4",
                "c": "3.0 − 1.4",
                "d": "0.3 − 0.1",
            },
            feedback={
                "a": "The ratio is 10^8, far outside [1/2, 2], and this one is in fact inexact: "
                     "99 999 999 is not a float32 (the gap there is 8).",
                "c": f"3/1.4 ≈ {_RATIO['c']:.3g} > 2: the lemma does not apply. This difference happens to "
                     "be exact, but nothing guarantees it.",
                "d": f"0.3/0.1 ≈ {_RATIO['d']:.3g} > 2: the lemma does not apply, and this difference is in fact "
                     "rounded.",
            },
        ),
        hints=[
            "Sterbenz: if y/2 ≤ x ≤ 2y, then x − y is exact.",
            "Compute the ratio x/y of each pair.",
        ],
        solution_text=(
            f"Only 0.7/0.4 ≈ {_RATIO['b']:.3g} lies in [1/2, 2]. The lemma is a sufficient condition: outside the band a "
            "difference may or may not be exact (3.0 − 1.4 is, 0.3 − 0.1 is not).\n\n"
            "```python\nimport numpy as np\n"
            "for x, y in [(1e8, 1.0), (0.7, 0.4), (3.0, 1.4), (0.3, 0.1)]:\n"
            "    x32, y32 = np.float32(x), np.float32(y)\n"
            "    exact = float(x32) - float(y32)          # exact in float64\n"
            "    print(x, y, float(x32) / float(y32), float(x32 - y32) == exact)\n```"
        ),
        reference="b",
        wrong=["a", "c", "d"],
    ),
    Question(
        title="Write fma(a, b, c) with one rounding",
        checker=Function(_FMA_CASES),
        hints=[
            "`fractions.Fraction(x)` holds a float exactly; products and sums of Fractions are exact.",
            "`float(fraction)` rounds a Fraction to the nearest float64 (ties to even): one rounding.",
            "Do not compute `a * b` in floating point first: that is the rounding an FMA avoids.",
        ],
        solution_text=(
            "Build $ab + c$ exactly as a rational number, then round once:\n\n"
            "```python\nfrom fractions import Fraction\n\n"
            "def fma(a, b, c):\n    return float(Fraction(a) * Fraction(b) + Fraction(c))\n```\n\n"
            "`a * b + c` fails the first test: $(1 + 2^{-30})(1 - 2^{-30}) = 1 - 2^{-60}$ rounds to 1, and "
            "1 − 1 = 0, while the FMA returns $-2^{-60}$. It also fails the overflow case: "
            "$2^{1000} \\cdot 2^{24}$ alone is too large for float64, but $2^{1024} - \\max$ is not."
        ),
        reference=_fma_reference,
        wrong=[
            lambda a, b, c: a * b + c,                                  # two roundings
            lambda a, b, c: float(Fraction(a * b) + Fraction(c)),       # product already rounded
        ],
    ),
    Question(
        title="At what mean/std ratio does E[x²] − E[x]² lose every digit in FP32?",
        checker=Number(_KAPPA9, rtol=0.05),
        hints=[
            "The relative error of the naive variance is about $u\\kappa^2$ with $\\kappa = |\\bar x|/\\sigma$.",
            "Solve $u\\kappa^2 = 1$ with FP32's unit roundoff $u = 2^{-24}$.",
        ],
        solution_text=(
            "$\\overline{x^2}$ and $\\bar x^2$ are each about $\\bar x^2$ and each carries a rounding error "
            "of about $u\\bar x^2$; their difference should be $\\sigma^2$. The relative error is about "
            f"$u\\bar x^2/\\sigma^2 = u\\kappa^2$, which reaches 1 at $\\kappa = u^{{-1/2}} = 2^{{12}} = {_KAPPA9:g}$. "
            "(The chapter's figure shows it: in FP32 the naive formula has no correct digit at a mean of "
            "$10^4$ times the standard deviation.)\n\n"
            "```python\nu = 2.0**-24\nprint(u ** -0.5)\n```"
        ),
        reference=_KAPPA9,
        wrong=[2.0**24, 2.0**23, 2.0**11.5],
    ),
    Question(
        title="The last subtraction is exact, so why is E[x²] − E[x]² wrong?",
        checker=Explain(
            model_answer=(
                "When the mean is large compared with the spread, mean(x²) and mean(x)² are nearly equal, so "
                "by Sterbenz's lemma their difference is computed exactly. But both operands were rounded "
                "before: squaring and summing leave each with an error of about u·mean², which is not small "
                "compared with the variance σ² when κ = |mean|/σ is large. The exact subtraction removes the "
                "leading digits that agree and leaves those earlier errors, magnified by (|a| + |b|)/|a − b| ≈ "
                "2κ², as the result. Cancellation does not create the error; it exposes it. The two-pass formula "
                "subtracts the mean from the exact data before squaring, so there is nothing to expose."
            ),
            key_points=[
                "the subtraction itself is exact (Sterbenz), the operands are not",
                "each operand carries an error of about u·mean² from the squares and the sums",
                "relative to σ² that error is about u·κ²: the cancellation magnifies it",
                "the fix subtracts the mean from exact data first (two-pass, Welford)",
            ],
        ),
        hints=[
            "Where do rounding errors enter before the final subtraction?",
            "Compare the size of those errors (relative to mean²) with the size of the result (σ²).",
        ],
        solution_text=(
            "The final subtraction is exact, but its operands are not: each has an error of about "
            "$u\\,\\bar x^2$ from the squares and sums. Subtracting two nearly equal numbers removes their "
            "common leading digits and keeps those errors, which relative to $\\sigma^2$ are about "
            "$u\\kappa^2$. Cancellation exposes earlier errors; it does not create new ones. Two-pass and "
            "Welford subtract the mean from the (exact) data first."
        ),
        reference=(
            "The subtraction is exact by Sterbenz, but mean(x^2) and mean(x)^2 already carry rounding errors of "
            "about u times mean^2; cancellation leaves only those errors, about u kappa^2 relative to the variance."
        ),
    ),
    Question(
        title="Variance of stochastic rounding of 2.6 to FP4 E2M1",
        checker=Number(_VAR11, rtol=1e-9),
        hints=[
            "The FP4 E2M1 neighbours of 2.6 are 2 and 3. With what probability does SR pick 3?",
            "A two-point variable with values RD, RU and P(RU) = p has variance p(1 − p)(RU − RD)².",
        ],
        solution_text=(
            f"SR(2.6) is {_HI11:g} with probability {_P11:.1f} and {_LO11:g} with probability {1 - _P11:.1f}: "
            f"mean 2.6 (unbiased), variance ${_P11:.1f} \\cdot {1 - _P11:.1f} \\cdot {_HI11 - _LO11:g}^2 = "
            f"(x - \\mathrm{{RD}})(\\mathrm{{RU}} - x) = {_VAR11:.2f}$. Round to nearest has variance 0 but is "
            f"always {abs(round_to(_X11, 'float4_e2m1fn') - _X11):.1f} off.\n\n"
            "```python\nimport numpy as np\nfrom support.numbers.formats import round_to\n"
            "rng = np.random.default_rng(0)\n"
            "draws = round_to(np.full(100_000, 2.6), 'float4_e2m1fn', mode='stochastic', rng=rng)\n"
            "print(draws.mean(), draws.var(), (2.6 - 2) * (3 - 2.6))\n```"
        ),
        reference=_VAR11,
        wrong=[0.0, 0.6, 0.36],
    ),
]
