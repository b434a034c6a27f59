"""Exercises for chapter 05, "FP32, TF32, BF16 and FP16".

Every reference answer is computed with :mod:`support.numbers.formats`, so that a question cannot
disagree with the registry the chapter uses.
"""

from __future__ import annotations

import math

import numpy as np

from support.exercises import Array, Bits, Choice, Explain, Function, Number, Question
from support.numbers.formats import encode, fields, get_format, round_to, ulp

# ---------------------------------------------------------------------------
# Values shared by the questions (computed, not typed)
# ---------------------------------------------------------------------------

_FP32, _TF32, _BF16, _FP16 = (get_format(n) for n in ("float32", "tfloat32", "bfloat16", "float16"))

_G = 70000.0
_G_BF16 = round_to(_G, "bfloat16")                                   # 70144
_G_BF16_TRUNC = round_to(_G, "bfloat16", mode="toward_zero")         # 69632
_G_FP16_GRID = round_to(_G, "tfloat32")                              # 70016: a 10-bit mantissa, as if FP16 had the range
_G_ERR = abs(_G_BF16 - _G) / _G

_FP16_OVERFLOW = _FP16.max + ulp(_FP16.max, "float16") / 2           # 65520: the tie goes to inf

_X_NEAR_ONE = 1.01
_NEAR_ONE_BF16 = round_to(_X_NEAR_ONE, "bfloat16")

_X_BITS = 0.1
_BITS_BF16 = fields(np.float32(_X_BITS), "bfloat16").bits
_BITS_BF16_TRUNC = fields(np.float32(_X_BITS), "bfloat16", mode="toward_zero").bits
_BITS_FP16 = fields(np.float32(_X_BITS), "float16").bits
_BF16_FIELDS = (("sign", 1), ("exponent", 8), ("mantissa", 7))


def _binades(name: str) -> float:
    f = get_format(name)
    return math.log2(f.max) - math.log2(f.min_subnormal)


_RANGE_FORMATS = ("float32", "bfloat16", "float16")
_BINADES = [round(_binades(n), 2) for n in _RANGE_FORMATS]
_BINADES_NORMAL = [round(math.log2(get_format(n).max / get_format(n).min_normal), 2) for n in _RANGE_FORMATS]
_DECADES = [round(_binades(n) * math.log10(2), 2) for n in _RANGE_FORMATS]

_N_PARAMS = 70e9
_GB_TF32 = _N_PARAMS * 4 / 1e9                                        # stored as FP32
_GB_19_BITS = _N_PARAMS * _TF32.bits / 8 / 1e9
_GIB_TF32 = _N_PARAMS * 4 / 2**30

_TINY = 1e-8
_K_NORMAL = math.ceil(math.log2(_FP16.min_normal / np.float32(_TINY)))      # 13
_K_SURVIVE = math.floor(math.log2(_FP16.min_subnormal / 2 / np.float32(_TINY))) + 1   # 2: above the flush threshold


def _to_bf16_bits(x: float) -> int:
    """Reference: the BF16 code of the float32 value x, rounded to nearest even."""
    return int(encode(np.float32(x), "bfloat16"))


def _to_bf16_bits_truncate(x: float) -> int:
    """A plausible mistake: keep the upper 16 bits."""
    return int(np.float32(x).view(np.uint32)) >> 16


def _to_bf16_bits_ties_away(x: float) -> int:
    """A plausible mistake: add half an ulp and truncate (ties away from zero)."""
    return (int(np.float32(x).view(np.uint32)) + 0x8000) >> 16


def _to_bf16_bits_via_float16(x: float) -> int:
    """A plausible mistake: round to FP16, then keep the upper bits of that float32."""
    with np.errstate(over="ignore"):          # beyond FP16's range the mistake gives inf
        return int(np.float32(np.float16(x)).view(np.uint32)) >> 16


def _bits32(code: int) -> float:
    """The float32 value with the given bit pattern, as a Python float."""
    return float(np.uint32(code).view(np.float32))


_FUNCTION_CASES = [((x,), _to_bf16_bits(x)) for x in (
    1.0,
    -2.5,
    _bits32(0x3DCCCCCD),                   # 0.1f: the dropped half 0xCCCD rounds up
    _bits32(0x3F808000),                   # 1 + 2**-8: a tie, the kept part is even: stays
    _bits32(0x3F818000),                   # 1 + 3 * 2**-8: a tie, the kept part is odd: up
    _bits32(0x3F808001),                   # just above a tie: up
    _bits32(0xBF80FFFF),                   # a negative value rounding up in magnitude
    _bits32(0x3FFFFFFF),                   # the carry ripples into the exponent: 2.0
    _bits32(0x7F7FFFFF),                   # float32's largest value overflows BF16 to inf
    -0.0,                                  # the sign of zero is kept
    _bits32(0x00000001),                   # float32's smallest subnormal rounds to +0
    _bits32(0x00018000),                   # a subnormal tie
    65504.0,
    _G,
)]

QUESTIONS = [
    Question(
        title="A gradient of 70000.0: FP16 or BF16?",
        checker=Choice(
            correct="b",
            options={
                "a": "FP16: it has 10 mantissa bits to BF16's 7, so it stores 70000 more precisely.",
                "b": "BF16: FP16's largest value is 65504 and 70000 overflows to inf; BF16 stores it, "
                     "rounded to 8 significant bits.",
                "c": "Either: both are 16-bit formats, so both have the same range.",
                "d": "FP16: a cast to FP16 clamps 70000 to its largest value, a small error.",
            },
            feedback={
                "a": f"Precision does not help a value that does not fit: FP16's largest value is "
                     f"{_FP16.max:g} and everything from {_FP16_OVERFLOW:g} up rounds to inf. "
                     "Try `np.float16(70000.0)`.",
                "c": f"Same width, different split: FP16 has 5 exponent bits (largest value {_FP16.max:g}), "
                     f"BF16 has 8, like FP32 (largest value {_BF16.max:.3g}).",
                "d": "An IEEE cast does not saturate: a value at or beyond the overflow threshold "
                     f"({_FP16_OVERFLOW:g} for FP16) becomes inf. Saturating casts exist for some FP8 "
                     "conversions (chapter 06), not for FP16.",
            },
        ),
        hints=[
            "What is the largest finite FP16 number? Compare it with 70000.",
            "FP16 has 5 exponent bits, BF16 has 8. Which one reaches $2^{16}$?",
        ],
        solution_text=(
            f"FP16 tops out at {_FP16.max:g}, and every value from {_FP16_OVERFLOW:g} up rounds to inf, "
            f"so a gradient of 70000 becomes inf and poisons the update. BF16 has FP32's exponent range "
            f"and stores it as {_G_BF16:g} (an error of {_G_ERR:.2%}): imprecise, but finite.\n\n"
            "```python\nimport numpy as np, ml_dtypes\n"
            "np.float16(70000.0), np.float32(70000.0).astype(ml_dtypes.bfloat16)   # inf, 70144\n```"
        ),
        reference="b",
        wrong=["a", "c", "d"],
    ),
    Question(
        title="The BF16 value of 70000.0",
        checker=Number(_G_BF16),
        hints=[
            "70000 lies between $2^{16}$ and $2^{17}$. With 7 mantissa bits, what is the spacing of BF16 there?",
            "The spacing is $2^{16-7} = 512$. Divide 70000 by 512 and round to the nearest integer.",
        ],
        solution_text=(
            f"In $[2^{{16}}, 2^{{17}})$ BF16 values are $2^{{16}}(1 + M/2^7)$, spaced $2^9 = 512$ apart. "
            f"$70000 / 512 = {_G / 512:.4f}$, which rounds to {round(_G / 512)}, so the value is "
            f"${round(_G / 512)} · 512 = {_G_BF16:g}$. Truncation would give {_G_BF16_TRUNC:g}.\n\n"
            "```python\nfrom support.numbers.formats import round_to\nround_to(70000.0, \"bfloat16\")\n```"
        ),
        reference=_G_BF16,
        wrong=[_G, _G_BF16_TRUNC, _G_FP16_GRID, math.inf, 2.0**16],
    ),
    Question(
        title="The smallest value that overflows FP16",
        checker=Number(_FP16_OVERFLOW),
        hints=[
            "FP16's largest value is 65504; the next value, if the exponent had no limit, would be $2^{16}$.",
            "Round to nearest even sends everything above the midpoint of 65504 and $2^{16}$ up. What "
            "happens exactly at the midpoint?",
        ],
        solution_text=(
            f"The midpoint of {_FP16.max:g} and $2^{{16}}$ is {_FP16_OVERFLOW:g}. Below it, values round "
            "down to 65504. At it, the tie goes to the neighbour with the even mantissa: 65504 has mantissa "
            "`1111111111` (odd) and $2^{16}$ would have `0000000000`, so the result is $2^{16}$, which "
            f"overflows to inf. So {_FP16_OVERFLOW:g} is the smallest real number that becomes inf.\n\n"
            "```python\nimport numpy as np\n"
            "np.float16(np.float32(65520)), np.float16(np.nextafter(np.float32(65520), 0))   # inf, 65504\n```"
        ),
        reference=_FP16_OVERFLOW,
        wrong=[_FP16.max, _FP16.max + 1, 2.0**16, _FP16_OVERFLOW - 1],
    ),
    Question(
        title="1.01 in BF16",
        checker=Number(_NEAR_ONE_BF16),
        hints=[
            "Between 1 and 2 the BF16 values are $1 + M/2^7$, spaced $2^{-7} = 0.0078125$ apart.",
            "0.01 / 0.0078125 = 1.28: the nearest multiple is 1.",
        ],
        solution_text=(
            f"$(1.01 - 1) / 2^{{-7}} = 1.28$ rounds to 1, so BF16 stores $1 + 2^{{-7}} = {_NEAR_ONE_BF16}$, "
            f"an error of {abs(_NEAR_ONE_BF16 - 1.01) / 1.01:.2%}. FP16, with 10 mantissa bits, would give "
            f"{round_to(1.01, 'float16')}.\n\n"
            "```python\nfrom support.numbers.formats import round_to\nround_to(1.01, \"bfloat16\")\n```"
        ),
        reference=_NEAR_ONE_BF16,
        wrong=[_X_NEAR_ONE, 1.0, 1 + 2 * _BF16.eps, round_to(1.01, "float16")],
    ),
    Question(
        title="The BF16 bit pattern of 0.1",
        checker=Bits(_BITS_BF16, fields=_BF16_FIELDS),
        hints=[
            "Write 0.1 in FP32 first: `0x3DCCCCCD`. BF16 keeps the upper 16 bits, rounded.",
            "The dropped lower half is `0xCCCD`, more than `0x8000`: add one to the kept part.",
        ],
        solution_text=(
            "FP32 0.1 is `0x3DCCCCCD` = `0 01111011 10011001100110011001101`. BF16 keeps sign, exponent "
            "and the first 7 mantissa bits, `0 01111011 1001100` (0x3DCC), and the dropped half `0xCCCD` "
            "is more than half an ulp, so it rounds up to "
            f"`{' '.join([_BITS_BF16[:1], _BITS_BF16[1:9], _BITS_BF16[9:]])}` (0x3DCD = "
            f"{round_to(0.1, 'bfloat16')}).\n\n"
            "```python\nfrom support.numbers.formats import fields\nprint(fields(0.1, \"bfloat16\"))\n```"
        ),
        reference=_BITS_BF16,
        wrong=[
            _BITS_BF16_TRUNC,                     # truncation: the mantissa is one too small
            _BITS_FP16,                           # the FP16 pattern (5-bit exponent)
            "0 01111100 1001101",                 # exponent off by one (bias 126)
        ],
    ),
    Question(
        title="Write to_bf16_bits(x): FP32 to BF16 by integer rounding",
        checker=Function(_FUNCTION_CASES),
        hints=[
            "`int(np.float32(x).view(np.uint32))` is the FP32 bit pattern as an integer.",
            "Round to nearest even at bit 16: add `0x7FFF` plus the lowest kept bit, `(b >> 16) & 1`, "
            "then shift right by 16.",
        ],
        solution_text=(
            "```python\nimport numpy as np\n\n"
            "def to_bf16_bits(x):\n"
            "    b = int(np.float32(x).view(np.uint32))\n"
            "    return (b + 0x7FFF + ((b >> 16) & 1)) >> 16\n```\n\n"
            "Adding `0x7FFF` carries into bit 16 exactly when the dropped half exceeds `0x8000`; the extra "
            "`(b >> 16) & 1` makes a tie (`0x8000`) carry only when the kept part is odd, so the result is "
            "even. A carry out of the mantissa moves to the next binade, and one out of the largest exponent "
            "gives `0x7F80`, infinity. (A NaN input would need its own test; the cases here are finite.)"
        ),
        reference=_to_bf16_bits,
        wrong=[_to_bf16_bits_truncate, _to_bf16_bits_ties_away, _to_bf16_bits_via_float16],
    ),
    Question(
        title="Dynamic range in binades of FP32, BF16 and FP16",
        checker=Array(_BINADES, atol=0.01),
        hints=[
            "A binade is a factor of two. The number of binades between a and b is $\\log_2(b/a)$.",
            "Use the largest value and the smallest *subnormal*: "
            "`math.log2(f.max) - math.log2(f.min_subnormal)` for `f = get_format(name)`.",
        ],
        solution_text=(
            "$\\log_2(x_{\\max}/x_{\\min}^{\\text{sub}}) = e_{\\max} - e_{\\min} + m + \\log_2(2 - 2^{-m})$: "
            f"FP32 {_BINADES[0]:.2f}, BF16 {_BINADES[1]:.2f}, FP16 {_BINADES[2]:.2f}. BF16 matches FP32's "
            f"normal range (to {_BINADES_NORMAL[0] - _BINADES_NORMAL[1]:.2f} binade) but has "
            f"{_FP32.man_bits - _BF16.man_bits} fewer subnormal binades ({_BF16.man_bits} mantissa bits "
            f"instead of {_FP32.man_bits}).\n\n"
            "```python\nimport math\nfrom support.numbers.formats import get_format\n"
            "[round(math.log2(get_format(n).max) - math.log2(get_format(n).min_subnormal), 2)\n"
            " for n in (\"float32\", \"bfloat16\", \"float16\")]\n```"
        ),
        reference=_BINADES,
        wrong=[
            _BINADES_NORMAL,                                  # forgot the subnormals
            _DECADES,                                         # decades, not binades
            [_BINADES[0], _BINADES[0], _BINADES[2]],          # "BF16 has exactly FP32's range"
        ],
    ),
    Question(
        title="Memory of a 70B model whose matrix products run in TF32 (GB)",
        checker=Number(_GB_TF32, rtol=0.005),
        hints=[
            "Where do TF32 tensors live? Can you allocate one?",
            "TF32 is a compute mode: the weights stay FP32 in memory.",
        ],
        solution_text=(
            "TF32 is not a storage format: the tensor cores read FP32 values and keep 19 of their bits "
            f"(sign, exponent, a rounded 10-bit mantissa). The weights stay FP32, 4 bytes each: $70 \\times 10^9 \\times 4 / 10^9 = {_GB_TF32:.0f}$ GB "
            f"({_GIB_TF32:.1f} GiB). The 19 bits of TF32 divided by 8 ({_GB_19_BITS:.2f} GB) describe no real "
            "memory layout.\n\n"
            "```python\n70e9 * 4 / 1e9\n```"
        ),
        reference=_GB_TF32,
        wrong=[_GB_19_BITS, _GB_TF32 / 2, _GIB_TF32],
    ),
    Question(
        title="The loss-scale exponent that makes a gradient of 1e-8 a normal FP16 number",
        checker=Number(_K_NORMAL),
        hints=[
            "FP16's smallest normal number is $2^{-14}$. You need $10^{-8} \\cdot 2^k \\ge 2^{-14}$.",
            "$k \\ge \\log_2(2^{-14} / 10^{-8}) = -14 + 8 \\log_2 10$. Round up.",
        ],
        solution_text=(
            f"$k \\ge -14 + 8\\log_2 10 = {-14 + 8 * math.log2(10):.3f}$, so $k = {_K_NORMAL}$: "
            f"$10^{{-8}} \\cdot 2^{{{_K_NORMAL}}} \\approx {1e-8 * 2**_K_NORMAL:.3g}$, above "
            f"$2^{{-14}} \\approx {_FP16.min_normal:.3g}$. A smaller scale, down to $k = {_K_SURVIVE}$, "
            "already keeps the gradient from flushing to zero, but as a subnormal with fewer significant bits.\n\n"
            "```python\nimport math, numpy as np\n"
            "k = math.ceil(math.log2(2.0**-14 / np.float32(1e-8)))\n"
            "k, np.float16(np.float32(1e-8) * 2.0**k)   # 13, a normal FP16 number\n```"
        ),
        reference=_K_NORMAL,
        wrong=[_K_SURVIVE, _K_NORMAL - 1, _K_NORMAL + 1, 24],
    ),
    Question(
        title="What TF32 mode does to an FP32 matrix product",
        checker=Choice(
            correct="c",
            options={
                "a": "It halves memory: TF32 tensors take 19 bits per element instead of 32.",
                "b": "It has FP16's range, so products above 65504 overflow to inf.",
                "c": "Inputs keep FP32's 8-bit exponent but are rounded to 10 mantissa bits; products are "
                     "accumulated in FP32 and the tensors stay FP32 in memory.",
                "d": "Setting the flag rounds the stored FP32 weights to 10 mantissa bits once, for good.",
            },
            feedback={
                "a": "TF32 is a compute mode: tensors stay FP32 (4 bytes per element) in memory; only the "
                     "tensor core reads fewer bits.",
                "b": "TF32 has FP32's 8-bit exponent and bias, so its range is FP32's; it takes only FP16's "
                     "mantissa width.",
                "d": "Nothing stored changes: each matrix product rounds its inputs as it reads them, and the "
                     "FP32 weights keep all 23 mantissa bits.",
            },
        ),
        hints=["TF32 = FP32's exponent + FP16's mantissa. Where does the rounding happen, and what is stored?"],
        solution_text=(
            "(c). TF32 is the precision in which tensor cores multiply FP32 matrices: the inputs' mantissas "
            "are cut to 10 bits (rounded) as they are read, the exponent range is FP32's, and the products "
            "are summed in FP32. Memory, weights and every non-matmul operation stay FP32. In PyTorch, "
            "`torch.set_float32_matmul_precision(\"high\")` enables it on Ampere and later GPUs."
        ),
        reference="c",
        wrong=["a", "b", "d"],
    ),
    Question(
        title="Why FP16 training needs loss scaling and BF16 training does not",
        checker=Explain(
            model_answer=(
                f"Small gradients fall below FP16's range: its smallest normal number is 2^-14 ≈ {_FP16.min_normal:.2g} "
                f"and its smallest subnormal 2^-24 ≈ {_FP16.min_subnormal:.2g}, so gradients up to 2^-25 become zero "
                "and many more lose precision as subnormals. Multiplying the loss by 2^k multiplies every gradient by 2^k (the "
                "chain rule is linear) and shifts the histogram of log2|g| right by k, into FP16's range. A "
                "power of two changes only the exponent, so the scaling and the unscaling (in FP32, before "
                f"the update) are exact; k must stay small enough that the largest gradient stays at most {_FP16.max:g}, "
                "which is why GradScaler lowers the scale when it sees inf. BF16 has FP32's exponent range "
                "(normal numbers down to 2^-126), so gradients practically never underflow and no scaling is needed."
            ),
            key_points=[
                "FP16 flushes magnitudes up to 2^-25 to zero and stores values below 2^-14 as subnormals",
                "loss scaling multiplies all gradients by 2^k: the histogram moves right by k binades",
                "a power-of-two scale is exact; unscale in FP32 before the weight update",
                "the scale is limited by overflow at 65504 (dynamic scaling backs off on inf)",
                "BF16 shares FP32's exponent range, so its gradients do not underflow",
            ],
        ),
        hints=[
            "Compare the smallest positive values of FP16 and BF16 with typical gradient magnitudes.",
            "What does multiplying the loss by $2^k$ do to every gradient, and to its bits?",
        ],
        solution_text=(
            "FP16's range ends at $2^{-24}$ (subnormal) and $2^{-14}$ (normal); many gradients are smaller. "
            "A loss scale $2^k$ shifts all of them up by $k$ binades, exactly, and they are divided by $2^k$ "
            "in FP32 before the update. BF16's range reaches $2^{-126}$ with normal numbers, like FP32, so "
            "it needs no scale. See the histogram in the chapter and chapter 13 for dynamic loss scaling.\n\n"
            "```python\nimport numpy as np\n"
            "g = np.float32(1e-8)\n"
            "np.float16(g), np.float16(g * 2**13) / np.float32(2**13)   # 0 without a scale, ~1e-8 with one\n```"
        ),
        reference=(
            "FP16 flushes gradients below 2^-25 to zero and keeps those below 2^-14 only as subnormals; a "
            "power-of-two loss scale shifts every gradient up exactly, limited by overflow at 65504. BF16 has "
            "FP32's exponent range, so its gradients do not underflow."
        ),
        wrong=[],
    ),
]
