"""Exercises for chapter 06, "FP8, FP6, FP4 and their variants".

Reference answers are computed with :mod:`support.numbers.formats` and :mod:`support.numbers.scaling`, so
that a question cannot disagree with the chapter.
"""

from __future__ import annotations

import math

import numpy as np

from support.exercises import Array, Bits, Choice, Explain, Function, Number, Question
from support.numbers.formats import FloatFormat, decode, fields, get_format, round_to
from support.numbers.scaling import amax_scale, scale_for_amax

_E4M3 = get_format("float8_e4m3fn")
_E5M2 = get_format("float8_e5m2")
_FP8_FIELDS = (("sign", 1), ("exponent", 4), ("mantissa", 3))

# Q1: decode one E4M3FN code by hand
_CODE1 = 0xB5
_VALUE1 = decode(_CODE1, _E4M3)
_AS_E5M2 = decode(_CODE1, _E5M2)                                   # the same byte read as E5M2
_BIAS8 = decode(_CODE1, get_format("float8_e4m3fnuz"))              # bias 8 instead of 7
_NO_HIDDEN = -(2.0 ** (((_CODE1 >> 3) & 0xF) - 7)) * ((_CODE1 & 7) / 8)   # implicit 1 forgotten

# Q2: the bits of E4M3FN's largest value
_BITS2 = str(fields(_E4M3.max, _E4M3))
_NAN_BITS = format(0x7F, "08b")
_IEEE_MAX_BITS = str(fields(get_format("float8_e4m3").max, _E4M3))   # 240: the IEEE-style maximum

# Q3: the largest E5M2 value
_MAX3 = _E5M2.max

# Q5: 464 in E4M3FN
_X5 = 464.0
_R5 = round_to(_X5, _E4M3)

# Q7: all 16 FP4 E2M1 codes, in code order
_FP4 = get_format("float4_e2m1fn")
_FP4_CODES = decode(np.arange(16), _FP4)
_FP4_BIAS0 = decode(np.arange(16), FloatFormat("fp4_bias0", 2, 1, bias=0, nan="none"))
_FP4_SORTED = np.unique(_FP4_CODES)                                 # 15 values, -0 merged with +0

# Q8: the E8M0 code of 2**-3
_E8M0 = get_format("float8_e8m0fnu")
_X8 = 2.0**-3
_BITS8 = fields(_X8, _E8M0).bits

# Q9: binades covered (smallest subnormal to max) and distinct values
_BINADES = {f.name: math.log2(f.max / f.min_subnormal) for f in (_E4M3, _E5M2)}
_ALL8 = np.arange(256)
_DISTINCT = {name: len(np.unique(v[np.isfinite(v)]))
             for name in ("float8_e4m3fn", "float8_e4m3fnuz", "float8_e5m2")
             for v in [decode(_ALL8, name)]}
_FNUZ = get_format("float8_e4m3fnuz")

# Q10: a per-tensor scale function
_SCALE_CASES = [
    ((np.array([0.5, -2.0, 1.0]), "float8_e4m3fn"), amax_scale([0.5, -2.0, 1.0], "float8_e4m3fn")),
    ((np.array([0.5, -2.0, 1.0]), "float8_e4m3fn", 1), amax_scale([0.5, -2.0, 1.0], "float8_e4m3fn", margin=1)),
    ((np.array([-3e-4, 1e-4]), "float8_e5m2"), amax_scale([-3e-4, 1e-4], "float8_e5m2")),
    ((np.array([[0.1, 7.0], [-0.2, 3.0]]), "float8_e4m3fn", 2), amax_scale([[0.1, 7.0], [-0.2, 3.0]], "float8_e4m3fn", margin=2)),
    ((np.zeros(4), "float8_e4m3fn"), 1.0),
]


def _scale_reference(x, fmt, margin=0):
    return amax_scale(x, fmt, margin=margin)


def _scale_signed_max(x, fmt, margin=0):          # max(x) instead of max(|x|)
    return get_format(fmt).max / (float(np.max(x)) * 2**margin) if np.max(x) > 0 else 1.0


def _scale_no_margin(x, fmt, margin=0):           # forgets the margin
    amax = float(np.max(np.abs(x)))
    return get_format(fmt).max / amax if amax > 0 else 1.0


def _scale_inverted(x, fmt, margin=0):            # amax / max: the dequantization factor
    amax = float(np.max(np.abs(x)))
    return amax * 2**margin / get_format(fmt).max if amax > 0 else 1.0


def _scale_zero_crash(x, fmt, margin=0):          # divides by zero for an all-zero tensor
    return get_format(fmt).max / (float(np.max(np.abs(x))) * 2**margin)


# Q11: delayed scaling from an amax history
_HISTORY = [1.5, 2.0, 1.75]
_MARGIN11 = 1
_SCALE11 = scale_for_amax(max(_HISTORY), _E4M3, margin=_MARGIN11)
_MOST_RECENT11 = scale_for_amax(_HISTORY[-1], _E4M3, margin=_MARGIN11)
_NO_MARGIN11 = scale_for_amax(max(_HISTORY), _E4M3)
_OLDEST11 = scale_for_amax(_HISTORY[0], _E4M3, margin=_MARGIN11)

QUESTIONS = [
    Question(
        title="Decode the E4M3FN code 0xB5 by hand",
        checker=Number(_VALUE1),
        hints=[
            "Write 0xB5 in binary and split it 1 + 4 + 3: sign, exponent field E, mantissa field M.",
            "E4M3FN has bias 7. E is not 0, so the value is $(-1)^s\\, 2^{E-7} (1 + M/8)$.",
        ],
        solution_text=(
            "0xB5 = `1 0110 101`: $s = 1$, $E = 6$, $M = 5$. The exponent field is not zero, so the number is "
            "normal: $-2^{6-7} \\times (1 + 5/8) = -0.5 \\times 1.625 = -0.8125$.\n\n"
            "```python\nimport numpy as np, ml_dtypes\nfrom support.numbers.formats import decode\n"
            "code = 0xB5\ns, E, M = code >> 7, (code >> 3) & 0xF, code & 7\n"
            "print(s, E, M, (-1)**s * 2.0**(E - 7) * (1 + M / 8))\n"
            "print(decode(code, 'float8_e4m3fn'), np.uint8(code).view(ml_dtypes.float8_e4m3fn))\n```"
        ),
        reference=_VALUE1,
        wrong=[-_VALUE1, _BIAS8, _NO_HIDDEN, _AS_E5M2],
    ),
    Question(
        title="The bits of 448, the largest E4M3FN value",
        checker=Bits(_BITS2, fields=_FP8_FIELDS),
        hints=[
            "448 = 1.75 × 2⁸. With bias 7, which exponent field gives 2⁸?",
            "1.75 = 1 + 6/8. Why can the mantissa not be `111` in the top binade?",
        ],
        solution_text=(
            "$448 = 1.75 \\times 2^8$: exponent field $8 + 7 = 15$ = `1111`, mantissa $0.75 \\times 8 = 6$ = `110`. "
            "E4M3FN uses the all-ones exponent for numbers; only `S.1111.111` is NaN, so `0 1111 110` is the "
            "largest value. (An IEEE-style E4M3 would reserve the whole binade and stop at 240 = `0 1110 111`.)\n\n"
            "```python\nfrom support.numbers.formats import fields\nprint(fields(448.0, 'float8_e4m3fn'))\n```"
        ),
        reference=_BITS2,
        wrong=["0 1111 111", _IEEE_MAX_BITS, "0 1110 110"],
    ),
    Question(
        title="The largest finite E5M2 value",
        checker=Number(_MAX3),
        hints=[
            "E5M2 is IEEE-style: the all-ones exponent field `11111` holds ±inf and NaN.",
            "So the largest exponent field is `11110` = 30, with bias 15, and the largest mantissa is `11`.",
        ],
        solution_text=(
            "The largest finite code is `0 11110 11`: $2^{30-15} \\times (1 + 3/4) = 2^{15} \\times 1.75 = 57344$.\n\n"
            "```python\nimport ml_dtypes\nfrom support.numbers.formats import get_format\n"
            "print(get_format('float8_e5m2').max, ml_dtypes.finfo(ml_dtypes.float8_e5m2).max)\n```"
        ),
        reference=_MAX3,
        wrong=[2.0**16 * 1.75, 61440.0, 65504.0, 2.0**15 * 1.5],
    ),
    Question(
        title="What is the byte 0x80 in E4M3FN and in E4M3FNUZ?",
        checker=Choice(
            "a",
            options={
                "a": "−0 in E4M3FN; NaN in E4M3FNUZ.",
                "b": "NaN in both.",
                "c": "−0 in both.",
                "d": "NaN in E4M3FN; +0 in E4M3FNUZ.",
            },
            feedback={
                "b": "E4M3FN's NaN is `S.1111.111` (0x7F and 0xFF). 0x80 is sign 1 with every other bit 0.",
                "c": "FNUZ means 'unsigned zero': there is no −0, and its code is used for the format's only NaN.",
                "d": "The other way round: 0x80 is −0 in the FN format and NaN in the FNUZ format.",
            },
        ),
        hints=[
            "0x80 = `1 0000 000`: the sign bit set, every other bit 0.",
            "In an IEEE-like layout that is −0. What does 'UZ' (unsigned zero) do with that code?",
        ],
        solution_text=(
            "0x80 is sign 1, exponent 0, mantissa 0: −0 in E4M3FN, which keeps two zeros. FNUZ formats have one "
            "zero and put their single NaN on this code.\n\n"
            "```python\nfrom support.numbers.formats import decode\n"
            "print(decode(0x80, 'float8_e4m3fn'), decode(0x80, 'float8_e4m3fnuz'))\n```"
        ),
        reference="a",
        wrong=["b", "c", "d"],
    ),
    Question(
        title="What does 464 become in E4M3FN (round to nearest even)?",
        checker=Number(_R5),
        hints=[
            "If the top binade continued, the value after 448 would be 1.875 × 2⁸ = 480. Where is the midpoint?",
            "464 is a tie between 448 (mantissa `110`) and 480 (mantissa `111`). Which is even?",
        ],
        solution_text=(
            "Overflow is decided after rounding with an unbounded exponent. 464 is halfway between 448 and 480; "
            "ties go to the even mantissa, `110`, so 464 rounds to 448 and does not overflow. Anything above 464 "
            "rounds towards 480, which does not exist: NaN in ml_dtypes, 448 in a saturating cast (such as "
            "torch 2.13's).\n\n"
            "```python\nimport numpy as np, ml_dtypes\nfrom support.numbers.formats import round_to\n"
            "print(round_to(464.0, 'float8_e4m3fn'), round_to(464.5, 'float8_e4m3fn'))\n"
            "print(np.float32([464, 464.5]).astype(ml_dtypes.float8_e4m3fn))\n```"
        ),
        reference=_R5,
        wrong=[float("nan"), 480.0, 512.0],
    ),
    Question(
        title="500 cast to E4M3FN: ml_dtypes versus a saturating cast",
        checker=Choice(
            "a",
            options={
                "a": "ml_dtypes gives NaN; the saturating cast gives 448.",
                "b": "Both give 448.",
                "c": "ml_dtypes gives inf; the saturating cast gives 448.",
                "d": "Both give 512.",
                "e": "Both give NaN.",
            },
            feedback={
                "b": "ml_dtypes' `astype` does not saturate: beyond 464 it follows the format's overflow rule.",
                "c": "E4M3FN has no infinity, so the non-saturating overflow value is NaN.",
                "d": "512 = 2⁹ is beyond E4M3FN's range: there is no code for it.",
                "e": "A saturating cast clamps every finite overflow (and ±inf) to ±448; it never makes a NaN "
                     "from a number. (torch 2.11's cast did give NaN: it did not saturate yet.)",
            },
        ),
        hints=[
            "500 is above the overflow threshold 464. What is the overflow value of a format with NaN but no inf?",
            "A saturating cast replaces overflow by the largest finite value of the right sign.",
        ],
        solution_text=(
            "ml_dtypes implements the non-saturating conversion: overflow in E4M3FN (no infinity) gives NaN. A "
            "saturating cast gives 448. torch 2.13 saturates E4M3FN casts (but not E5M2 casts, which overflow to "
            "±inf); torch 2.11 did not saturate. To be sure in any version, clamp first.\n\n"
            "```python\nimport numpy as np, ml_dtypes, torch\nfrom support.numbers.formats import round_to\n"
            "print(np.float32(500).astype(ml_dtypes.float8_e4m3fn))\n"
            "print(round_to(500.0, 'float8_e4m3fn', saturate=True))\n"
            "print(torch.__version__, torch.tensor(500.0).to(torch.float8_e4m3fn).float())\n"
            "print(torch.tensor(500.0).clamp(-448, 448).to(torch.float8_e4m3fn).float())\n```"
        ),
        reference="a",
        wrong=["b", "c", "d", "e"],
    ),
    Question(
        title="The values of all 16 FP4 E2M1 codes, in code order",
        checker=Array(_FP4_CODES),
        hints=[
            "E2M1: 1 sign bit, 2 exponent bits with bias 1, 1 mantissa bit; no inf, no NaN.",
            "Codes with exponent field 0 are subnormal: $2^{1-1} \\times M/2$, so 0 and 0.5.",
            "Codes 8 to 15 are the negatives of codes 0 to 7 (code 8 is −0).",
        ],
        solution_text=(
            "Code `S EE M`: $E = 0$ gives $M/2$ (0, 0.5); $E \\ge 1$ gives $2^{E-1}(1 + M/2)$: 1, 1.5, 2, 3, 4, 6. "
            "Codes 8–15 repeat them with the sign bit set.\n\n"
            "```python\nimport numpy as np, ml_dtypes\nfrom support.numbers.formats import decode\n"
            "codes = np.arange(16, dtype=np.uint8)\n"
            "print(decode(codes, 'float4_e2m1fn'))\n"
            "print(codes.view(ml_dtypes.float4_e2m1fn).astype(float))\n```"
        ),
        reference=_FP4_CODES.tolist(),
        wrong=[_FP4_BIAS0.tolist(), _FP4_SORTED.tolist(), np.abs(_FP4_CODES).tolist()],
    ),
    Question(
        title="The E8M0 code of 2⁻³",
        checker=Bits(_BITS8, fields=(("exponent", 8),)),
        hints=[
            "E8M0 has no sign and no mantissa: code c stands for $2^{c - 127}$.",
            "Solve $c - 127 = -3$ and write c in 8 bits.",
        ],
        solution_text=(
            "$c = 127 - 3 = 124$ = `01111100`.\n\n"
            "```python\nfrom support.numbers.formats import fields, decode\n"
            "print(fields(2.0**-3, 'float8_e8m0fnu').bits, decode(124, 'float8_e8m0fnu'))\n```"
        ),
        reference=_BITS8,
        wrong=[format(125, "08b"), format(123, "08b"), format(3, "08b")],
    ),
    Question(
        title="Why does the hybrid FP8 recipe store gradients in E5M2?",
        checker=Choice(
            "b",
            options={
                "a": "Gradients need more precision than weights and activations.",
                "b": f"The values within one gradient tensor spread over more binades, and E5M2 covers about "
                     f"{_BINADES['float8_e5m2']:.0f} binades against about {_BINADES['float8_e4m3fn']:.0f} for E4M3.",
                "c": "E5M2 has more distinct values than E4M3.",
                "d": "Gradients are small, and E5M2's smaller subnormals make per-tensor scaling unnecessary.",
            },
            feedback={
                "a": "E5M2 has *less* precision: 4 values per binade against 8.",
                "c": f"They have about the same number (E5M2 {_DISTINCT['float8_e5m2']} finite values, E4M3FN "
                     f"{_DISTINCT['float8_e4m3fn']}); E5M2 spreads them over more binades.",
                "d": "The recipe scales gradients too. A scale can move a tensor anywhere; it cannot shrink the spread "
                     "between the tensor's largest and smallest values, which is what the wider format is for.",
            },
        ),
        hints=[
            "A per-tensor scale fixes where a tensor sits in the format's window. What can it not fix?",
            "Count the binades each format covers, from its smallest subnormal to its maximum.",
        ],
        solution_text=(
            "Per-tensor scaling places the largest magnitude of a tensor at the top of the format; what is left "
            "is the spread of magnitudes inside the tensor. Micikevicius et al. found gradients need the wider "
            f"range: E5M2 spans $\\log_2(\\max / \\min_{{\\text{{sub}}}}) \\approx {_BINADES['float8_e5m2']:.1f}$ "
            f"binades, E4M3FN $\\approx {_BINADES['float8_e4m3fn']:.1f}$, at the price of one mantissa bit. "
            "(With finer-grained scales, e.g. per block, E4M3 can be used for gradients too.)\n\n"
            "```python\nimport math\nfrom support.numbers.formats import get_format\n"
            "for name in ('float8_e4m3fn', 'float8_e5m2'):\n"
            "    f = get_format(name)\n"
            "    print(name, math.log2(f.max / f.min_subnormal))\n```"
        ),
        reference="b",
        wrong=["a", "c", "d"],
    ),
    Question(
        title="Write the per-tensor FP8 scale",
        checker=Function(_SCALE_CASES, compare=lambda expected: Number(expected, rtol=1e-12)),
        hints=[
            "The scale maps the largest magnitude of the tensor onto the format's largest value.",
            "amax = max|x| (absolute values!). A margin of m bits divides the scale by $2^m$.",
            "An all-zero tensor has amax 0: return 1.0 rather than dividing by zero.",
        ],
        solution_text=(
            "$s = \\text{max}_{\\text{fmt}} / (2^{m} \\max_i |x_i|)$, and 1 for an all-zero tensor.\n\n"
            "```python\nimport numpy as np\nfrom support.numbers.formats import get_format\n\n"
            "def fp8_scale(x, fmt, margin=0):\n"
            "    amax = float(np.max(np.abs(x)))\n"
            "    if amax == 0:\n        return 1.0\n"
            "    return get_format(fmt).max / (amax * 2**margin)\n```\n\n"
            "`support.numbers.scaling.amax_scale(x, fmt, margin=...)` does the same, with argument checks."
        ),
        reference=_scale_reference,
        wrong=[_scale_signed_max, _scale_no_margin, _scale_inverted, _scale_zero_crash],
    ),
    Question(
        title="The delayed scale from an amax history",
        checker=Number(_SCALE11, rtol=1e-12),
        hints=[
            "With `amax_compute_algo='max'` the amax used is the largest in the window, not the latest.",
            "Then $s = 448 / (2^{\\text{margin}} \\cdot \\text{amax})$.",
        ],
        solution_text=(
            f"The window's largest amax is {max(_HISTORY):g}, so $s = 448 / (2^{_MARGIN11} \\times {max(_HISTORY):g}) = "
            f"{_SCALE11:g}$. With `most_recent` it would be {_MOST_RECENT11:g}.\n\n"
            "```python\nfrom support.numbers.scaling import scale_for_amax\n"
            f"print(scale_for_amax(max({_HISTORY}), 'float8_e4m3fn', margin={_MARGIN11}))\n```"
        ),
        reference=_SCALE11,
        wrong=[_MOST_RECENT11, _NO_MARGIN11, _OLDEST11],
    ),
    Question(
        title="What does an FNUZ format gain by giving up −0?",
        checker=Explain(
            model_answer=(
                "IEEE-style formats spend two codes on zero (+0 and −0), and FN formats still keep two NaN codes "
                "(S.1111.111 with either sign). FNUZ formats have one zero and put their only NaN on the code that "
                "would have been −0 (0x80), so every other code, 255 of 256, is a distinct number, and the all-ones "
                "exponent with mantissa all ones is a number too. They also raise the bias by one, which moves the "
                "whole range down a binade: E4M3FNUZ gives up 256–448 at the top but reaches 2^-10 at the bottom. "
                "The cost is compatibility: the same byte is a different number in FN and FNUZ, and −0 must be "
                "converted to +0."
            ),
            key_points=[
                "−0 is a second code for the value 0: a wasted code",
                "FNUZ uses 0x80 as the single NaN, so 255 codes are distinct numbers (253 in E4M3FN)",
                "no infinities, and the top exponent is used for numbers",
                "bias + 1 shifts the range down one binade",
                "bytes are not interchangeable with FN formats",
            ],
        ),
        hints=[
            "Count the codes that are not distinct finite numbers in E4M3FN and in E4M3FNUZ.",
            "Compare the biases of the two formats and what that does to max and min subnormal.",
        ],
        solution_text=(
            f"E4M3FN has 2 NaN codes and two zeros, so {_DISTINCT['float8_e4m3fn']} distinct finite values; "
            f"E4M3FNUZ has one NaN (on the −0 code) and one zero, so {_DISTINCT['float8_e4m3fnuz']}. Its bias is "
            f"{_FNUZ.bias} instead of {_E4M3.bias}: the range moves down a binade (max {_FNUZ.max:g}, smallest "
            f"subnormal $2^{{{math.log2(_FNUZ.min_subnormal):.0f}}}$ instead of {_E4M3.max:g} and "
            f"$2^{{{math.log2(_E4M3.min_subnormal):.0f}}}$).\n\n"
            "```python\nimport numpy as np\nfrom support.numbers.formats import decode, get_format\n"
            "codes = np.arange(256, dtype=np.uint8)\n"
            "for name in ('float8_e4m3fn', 'float8_e4m3fnuz'):\n"
            "    v = decode(codes, name)\n"
            "    f = get_format(name)\n"
            "    print(name, len(np.unique(v[np.isfinite(v)])), f.bias, f.max, f.min_subnormal)\n```"
        ),
        reference=(
            "-0 is a redundant second zero. FNUZ makes the -0 code 0x80 the only NaN, so 255 codes are distinct "
            "numbers instead of 253, and with bias + 1 the range moves down one binade."
        ),
    ),
]
