"""Exercises for chapter 02, "The anatomy of a float".

Every reference answer is computed with :mod:`support.numbers.formats` (or numpy on the
format's own dtype), so that a question cannot disagree with the module the chapter uses.
"""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

import numpy as np

from support.exercises import Array, Bits, Choice, Explain, Function, Number, Question
from support.numbers.formats import FloatFormat, all_values, decode, encode, fields, get_format, ulp

# ---------------------------------------------------------------------------
# Values shared by the questions (computed, not typed)
# ---------------------------------------------------------------------------

_FP32_FIELDS = (("sign", 1), ("exponent", 8), ("mantissa", 23))
_BF16_FIELDS = (("sign", 1), ("exponent", 8), ("mantissa", 7))

_M13 = fields(-13.625, "float32")                         # 1 | 10000010 | 1011010...0
_M13_SIGNIFICAND = "1101101"                               # 13.625 = 1101.101 = 1.101101 × 2^3

_FP16 = get_format("float16")
_FP16_SUB_CODE = 0b0_00000_0000000011
_FP16_SUB = decode(_FP16_SUB_CODE, _FP16)                  # 3 · 2^-24

_TENTH32 = np.float32(0.1)
_TENTH32_SCALED = Fraction(1, 10) * 2**27                   # 0.1 = 1.6 × 2^-4: 24 bits before the point
_TENTH32_STORED = Fraction(float(_TENTH32))
_TENTH32_ERROR_EXACT = _TENTH32_STORED - Fraction(1, 10)
_TENTH32_ERROR = float(_TENTH32_ERROR_EXACT)
_TENTH64_ERROR = float(Fraction(0.1) - Fraction(1, 10))

_TENTH_BF16 = fields(0.1, "bfloat16")                      # rounded up: ...1101

_FTZ_X, _FTZ_Y = np.float32(1.5e-38), np.float32(1.2e-38)
_FTZ_DIFF = float(_FTZ_X - _FTZ_Y)                         # subnormal, exact

_ULP_1000 = ulp(1000.0, "float32")                         # 2^(9 - 23)
_FP32_EPS = get_format("float32").eps

_FP16_VALUES = all_values("float16")
_FP16_IN_UNIT = int(((_FP16_VALUES >= -1) & (_FP16_VALUES <= 1)).sum())
_FP16_ONE = int(encode(1.0, "float16"))

_FP32_BINADE = 2 ** get_format("float32").man_bits
_BINADES_BELOW_ONE = int(encode(1.0, "float32")) // _FP32_BINADE             # subnormals count as one
_BINADES_ABOVE_ONE = (int(encode(get_format("float32").max, "float32")) + 1) // _FP32_BINADE - _BINADES_BELOW_ONE


def _ieee(exp_bits: int, man_bits: int) -> FloatFormat:
    return FloatFormat(f"e{exp_bits}m{man_bits}", exp_bits, man_bits)


# ---------------------------------------------------------------------------
# The "write a decoder" question: a reference and three plausible mistakes
# ---------------------------------------------------------------------------


def _decoder(*, bias_offset: int = 0, subnormal_exponent: int = 1, implicit_one_below: bool = False):
    """A decoder of IEEE-style codes; the keyword arguments build the plausible mistakes.

    The defaults give the right decoder.  ``bias_offset=1`` uses the bias 2^(w-1) instead of
    2^(w-1) - 1; ``subnormal_exponent=0`` gives subnormals the exponent 0 - bias instead of
    1 - bias; ``implicit_one_below=True`` keeps the implicit 1 when the exponent field is 0.
    """

    def decode_code(code: int, exp_bits: int, man_bits: int) -> float:
        bias = 2 ** (exp_bits - 1) - 1 + bias_offset
        sign = -1.0 if code >> (exp_bits + man_bits) & 1 else 1.0
        exponent = code >> man_bits & (2**exp_bits - 1)
        mantissa = code & (2**man_bits - 1)
        if exponent == 2**exp_bits - 1:
            return sign * math.inf if mantissa == 0 else math.nan
        if exponent == 0 and not implicit_one_below:
            return sign * math.ldexp(mantissa, subnormal_exponent - bias - man_bits)
        return sign * math.ldexp(2**man_bits + mantissa, exponent - bias - man_bits)

    return decode_code


_decode_reference = _decoder()
_decode_no_subnormals = _decoder(implicit_one_below=True)
_decode_subnormal_exponent = _decoder(subnormal_exponent=0)
_decode_bias_off_by_one = _decoder(bias_offset=1)


_DECODE_CODES = [
    (0x3C00, 5, 10),                 # float16 1.0
    (0xC15A0000, 8, 23),             # float32 -13.625
    (0x3DCD, 8, 7),                  # bfloat16 0.1 (rounded)
    (0x7BFF, 5, 10),                 # float16 max
    (0x0001, 5, 10),                 # float16 smallest subnormal
    (0x03FF, 5, 10),                 # float16 largest subnormal
    (0x00000001, 8, 23),             # float32 smallest subnormal
    (0x8000, 5, 10),                 # -0.0
    (0x7C00, 5, 10),                 # +inf
    (0xFC00, 5, 10),                 # -inf
    (0x7E00, 5, 10),                 # NaN
    (0x7B, 5, 2),                    # float8_e5m2 max
    (0x01, 5, 2),                    # float8_e5m2 smallest subnormal
]
_DECODE_CASES = [((code, w, p), decode(code, _ieee(w, p))) for code, w, p in _DECODE_CODES]

QUESTIONS = [
    Question(
        title="Encode −13.625 in FP32 (sign, exponent, mantissa)",
        checker=Bits(_M13.bits, fields=_FP32_FIELDS),
        hints=[
            "Write 13.625 in binary: the integer part by repeated division by 2, the fraction "
            "0.625 by repeated doubling.",
            "13.625 = 1101.101₂. Move the binary point to just after the first 1: "
            "1.101101 × 2³.",
            "The exponent field stores 3 + 127; the mantissa field stores the bits *after* the "
            "leading 1, padded with zeros to 23 bits.",
        ],
        solution_text=(
            "- sign: negative, so **1**;\n"
            "- 13.625 = 8 + 4 + 1 + 0.5 + 0.125 = 1101.101₂ = 1.101101₂ × 2³;\n"
            f"- exponent field: 3 + 127 = {_M13.exponent} = **{_M13.exponent_bits}**;\n"
            f"- mantissa field: the bits after the implicit 1, **{_M13_SIGNIFICAND[1:]}** followed by "
            f"{23 - len(_M13_SIGNIFICAND[1:])} zeros.\n\n"
            f"Answer: `{_M13.sign_bits} {_M13.exponent_bits} {_M13.mantissa_bits}` "
            f"(0x{_M13.code:08X}).\n\n"
            "```python\nfrom support.numbers.formats import fields\nprint(fields(-13.625, \"float32\"))\n"
            "import numpy as np\nprint(hex(np.float32(-13.625).view(np.uint32)))\n```"
        ),
        reference=_M13.bits,
        wrong=[
            "1" + format(3, "08b") + _M13.mantissa_bits,                       # unbiased exponent
            "1" + _M13.exponent_bits + _M13_SIGNIFICAND.ljust(23, "0"),        # implicit 1 stored
            "0" + _M13.exponent_bits + _M13.mantissa_bits,                     # sign 0
        ],
        mistakes=[
            ("1" + format(3, "08b") + _M13.mantissa_bits,
             "The exponent field holds the exponent itself: FP32 stores it plus the bias 127."),
            ("1" + _M13.exponent_bits + _M13_SIGNIFICAND.ljust(23, "0"),
             "The mantissa field starts with the leading 1: FP32 leaves it implicit and stores the bits after it."),
        ],
    ),
    Question(
        title="Decode the float16 pattern 0 00000 0000000011",
        checker=Number(_FP16_SUB, rtol=1e-6),
        hints=[
            "The exponent field is 0: this is a subnormal number, with no implicit leading 1.",
            "A float16 subnormal is $M \\cdot 2^{1 - 15 - 10} = M \\cdot 2^{-24}$.",
        ],
        solution_text=(
            "Exponent field 0 and mantissa $M = 3 \\ne 0$: a subnormal. Its value is\n"
            "$2^{1-b} \\cdot M / 2^{m} = 2^{-14} \\cdot 3/2^{10} = 3 \\cdot 2^{-24} "
            f"\\approx {_FP16_SUB:.6g}$.\n\n"
            "```python\nimport numpy as np\n"
            "print(np.array([0b0_00000_0000000011], np.uint16).view(np.float16)[0])\n"
            "from support.numbers.formats import decode\nprint(decode(0b11, \"float16\"))\n```"
        ),
        reference=_FP16_SUB,
        wrong=[
            (1 + 3 / 2**10) * 2.0**-15,      # implicit 1 and exponent 0 - 15
            3 * 2.0**-25,                    # subnormal exponent -15 instead of -14
            (1 + 3 / 2**10) * 2.0**-14,      # implicit 1 with the right exponent
            3.0,                             # the mantissa field alone
        ],
        mistakes=[
            ((1 + 3 / 2**10) * 2.0**-15,
             "This reads the pattern as a normal number: with an exponent field of 0 there is no implicit 1, "
             "and the exponent is 1 − bias."),
            (3 * 2.0**-25, "Right, no implicit 1; but a subnormal's exponent is 1 − bias, not 0 − bias."),
            ((1 + 3 / 2**10) * 2.0**-14, "Right exponent, but a subnormal has no implicit leading 1."),
            (3.0, "That is the mantissa field read as an integer; it still needs its power of two."),
        ],
    ),
    Question(
        title="By how much does float32(0.1) exceed 0.1?",
        checker=Number(_TENTH32_ERROR, rtol=1e-6),
        hints=[
            "Compute the exact value of `np.float32(0.1)` with `fractions.Fraction` or "
            "`decimal.Decimal` (both convert a float exactly).",
            "Subtract `Fraction(1, 10)`, not the float `0.1`, which has its own error.",
        ],
        solution_text=(
            f"0.1 × 2²⁷ = {float(_TENTH32_SCALED)} rounds to {round(_TENTH32_SCALED)}, so FP32 stores "
            f"{round(_TENTH32_SCALED)} / 2²⁷ = {Decimal(_TENTH32_STORED.numerator) / Decimal(_TENTH32_STORED.denominator)}, "
            f"which exceeds 0.1 by {_TENTH32_ERROR:.10g} (= {_TENTH32_ERROR_EXACT}).\n\n"
            "```python\nimport numpy as np\nfrom fractions import Fraction\n"
            "error = Fraction(float(np.float32(0.1))) - Fraction(1, 10)\nprint(error, float(error))\n```"
        ),
        reference=_TENTH32_ERROR,
        wrong=[
            0.0,                                     # "0.1 is stored exactly"
            -_TENTH32_ERROR,                         # rounded down
            _TENTH64_ERROR,                          # the float64 error
            float(ulp(0.1, "float32")) / 2,          # the bound, not the error
        ],
        mistakes=[
            (0.0, "One tenth has no finite binary expansion, so float32 cannot store it exactly."),
            (_TENTH64_ERROR, "That is the error of float64's 0.1; the question is about float32."),
            (float(ulp(0.1, "float32")) / 2, "That is the bound on the error (half an ulp), not the error itself."),
        ],
    ),
    Question(
        title="Encode 0.1 in bfloat16",
        checker=Bits(_TENTH_BF16.bits, fields=_BF16_FIELDS),
        hints=[
            "0.1 = 1.1001 1001 1001 ...₂ × 2⁻⁴: the exponent field is the same as in FP32.",
            "BF16 keeps 7 mantissa bits. Look at the bits after the seventh to decide whether "
            "to round up (round to nearest, ties to even).",
        ],
        solution_text=(
            "0.1 = 1.1001100 1100 1100…₂ × 2⁻⁴. The exponent field is −4 + 127 = 123 = "
            "`01111011`. The first 7 bits after the point are `1001100`; the rest, `1100…`, is "
            "more than half a unit in the last place, so the mantissa rounds **up** to "
            f"`1001101`. The stored value is {_TENTH_BF16.value!r}.\n\n"
            "```python\nimport numpy as np, ml_dtypes\n"
            "print(bin(np.float32(0.1).astype(ml_dtypes.bfloat16).view(np.uint16)))\n"
            "from support.numbers.formats import fields\nprint(fields(0.1, \"bfloat16\"))\n```"
        ),
        reference=_TENTH_BF16.bits,
        wrong=[
            _TENTH_BF16.sign_bits + _TENTH_BF16.exponent_bits + "1001100",          # truncated
            _TENTH_BF16.sign_bits + format(-4 & 0xFF, "08b") + _TENTH_BF16.mantissa_bits,  # unbiased (two's complement)
            _TENTH_BF16.sign_bits + _TENTH_BF16.exponent_bits + "1100110",          # implicit 1 stored
        ],
    ),
    Question(
        title="Write decode(code, exp_bits, man_bits) for any IEEE-style format",
        checker=Function(_DECODE_CASES, compare=lambda expected: Number(expected, signed_zero=True)),
        hints=[
            "Extract the fields with shifts and masks: the mantissa is `code & (2**man_bits - 1)`, the "
            "exponent `(code >> man_bits) & (2**exp_bits - 1)`, the sign bit "
            "`(code >> (exp_bits + man_bits)) & 1`.",
            "Three cases on the exponent field: all ones (inf or NaN), zero (zero and "
            "subnormals: no implicit 1, exponent 1 − bias), anything else (normal).",
            "`math.ldexp(m, e)` computes m · 2^e exactly; keep the sign for ±0 by multiplying "
            "a signed 1.0.",
        ],
        solution_text=(
            "```python\nimport math\n\n"
            "def decode(code, exp_bits, man_bits):\n"
            "    bias = 2 ** (exp_bits - 1) - 1\n"
            "    sign = -1.0 if code >> (exp_bits + man_bits) & 1 else 1.0\n"
            "    exponent = code >> man_bits & (2**exp_bits - 1)\n"
            "    mantissa = code & (2**man_bits - 1)\n"
            "    if exponent == 2**exp_bits - 1:                      # inf or NaN\n"
            "        return sign * math.inf if mantissa == 0 else math.nan\n"
            "    if exponent == 0:                                    # zero and subnormals\n"
            "        return sign * math.ldexp(mantissa, 1 - bias - man_bits)\n"
            "    return sign * math.ldexp(2**man_bits + mantissa, exponent - bias - man_bits)\n"
            "```\n\n"
            "The test cases cover float16, bfloat16, float32 and float8_e5m2 codes: normal numbers, "
            "the largest value, the smallest and largest subnormal, −0, ±inf and NaN. "
            "`support.numbers.formats.decode` does the same, vectorised, for every format of the course "
            "(including the ones whose top codes are not IEEE-style)."
        ),
        reference=_decode_reference,
        wrong=[_decode_no_subnormals, _decode_subnormal_exponent, _decode_bias_off_by_one],
    ),
    Question(
        title="x − y with gradual underflow and with flush-to-zero",
        checker=Array([_FTZ_DIFF, 0.0], rtol=1e-6),
        hints=[
            "Both numbers are normal FP32 numbers (above 2⁻¹²⁶ ≈ 1.18e-38); their difference is not.",
            "With gradual underflow the difference is a subnormal number, computed exactly; "
            "flush-to-zero replaces it by 0.",
        ],
        solution_text=(
            f"`np.float32(1.5e-38) - np.float32(1.2e-38)` = {_FTZ_DIFF:.8g}, a subnormal (below "
            "2⁻¹²⁶), and exact. Flush-to-zero replaces a subnormal result by 0, so the answer is "
            f"`[{_FTZ_DIFF:.8g}, 0.0]`. With FTZ, x ≠ y but x − y == 0.\n\n"
            "```python\nimport numpy as np\nx, y = np.float32(1.5e-38), np.float32(1.2e-38)\n"
            "d = x - y\nd_ftz = d if abs(d) >= np.finfo(np.float32).smallest_normal else np.float32(0)\n"
            "print([d, d_ftz])\n```"
        ),
        reference=np.array([_FTZ_DIFF, 0.0]),
        wrong=[
            np.array([0.0, 0.0]),                 # "too small: underflows in both cases"
            np.array([_FTZ_DIFF, _FTZ_DIFF]),     # FTZ has no effect
            np.array([_FTZ_DIFF]),                # only one of the two
        ],
    ),
    Question(
        title="Which statement about subnormal numbers is true?",
        checker=Choice(
            "c",
            {
                "a": "Arithmetic on subnormals is slower than on normal numbers on every processor.",
                "b": "A subnormal FP32 number has 24 significant bits, like a normal one.",
                "c": "With flush-to-zero, two different numbers x ≠ y can give x − y == 0.",
                "d": "The smallest positive FP32 number is 2⁻¹²⁶.",
            },
            feedback={
                "a": "The cost depends on the hardware: NVIDIA GPUs add and multiply subnormals at "
                     "full speed, and the chapter's measurement shows the ratio on your own CPU.",
                "b": "A subnormal has no implicit leading 1: M · 2⁻¹⁴⁹ has only as many significant "
                     "bits as M itself (one for the smallest subnormal).",
                "d": "2⁻¹²⁶ is the smallest *normal* number; the smallest subnormal is 2⁻¹⁴⁹.",
            },
        ),
        hints=["Which of these did the chapter *measure* and which did it *prove*?"],
        solution_text=(
            "**(c).** With gradual underflow, a nonzero difference too small to be normal is a "
            "subnormal, so x − y = 0 only when x = y. Flush-to-zero replaces those differences by "
            "0. (a) is false: the cost depends on the processor (GPUs handle subnormal additions "
            "and multiplications at full speed; many x86 CPUs use a slow microcode assist for some "
            "operations). (b) is false: subnormals have fewer significant bits. (d) is false: "
            "2⁻¹²⁶ is the smallest normal number, 2⁻¹⁴⁹ the smallest subnormal."
        ),
        reference="c",
        wrong=["a", "b", "d"],
    ),
    Question(
        title="Which FP32 bit pattern is a quiet NaN?",
        checker=Choice(
            "b",
            {
                "a": "0x7F800000",
                "b": "0x7FC00000",
                "c": "0x7F800001",
                "d": "0xFF800000",
                "e": "0x7F7FFFFF",
            },
            feedback={
                "a": "Exponent all ones with a zero mantissa: that is +inf.",
                "c": "A NaN (exponent all ones, mantissa ≠ 0), but its quiet bit (the top mantissa "
                     "bit) is 0: a signalling NaN.",
                "d": "Sign 1, exponent all ones, mantissa 0: −inf.",
                "e": "Exponent field 254, not 255: the largest finite FP32 number.",
            },
        ),
        hints=[
            "Write each pattern in binary and split it into 1 + 8 + 23 bits.",
            "A NaN has exponent `11111111` and a nonzero mantissa; a *quiet* NaN has the top "
            "mantissa bit set.",
        ],
        solution_text=(
            "`0x7FC00000` = `0 11111111 10000000000000000000000`: exponent all ones, mantissa "
            "nonzero with its top bit (the quiet bit) set. It is numpy's `np.float32(np.nan)`.\n\n"
            "```python\nfrom support.numbers.formats import fields\nimport numpy as np\n"
            "for code in (0x7F800000, 0x7FC00000, 0x7F800001, 0xFF800000, 0x7F7FFFFF):\n"
            "    print(hex(code), np.uint32(code).view(np.float32))\n```"
        ),
        reference="b",
        wrong=["a", "c", "d", "e"],
    ),
    Question(
        title="Which expression returns 1.0?",
        checker=Choice(
            "b",
            {
                "a": "np.minimum(np.nan, 1.0)",
                "b": "np.fmin(np.nan, 1.0)",
                "c": "min(np.nan, 1.0)",
                "d": "np.nan * 0.0",
            },
            feedback={
                "a": "`np.minimum` propagates NaN: the result is nan.",
                "c": "Python's `min` keeps the first argument unless a later one compares smaller; "
                     "`1.0 < nan` is False, so it returns nan. `min(1.0, np.nan)` would return 1.0.",
                "d": "Any arithmetic with NaN gives NaN, even multiplication by zero.",
            },
        ),
        hints=["Only one of these functions is documented to *ignore* NaN."],
        solution_text=(
            "**(b).** `np.fmin` returns the non-NaN argument when exactly one is NaN (IEEE "
            "754-2008's `minNum`). `np.minimum` propagates NaN; Python's `min` depends on the "
            "order of its arguments because every comparison with NaN is false; `nan * 0.0` is nan.\n\n"
            "```python\nimport numpy as np\n"
            "print(np.minimum(np.nan, 1.0), np.fmin(np.nan, 1.0), min(np.nan, 1.0), np.nan * 0.0)\n```"
        ),
        reference="b",
        wrong=["a", "c", "d"],
    ),
    Question(
        title="np.arctan2(-0.0, -1.0)",
        checker=Number(float(np.arctan2(-0.0, -1.0)), rtol=1e-12),
        hints=[
            "atan2(y, x) is the angle of the point (x, y); the point (−1, 0) lies on the branch "
            "cut, the negative real axis.",
            "The sign of the zero says from which side the point is approached: from below for −0.",
        ],
        solution_text=(
            "The angle jumps from +π to −π across the negative real axis. With y = +0 the point "
            "is taken as just above the axis (π), with y = −0 just below it: "
            "`np.arctan2(-0.0, -1.0)` = −π ≈ −3.14159. This is why IEEE 754 keeps a signed zero "
            "(Kahan, 'Much ado about nothing's sign bit').\n\n"
            "```python\nimport numpy as np\nprint(np.arctan2(0.0, -1.0), np.arctan2(-0.0, -1.0))\n```"
        ),
        reference=float(np.arctan2(-0.0, -1.0)),
        wrong=[math.pi, 0.0, -0.0],
    ),
    Question(
        title="The gap between 1000 and the next FP32 number",
        checker=Number(_ULP_1000),
        hints=[
            "Find the binade: $2^9 = 512 \\le 1000 < 1024 = 2^{10}$.",
            "In the binade $[2^e, 2^{e+1})$ FP32's spacing is $2^{e-23}$.",
        ],
        solution_text=(
            "1000 lies in $[2^9, 2^{10})$, where FP32 numbers are $2^{9-23} = 2^{-14}$ apart: "
            f"{_ULP_1000!r}. Not ε = 2⁻²³ (the spacing at 1) and not 1000 · ε (not a power of two).\n\n"
            "```python\nimport numpy as np\nprint(np.spacing(np.float32(1000)))\n"
            "from support.numbers.formats import ulp\nprint(ulp(1000.0, \"float32\"))\n```"
        ),
        reference=_ULP_1000,
        wrong=[_FP32_EPS, 2 * _ULP_1000, _ULP_1000 / 2, 1000 * _FP32_EPS],
        mistakes=[
            (_FP32_EPS, "That is the gap next to 1 (machine epsilon); the gap doubles with every binade."),
            (2 * _ULP_1000, "Off by one binade: which power of two is the largest one not above 1000?"),
            (_ULP_1000 / 2, "Off by one binade: which power of two is the largest one not above 1000?"),
            (1000 * _FP32_EPS, "The gap is a power of two fixed by the binade, not epsilon scaled by the value."),
        ],
    ),
    Question(
        title="How many float16 values lie in [−1, 1]?",
        checker=Number(_FP16_IN_UNIT),
        hints=[
            "For non-negative floats, the bit pattern read as an unsigned integer grows with the "
            "value. What is the code of 1.0 in float16?",
            "Codes 0 … code(1.0) are the values in [0, 1]. Mirror for the negative side, and "
            "count +0 and −0 once.",
        ],
        solution_text=(
            f"The code of 1.0 is 0x{_FP16_ONE:04X} = {_FP16_ONE} = {_FP16_ONE // 2**10} · 2¹⁰, so [0, 1] holds "
            f"{_FP16_ONE + 1} values (code 0 included). [−1, 0] holds as many, and ±0 "
            f"is one value: 2 · {_FP16_ONE + 1} − 1 = {_FP16_IN_UNIT}.\n\n"
            "```python\nfrom support.numbers.formats import all_values\nv = all_values(\"float16\")\n"
            "print(((v >= -1) & (v <= 1)).sum())\n```"
        ),
        reference=_FP16_IN_UNIT,
        wrong=[_FP16_IN_UNIT + 1, 2 * 15 * 2**10, (_FP16_IN_UNIT + 1) // 2],
        mistakes=[
            (_FP16_IN_UNIT + 1, "Close: +0 and −0 are two bit patterns but one value."),
            (2 * 15 * 2**10, "Close: check the ends (±1 belong to the interval) and zero (+0 and −0 are one value)."),
            ((_FP16_IN_UNIT + 1) // 2, "That counts one sign only; the interval holds the negative values too."),
        ],
    ),
    Question(
        title="Why do nearly half of all FP32 values lie in [−1, 1]?",
        checker=Explain(
            "Floats are spaced logarithmically: every binade [2^e, 2^(e+1)) holds the same number of "
            "values (2^23 in FP32), whatever its length. The exponent range is nearly symmetric "
            "about 0 (−126 … 127), so there are about as many binades below 1 as above it, plus "
            "the subnormals. Counting values, not length, [−1, 1] gets nearly half; the density of "
            "floats is proportional to 1/|x|.",
            key_points=[
                "each binade holds the same count, 2^m values for m mantissa bits",
                "the exponent range is (nearly) symmetric about 2^0 = 1",
                "so about half the binades (and the subnormals) are below 1",
                "the spacing grows with |x|: density ∝ 1/|x|",
            ],
        ),
        hints=["How many FP32 values are there in [1, 2)? In [2¹⁰⁰, 2¹⁰¹)? In [2⁻¹⁰⁰, 2⁻⁹⁹)?"],
        solution_text=(
            "Each binade holds 2²³ FP32 values, short or long. Exponents run from −126 to 127, so "
            f"{_BINADES_BELOW_ONE} binades (counting the subnormals as one) lie below 1 and "
            f"{_BINADES_ABOVE_ONE} above; hence a fraction close to one half of the finite values has |x| ≤ 1."
        ),
        reference="Each binade holds the same number of values and about half of the binades lie below one.",
    ),
]
