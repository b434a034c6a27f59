"""Exercises for chapter 01, "Positional systems and integers".

Every reference answer is computed with :mod:`support.numbers.integers`, so that a question
cannot disagree with the module the chapter uses.
"""

from __future__ import annotations

import numpy as np

from support.exercises import Array, Bits, Choice, Explain, Function, Number, Question
from support.numbers.integers import (QFormat, add, dequantize_fixed, encode_twos, from_base, from_twos_complement,
                              int_range, pack, positional_breakdown, quantize_fixed, sign_extend, to_bytes,
                              to_twos_complement, twos_complement_steps)
from support.notebook import minus

# ---------------------------------------------------------------------------
# Values shared by the questions (computed, not typed)
# ---------------------------------------------------------------------------

_Q34 = QFormat(3, 4)
_INT8_MIN, _INT8_MAX = int_range(8)
_WORST_PRODUCT = _INT8_MIN * _INT8_MIN                      # (−128)·(−128)
_INT32_MAX = int_range(32)[1]
_K32 = _INT32_MAX // _WORST_PRODUCT                          # worst-case products int32 always holds
_INT16_MAX = int_range(16)[1]
_DOT_LENGTH = 4096
_WORST_SUM = _DOT_LENGTH * _WORST_PRODUCT                  # 2**26
_WORST_SUM_BITS = next(w for w in range(1, 65) if _WORST_SUM <= int_range(w)[1])
_PAIR = (-3, 5)
_PAIR_CODES = encode_twos(list(_PAIR), 4)
_PACK_LOW = int(pack(_PAIR_CODES, 4, first="low")[0])
_PACK_HIGH = int(pack(_PAIR_CODES, 4, first="high")[0])

_BIN = positional_breakdown(from_base("101101", 2), 2)
_HEX = positional_breakdown(from_base("BEEF", 16), 16)
_STEPS_42 = twos_complement_steps(-42, 8)
_SIGN_EXTENDED = format(int(sign_extend(0b1010, 4, 8)), "08b")
_PI_CODE = int(quantize_fixed(np.pi, _Q34))
_PI_STORED = float(dequantize_fixed(_PI_CODE, _Q34))
_TENTH_CODE = int(quantize_fixed(0.1, _Q34))
_TENTH_STORED = float(dequantize_fixed(_TENTH_CODE, _Q34))
_TENTH_TRUNC_CODE = int(quantize_fixed(0.1, _Q34, rounding="toward_zero"))
_TENTH_TRUNC = float(dequantize_fixed(_TENTH_TRUNC_CODE, _Q34))
_M2_CODE = int(encode_twos(-2, 16))
_M2_BYTES = list(to_bytes(-2, np.int16, "little"))


def _sum_of_terms(breakdown, power: str) -> str:
    """'1 \\cdot 2^5 + 0 \\cdot 2^4 + ... = 32 + 8 + ... = 45' for a positional breakdown."""
    terms = " + ".join(f"{t.digit} \\cdot {power.format(t.position)}" for t in breakdown)
    parts = " + ".join(str(t.contribution) for t in breakdown if t.digit)
    return f"{terms} = {parts} = {breakdown.value}"


def _weights_of_ones(bits: str) -> str:
    """'-128 + 64 + 16 + 4 + 2' for an 8-bit two's complement string."""
    n = len(bits)
    terms = [str(-(2 ** (n - 1))) if bits[0] == "1" else ""]
    terms += [str(2 ** (n - 1 - i)) for i, b in enumerate(bits) if i and b == "1"]
    return minus(" + ".join(t for t in terms if t))


def _to_twos_sign_magnitude(n: int, bits: int) -> str:
    """A plausible mistake: sign bit + magnitude."""
    return ("1" if n < 0 else "0") + format(abs(n), f"0{bits - 1}b")[-(bits - 1):]


def _to_twos_ones_complement(n: int, bits: int) -> str:
    """A plausible mistake: flip the bits of |n| but forget to add one."""
    if n >= 0:
        return format(n, f"0{bits}b")
    return "".join("1" if b == "0" else "0" for b in format(-n, f"0{bits}b"))[-bits:]


def _to_twos_no_padding(n: int, bits: int) -> str:
    """A plausible mistake: Python's bin(), which writes a minus sign and no leading zeros."""
    return bin(n)[2:] if n >= 0 else "-" + bin(n)[3:]


_FUNCTION_CASES = [((n, bits), to_twos_complement(n, bits))
                   for n, bits in [(5, 8), (0, 8), (-1, 8), (-42, 8), (127, 8), (-128, 8),
                                   (7, 4), (-8, 4), (-1, 1), (0, 1), (-32768, 16)]]

QUESTIONS = [
    Question(
        title="Binary to decimal: 0b101101",
        checker=Number(from_base("101101", 2)),
        hints=[
            "Number the bits from the right, starting at 0; bit *i* is worth $2^i$.",
            "Add the place values of the 1 bits: $2^5 + 2^3 + 2^2 + 2^0$.",
        ],
        solution_text=(
            f"$101101_2 = {_sum_of_terms(_BIN, '2^{}')}$.\n\n"
            "```python\nfrom support.numbers.integers import positional_breakdown\n"
            "print(positional_breakdown(0b101101, 2))\n```"
        ),
        reference=from_base("101101", 2),
        wrong=[101101, 44, 90],
    ),
    Question(
        title="Hexadecimal to decimal: 0xBEEF",
        checker=Number(from_base("BEEF", 16)),
        hints=[
            "B = 11, E = 14, F = 15, and each hex position is worth 16 times the one to its right.",
            "$11·16^3 + 14·16^2 + 14·16 + 15$.",
        ],
        solution_text=(
            f"$\\mathrm{{BEEF}}_{{16}} = {_sum_of_terms(_HEX, '16^{}')}$.\n\n"
            "```python\nfrom support.numbers.integers import positional_breakdown\n"
            "print(positional_breakdown(0xBEEF, 16))\n```"
        ),
        reference=from_base("BEEF", 16),
        wrong=[
            11 * 1000 + 14 * 100 + 14 * 10 + 15,   # powers of 10 instead of 16
            from_base("FEEB", 16),                 # digits read in the wrong order
            from_base("BEEF", 16) - 1,
        ],
    ),
    Question(
        title="−42 in 8-bit two's complement",
        checker=Bits(to_twos_complement(-42, 8), fields=(("sign", 1), ("value", 7))),
        hints=[
            "Write +42 in 8 bits first.",
            "Flip every bit of `00101010`, then add one.",
            f"Check: the sign bit is worth −128, so the other seven bits must add up to {128 - 42}.",
        ],
        solution_text=(
            f"42 = `{_STEPS_42.magnitude}`; flipped: `{_STEPS_42.flipped}`; plus one: `{_STEPS_42.result}`.\n"
            f"Check with the weights: {_weights_of_ones(_STEPS_42.result)} = −42.\n\n"
            "```python\nfrom support.numbers.integers import twos_complement_steps\n"
            "print(twos_complement_steps(-42, 8))\n```"
        ),
        reference=to_twos_complement(-42, 8),
        wrong=[
            _to_twos_sign_magnitude(-42, 8),       # sign-magnitude: 10101010
            _to_twos_ones_complement(-42, 8),      # forgot the +1: 11010101
            to_twos_complement(42, 8),             # forgot the sign
        ],
    ),
    Question(
        title="Write to_twos(n, bits)",
        checker=Function(_FUNCTION_CASES),
        hints=[
            "The code of a value is `n mod 2**bits`; Python's `%` already returns a non-negative result.",
            "`format(code, f\"0{bits}b\")` writes a number as exactly `bits` binary digits.",
        ],
        solution_text=(
            "Reduce modulo $2^{bits}$ and write the result with leading zeros:\n\n"
            "```python\ndef to_twos(n, bits):\n    return format(n % 2**bits, f\"0{bits}b\")\n```\n\n"
            "For a negative `n`, `n % 2**bits` is `n + 2**bits`, the two's complement code. "
            "(`support.numbers.integers.to_twos_complement` does the same and also refuses values "
            "that do not fit.)"
        ),
        reference=to_twos_complement,
        wrong=[_to_twos_sign_magnitude, _to_twos_ones_complement, _to_twos_no_padding],
    ),
    Question(
        title="The ranges of INT4 and UINT4",
        checker=Array([*int_range(4), *int_range(4, signed=False)]),
        hints=[
            "Four bits have 16 codes. Unsigned, they start at 0.",
            "Signed: the sign bit is worth $-2^3$, so the range is $[-2^3, 2^3 - 1]$.",
        ],
        solution_text=(
            f"INT4 is $[-2^3, 2^3 - 1] = [{int_range(4)[0]}, {int_range(4)[1]}]$ and UINT4 is "
            f"$[0, 2^4 - 1] = [0, {int_range(4, signed=False)[1]}]$: {2**4} values each.\n\n"
            "```python\nfrom support.numbers.integers import int_range\n"
            "answer = [*int_range(4), *int_range(4, signed=False)]\n```"
        ),
        reference=[*int_range(4), *int_range(4, signed=False)],
        wrong=[[-8, 8, 0, 16], [-7, 7, 0, 15], [-8, 7, 0, 16], [-16, 15, 0, 15]],
    ),
    Question(
        title="127 + 1 in int8 (wrap-around)",
        checker=Number(int(add(127, 1, 8))),
        hints=[
            "128 does not fit in int8. Keep the low 8 bits of the sum.",
            "127 + 1 = `10000000` in binary. Read that pattern in two's complement.",
        ],
        solution_text=(
            f"`{to_twos_complement(127, 8)} + {to_twos_complement(1, 8)} = {format(128, '08b')}`, whose sign "
            f"bit is worth {minus(_INT8_MIN)}: the sum wraps to {minus(int(add(127, 1, 8)))}.\n\n"
            "```python\nimport numpy as np\nfrom support.numbers.integers import add\n"
            "add(127, 1, 8), np.array([127], dtype=np.int8) + np.int8(1)\n```"
        ),
        reference=int(add(127, 1, 8)),
        wrong=[128, int(add(127, 1, 8, overflow="saturate")), 0, -127],
    ),
    Question(
        title="Which accumulator for an INT8 dot product of length 4096?",
        checker=Choice(
            correct="c",
            options={
                "a": "int8",
                "b": "int16",
                "c": "int32",
                "d": "int64",
                "e": "float16",
            },
            feedback={
                "a": "A single product such as 100 · 100 = 10000 already overflows int8.",
                "b": f"Even two worst-case products, 2 · (−128)² = {2 * _WORST_PRODUCT}, overflow int16 "
                     f"(largest {_INT16_MAX}).",
                "d": f"int64 works, but it is not the narrowest: int32 already holds {_K32:,} worst-case "
                     "products, far more than 4096, and a wider accumulator costs registers and bandwidth.",
                "e": f"float16's largest value is {float(np.finfo(np.float16).max):g}, far below "
                     f"{_DOT_LENGTH} · {_WORST_PRODUCT} = {_WORST_SUM:,}, and above "
                     f"{2 ** (np.finfo(np.float16).nmant + 1):,} it cannot even represent every integer: "
                     "the sum would be rounded or overflow.",
            },
        ),
        hints=[
            f"The worst-case product is (−128) · (−128) = {_WORST_PRODUCT} = $2^{{14}}$.",
            "The worst-case sum is $4096 · 2^{14} = 2^{26}$. Which is the narrowest type that holds it?",
        ],
        solution_text=(
            f"The sum can reach $4096 · 2^{{14}} = 2^{{26}}$, which needs a {_WORST_SUM_BITS}-bit signed integer. int16 "
            "overflows after two worst-case products; int32 holds "
            f"{_K32:,} of them, so it is the narrowest standard choice (and what integer "
            "kernels use).\n\n"
            "```python\nfrom support.numbers.integers import int_range\n"
            "worst = 4096 * (-128) * (-128)\n"
            "[w for w in (8, 16, 32, 64) if worst <= int_range(w)[1]][0]   # 32\n```"
        ),
        reference="c",
        wrong=["a", "b", "d", "e"],
    ),
    Question(
        title="How many worst-case INT8 × INT8 products fit in an int32 accumulator?",
        checker=Number(_K32),
        hints=[
            "The worst-case product is (−128) · (−128) = $2^{14}$, always positive.",
            "Divide the largest int32, $2^{31} - 1$, by $2^{14}$ and round down.",
        ],
        solution_text=(
            f"$\\lfloor (2^{{31}} - 1) / 2^{{14}} \\rfloor = {_K32}$. One more product, "
            f"${_K32 + 1} · 2^{{14}} = 2^{{31}}$, exceeds the largest int32 and wraps to $-2^{{31}}$.\n\n"
            "```python\nfrom support.numbers.integers import int_range\n"
            "int_range(32)[1] // ((-128) * (-128))\n```"
        ),
        reference=_K32,
        wrong=[_K32 + 1, _INT32_MAX // (_INT8_MAX * _INT8_MAX), 2**15],
    ),
    Question(
        title="Sign-extend the int4 code 1010 to 8 bits",
        checker=Bits(format(int(sign_extend(0b1010, 4, 8)), "08b"), fields=(("new high bits", 4), ("original bits", 4))),
        hints=[
            "`1010` in int4 is −8 + 2 = −6. The 8-bit answer must still be −6.",
            "Copy the sign bit into every new position.",
        ],
        solution_text=(
            f"The sign bit is 1, so the four new bits are all 1: `{_SIGN_EXTENDED[:4]} {_SIGN_EXTENDED[4:]}`, "
            f"which is −128 + {int(_SIGN_EXTENDED[1:], 2)} = {minus(from_twos_complement(_SIGN_EXTENDED))}, "
            f"the value of `1010` in int4. Zero extension, `0000 1010`, would give +{0b1010}.\n\n"
            "```python\nfrom support.numbers.integers import sign_extend\n"
            "format(sign_extend(0b1010, 4, 8), '08b')\n```"
        ),
        reference=format(int(sign_extend(0b1010, 4, 8)), "08b"),
        wrong=["00001010", "10001010", "10100000"],
    ),
    Question(
        title="The Q3.4 code of π",
        checker=Number(int(quantize_fixed(np.pi, _Q34))),
        hints=[
            "Q3.4 stores round(x · 2⁴) as an 8-bit integer.",
            f"π · 16 ≈ {np.pi * 16:.2f}. Round to the nearest integer.",
        ],
        solution_text=(
            f"π · 16 = {np.pi * 16:.3f}…, which rounds to the code {_PI_CODE}. It stands for "
            f"{_PI_CODE}/16 = {_PI_STORED:g}, an error of about {np.pi - _PI_STORED:.4f}, within half a "
            "step (1/32).\n\n"
            "```python\nimport numpy as np\nfrom support.numbers.integers import QFormat, quantize_fixed\n"
            "quantize_fixed(np.pi, QFormat(3, 4))\n```"
        ),
        reference=int(quantize_fixed(np.pi, _Q34)),
        wrong=[
            float(dequantize_fixed(quantize_fixed(np.pi, _Q34), _Q34)),   # the value, not the code
            int(quantize_fixed(np.pi, _Q34)) + 1,                          # rounded up
            int(np.rint(np.pi * 2**8)),                                    # eight fraction bits
            3,                                                             # only the integer part
        ],
    ),
    Question(
        title="The value Q3.4 stores for 0.1",
        checker=Number(float(dequantize_fixed(quantize_fixed(0.1, _Q34), _Q34))),
        hints=[
            "Compute 0.1 · 16 and round it to the nearest integer code.",
            "The stored value is the code divided by 16.",
        ],
        solution_text=(
            f"0.1 · 16 = {0.1 * 16:g}, which rounds to the code {_TENTH_CODE}, so Q3.4 stores "
            f"{_TENTH_CODE}/16 = {_TENTH_STORED:g} (error {_TENTH_STORED - 0.1:.3g}). Truncating instead of "
            f"rounding would give code {_TENTH_TRUNC_CODE}, i.e. {_TENTH_TRUNC:g}, a larger error of "
            f"{0.1 - _TENTH_TRUNC:.3g}.\n\n"
            "```python\nfrom support.numbers.integers import QFormat, quantize_fixed, dequantize_fixed\n"
            "q = QFormat(3, 4)\ndequantize_fixed(quantize_fixed(0.1, q), q)\n```"
        ),
        reference=float(dequantize_fixed(quantize_fixed(0.1, _Q34), _Q34)),
        wrong=[
            float(dequantize_fixed(quantize_fixed(0.1, _Q34, rounding="toward_zero"), _Q34)),  # truncation
            0.1,                                                         # "it is exact"
            int(quantize_fixed(0.1, _Q34)),                              # the code, not the value
        ],
    ),
    Question(
        title="Why is 0.1 never exact in binary fixed point?",
        checker=Explain(
            model_answer=(
                "A binary fixed-point format with n fraction bits stores integer multiples of 2⁻ⁿ, so a "
                "number is exact only if x · 2ⁿ is an integer, i.e. x is a dyadic rational k/2ⁿ. "
                "0.1 = 1/10 = 1/(2 · 5); 0.1 · 2ⁿ = 2ⁿ⁻¹/5 is never an integer because no power of two "
                "is divisible by 5. So no number of fraction bits is enough: the binary expansion "
                "0.000110011… repeats forever, and every format must round it."
            ),
            key_points=[
                "fixed point stores integer multiples of 2⁻ⁿ (value = code · 2⁻ⁿ)",
                "exactly representable ⇔ dyadic rational k/2ⁿ",
                "1/10 has the prime factor 5 in its denominator, which powers of two cannot cancel",
                "so the binary expansion of 0.1 repeats forever (0.0 0011 0011 …) and must be rounded",
            ],
        ),
        hints=[
            "Which numbers can a format with n fraction bits store? Write them as fractions.",
            "Can 2ⁿ/10 ever be an integer? Factor 10.",
        ],
        solution_text=(
            "Values of a binary fixed-point format are $c/2^n$ for integer codes $c$, so $x$ is exact "
            "iff $x·2^n$ is an integer. $0.1·2^n = 2^{n-1}/5$ never is, since 5 does not divide a "
            "power of two.\n\n"
            "```python\nfrom fractions import Fraction\n"
            "all((Fraction(1, 10) * 2**n).denominator != 1 for n in range(200))   # True\n```"
        ),
        reference=(
            "A fixed-point number is an integer times 2^-n, so only dyadic rationals k/2^n are exact; "
            "0.1 = 1/10 has a factor 5 in the denominator that no power of two can cancel."
        ),
        wrong=[],
    ),
    Question(
        title="The bytes of int16 −2 in little-endian order",
        checker=Array(list(to_bytes(-2, np.int16, "little"))),
        hints=[
            "First find the 16-bit two's complement code of −2, in hex.",
            "−2 is `0xFFFE`. Little-endian stores the least significant byte first.",
        ],
        solution_text=(
            f"The code of −2 is $2^{{16}} - 2$ = `0x{_M2_CODE:04X}`; little-endian stores the low byte "
            f"`0x{_M2_BYTES[0]:02X}` = {_M2_BYTES[0]} first, then `0x{_M2_BYTES[1]:02X}` = {_M2_BYTES[1]}.\n\n"
            "```python\nimport numpy as np\n"
            "list(np.array([-2], dtype=\"<i2\").tobytes())   # '<i2': little-endian int16 on any machine\n```"
        ),
        reference=list(to_bytes(-2, np.int16, "little")),
        wrong=[
            list(to_bytes(-2, np.int16, "big")),   # big-endian order
            [254, 0],                              # forgot the high byte of a negative number
            [2, 128],                              # sign-magnitude 0x8002
        ],
    ),
    Question(
        title="Pack the INT4 pair [−3, 5] into one byte, first element in the low nibble",
        checker=Number(_PACK_LOW),
        hints=[
            f"Encode each value as a 4-bit two's complement code first: −3 becomes 16 − 3 = {16 - 3}.",
            "With the first element in the low nibble, the byte is $c_0 + 16·c_1$.",
        ],
        solution_text=(
            f"The codes are {_PAIR_CODES[0]} (`{_PAIR_CODES[0]:04b}`) and {_PAIR_CODES[1]} "
            f"(`{_PAIR_CODES[1]:04b}`). The byte is `{_PACK_LOW >> 4:04b} {_PACK_LOW & 15:04b}` = "
            f"0x{_PACK_LOW:02X} = {_PAIR_CODES[0]} + 16·{_PAIR_CODES[1]} = {_PACK_LOW}. With the first "
            f"element in the high nibble it would be 0x{_PACK_HIGH:02X} = {_PACK_HIGH}.\n\n"
            "```python\nfrom support.numbers.integers import encode_twos, pack\n"
            "pack(encode_twos([-3, 5], 4), 4, first=\"low\")\n```"
        ),
        reference=_PACK_LOW,
        wrong=[
            _PACK_HIGH,                                   # wrong nibble order: 0xD5
            3 + 16 * 5,                                   # used |−3| instead of its code
            -3 + 16 * 5,                                  # added −3 without encoding it
        ],
    ),
]
