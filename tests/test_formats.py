"""Tests of support.numbers.formats: properties, decoding, bit-exact rounding against ml_dtypes and
torch, hypothesis properties of every rounding mode, and argument validation."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from support.numbers import formats as F
from support.numbers.formats import FORMATS, FloatFormat, decode, encode, get_format, round_to, ulp

ml_dtypes = pytest.importorskip("ml_dtypes")

# Formats whose reference cast is numpy's (float16, float32) or ml_dtypes'.
REFERENCE = [name for name in FORMATS if name not in ("float64", "tfloat32")]
SMALL = [name for name in FORMATS if FORMATS[name].bits <= 16]
MODES = F.ROUNDING_MODES
# IEEE P3109 binary8p3: NaN 0x80, ±inf 0x7F/0xFF, no -0.
P3109_P3 = FloatFormat("binary8p3", exp_bits=5, man_bits=2, bias=16, nan="fnuz", has_inf=True)

HYPOTHESIS = settings(max_examples=40, deadline=None, derandomize=True)
STOCHASTIC = settings(max_examples=25, deadline=None, derandomize=True)


def bits_of(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a)
    return a.view({2: np.uint16, 4: np.uint32, 8: np.uint64}[a.dtype.itemsize])


def quiet(function, *args):
    """Call a reference cast, silencing its overflow/NaN warnings."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return function(*args)


def reference_cast(x: np.ndarray, fmt: FloatFormat) -> tuple[np.ndarray, np.ndarray]:
    """ml_dtypes' (or numpy's) codes and float32 round trip of float32 inputs."""
    dtype = fmt.numpy_dtype
    cast = quiet(x.astype, dtype)
    codes = cast.view({1: np.uint8, 2: np.uint16, 4: np.uint32}[dtype.itemsize])
    return codes, quiet(cast.astype, np.float32)


# --------------------------------------------------------------------------------------
# Test inputs: wide random magnitudes, specials, ties and their neighbours, boundaries
# --------------------------------------------------------------------------------------

F32_SPECIALS = np.array(
    [0x00000000, 0x80000000, 0x7F800000, 0xFF800000,  # ±0, ±inf
     0x7FC00000, 0xFFC00000, 0x7F800001, 0xFF800001, 0x7FFFFFFF, 0x7FA00000, 0x7F802000,  # NaNs
     0x00000001, 0x80000001, 0x007FFFFF, 0x00800000, 0x00400000, 0x00400001, 0x7F7FFFFF, 0xFF7FFFFF],
    dtype=np.uint32,
).view(np.float32)


def with_neighbours(points: np.ndarray) -> np.ndarray:
    """float32 points, and the float32 numbers just above and below them, both signs."""
    points = quiet(np.asarray, points, np.float32)
    points = np.concatenate([points, -points])
    up, down = np.nextafter(points, np.float32(np.inf)), np.nextafter(points, np.float32(-np.inf))
    return np.concatenate([points, up, down]).astype(np.float32)


def ties(fmt: FloatFormat) -> np.ndarray:
    """Every midpoint between neighbouring values, including the overflow threshold."""
    values = F.all_values(fmt)
    values = values[values >= 0]
    top = values[-1] + ulp(values[-1], fmt)  # where the next binade would continue
    return (np.append(values, top)[:-1] + np.append(values, top)[1:]) / 2


def boundaries(fmt: FloatFormat) -> np.ndarray:
    points = [fmt.min_subnormal, fmt.min_subnormal / 2, fmt.min_subnormal * 1.5, fmt.min_normal,
              fmt.min_normal * (1 - fmt.eps / 2), fmt.max, fmt.max + ulp(fmt.max, fmt) / 2,
              fmt.max + ulp(fmt.max, fmt), 2.0 * fmt.max, 1.0, 3.0, 0.75]
    return np.array([p for p in points if p < 3e38])


def test_inputs(fmt: FloatFormat, n: int = 1_000_000, seed: int = 0) -> np.ndarray:
    """float32 inputs: ``n`` random ones over the format's range ± 4 binades, and the rest."""
    rng = np.random.default_rng(seed)
    low = max(np.log2(fmt.min_subnormal) - 4, -149)
    high = min(np.log2(fmt.max) + 4, 127.9)
    random = np.exp2(rng.uniform(low, high, n)) * rng.choice([-1.0, 1.0], n)
    parts = [random.astype(np.float32), F32_SPECIALS, with_neighbours(boundaries(fmt))]
    if fmt.bits <= 16:
        parts.append(with_neighbours(ties(fmt)))
    return np.concatenate(parts)


test_inputs.__test__ = False  # a helper, not a test


# --------------------------------------------------------------------------------------
# Format properties and decoding
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [name for name in FORMATS if name != "tfloat32"])
def test_properties_match_finfo(name):
    fmt = FORMATS[name]
    info = ml_dtypes.finfo(fmt.numpy_dtype)
    assert fmt.max == float(info.max)
    assert fmt.min_normal == float(info.smallest_normal)
    assert fmt.min_subnormal == float(info.smallest_subnormal)
    assert fmt.eps == float(info.eps)
    assert fmt.bits == info.bits
    assert (fmt.emin, fmt.emax + 1) == (info.minexp, info.maxexp)
    assert fmt.num_codes == 2**fmt.bits


def test_properties_by_hand():
    tf32, e4m3, e8m0 = get_format("tfloat32"), get_format("float8_e4m3fn"), get_format("float8_e8m0fnu")
    assert (tf32.bits, tf32.eps, tf32.min_normal, tf32.max) == (19, 2**-10, 2**-126, (2 - 2**-10) * 2**127)
    assert (e4m3.emin, e4m3.emax, e4m3.max, e4m3.min_subnormal) == (-6, 8, 448.0, 2**-9)
    assert (e8m0.bits, e8m0.min_subnormal, e8m0.max, e8m0.eps) == (8, 2**-127, 2.0**127, 1.0)
    assert FORMATS["float64"].max == np.finfo(np.float64).max
    assert get_format("float16").specials == "IEEE: ±inf, NaN (exponent all ones), ±0"
    assert e4m3.specials == "NaN = S.1111.111 only, no inf; ±0"
    assert "0x80" in get_format("float8_e4m3fnuz").specials
    assert "no inf, no NaN" in get_format("float4_e2m1fn").specials
    assert F.format_names() == list(FORMATS)
    assert get_format(e4m3) is e4m3


@pytest.mark.parametrize("name", [n for n in SMALL if n != "tfloat32"])
def test_decode_every_code(name):
    fmt = FORMATS[name]
    codes = np.arange(fmt.num_codes, dtype=np.uint16 if fmt.bits > 8 else np.uint8)
    reference = quiet(codes.view(fmt.numpy_dtype).astype, np.float64)
    values = decode(codes, fmt)
    assert values.dtype == np.float64
    np.testing.assert_array_equal(np.isnan(values), np.isnan(reference))
    finite = ~np.isnan(reference)
    np.testing.assert_array_equal(bits_of(values[finite]), bits_of(reference[finite]))  # -0 too
    # round_to's float32 NaNs are ml_dtypes' float32 NaNs, bit for bit, for the NaN codes
    # that encode produces (canonical ones; float16 and bfloat16 keep every payload).
    nan_codes = encode(np.float32([np.nan, -np.nan]), fmt)
    assert np.isnan(decode(nan_codes, fmt)).all() or fmt.nan == "none"


def test_decode_float32_sample_and_tfloat32():
    rng = np.random.default_rng(1)
    codes = rng.integers(0, 2**32, 100_000, dtype=np.uint64).astype(np.uint32)
    values, reference = decode(codes, "float32"), quiet(codes.view(np.float32).astype, np.float64)
    np.testing.assert_array_equal(np.isnan(values), np.isnan(reference))
    ok = ~np.isnan(reference)
    np.testing.assert_array_equal(values[ok], reference[ok])
    tf32 = decode(np.arange(2**19, dtype=np.uint32), "tfloat32")  # float32 with 13 zero bits
    expected = quiet((np.arange(2**19, dtype=np.uint32) << 13).view(np.float32).astype, np.float64)
    np.testing.assert_array_equal(tf32, expected)


@pytest.mark.parametrize("name", SMALL)
def test_all_values_and_round_trip(name):
    fmt = FORMATS[name]
    values = F.all_values(fmt)
    assert np.all(np.diff(values) > 0) and np.isfinite(values).all()
    zeros = (fmt.has_zero and fmt.nan != "fnuz" and fmt.signed)  # +0 and -0 collapse to one
    n_nan_inf = int(np.sum(~np.isfinite(decode(np.arange(fmt.num_codes), fmt))))
    assert values.size == fmt.num_codes - n_nan_inf - zeros
    assert values[-1] == fmt.max and np.signbit(values).sum() == (values < 0).sum()
    np.testing.assert_array_equal(round_to(values, fmt), values)  # exact values are fixed points
    codes = np.arange(fmt.num_codes, dtype=np.uint64)
    finite = np.isfinite(decode(codes, fmt))
    np.testing.assert_array_equal(encode(decode(codes[finite], fmt), fmt), codes[finite])


def test_p3109_format_matches_gfloat():
    gfloat = pytest.importorskip("gfloat")
    formats = pytest.importorskip("gfloat.formats")
    info = formats.format_info_p3109(8, 3)
    codes = np.arange(256)
    expected = np.array([gfloat.decode_float(info, int(c)).fval for c in codes])
    values = decode(codes, P3109_P3)
    np.testing.assert_array_equal(np.isnan(values), np.isnan(expected))
    ok = ~np.isnan(expected)
    np.testing.assert_array_equal(values[ok], expected[ok])
    assert (P3109_P3.max, P3109_P3.min_subnormal, P3109_P3.eps) == (info.max, info.smallest_subnormal, info.eps)
    x = np.array([1e5, -1e5, 50000.0, np.inf, np.nan, -0.0, 3e-6])
    assert [hex(c) for c in encode(x, P3109_P3)] == ["0x7f", "0xff", "0x7e", "0x7f", "0x80", "0x0", "0x0"]


# --------------------------------------------------------------------------------------
# Bit-exact rounding against ml_dtypes (numpy for float16) and torch
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", REFERENCE)
def test_round_matches_ml_dtypes(name):
    fmt = FORMATS[name]
    x = test_inputs(fmt)
    codes, values = reference_cast(x, fmt)
    ours = round_to(x, fmt)
    assert ours.dtype == np.float32 and ours.shape == x.shape
    mismatch = np.flatnonzero(encode(x, fmt) != codes)
    assert mismatch.size == 0, f"codes differ at {x[mismatch[:5]]}"
    mismatch = np.flatnonzero(bits_of(ours) != bits_of(values))  # NaN payloads and -0 included
    assert mismatch.size == 0, f"values differ at {x[mismatch[:5]]}: {ours[mismatch[:5]]} vs {values[mismatch[:5]]}"


def test_float16_input_and_shapes():
    x = np.float16([[1.0, -2.5], [np.inf, 65504.0]])
    assert round_to(x, "float8_e5m2").dtype == np.float32
    assert round_to(x, "float8_e5m2").shape == (2, 2)
    assert encode(x, "float16").tolist() == x.view(np.uint16).tolist()
    assert isinstance(round_to(1.3, "bfloat16"), float) and isinstance(encode(1.3, "bfloat16"), int)
    assert round_to([], "float8_e4m3fn").shape == (0,)
    assert round_to(np.float32(3.3), "float4_e2m1fn") == 3.0
    assert round_to(ml_dtypes.bfloat16(1.5), "float4_e2m1fn") == 1.5


@pytest.mark.parametrize(
    "name, saturate",
    [("float8_e4m3fn", True), ("float8_e4m3fnuz", False), ("float8_e5m2", False),
     ("float8_e5m2fnuz", False), ("float8_e8m0fnu", False)],
)
def test_round_matches_torch(name, saturate):
    torch = pytest.importorskip("torch")
    fmt = FORMATS[name]
    x = test_inputs(fmt, n=300_000, seed=2)
    if name == "float8_e8m0fnu":
        # torch casts |x| (0 -> code 0) where ml_dtypes gives NaN: compare positive inputs only.
        x = x[~np.signbit(x) & (x != 0)]
    reference = torch.from_numpy(x).to(fmt.torch_dtype)
    ours = round_to(x, fmt, saturate=saturate)
    expected = reference.to(torch.float32).numpy()
    same = (bits_of(ours) == bits_of(expected)) | (np.isnan(ours) & np.isnan(expected))
    assert same.all(), f"values differ at {x[~same][:5]}"
    # Codes agree except on the NaN code (torch: 0x7F/0xFF for e5m2, where ml_dtypes has 0x7E/0xFE).
    codes = reference.view(torch.uint8).numpy()
    finite = ~np.isnan(expected)
    np.testing.assert_array_equal(encode(x, fmt, saturate=saturate)[finite], codes[finite])


def test_saturate_clamps_overflow_and_inf():
    x = np.float32([500.0, -1e30, np.inf, -np.inf, 464.0, 465.0, np.nan])
    expected_nonsat = [np.nan, np.nan, np.nan, np.nan, 448.0, np.nan, np.nan]
    np.testing.assert_array_equal(round_to(x, "float8_e4m3fn"), np.float32(expected_nonsat))
    np.testing.assert_array_equal(round_to(x, "float8_e4m3fn", saturate=True)[:6], [448, -448, 448, -448, 448, 448])
    assert np.isnan(round_to(x, "float8_e4m3fn", saturate=True)[6])
    x = np.float32([1e5, -1e30, np.inf, -np.inf, 61439.0, 61440.0])
    np.testing.assert_array_equal(round_to(x, "float8_e5m2", saturate=True), [57344, -57344, 57344, -57344, 57344, 57344])
    np.testing.assert_array_equal(round_to(x, "float8_e5m2"), [np.inf, -np.inf, np.inf, -np.inf, 57344, np.inf])
    # IEEE 754: modes that round the magnitude toward zero overflow to ±max, not inf.
    assert round_to(1e6, "float8_e5m2", mode="toward_zero") == 57344
    assert round_to(-1e6, "float8_e5m2", mode="up") == -57344
    assert round_to(-1e6, "float8_e5m2", mode="down") == -np.inf


def test_float64_target_and_float32_target_from_float64():
    rng = np.random.default_rng(3)
    x = np.concatenate([
        rng.standard_normal(100_000) * np.exp2(rng.uniform(-160, 140, 100_000)),
        [0.0, -0.0, np.inf, -np.inf, 2.0**-150, 2.0**-149 * 1.5, 3.4028235677973366e38, 3.5e38],
    ])
    # numpy's float64 -> float32 and float64 -> float16 casts are single IEEE roundings
    with np.errstate(over="ignore"):
        np.testing.assert_array_equal(bits_of(round_to(x, "float32").astype(np.float32)), bits_of(x.astype(np.float32)))
        np.testing.assert_array_equal(encode(x, "float16"), x.astype(np.float16).view(np.uint16))
    assert round_to(x, "float64") is not x
    np.testing.assert_array_equal(round_to(x, "float64"), x)
    np.testing.assert_array_equal(encode(x, "float64"), x.view(np.uint64))
    assert round_to(np.float32([0.1]), "float64")[0] == np.float64(np.float32(0.1))


def test_tfloat32_matches_the_bit_trick():
    x = test_inputs(FORMATS["float32"], n=200_000, seed=4)
    x = x[np.isfinite(x) & (np.abs(x) < 3.4e38)]
    b = x.view(np.uint32).astype(np.uint64)
    expected = ((b + 0xFFF + ((b >> 13) & 1)) & ~np.uint64(0x1FFF)).astype(np.uint32).view(np.float32)
    np.testing.assert_array_equal(bits_of(round_to(x, "tfloat32")), bits_of(expected))
    np.testing.assert_array_equal(encode(x, "tfloat32"), bits_of(expected) >> 13)
    np.testing.assert_array_equal(decode(encode(x, "tfloat32"), "tfloat32"), expected)


def test_float64_is_rounded_once():
    x = 1 + 2**-4 + 2**-40  # just above the tie between 1.0 and 1.125
    assert round_to(x, "float8_e4m3fn") == 1.125
    assert float(np.float64(x).astype(ml_dtypes.float8_e4m3fn)) == 1.0  # ml_dtypes rounds twice
    assert round_to(np.float32(x), "float8_e4m3fn") == 1.0  # the float32 input is already a tie


def test_ml_dtypes_quirks_are_reproduced():
    e8m0 = "float8_e8m0fnu"
    assert round_to([3.0, 0.75, 2.5], e8m0).tolist() == [4.0, 1.0, 2.0]  # ties up
    assert np.isnan(round_to([0.0, -0.0, -1.0, np.inf, 1.5 * 2.0**127], e8m0)).all()
    tiny = np.float32([2.0**-130, 2.0**-127, 1.25 * 2.0**-127, 1.75 * 2.0**-127])
    assert round_to(tiny, e8m0).tolist() == [2.0**-127, 2.0**-127, 2.0**-126, 2.0**-126]
    assert encode(np.float32([np.nan, -np.nan]), "float4_e2m1fn").tolist() == [0x8, 0x0]
    assert np.signbit(round_to(np.float32([np.nan, -np.nan]), "float6_e3m2fn")).tolist() == [True, False]
    assert encode([-0.0, -1e-9], "float8_e4m3fnuz").tolist() == [0, 0]
    assert encode(np.nan, "float8_e5m2") == 0x7E and encode(-np.nan, "float8_e5m2") == 0xFE
    assert round_to([1e9, -np.inf], "float4_e2m1fn").tolist() == [6.0, -6.0]


# --------------------------------------------------------------------------------------
# Directed modes against gfloat (an independent implementation)
# --------------------------------------------------------------------------------------

GFLOAT = {
    "float8_e4m3fn": "format_info_ocp_e4m3", "float8_e5m2": "format_info_ocp_e5m2",
    "float6_e2m3fn": "format_info_ocp_e2m3", "float4_e2m1fn": "format_info_ocp_e2m1",
    "bfloat16": "format_info_bfloat16",
}


@pytest.mark.parametrize("name", GFLOAT)
def test_directed_modes_match_gfloat(name):
    gfloat = pytest.importorskip("gfloat")
    info = getattr(pytest.importorskip("gfloat.formats"), GFLOAT[name])
    modes = {"nearest_even": "TiesToEven", "nearest_away": "TiesToAway", "toward_zero": "TowardZero",
             "up": "TowardPositive", "down": "TowardNegative"}
    fmt = FORMATS[name]
    x = quiet(test_inputs(fmt, n=3000, seed=5).astype, np.float64)
    x = x[np.isfinite(x)]
    for mode, gmode in modes.items():
        for saturate in (False, True):
            if fmt.nan == "none" and not saturate:
                continue  # gfloat requires sat=True for formats without inf and NaN
            expected = quiet(gfloat.round_ndarray, info, x, getattr(gfloat.RoundMode, gmode), saturate)
            ours = round_to(x, fmt, mode=mode, saturate=saturate)
            same = (bits_of(ours) == bits_of(expected)) | (np.isnan(ours) & np.isnan(expected))
            assert same.all(), f"{mode} sat={saturate}: {x[~same][:3]} -> {ours[~same][:3]} vs {expected[~same][:3]}"


CUSTOM = [
    P3109_P3,
    FloatFormat("e3m1", 3, 1),
    FloatFormat("e5m0_signed", 5, 0, bias=20, nan="fn"),  # no mantissa: parity is the exponent's
    FloatFormat("e6m2fnuz", 6, 2, bias=40, nan="fnuz"),
    FloatFormat("e2m5none", 2, 5, nan="none"),
    FloatFormat("e7m7wide", 7, 7, bias=36, nan="fn"),
    FloatFormat("e4m9", 4, 9, bias=2),
]


def brute_force_round(x: np.ndarray, fmt: FloatFormat, mode: str) -> np.ndarray:
    """The reference: pick a neighbour among all_values (|x| <= max, signed formats)."""
    values = F.all_values(fmt)
    codes = encode(values, fmt)
    i = np.clip(np.searchsorted(values, x, side="right") - 1, 0, values.size - 2)
    low, high = values[i], values[i + 1]
    if mode == "down":
        r = low
    elif mode == "up":
        r = np.where(x == low, low, high)
    elif mode == "toward_zero":
        r = np.where((x == low) | (x > 0), low, high)
    else:
        tie = np.where(x > 0, high, low) if mode == "nearest_away" else np.where(codes[i] % 2 == 0, low, high)
        r = np.where(x - low < high - x, low, np.where(high - x < x - low, high, tie))
    return np.where(x == high, high, r)


@pytest.mark.parametrize("fmt", CUSTOM, ids=lambda f: f.name)
def test_custom_formats_match_brute_force(fmt):
    rng = np.random.default_rng(11)
    values = F.all_values(fmt)
    scale = fmt.max * rng.choice([1, 2.0**-3, 2.0**-9, 2.0**-20], 4000)
    x = np.concatenate([rng.uniform(-1, 1, 4000) * scale, (values[1:] + values[:-1]) / 2, values])
    for dtype in (np.float64, np.float32):
        xs = x.astype(dtype).astype(np.float64)
        for mode in MODES[:-1]:
            expected = brute_force_round(xs, fmt, mode)
            np.testing.assert_array_equal(round_to(xs.astype(dtype), fmt, mode=mode), expected, err_msg=mode)


# --------------------------------------------------------------------------------------
# Properties of every format and mode (hypothesis)
# --------------------------------------------------------------------------------------


def domain(fmt: FloatFormat):
    """Finite inputs within ±max, where every mode gives a finite result (positive and
    above the quirky bottom binade for E8M0, where ml_dtypes' rounding is not nearest)."""
    width = 64 if fmt.name == "float64" else 32
    if not fmt.has_zero:
        return st.floats(min_value=2 * fmt.min_normal, max_value=fmt.max, width=width)
    top = float(np.float32(fmt.max)) if width == 32 else fmt.max
    return st.floats(min_value=-top, max_value=top, width=width, allow_subnormal=True)


def neighbours(x: np.ndarray, fmt: FloatFormat) -> tuple[np.ndarray, np.ndarray]:
    return round_to(x, fmt, mode="down"), round_to(x, fmt, mode="up")


@pytest.mark.parametrize("mode", [m for m in MODES if m != "stochastic"])
@pytest.mark.parametrize("name", list(FORMATS))
def test_deterministic_modes_properties(name, mode):
    fmt = FORMATS[name]

    @HYPOTHESIS
    @given(st.lists(domain(fmt), min_size=1, max_size=40))
    def check(values):
        dtype = np.float64 if name == "float64" else np.float32
        x = np.sort(np.array(values, dtype=dtype))
        r = round_to(x, fmt, mode=mode, saturate=True)
        assert np.isfinite(r).all()
        assert np.all(r[1:] >= r[:-1]), "monotone"  # no np.diff: ±max - ∓max overflows
        np.testing.assert_array_equal(round_to(r, fmt, mode=mode), r)  # idempotent
        x64 = x.astype(np.float64)
        low, high = neighbours(x, fmt)
        assert np.all((low <= x64) & (x64 <= high)) and np.all((r == low) | (r == high))
        assert np.all(high - low <= ulp(x, fmt)), "neighbours are at most one ulp apart"
        if mode.startswith("nearest"):
            assert np.all(np.abs(r - x64) <= ulp(x, fmt) / 2)
        elif mode == "toward_zero":
            assert np.all(np.abs(r) <= np.abs(x64)) and not np.any(np.sign(r) * np.sign(x64) < 0)
        elif mode == "up":
            assert np.all(r >= x64)
        else:
            assert np.all(r <= x64)

    check()


@pytest.mark.parametrize("name", list(FORMATS))
def test_stochastic_rounding_is_unbiased_and_reproducible(name):
    fmt = FORMATS[name]
    n = 2000

    @STOCHASTIC
    @given(domain(fmt), st.integers(0, 2**32 - 1))
    def check(value, seed):
        dtype = np.float64 if name == "float64" else np.float32
        x = np.full(n, value, dtype)
        r = round_to(x, fmt, mode="stochastic", rng=np.random.default_rng(seed))
        again = round_to(x, fmt, mode="stochastic", rng=np.random.default_rng(seed))
        np.testing.assert_array_equal(r, again)  # reproducible
        low, high = (float(v[0]) for v in neighbours(x[:1], fmt))
        assert np.all((r == low) | (r == high))
        if high > low:
            standard_error = np.sqrt((float(value) - low) * (high - float(value)) / n)  # of a Bernoulli(p)
            # within 6 standard errors (a false alarm has probability ~2e-9 per example)
            assert abs(r.mean(dtype=np.float64) - float(value)) <= 6 * standard_error + 1e-300

    check()


def test_stochastic_probability_at_known_points():
    rng = np.random.default_rng(7)
    r = round_to(np.full(200_000, 1.0 + 0.25 * 0.125), "float8_e4m3fn", mode="stochastic", rng=rng)
    assert set(np.unique(r)) == {1.0, 1.125}
    assert abs(np.mean(r == 1.125) - 0.25) < 5 * np.sqrt(0.25 * 0.75 / r.size)
    tiny = round_to(np.full(100_000, 2.0**-12), "float8_e4m3fn", mode="stochastic", rng=rng)  # 1/8 of 2**-9
    assert abs(np.mean(tiny == 2.0**-9) - 0.125) < 5 * np.sqrt(0.125 * 0.875 / tiny.size)
    assert round_to(np.float32([1.1]), "bfloat16", mode="stochastic", rng=rng).dtype == np.float32


# --------------------------------------------------------------------------------------
# ulp, fields
# --------------------------------------------------------------------------------------


def test_ulp_conventions():
    e4m3 = "float8_e4m3fn"
    assert ulp([1.0, 1.9, 2.0, 0.0, 2.0**-9, 1e-30], e4m3).tolist() == [0.125, 0.125, 0.25, 2**-9, 2**-9, 2**-9]
    assert ulp(448.0, e4m3) == 32.0 and ulp(1000.0, e4m3) == 64.0  # beyond max: same formula
    assert ulp(np.inf, e4m3) == np.inf and np.isnan(ulp(np.nan, e4m3))
    assert ulp(-3.0, "float16") == 2**-9
    assert ulp(1.0, "float8_e8m0fnu") == 1.0
    assert isinstance(ulp(1.0, "bfloat16"), float)


def test_fields():
    f = F.fields(13.5, "float32")
    assert str(f) == "0 | 10000010 | 10110000000000000000000"
    assert (f.sign, f.exponent, f.unbiased_exponent, f.kind, f.value, f.code) == (0, 130, 3, "normal", 13.5, 0x41580000)
    assert f.bits == "01000001010110000000000000000000"
    kinds = [g.kind for g in F.fields([0.0, 2.0**-15, 1.0, np.nan, -np.inf], "float8_e5m2")]
    assert kinds == ["zero", "subnormal", "normal", "nan", "inf"]
    sub = F.fields(-(2.0**-15), "float8_e5m2")
    assert (sub.unbiased_exponent, sub.mantissa_bits, sub.exponent_bits, sub.sign) == (-14, "10", "00000", 1)
    assert F.fields(np.nan, "float8_e4m3fnuz").bits == "10000000"
    e8m0 = F.fields(1.0, "float8_e8m0fnu")
    assert (str(e8m0), e8m0.sign_bits, e8m0.kind) == ("01111111", "", "normal")
    assert str(F.fields(-1.5, "float4_e2m1fn")) == "1 | 01 | 1"


# --------------------------------------------------------------------------------------
# Bad input: each error says what is allowed
# --------------------------------------------------------------------------------------


def test_docstring_examples():
    import doctest

    result = doctest.testmod(F, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 10


def test_bad_inputs_raise_helpful_errors():
    with pytest.raises(ValueError, match="registered formats are .*float8_e4m3fn"):
        get_format("float8")
    with pytest.raises(TypeError, match="format name"):
        get_format(8)
    with pytest.raises(ValueError, match="use one of nearest_even"):
        round_to(1.0, "bfloat16", mode="nearest")
    with pytest.raises(ValueError, match="needs rng"):
        round_to(1.0, "bfloat16", mode="stochastic")
    with pytest.raises(ValueError, match="only with mode='stochastic'"):
        round_to(1.0, "bfloat16", rng=np.random.default_rng(0))
    with pytest.raises(TypeError, match="float16, float32, float64"):
        round_to(np.array(["a"]), "bfloat16")
    with pytest.raises(TypeError, match="float16, float32, float64"):
        encode(np.array([1 + 2j]), "bfloat16")
    with pytest.raises(TypeError, match="booleans"):
        round_to(True, "bfloat16")
    with pytest.raises(ValueError, match="beyond 2\\*\\*53"):
        round_to(np.array([2**60]), "bfloat16")
    with pytest.raises(ValueError, match=r"integers in \[0, 255\]"):
        decode([256], "float8_e4m3fn")
    with pytest.raises(ValueError, match=r"integers in \[0, 15\]"):
        decode(-1, "float4_e2m1fn")
    with pytest.raises(TypeError, match="codes must be integers"):
        decode([1.5], "float8_e4m3fn")
    with pytest.raises(ValueError, match="at most 20 bits"):
        F.all_values("float32")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(exp_bits=0, man_bits=3), "between 1 and 11"),
        (dict(exp_bits=4, man_bits=60), "between 0 and 52"),
        (dict(exp_bits=4, man_bits=3, nan="weird"), "nan must be one of"),
        (dict(exp_bits=4, man_bits=3, has_inf=False), "has_inf must be True"),
        (dict(exp_bits=4, man_bits=3, nan="none", has_inf=True), "has_inf=True is allowed only"),
        (dict(exp_bits=4, man_bits=3, nan="fnuz", signed=False), "needs signed=True"),
        (dict(exp_bits=4, man_bits=3, signed=False, nan="none"), "unsigned format"),
        (dict(exp_bits=4, man_bits=3, has_zero=False), "has_zero=False is allowed only"),
        (dict(exp_bits=4, man_bits=3, has_subnormals=False), "requires has_zero=False"),
        (dict(exp_bits=8, man_bits=3, bias=-2000), "exponent range"),
        (dict(exp_bits=10, man_bits=52), "only for float64"),
        (dict(exp_bits=1, man_bits=0, nan="fn"), "no positive finite"),
    ],
)
def test_impossible_formats_are_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        FloatFormat("bad", **kwargs)


def test_custom_format_from_parameters():
    e4m3_again = FloatFormat("my_e4m3fn", 4, 3, nan="fn")
    x = test_inputs(e4m3_again, n=10_000)
    np.testing.assert_array_equal(encode(x, e4m3_again), encode(x, "float8_e4m3fn"))
    # A wide custom format (values beyond float32) rounds float32 inputs to float64 values.
    e9m3 = FloatFormat("e9m3", 9, 3)
    x = np.float32([1.0625, 1e-40, -3e38])
    r = round_to(x, e9m3)
    assert r.dtype == np.float64 and r[0] == 1.0
    np.testing.assert_array_equal(r, round_to(x.astype(np.float64), e9m3))
    # A narrow one whose subnormals are float32 subnormals: float32 and float64 paths agree.
    odd = FloatFormat("e7m22", 7, 22, bias=126)
    assert (odd.min_subnormal, odd.max) == (2.0**-147, 2 - 2.0**-22)
    x = np.arange(0, 2**24, 61, dtype=np.uint32).view(np.float32)  # float32 subnormals and tiny normals
    for mode in MODES[:-1]:
        np.testing.assert_array_equal(encode(x, odd, mode=mode), encode(x.astype(np.float64), odd, mode=mode))


# --------------------------------------------------------------------------- bad input (issue 15)


@pytest.mark.parametrize("bad", ["no", 1, None, np.array([True, False])])
def test_saturate_must_be_a_boolean(bad):
    # bool("no") is True: saturate="no" gave 448.0 for 1000.0 in float8_e4m3fn
    from support.numbers.formats import encode, fields, round_to

    for fn in (round_to, encode, fields):
        with pytest.raises(TypeError, match="^saturate must be True or False"):
            fn(1000.0, "float8_e4m3fn", saturate=bad)


@pytest.mark.parametrize("field", ["has_inf", "signed", "has_zero", "has_subnormals"])
def test_float_format_flags_must_be_booleans(field):
    with pytest.raises(TypeError, match=f"^{field} must be True or False, got 'no'"):
        FloatFormat("f", 4, 3, **{field: "no"})


@pytest.mark.parametrize("bad, error", [(5, TypeError), (["float32"], TypeError), ("float7", ValueError)])
def test_format_errors_name_fmt(bad, error):
    from support.numbers.formats import round_to

    with pytest.raises(error, match="^fmt "):
        round_to(1.0, bad)


def test_field_info_fields_must_fit_together():
    from support.numbers.formats import FieldInfo, fields

    info = fields(1.5, "float8_e4m3fn")
    assert FieldInfo(**vars(info)) == info
    with pytest.raises(ValueError, match="^code 57 does not match its bits"):
        FieldInfo(**{**vars(info), "code": 57})
    with pytest.raises(TypeError, match="^bits must be a string of 0s and 1s"):
        FieldInfo(**{**vars(info), "bits": "0x3c"})
    with pytest.raises(ValueError, match="^kind must be one of"):
        FieldInfo(**{**vars(info), "kind": "weird"})


def test_torch_bfloat16_and_ragged_inputs():
    torch = pytest.importorskip("torch")
    from support.numbers.formats import decode, round_to

    t = torch.tensor([1.0625, -3.3], dtype=torch.bfloat16)
    np.testing.assert_array_equal(round_to(t, "float8_e4m3fn"), round_to(t.float().numpy(), "float8_e4m3fn"))
    with pytest.raises(TypeError, match="^x must be an array of real numbers; could not make an array"):
        round_to([[1.0], [2.0, 3.0]], "float8_e4m3fn")
    with pytest.raises(TypeError, match="^codes must be an array of real numbers; could not make an array"):
        decode([[1], [2, 3]], "float8_e4m3fn")


# --------------------------------------------------------------------------------------
# Fast paths (issue 9): every input distribution, look-up tables, one-number calls
# --------------------------------------------------------------------------------------

FAST = ["bfloat16", "float16", "float8_e4m3fn", "float8_e4m3", "float8_e5m2", "float8_e4m3fnuz",
        "float8_e5m2fnuz", "float8_e4m3b11fnuz", "float8_e3m4", "float8_e8m0fnu", "float6_e2m3fn",
        "float6_e3m2fn", "float4_e2m1fn"]
DETERMINISTIC = [m for m in MODES if m != "stochastic"]


def distributions(fmt: FloatFormat, n: int = 100_000, seed: int = 0) -> dict[str, np.ndarray]:
    """The float32 inputs of benchmarks/bench_formats.py (its float64 column is tested below)."""
    rng = np.random.default_rng(seed)
    normal = rng.standard_normal(n).astype(np.float32)
    nan_inf = np.where(rng.random(n) < 0.5, np.nan, np.inf) * np.sign(normal)
    return {
        "normal": normal,
        "saturating": normal * np.float32(10),
        "overflowing": normal * np.float32(1e4),
        "nan_inf": np.where(rng.random(n) < 0.5, nan_inf, normal).astype(np.float32),
        "subnormal": rng.uniform(-fmt.min_normal, fmt.min_normal, n).astype(np.float32),
        "zeros": np.zeros(n, np.float32),
        "negative_zeros": np.full(n, -0.0, np.float32),
        "one_value": np.full(n, 1.0625, np.float32),  # a tie, repeated: the constant-block path
    }


def assert_same_bits(ours: np.ndarray, reference: np.ndarray, x: np.ndarray) -> None:
    assert ours.dtype == reference.dtype and ours.shape == reference.shape
    unsigned = f"u{ours.dtype.itemsize}"  # codes (uint8...) or float bits
    mismatch = np.flatnonzero(ours.view(unsigned) != reference.view(unsigned))
    assert mismatch.size == 0, f"differ at {x.ravel()[mismatch[:5]]}: {ours.ravel()[mismatch[:5]]} vs {reference.ravel()[mismatch[:5]]}"


@pytest.mark.parametrize("name", FAST)
def test_every_distribution_matches_ml_dtypes(name):
    fmt = FORMATS[name]
    for label, x in distributions(fmt).items():
        x = x.reshape(-1, 50)  # shapes survive the blocked paths
        codes, values = reference_cast(x, fmt)
        assert_same_bits(encode(x, fmt), codes, x)
        assert_same_bits(round_to(x, fmt), values, x)
        decoded = decode(codes, fmt)
        reference = quiet(codes.view(fmt.numpy_dtype).astype, np.float64)
        same = (decoded == reference) | (np.isnan(decoded) & np.isnan(reference))
        assert same.all() and np.array_equal(np.signbit(decoded), np.signbit(reference)), label


@pytest.mark.parametrize("name", FAST)
def test_float64_inputs_are_rounded_once_on_every_path(name):
    # ml_dtypes rounds float64 through float32; the table and round-to-odd paths must not
    fmt = FORMATS[name]
    rng = np.random.default_rng(1)
    x = np.concatenate([
        rng.standard_normal(50_000) * rng.choice([1e-45, 1e-40, 1e-6, 1.0, 1e4, 1e39, 1e300], 50_000),
        rng.integers(0, 2**64, 50_000, dtype=np.uint64).view(np.float64),
        (F.all_values(fmt)[:-1] + F.all_values(fmt)[1:]) / 2 * (1 + 2.0**-40) if fmt.bits <= 16 else [1.0],
    ])
    for mode in ("nearest_even", "nearest_away", "toward_zero"):
        for to_codes in (False, True):
            ours = F._convert(x, fmt, mode, False, None, to_codes)
            reference = quiet(F._convert_exactly, x, fmt, mode, False, None, to_codes)
            assert_same_bits(ours, reference, x)


@pytest.mark.parametrize("name", [name for name in FORMATS if FORMATS[name].bits <= 8])
def test_look_up_tables_equal_the_kernel_on_random_bits(name):
    fmt = FORMATS[name]
    rng = np.random.default_rng(2)
    for uint, float_type in ((np.uint32, np.float32), (np.uint64, np.float64)):
        x = rng.integers(0, np.iinfo(uint).max, 100_000, dtype=uint, endpoint=True).view(float_type)
        edges = quiet(np.concatenate, [F32_SPECIALS, with_neighbours(boundaries(fmt))])
        x = np.concatenate([x, quiet(edges.astype, float_type)])
        for mode in DETERMINISTIC:
            for saturate in (False, True):
                for to_codes in (False, True):
                    ours = F._convert_by_table(x, fmt, mode, saturate, to_codes)
                    reference = quiet(F._convert_exactly, x, fmt, mode, saturate, None, to_codes)
                    assert_same_bits(ours, reference, x)


def one_number_inputs() -> list:
    rng = np.random.default_rng(3)
    scales = rng.choice([1e-40, 1e-9, 1e-5, 1e-3, 1.0, 10.0, 300.0, 1e5, 1e38, 1e300], 200)
    values = list(rng.standard_normal(200) * scales) + list(np.arange(-70, 71) / 8)
    values += [0.0, -0.0, np.inf, -np.inf, np.nan, -np.nan, 1 + 2**-4 + 2**-40, 464.0, -464.0, 2.0**-127,
               0.75 * 2.0**-126, 65519.99, 65520.0, 1.5 * 2.0**-24, 5e-324, 3.4e38, 1e308]
    return [float(v) for v in values] + [1, -3, 7, 2**53, np.float32(0.1), np.float16(-2.5), np.float64(1e-3)]


@pytest.mark.parametrize("name", list(FORMATS))
def test_one_number_equals_the_array_path(name):
    fmt = FORMATS[name]
    for mode in DETERMINISTIC:
        for saturate in (False, True):
            for x in one_number_inputs():
                array = np.array([x])
                value = round_to(x, fmt, mode=mode, saturate=saturate)
                code = encode(x, fmt, mode=mode, saturate=saturate)
                assert type(value) is float and type(code) is int
                expected = round_to(array, fmt, mode=mode, saturate=saturate)[0]
                assert np.array_equal(np.float64(value), np.float64(expected), equal_nan=True), (x, mode)
                assert np.signbit(value) == np.signbit(expected), (x, mode)
                assert code == int(encode(array, fmt, mode=mode, saturate=saturate)[0]), (x, mode)
    codes = range(fmt.num_codes) if fmt.bits <= 16 else [0, 1, fmt._sign_bit, fmt._max_code, 2**fmt.bits - 1]
    for c in codes:
        value, expected = decode(c, fmt), decode(np.array([c], np.uint64), fmt)[0]
        assert type(value) is float
        assert bits_of(np.float64(value)) == bits_of(expected), c  # NaN payloads included


def test_one_number_is_fast():
    # a student's loop: a few microseconds a call, not the array machinery (generous bound)
    import time

    for name in ("float8_e4m3fn", "bfloat16", "float4_e2m1fn"):
        round_to(0.3, name), encode(0.3, name), decode(3, name)  # build the tables first
        for function, arg in ((round_to, 0.3), (encode, 0.3), (decode, 3)):
            best = float("inf")
            for _ in range(5):
                start = time.perf_counter()
                for _ in range(200):
                    function(arg, name)
                best = min(best, (time.perf_counter() - start) / 200)
            assert best < 50e-6, (name, function.__name__, best)


# --------------------------------------------------------------------------------------
# Decode paths: every dtype that can hold codes, signalling NaNs, one repeated code
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["bfloat16", "float16", "float8_e4m3fn", "float8_e4m3fnuz", "float4_e2m1fn"])
@pytest.mark.parametrize("dtype", [np.uint16, np.int32, np.int64, np.uint64])
def test_decode_is_the_general_kernel_for_every_code_dtype(name, dtype):
    # The fast paths (shift, table) equal the general kernel bit for bit, NaN payloads included.
    fmt = FORMATS[name]
    codes = np.arange(fmt.num_codes)
    expected = quiet(F._decode_values, codes.astype(np.uint64), fmt, np.float64)
    for array in (codes.astype(dtype), codes.astype(dtype)[::-1][::-1].reshape(-1, 2 ** (fmt.bits // 2))):
        values = decode(array, fmt)
        assert values.shape == array.shape and values.dtype == np.float64
        np.testing.assert_array_equal(bits_of(values).ravel(), bits_of(expected))


def test_decode_keeps_signalling_nan_payloads():
    # bfloat16 codes 0x7F81..0x7FBF (and negative) are signalling NaNs: their quiet bit
    # stays clear, however many of them a block holds and wherever they are.
    signalling = np.concatenate([np.arange(0x7F81, 0x7FC0), np.arange(0xFF81, 0xFFC0)]).astype(np.uint16)
    alone_in_zeros = np.insert(np.zeros(200_000, np.uint16), 150_000, signalling)
    for codes in (signalling, np.tile(signalling, 3000), alone_in_zeros):
        values = decode(codes, "bfloat16")
        expected = quiet(F._decode_values, codes.astype(np.uint64), get_format("bfloat16"), np.float64)
        np.testing.assert_array_equal(bits_of(values), bits_of(expected))
        nan = np.isnan(values)
        assert nan.sum() == np.isin(codes, signalling).sum()
        payload = (bits_of(values[nan]) >> np.uint64(45)) & np.uint64(0x7F)  # bfloat16's mantissa
        assert (payload == (codes[nan] & 0x7F)).all() and (payload < 0x40).all()  # quiet bit clear


@pytest.mark.parametrize("name", ["bfloat16", "float8_e4m3fnuz", "float8_e8m0fnu", "float4_e2m1fn"])
def test_decode_empty_zero_dimensional_and_repeated_codes(name):
    fmt = FORMATS[name]
    dtype = F._code_dtype(fmt)
    assert decode(np.array([], dtype), fmt).shape == (0,)
    assert decode(np.zeros((0, 3), np.int64), fmt).shape == (0, 3)
    zero_d = decode(np.array(3, dtype), fmt)
    assert isinstance(zero_d, np.ndarray) and zero_d.shape == () and zero_d == decode(3, fmt)
    for code in (0, fmt._sign_bit, fmt.num_codes - 1):  # zero, -0 or NaN, the top code
        expected = quiet(F._decode_values, np.array([code], np.uint64), fmt, np.float64)
        for n in (1, 7, 300_000):  # one block, several blocks
            values = decode(np.full(n, code, dtype), fmt)
            assert values.shape == (n,)
            assert (bits_of(values) == bits_of(expected)[0]).all()
        mostly = np.full(300_000, code, dtype)
        mostly[::1000] = 1  # one code in a thousand differs
        values = decode(mostly, fmt)
        assert (bits_of(values[::1000]) == bits_of(decode(np.array([1], dtype), fmt))[0]).all()
        assert (bits_of(np.delete(values, np.s_[::1000])) == bits_of(expected)[0]).all()


@pytest.mark.parametrize("name, codes", [("bfloat16", np.array([1, -1], np.int16)),
                                         ("bfloat16", np.array([0, 2**16], np.uint32)),
                                         ("float8_e4m3fn", np.array([0, 256], np.uint16)),
                                         ("float4_e2m1fn", np.array([3, 16], np.uint8)),
                                         ("float8_e4m3fn", np.array([-1], np.int8))])
def test_decode_checks_the_range_of_every_dtype_that_can_leave_it(name, codes):
    with pytest.raises(ValueError, match=r"^decode: codes of .* are integers in \[0, "):
        decode(codes, name)


@pytest.mark.parametrize("name", ["bfloat16", "tfloat32"])
def test_float64_nans_with_every_payload_give_the_quiet_nan(name):
    # float64 NaNs whose float32 image has a full payload: adding the rounding bias would carry
    # into the sign bit, so they must be found on the input, not on the rounded bits.
    payloads = np.array([1, 2**29, 2**51 - 1, 2**52 - 1, 2**52 - 2**29, 2**51], np.uint64)
    nans = np.concatenate([payloads | np.uint64(0x7FF << 52), payloads | np.uint64(0xFFF << 52)]).view(np.float64)
    x = np.tile(np.concatenate([nans, [1.0, -2.5, np.inf, -np.inf]]), 20_000)
    for to_codes in (False, True):
        ours = F._convert(x, FORMATS[name], "nearest_even", False, None, to_codes)
        reference = quiet(F._convert_exactly, x, FORMATS[name], "nearest_even", False, None, to_codes)
        assert_same_bits(ours, reference, x)
