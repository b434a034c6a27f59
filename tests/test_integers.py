"""Tests for support.numbers.integers: positional notation, two's complement, fixed point, packing, bytes.

Every function is checked against an independent reference where one exists: Python's
``int``/``format``, numpy's ``binary_repr``, ``astype``/``view`` and fixed-width arithmetic,
``np.packbits``, ``struct``, and PyTorch's ``quint4x2`` packing.
"""

from __future__ import annotations

import math
import struct
import sys
import warnings
from dataclasses import FrozenInstanceError

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from support.numbers.integers import (
    PositionalBreakdown,
    QFormat,
    accumulate,
    add,
    decode_twos,
    dequantize_fixed,
    encode_twos,
    from_base,
    from_twos_complement,
    hexdump,
    int_range,
    mul,
    pack,
    positional_breakdown,
    quantize_fixed,
    saturate,
    sign_extend,
    to_base,
    to_bytes,
    to_twos_complement,
    twos_complement_steps,
    unpack,
    wrap,
)

FAST = settings(max_examples=60, deadline=None)
bases = st.integers(min_value=2, max_value=36)
widths = st.integers(min_value=1, max_value=64)


def signed_in_width(bits: int) -> st.SearchStrategy[int]:
    low, high = int_range(bits)
    return st.integers(min_value=low, max_value=high)


# ---------------------------------------------------------------------------
# Positional notation
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "base", "digits"),
    [
        (0, 2, "0"),
        (42, 2, "101010"),
        (42, 10, "42"),
        (255, 16, "FF"),
        (-255, 16, "-FF"),
        (35, 36, "Z"),
        (-35, 36, "-Z"),
        (2**64, 16, "1" + "0" * 16),
        (np.int8(-6), 2, "-110"),
    ],
)
def test_to_base_known_values(n, base, digits):
    assert to_base(n, base) == digits
    assert from_base(digits, base) == int(n)


@FAST
@given(n=st.integers(min_value=-(2**80), max_value=2**80), base=bases)
def test_to_base_round_trips_through_python_int(n, base):
    digits = to_base(n, base)
    assert int(digits, base) == n
    assert from_base(digits, base) == n
    assert from_base(digits.lower(), base) == n


@FAST
@given(n=st.integers(min_value=-(2**80), max_value=2**80))
def test_to_base_matches_python_format(n):
    assert to_base(n, 2) == format(n, "b")
    assert to_base(n, 8) == format(n, "o")
    assert to_base(n, 16) == format(n, "X")
    assert to_base(n, 10) == str(n)


@FAST
@given(n=st.integers(min_value=-(2**63), max_value=2**63), base=bases)
def test_to_base_matches_numpy_base_repr(n, base):
    assert to_base(n, base) == np.base_repr(n, base)


@FAST
@given(n=st.integers(min_value=-(2**70), max_value=2**70))
def test_from_base_reads_prefixes_and_separators_like_python(n):
    for spec, base in (("#b", 2), ("#o", 8), ("#x", 16), ("_b", 2), ("_x", 16), ("#_x", 16)):
        text = format(n, spec)
        assert from_base(text, base) == int(text, 0 if "#" in spec else base) == n
    assert from_base(format(n, "_b").replace("_", " "), 2) == n


@pytest.mark.parametrize(
    ("text", "base", "value"),
    [
        ("0b101010", 2, 42),
        ("0B101010", 2, 42),
        ("0xff", 16, 255),
        ("0XFF", 16, 255),
        ("0o777", 8, 511),
        ("  -0x1_0  ", 16, -16),
        ("+101", 2, 5),
        ("1111 0110", 2, 246),
        ("DEAD_BEEF", 16, 0xDEADBEEF),
        ("0b1", 16, 0xB1),  # in base 16 'b' is a digit, not a prefix (as in Python)
        ("z", 36, 35),
    ],
)
def test_from_base_accepted_spellings(text, base, value):
    assert from_base(text, base) == value


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: to_base(5, 1), ValueError, r"base must be between 2 and 36.*got 1"),
        (lambda: to_base(5, 37), ValueError, r"base must be between 2 and 36.*got 37"),
        (lambda: to_base(5.0, 10), TypeError, r"n must be an integer, got float"),
        (lambda: to_base(True, 10), TypeError, r"n must be an integer, got bool"),
        (lambda: to_base(5, 2.0), TypeError, r"base must be an integer"),
        (lambda: from_base("102", 2), ValueError, r"'2' is not a digit in base 2 \(allowed: 0-1"),
        (lambda: from_base("19", 8), ValueError, r"'9' is not a digit in base 8 \(allowed: 0-7"),
        (lambda: from_base("1G", 16), ValueError, r"'G' is not a digit in base 16.*0-9, A-F"),
        (lambda: from_base("0x1F", 2), ValueError, r"prefix '0x' means base 16, but base=2"),
        (lambda: from_base("0o17", 10), ValueError, r"prefix '0o' means base 8, but base=10"),
        (lambda: from_base("", 10), ValueError, r"no digits"),
        (lambda: from_base("0x", 16), ValueError, r"no digits"),
        (lambda: from_base("-", 10), ValueError, r"no digits"),
        (lambda: from_base("1.5", 10), ValueError, r"'\.' is not a digit"),
        (lambda: from_base(42, 10), TypeError, r"s must be a str, got int"),
        (lambda: from_base("1", 40), ValueError, r"base must be between 2 and 36"),
    ],
)
def test_positional_bad_arguments(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_positional_breakdown_text():
    assert (
        str(positional_breakdown(42, 2))
        == "42 = 1×2^5 + 0×2^4 + 1×2^3 + 0×2^2 + 1×2^1 + 0×2^0 = 32 + 8 + 2"
    )
    assert str(positional_breakdown(305, 10)) == "305 = 3×10^2 + 0×10^1 + 5×10^0 = 300 + 5"
    assert str(positional_breakdown(255, 16)) == "255 = 15×16^1 + 15×16^0 = 240 + 15"
    assert str(positional_breakdown(0, 2)) == "0 = 0×2^0 = 0"


def test_positional_breakdown_terms():
    breakdown = positional_breakdown(42, 2)
    assert isinstance(breakdown, PositionalBreakdown)
    assert breakdown.digits == "101010"
    assert len(breakdown) == 6
    assert [t.digit for t in breakdown] == [1, 0, 1, 0, 1, 0]
    assert [t.position for t in breakdown] == [5, 4, 3, 2, 1, 0]
    assert breakdown[0].weight == 32 and breakdown[0].contribution == 32
    assert breakdown[-1].contribution == 0


@FAST
@given(n=st.integers(min_value=0, max_value=2**70), base=bases)
def test_positional_breakdown_sums_to_n(n, base):
    breakdown = positional_breakdown(n, base)
    assert sum(t.contribution for t in breakdown) == n
    assert all(t.weight == base**t.position and 0 <= t.digit < base for t in breakdown)
    assert len(breakdown) == len(to_base(n, base))


def test_positional_breakdown_refuses_negative_numbers():
    with pytest.raises(ValueError, match=r"n >= 0, got -42; break down 42"):
        positional_breakdown(-42, 2)


# ---------------------------------------------------------------------------
# Two's complement
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32, np.int64])
def test_int_range_matches_numpy_signed(dtype):
    info = np.iinfo(dtype)
    assert int_range(info.bits) == (info.min, info.max)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.uint32, np.uint64])
def test_int_range_matches_numpy_unsigned(dtype):
    info = np.iinfo(dtype)
    assert int_range(info.bits, signed=False) == (info.min, info.max)


@pytest.mark.parametrize("bits", range(1, 65))
def test_int_range_formula(bits):
    assert int_range(bits) == (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
    assert int_range(bits, signed=False) == (0, 2**bits - 1)
    assert all(type(v) is int for v in int_range(bits))


@pytest.mark.parametrize(
    ("n", "bits", "code"),
    [
        (5, 8, "00000101"),
        (-1, 8, "11111111"),
        (-6, 8, "11111010"),
        (-128, 8, "10000000"),
        (127, 8, "01111111"),
        (-1, 1, "1"),
        (0, 1, "0"),
        (-(2**63), 64, "1" + "0" * 63),
    ],
)
def test_to_twos_complement_known_values(n, bits, code):
    assert to_twos_complement(n, bits) == code
    assert from_twos_complement(code) == n


@pytest.mark.parametrize("bits", range(1, 11))
def test_twos_complement_strings_exhaustive(bits):
    low, high = int_range(bits)
    for n in range(low, high + 1):
        code = to_twos_complement(n, bits)
        assert code == np.binary_repr(n, width=bits)
        assert from_twos_complement(code) == n


@FAST
@given(data=st.data(), bits=widths)
def test_twos_complement_strings_match_numpy_binary_repr(data, bits):
    n = data.draw(signed_in_width(bits))
    assert to_twos_complement(n, bits) == np.binary_repr(n, width=bits)
    assert from_twos_complement(to_twos_complement(n, bits)) == n


def test_from_twos_complement_separators():
    assert from_twos_complement("1111 1010") == -6
    assert from_twos_complement("0b1111_1010") == -6
    assert from_twos_complement("01") == 1


@pytest.mark.parametrize("bits", range(1, 9))
def test_twos_complement_steps_all_negative_numbers(bits):
    low, _ = int_range(bits)
    for n in range(low, 0):
        steps = twos_complement_steps(n, bits)
        assert steps.magnitude == format(-n, f"0{bits}b")
        assert steps.flipped == "".join("1" if b == "0" else "0" for b in steps.magnitude)
        assert steps.result == to_twos_complement(n, bits)


def test_twos_complement_steps_text():
    text = str(twos_complement_steps(-6, 8))
    assert text.splitlines() == [
        "-6 in 8-bit two's complement:",
        "  |-6| = 6  00000110",
        "  flip      11111001",
        "  add 1     11111010",
    ]
    # The most negative number is its own negation.
    most_negative = twos_complement_steps(-128, 8)
    assert most_negative.magnitude == most_negative.result == "10000000"


@pytest.mark.parametrize("bits", range(1, 17))
def test_encode_decode_twos_exhaustive(bits):
    low, high = int_range(bits)
    values = np.arange(low, high + 1)
    codes = encode_twos(values, bits)
    expected = np.where(values < 0, values + 2**bits, values)
    np.testing.assert_array_equal(codes, expected)
    assert codes.dtype == (np.uint8 if bits <= 8 else np.uint16)
    all_codes = np.arange(2**bits)
    decoded = decode_twos(all_codes, bits)
    negative = all_codes >= 2 ** (bits - 1)
    np.testing.assert_array_equal(decoded, np.where(negative, all_codes - 2**bits, all_codes))
    assert decoded.dtype == (np.int8 if bits <= 8 else np.int16)
    np.testing.assert_array_equal(decode_twos(codes, bits), values)


@pytest.mark.parametrize(
    ("signed", "unsigned"), [(np.int8, np.uint8), (np.int16, np.uint16)]
)
def test_encode_decode_twos_match_numpy_views_exhaustively(signed, unsigned):
    bits = np.iinfo(signed).bits
    values = np.arange(np.iinfo(signed).min, np.iinfo(signed).max + 1)
    np.testing.assert_array_equal(encode_twos(values, bits), values.astype(signed).view(unsigned))
    codes = np.arange(2**bits)
    np.testing.assert_array_equal(decode_twos(codes, bits), codes.astype(unsigned).view(signed))


@pytest.mark.parametrize(("signed", "unsigned"), [(np.int32, np.uint32), (np.int64, np.uint64)])
def test_encode_decode_twos_match_numpy_views_wide(signed, unsigned):
    rng = np.random.default_rng(0)
    info = np.iinfo(signed)
    values = rng.integers(info.min, info.max, size=2000, dtype=signed, endpoint=True)
    values[:2] = [info.min, info.max]
    codes = encode_twos(values, info.bits)
    assert codes.dtype == unsigned
    np.testing.assert_array_equal(codes, values.view(unsigned))
    decoded = decode_twos(codes, info.bits)
    assert decoded.dtype == signed
    np.testing.assert_array_equal(decoded, values)


def test_scalars_give_numpy_scalars_and_lists_give_arrays():
    assert encode_twos(-1, 8) == 255 and isinstance(encode_twos(-1, 8), np.uint8)
    assert decode_twos(np.uint8(255), 8) == -1 and isinstance(decode_twos(255, 8), np.int8)
    assert isinstance(wrap([1, 2], 8), np.ndarray)
    assert wrap(np.array([[300]]), 16).shape == (1, 1)


@pytest.mark.parametrize("from_bits", range(1, 9))
def test_sign_extend_preserves_the_value(from_bits):
    codes = np.arange(2**from_bits)
    for to_bits in range(from_bits, 17):
        extended = sign_extend(codes, from_bits, to_bits)
        np.testing.assert_array_equal(decode_twos(extended, to_bits), decode_twos(codes, from_bits))


def test_sign_extend_matches_numpy_widening():
    codes = np.arange(256, dtype=np.uint8)
    widened = codes.view(np.int8).astype(np.int16).view(np.uint16)
    np.testing.assert_array_equal(sign_extend(codes, 8, 16), widened)
    assert sign_extend(0b1010, 4, 8) == 0b11111010
    assert sign_extend(0b0101, 4, 8) == 0b0101
    assert sign_extend(1, 1, 64) == 2**64 - 1


# ---------------------------------------------------------------------------
# Wrapping and saturating arithmetic
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32, np.uint8, np.uint16, np.uint32])
def test_wrap_matches_numpy_overflow(dtype):
    rng = np.random.default_rng(1)
    info = np.iinfo(dtype)
    signed = info.min < 0
    a = rng.integers(info.min, info.max, size=5000, endpoint=True).astype(dtype)
    b = rng.integers(info.min, info.max, size=5000, endpoint=True).astype(dtype)
    wide_sum = a.astype(np.int64) + b.astype(np.int64)
    wide_product = a.astype(np.int64) * b.astype(np.int64)
    np.testing.assert_array_equal(wrap(wide_sum, info.bits, signed), a + b)  # numpy wraps
    np.testing.assert_array_equal(wrap(wide_product, info.bits, signed), a * b)
    np.testing.assert_array_equal(add(a, b, info.bits, signed=signed), a + b)
    np.testing.assert_array_equal(mul(a, b, info.bits, signed=signed), a * b)
    assert wrap(wide_sum, info.bits, signed).dtype == dtype


@pytest.mark.parametrize("bits", [8, 16, 32, 64])
def test_wrap_matches_numpy_narrowing_casts(bits):
    rng = np.random.default_rng(bits)
    values = rng.integers(np.iinfo(np.int64).min, np.iinfo(np.int64).max, size=5000, dtype=np.int64)
    signed = np.dtype(f"int{bits}")
    unsigned = np.dtype(f"uint{bits}")
    np.testing.assert_array_equal(wrap(values, bits), values.astype(signed))
    np.testing.assert_array_equal(wrap(values, bits, signed=False), values.astype(unsigned))
    big = values.view(np.uint64)
    np.testing.assert_array_equal(wrap(big, bits), big.astype(signed))


@FAST
@given(data=st.data(), bits=st.integers(min_value=1, max_value=63))
def test_wrap_is_python_modulo(data, bits):
    n = data.draw(st.integers(min_value=-(2**63), max_value=2**63 - 1))
    low, _ = int_range(bits)
    assert int(wrap(n, bits)) == (n - low) % 2**bits + low
    assert int(wrap(n, bits, signed=False)) == n % 2**bits


def test_wrap_known_values():
    np.testing.assert_array_equal(wrap([128, 200, -129, 256], 8), [-128, -56, 127, 0])
    assert wrap(300, 8, signed=False) == 44
    assert wrap(-1, 64, signed=False) == 2**64 - 1
    assert wrap(np.uint64(2**64 - 1), 64) == -1
    assert wrap(5, 1) == -1 and wrap(4, 1) == 0
    np.testing.assert_array_equal(wrap([2**64 - 1, 2**63], 64), [-1, -(2**63)])


@pytest.mark.parametrize(
    ("values", "bits", "signed", "expected"),
    [
        ([200, -300, 5, 127, -128], 8, True, [127, -128, 5, 127, -128]),
        ([-3, 300, 255], 8, False, [0, 255, 255]),
        ([40000, -40000], 16, True, [32767, -32768]),
        ([2, -2], 1, True, [0, -1]),
        ([2**64 - 1], 64, True, [2**63 - 1]),
        ([-5], 64, False, [0]),
    ],
)
def test_saturate_known_values(values, bits, signed, expected):
    result = saturate(values, bits, signed)
    np.testing.assert_array_equal(result, expected)
    storage_bits = max(8, 2 ** math.ceil(math.log2(bits)))  # 8, 16, 32 or 64
    assert result.dtype == np.dtype(f"{'int' if signed else 'uint'}{storage_bits}")


@FAST
@given(data=st.data(), bits=st.integers(min_value=1, max_value=63), signed=st.booleans())
def test_saturate_is_clip_and_agrees_with_wrap_in_range(data, bits, signed):
    low, high = int_range(bits, signed)
    values = data.draw(st.lists(st.integers(-(2**63), 2**63 - 1), min_size=1, max_size=20))
    np.testing.assert_array_equal(saturate(values, bits, signed), np.clip(values, low, high))
    inside = [min(max(v, low), high) for v in values]
    np.testing.assert_array_equal(saturate(inside, bits, signed), wrap(inside, bits, signed))


def test_add_and_mul_overflow_modes():
    assert add(100, 100, 8) == -56
    assert add(100, 100, 8, overflow="saturate") == 127
    assert add(-100, -100, 8, overflow="saturate") == -128
    assert add(100, 100, 16, overflow="raise") == 200
    assert add(200, 100, 8, signed=False) == 44
    assert add(200, 100, 8, signed=False, overflow="saturate") == 255
    assert mul(127, 127, 8) == 1
    assert mul(127, 127, 16, overflow="raise") == 16129
    assert mul(-128, -128, 8) == 0 and mul(-128, -128, 8, overflow="saturate") == 127
    assert mul(65535, 65535, 32, signed=False, overflow="raise") == 65535**2
    assert mul(2**31 - 1, 2**31 - 1, 32, signed=False) == (2**31 - 1) ** 2 % 2**32
    np.testing.assert_array_equal(add([1, 2, 3], 126, 8, overflow="saturate"), [127, 127, 127])
    with pytest.raises(OverflowError, match=r"add: 100 \+ 100 = 200 is outside \[-128, 127\]"):
        add(100, 100, 8, overflow="raise")
    with pytest.raises(OverflowError, match=r"mul: 127 × 127 = 16129.*1 of 3 results"):
        mul([1, 127, 2], [1, 127, 2], 8, overflow="raise")


def test_int8_products_need_a_32_bit_accumulator():
    products = mul(np.full(8, 127), np.full(8, 127), 16, overflow="raise")
    sums16 = accumulate(products, 16)
    assert sums16[1] == 2 * 16129 and sums16[2] < 0  # the third product overflows int16
    # numpy wraps too when told to accumulate in int16 (by default cumsum widens to int64).
    np.testing.assert_array_equal(sums16, np.cumsum(products, dtype=np.int16))
    np.testing.assert_array_equal(accumulate(products, 32), 16129 * np.arange(1, 9))
    np.testing.assert_array_equal(accumulate(products, 16, overflow="saturate")[2:], 32767)
    with pytest.raises(OverflowError, match=r"partial sum 48387 is outside \[-32768, 32767\]"):
        accumulate(products, 16, overflow="raise")


def test_accumulate_saturates_step_by_step():
    # Clamping each partial sum is not clamping the exact sums: 100+100 -> 127, then -100 -> 27.
    saturated = accumulate([100, 100, -100], 8, overflow="saturate")
    np.testing.assert_array_equal(saturated, [100, 127, 27])
    np.testing.assert_array_equal(accumulate([100, 100, -100], 8), [100, -56, 100])
    rows = accumulate([[1, 2], [3, 4]], 8)
    np.testing.assert_array_equal(rows, [[1, 3], [3, 7]])


@FAST
@given(
    data=st.data(),
    bits=st.integers(min_value=1, max_value=32),
    signed=st.booleans(),
)
def test_add_mul_wrap_are_modular(data, bits, signed):
    low, high = int_range(bits, signed)
    a = data.draw(st.integers(low, high))
    b = data.draw(st.integers(low, high))
    assert int(add(a, b, bits, signed=signed)) == int(wrap(a + b, bits, signed))
    assert int(mul(a, b, bits, signed=signed)) == int(wrap(a * b, bits, signed))
    assert int(mul(a, b, bits, signed=signed, overflow="saturate")) == min(max(a * b, low), high)


# ---------------------------------------------------------------------------
# Fixed point
# ---------------------------------------------------------------------------


def test_qformat_properties():
    q = QFormat(3, 4)
    assert (str(q), q.bits, q.resolution, q.min, q.max) == ("Q3.4", 8, 1 / 16, -8.0, 7.9375)
    assert q.code_range == (-128, 127)
    q15 = QFormat(0, 15)
    assert (q15.bits, q15.min, q15.max) == (16, -1.0, 1 - 2**-15)
    unsigned = QFormat(0, 8, signed=False)
    assert (str(unsigned), unsigned.bits) == ("UQ0.8", 8)
    assert (unsigned.min, unsigned.max) == (0.0, 255 / 256)
    assert QFormat(np.int64(3), np.int8(4)) == q
    assert type(QFormat(np.int64(3), 4).m) is int
    with pytest.raises(FrozenInstanceError):
        q.m = 4


# The chapter's seed table: value, its Q3.4 code, and the value the code stands for.
SEED_TABLE = [
    (2.75, 44, 2.75),
    (-3.5, -56, -3.5),
    (0.0625, 1, 0.0625),
    (7.9375, 127, 7.9375),
    (-8.0, -128, -8.0),
    (0.1, 2, 0.125),  # 0.1 * 16 = 1.6 rounds to 2: 0.125 is nearer than 0.0625
    (math.pi, 50, 3.125),  # pi * 16 = 50.27 rounds to 50: 3.125 is nearer than 3.1875
]


@pytest.mark.parametrize(("value", "code", "represented"), SEED_TABLE)
def test_q3_4_seed_table(value, code, represented):
    q = QFormat(3, 4)
    got = quantize_fixed(value, q)
    assert got == code and isinstance(got, np.int8)
    assert dequantize_fixed(got, q) == represented
    # The code is the nearest of all 256 codes.
    all_values = dequantize_fixed(np.arange(-128, 128), q)
    assert abs(represented - value) == np.min(np.abs(all_values - value))


def test_q3_4_seed_table_vectorised():
    values, codes, represented = map(np.array, zip(*SEED_TABLE))
    q = QFormat(3, 4)
    np.testing.assert_array_equal(quantize_fixed(values, q), codes)
    np.testing.assert_array_equal(dequantize_fixed(codes, q), represented)
    assert encode_twos(quantize_fixed(-3.5, q), q.bits) == 200  # its bit pattern


@pytest.mark.parametrize(
    ("value", "nearest_even", "toward_zero", "floor"),
    [
        (0.1, 2, 1, 1),
        (-0.1, -2, -1, -2),
        (0.03125, 0, 0, 0),  # 0.5 code: tie to even 0
        (0.09375, 2, 1, 1),  # 1.5: tie to even 2
        (-0.09375, -2, -1, -2),
        (2.75, 44, 44, 44),
    ],
)
def test_quantize_fixed_rounding_modes(value, nearest_even, toward_zero, floor):
    q = QFormat(3, 4)
    assert quantize_fixed(value, q, rounding="nearest_even") == nearest_even
    assert quantize_fixed(value, q, rounding="toward_zero") == toward_zero
    assert quantize_fixed(value, q, rounding="floor") == floor


def test_quantize_fixed_overflow_modes():
    q = QFormat(3, 4)
    assert quantize_fixed(8.0, q) == 127
    assert quantize_fixed(7.97, q) == 127  # rounds to code 128, then saturates
    assert quantize_fixed(-np.inf, q) == -128 and quantize_fixed(np.inf, q) == 127
    assert quantize_fixed(8.0, q, overflow="wrap") == -128
    assert quantize_fixed(-8.0625, q, overflow="wrap") == 127
    assert quantize_fixed(1e300, q, overflow="wrap") == 0  # 1e300 * 16 is a multiple of 256
    message = r"1 value\(s\) outside Q3\.4's range \[-8\.0, 7\.9375\].*9\.5"
    with pytest.raises(OverflowError, match=message):
        quantize_fixed([1.0, 9.5], q, overflow="raise")
    with pytest.raises(ValueError, match=r"inf.*cannot wrap"):
        quantize_fixed(np.inf, q, overflow="wrap")
    unsigned = QFormat(2, 2, signed=False)
    np.testing.assert_array_equal(quantize_fixed([-1.0, 5.0, 1.25], unsigned), [0, 15, 5])
    assert quantize_fixed(4.0, unsigned, overflow="wrap") == 0


@FAST
@given(x=st.floats(min_value=-1e6, max_value=1e6, allow_nan=False))
def test_quantize_fixed_wrap_is_wrap_of_the_rounded_code(x):
    q = QFormat(3, 4)
    assert quantize_fixed(x, q, overflow="wrap") == wrap(int(np.rint(x * 16)), 8)


@FAST
@given(
    data=st.data(),
    m=st.integers(min_value=0, max_value=20),
    n=st.integers(min_value=0, max_value=24),
    signed=st.booleans(),
)
def test_quantize_fixed_error_bounds(data, m, n, signed):
    assume(signed or m + n > 0)  # UQ0.0 has no bits
    q = QFormat(m, n, signed=signed)
    x = data.draw(st.floats(min_value=q.min, max_value=q.max))
    nearest = dequantize_fixed(quantize_fixed(x, q), q)
    assert abs(nearest - x) <= q.resolution / 2
    # Sums of multiples of the resolution are exact, so these comparisons are too.
    down = dequantize_fixed(quantize_fixed(x, q, rounding="floor"), q)
    assert down <= x < down + q.resolution
    toward = dequantize_fixed(quantize_fixed(x, q, rounding="toward_zero"), q)
    assert abs(toward) <= abs(x) < abs(toward) + q.resolution


def test_fixed_point_codes_round_trip_exhaustively():
    for q in (QFormat(3, 4), QFormat(0, 7), QFormat(4, 4, signed=False), QFormat(7, 8)):
        low, high = q.code_range
        codes = np.arange(low, high + 1)
        values = dequantize_fixed(codes, q)
        assert values.min() == q.min and values.max() == q.max
        np.testing.assert_array_equal(quantize_fixed(values, q, overflow="raise"), codes)
        expected_dtype = np.int16 if q.bits > 8 else (np.int8 if q.signed else np.uint8)
        assert quantize_fixed(values, q).dtype == expected_dtype


def test_widest_fixed_point_format_is_exact():
    q = QFormat(20, 32)  # 53 bits
    assert q.max == 2**20 - 2**-32
    assert quantize_fixed(q.max, q, overflow="raise") == 2**52 - 1
    assert dequantize_fixed(-(2**52), q) == -(2**20)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: QFormat(-1, 4), ValueError, r"m >= 0 integer bits and n >= 0.*m=-1"),
        (lambda: QFormat(3, -4), ValueError, r"n >= 0 fraction bits.*n=-4"),
        (lambda: QFormat(0, 0, signed=False), ValueError, r"has 0 bits.*between 1 and 53"),
        (lambda: QFormat(30, 30), ValueError, r"Q30\.30 \(signed\) has 61 bits"),
        (lambda: QFormat(3.0, 4), TypeError, r"m must be an integer, got float"),
        (lambda: QFormat(3, 4, signed="yes"), TypeError, r"signed must be True or False"),
        (lambda: quantize_fixed(1.0, (3, 4)), TypeError, r"q must be a QFormat"),
        (lambda: quantize_fixed(np.nan, QFormat(3, 4)), ValueError, r"NaN"),
        (lambda: quantize_fixed("1.0", QFormat(3, 4)), TypeError, r"x must be real numbers"),
        (lambda: quantize_fixed(1j, QFormat(3, 4)), TypeError, r"x must be real numbers"),
        (
            lambda: quantize_fixed(1.0, QFormat(3, 4), rounding="up"),
            ValueError,
            r"rounding must be one of",
        ),
        (
            lambda: quantize_fixed(1.0, QFormat(3, 4), overflow="clip"),
            ValueError,
            r"overflow must be one of",
        ),
        (
            lambda: dequantize_fixed(128, QFormat(3, 4)),
            ValueError,
            r"outside \[-128, 127\], the range of Q3\.4 codes",
        ),
        (lambda: dequantize_fixed(1.5, QFormat(3, 4)), TypeError, r"codes must be integers"),
    ],
)
def test_fixed_point_bad_arguments(call, error, match):
    with pytest.raises(error, match=match):
        call()


# ---------------------------------------------------------------------------
# Bit packing
# ---------------------------------------------------------------------------


def test_pack_known_bytes():
    assert pack([1, 2], 4).tolist() == [0x21]
    assert pack([1, 2], 4, first="high").tolist() == [0x12]
    assert pack([1, 2, 3], 4).tolist() == [0x21, 0x03]
    assert pack([1, 2, 3], 4, first="high").tolist() == [0x12, 0x30]
    assert pack([0, 1, 2, 3], 2).tolist() == [0b11_10_01_00]
    assert pack([0, 1, 2, 3], 2, first="high").tolist() == [0b00_01_10_11]
    assert pack([200, 7], 8).tolist() == [200, 7]
    assert pack([], 4).shape == (0,) and pack([], 4).dtype == np.uint8


@pytest.mark.parametrize("bits", [1, 2, 4, 8])
@pytest.mark.parametrize("first", ["low", "high"])
@pytest.mark.parametrize("count", [0, 1, 2, 3, 7, 8, 9, 17])
def test_pack_unpack_round_trip(bits, first, count):
    rng = np.random.default_rng(count)
    codes = rng.integers(0, 2**bits, size=count)
    packed = pack(codes, bits, first=first)
    assert packed.dtype == np.uint8
    assert packed.shape == (math.ceil(count * bits / 8),)
    np.testing.assert_array_equal(unpack(packed, bits, count, first=first), codes)
    # The padding is zero codes.
    padded = unpack(packed, bits, first=first)
    np.testing.assert_array_equal(padded[count:], 0)


@pytest.mark.parametrize("count", [1, 5, 8, 13])
def test_one_bit_packing_matches_numpy_packbits(count):
    bits = np.random.default_rng(count).integers(0, 2, size=count)
    np.testing.assert_array_equal(pack(bits, 1, first="high"), np.packbits(bits))
    np.testing.assert_array_equal(pack(bits, 1, first="low"), np.packbits(bits, bitorder="little"))
    packed = np.packbits(bits)
    np.testing.assert_array_equal(unpack(packed, 1, count, first="high"), bits)


def test_pack_works_row_by_row():
    codes = np.array([[1, 2, 3], [4, 5, 6]])
    packed = pack(codes, 4)
    assert packed.tolist() == [[0x21, 0x03], [0x54, 0x06]]
    np.testing.assert_array_equal(unpack(packed, 4, 3), codes)


@FAST
@given(
    data=st.data(),
    bits=st.sampled_from([1, 2, 4]),
    first=st.sampled_from(["low", "high"]),
)
def test_pack_unpack_round_trip_property(data, bits, first):
    codes = data.draw(st.lists(st.integers(0, 2**bits - 1), max_size=40))
    packed = pack(codes, bits, first=first)
    np.testing.assert_array_equal(unpack(packed, bits, len(codes), first=first), codes)


def test_low_first_matches_torch_quint4x2():
    torch = pytest.importorskip("torch")
    if not hasattr(torch, "quint4x2"):
        pytest.skip("this torch has no quint4x2")
    codes = np.random.default_rng(4).integers(0, 16, size=10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # quantized tensors are deprecated but still pack
        try:
            as_float = torch.tensor(codes, dtype=torch.float32)
            q = torch.quantize_per_tensor(as_float, 1.0, 0, torch.quint4x2)
        except RuntimeError as error:
            pytest.skip(f"torch cannot make quint4x2 tensors here: {error}")
        stored = np.frombuffer(bytes(q.untyped_storage()), dtype=np.uint8)
    np.testing.assert_array_equal(stored[: len(codes) // 2], pack(codes, 4, first="low"))


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: pack([1], 3), ValueError, r"bits must be 1, 2, 4 or 8.*got 3"),
        (
            lambda: pack([16], 4),
            ValueError,
            r"outside \[0, 15\], the range of 4-bit unsigned codes; the first is 16",
        ),
        (lambda: pack([-1], 4), ValueError, r"outside \[0, 15\].*the first is -1"),
        (lambda: pack([4, 2], 2), ValueError, r"outside \[0, 3\]"),
        (lambda: pack([1.0], 4), TypeError, r"codes must be integers"),
        (lambda: pack(3, 4), ValueError, r"at least a 1-D array"),
        (lambda: pack([1], 4, first="middle"), ValueError, r"first must be one of 'low', 'high'"),
        (
            lambda: unpack([0x21], 4, count=3),
            ValueError,
            r"count=3 codes of 4 bits fill 2 byte\(s\), but packed has 1",
        ),
        (lambda: unpack([0x21, 0x03], 4, count=2), ValueError, r"hold 3 to 4 codes"),
        (lambda: unpack([0x21], 4, count=-1), ValueError, r"count must be >= 0"),
        (lambda: unpack([256], 4), ValueError, r"outside \[0, 255\], the range of bytes"),
        (lambda: unpack([1], 4, count=1.0), TypeError, r"count must be an integer"),
        (lambda: unpack(np.uint8(3), 4), ValueError, r"at least a 1-D array"),
    ],
)
def test_packing_bad_arguments(call, error, match):
    with pytest.raises(error, match=match):
        call()


# ---------------------------------------------------------------------------
# Byte order
# ---------------------------------------------------------------------------


def test_to_bytes_known_values():
    assert to_bytes(1.0, np.float32).hex(" ") == "00 00 80 3f"
    assert to_bytes(1.0, np.float32, "big").hex(" ") == "3f 80 00 00"
    assert to_bytes(-2, np.int16).hex(" ") == "fe ff"
    assert to_bytes(0x01020304, np.uint32, "big") == b"\x01\x02\x03\x04"
    assert to_bytes([1, 2], np.uint16, "big").hex(" ") == "00 01 00 02"
    assert to_bytes(200, np.uint8, "big") == to_bytes(200, np.uint8) == b"\xc8"
    assert to_bytes(1.0, np.float16).hex(" ") == "00 3c"


def test_to_bytes_bfloat16():
    ml_dtypes = pytest.importorskip("ml_dtypes")
    assert to_bytes(1.0, ml_dtypes.bfloat16).hex(" ") == "80 3f"
    assert to_bytes(1.0, ml_dtypes.bfloat16, "big").hex(" ") == "3f 80"


@FAST
@given(x=st.floats(width=32, allow_nan=False))
def test_to_bytes_matches_struct_for_float32(x):
    assert to_bytes(x, np.float32, "little") == struct.pack("<f", x)
    assert to_bytes(x, np.float32, "big") == struct.pack(">f", x)


@FAST
@given(
    n=st.integers(min_value=-(2**63), max_value=2**63 - 1),
    byteorder=st.sampled_from(["little", "big"]),
)
def test_to_bytes_matches_python_int_to_bytes(n, byteorder):
    assert to_bytes(n, np.int64, byteorder) == n.to_bytes(8, byteorder, signed=True)
    small = n % 2**16
    assert to_bytes(small, np.uint16, byteorder) == small.to_bytes(2, byteorder)


def test_to_bytes_native_order_is_the_memory():
    values = np.array([1.5, -2.25], dtype=np.float64)
    assert to_bytes(values, np.float64, sys.byteorder) == values.tobytes()


def test_hexdump_text():
    floats = np.array([1.0, 2.0], dtype=np.float32)
    assert hexdump(floats) == "00000000: 00 00 80 3f 00 00 00 40" + " " * 26 + "...?...@"
    assert hexdump(b"Hi!", width=2) == "00000000: 48 69  Hi\n00000002: 21     !"
    assert hexdump(b"") == ""
    lines = hexdump(np.arange(40, dtype=np.uint8)).splitlines()
    assert [line[:9] for line in lines] == ["00000000:", "00000010:", "00000020:"]
    assert lines[2] == "00000020: 20 21 22 23 24 25 26 27" + " " * 26 + " !\"#$%&'"
    assert hexdump(np.float32(1.0)) == hexdump(to_bytes(1.0, np.float32, sys.byteorder))
    assert hexdump(bytearray(b"\x00\xff")) == "00000000: 00 ff" + " " * 44 + ".."


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: to_bytes(300, np.int8), ValueError, r"outside \[-128, 127\], the range of int8"),
        (lambda: to_bytes(-1, np.uint16), ValueError, r"outside \[0, 65535\]"),
        (lambda: to_bytes(1.5, np.int32), TypeError, r"x must be integers.*round floats"),
        (
            lambda: to_bytes(1.0, ">f4"),
            ValueError,
            r"explicit byte order.*byteorder='little' or 'big'",
        ),
        (lambda: to_bytes(1.0, np.complex64), TypeError, r"integer and floating-point dtypes"),
        (
            lambda: to_bytes(1.0, np.float32, "middle"),
            ValueError,
            r"byteorder must be one of 'little', 'big'",
        ),
        (lambda: to_bytes(1.0, "not a dtype"), TypeError, r"dtype must be a numpy dtype"),
        (lambda: hexdump(1.0), TypeError, r"numpy array or bytes, got float.*np\.float32"),
        (lambda: hexdump(np.array([object()])), TypeError, r"object array"),
        (lambda: hexdump(b"x", width=0), ValueError, r"width must be from 1 to 1024"),
    ],
)
def test_byte_order_bad_arguments(call, error, match):
    with pytest.raises(error, match=match):
        call()


# ---------------------------------------------------------------------------
# Argument checks shared by the integer functions
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: int_range(0), ValueError, r"bits must be between 1 and 64, got 0"),
        (lambda: int_range(65), ValueError, r"bits must be between 1 and 64, got 65"),
        (lambda: int_range(8.0), TypeError, r"bits must be an integer, got float"),
        (lambda: int_range(8, signed=1), TypeError, r"signed must be True or False"),
        (
            lambda: to_twos_complement(128, 8),
            ValueError,
            r"128 does not fit in 8-bit two's complement.*\[-128, 127\]",
        ),
        (lambda: to_twos_complement(-129, 8), ValueError, r"-129 does not fit"),
        (lambda: to_twos_complement(1.0, 8), TypeError, r"n must be an integer"),
        (lambda: from_twos_complement("1021"), ValueError, r"not a bit string: use only 0 and 1"),
        (lambda: from_twos_complement(""), ValueError, r"not a bit string"),
        (lambda: from_twos_complement("1" * 65), ValueError, r"65 bits; at most 64"),
        (lambda: from_twos_complement(0b101), TypeError, r"bits_str must be a str"),
        (
            lambda: twos_complement_steps(5, 8),
            ValueError,
            r"negative number.*n=5.*to_twos_complement",
        ),
        (lambda: twos_complement_steps(-129, 8), ValueError, r"smallest value is -128"),
        (
            lambda: encode_twos([1, 300], 8),
            ValueError,
            r"encode_twos: 1 value\(s\) outside \[-128, 127\].*first is 300",
        ),
        (
            lambda: decode_twos([16], 4),
            ValueError,
            r"decode_twos.*outside \[0, 15\], the range of 4-bit codes",
        ),
        (lambda: decode_twos([-1], 4), ValueError, r"outside \[0, 15\]"),
        (lambda: sign_extend(3, 8, 4), ValueError, r"to_bits must be >= from_bits"),
        (lambda: sign_extend(3, 0, 4), ValueError, r"from_bits must be between 1 and 64"),
        (
            lambda: wrap([1.5], 8),
            TypeError,
            r"values must be integers, got float 1\.5; round floats",
        ),
        (lambda: wrap(np.array([2.0]), 8), TypeError, r"got float64 values; round floats"),
        (lambda: wrap([True], 8), TypeError, r"got bool values.*booleans"),
        (lambda: wrap(["7"], 8), TypeError, r"values must be integers"),
        (lambda: wrap([2**64], 8), ValueError, r"must fit in 64 bits"),
        (lambda: saturate([1], 65), ValueError, r"bits must be between 1 and 64"),
        (
            lambda: add(1, 1, 64),
            ValueError,
            r"between 1 and 32 \(the exact result must fit in 64 bits",
        ),
        (lambda: add(200, 1, 8), ValueError, r"add: operand a: 1 value\(s\) outside \[-128, 127\]"),
        (lambda: mul(1, -1, 8, signed=False), ValueError, r"mul: operand b.*outside \[0, 255\]"),
        (
            lambda: add(1, 1, 8, overflow="clip"),
            ValueError,
            r"overflow must be one of 'wrap', 'saturate', 'raise'",
        ),
        (lambda: accumulate(5, 16), ValueError, r"at least a 1-D array"),
        (lambda: accumulate([40000], 16), ValueError, r"accumulate: 1 value\(s\) outside"),
    ],
)
def test_integer_bad_arguments(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_fraction_digits():
    from fractions import Fraction

    from support.numbers.integers import fraction_digits

    assert fraction_digits(Fraction(1, 10), 24) == ("0" + "0011" * 6)[:24]
    assert fraction_digits(0.625, 6) == "101000"
    assert fraction_digits(Fraction(1, 3), 5, base=10) == "33333"
    assert fraction_digits(Fraction(3, 4), 2, base=16) == "C0"
    assert fraction_digits(0, 3) == "000"
    # exact for floats: float32(0.1) terminates after 27 binary digits
    digits = fraction_digits(float(np.float32(0.1)), 40)
    assert digits.rstrip("0") == digits[:27] and Fraction(int(digits[:27], 2), 2**27) == Fraction(float(np.float32(0.1)))
    with pytest.raises(ValueError, match="0 <= q < 1"):
        fraction_digits(1.5, 3)
    with pytest.raises(TypeError, match="Fraction, float or int"):
        fraction_digits("0.5", 3)
    with pytest.raises(ValueError, match="n must be from 0 to"):
        fraction_digits(0.5, -1)
    with pytest.raises(ValueError, match="base must be between 2 and 36"):
        fraction_digits(0.5, 3, base=1)


# --------------------------------------------------------------------------- bad input (issue 15)


def test_fraction_digits_bounds_n_instead_of_running_for_ever():
    from support.numbers.integers import MAX_FRACTION_DIGITS, fraction_digits

    with pytest.raises(ValueError, match="n must be from 0 to 100000"):
        fraction_digits(0.375, 10**30)
    assert fraction_digits(0.375, 6) == "011000"
    assert len(fraction_digits(2.0**-1074, 1074)) == 1074 <= MAX_FRACTION_DIGITS
    assert fraction_digits(2.0**-1074, 1074).endswith("01")


def test_errors_name_the_argument():
    from support.numbers import integers as I

    cases = [
        (lambda: I.sign_extend(-1, 4, 8), ValueError, "^sign_extend: code: 1 value"),
        (lambda: I.sign_extend(True, 4, 8), TypeError, "^code must be integers"),
        (lambda: I.from_base("12", 2), ValueError, "^s='12'"),
        (lambda: I.from_twos_complement("12"), ValueError, "^bits_str='12'"),
        (lambda: I.to_twos_complement(10**30, 8), ValueError, "^n=10+ does not fit"),
        (lambda: I.mul([1, 2, 3], [1, 2], 8), ValueError, r"^mul: a of shape \(3,\) and b of shape \(2,\)"),
        (lambda: I.to_bytes(1.0, None), TypeError, "^dtype must be a numpy dtype"),
        (lambda: I.hexdump(b"x", width=10**30), ValueError, "^width must be from 1 to 1024"),
        (lambda: I.fraction_digits(float("nan"), 4), ValueError, "q must satisfy 0 <= q < 1, got nan"),
    ]
    for call, error, message in cases:
        with pytest.raises(error, match=message):
            call()
