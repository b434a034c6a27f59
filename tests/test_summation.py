"""Tests for support.numbers.summation: every algorithm against exact rational arithmetic,
the fast (native dtype) paths against the round_to definition, numpy's np.sum
reproduced bit for bit, the error bounds, and argument checking."""

from __future__ import annotations

import functools
import math
from fractions import Fraction

import numpy as np
import pytest

from support.numbers import summation as sm
from support.numbers.formats import all_values, encode, get_format, round_to

NATIVE = ["float32", "float16", "bfloat16"]


# --------------------------------------------------------------------------- references


@functools.lru_cache(maxsize=None)
def _grid(fmt: str) -> np.ndarray:
    return all_values(fmt)


def round_fraction(value: Fraction, fmt: str) -> float:
    """Round an exact rational to ``fmt`` (nearest, ties to the even code), by search."""
    if fmt == "float32":
        c = np.float32(float(value))
        candidates = [float(np.nextafter(c, np.float32(-np.inf))), float(c), float(np.nextafter(c, np.float32(np.inf)))]
        code = lambda v: int(np.float32(v).view(np.uint32))  # noqa: E731
    else:
        grid = _grid(fmt)
        i = int(np.searchsorted(grid, float(value)))
        candidates = [float(grid[j]) for j in (i - 2, i - 1, i, i + 1) if 0 <= j < len(grid)]
        code = lambda v: int(encode(v, fmt))  # noqa: E731
    best = min(abs(Fraction(c) - value) for c in candidates)
    ties = [c for c in candidates if abs(Fraction(c) - value) == best]
    if len(ties) == 1:
        return ties[0]
    return next(c for c in ties if code(c) % 2 == 0)


def reference_naive(x, fmt):
    s = Fraction(float(round_to(x[0], fmt)))
    for v in x[1:]:
        s = Fraction(round_fraction(s + Fraction(float(round_to(v, fmt))), fmt))
    return float(s)


def reference_fused_dot(a, b, fmt_in, fmt_acc):
    s = Fraction(0)
    for ai, bi in zip(a, b):
        p = Fraction(float(round_to(ai, fmt_in))) * Fraction(float(round_to(bi, fmt_in)))
        s = Fraction(round_fraction(s + p, fmt_acc))
    return float(s)


@pytest.fixture
def generic(monkeypatch):
    """Force the definition: float64 arithmetic and round_to after every operation."""
    monkeypatch.setattr(sm, "_native_dtype", lambda fmt: None)


def hard_data(rng, batch, n, fmt):
    """Data with many rounding ties and a wide range of magnitudes."""
    x = rng.standard_normal((batch, n)) * 2.0 ** rng.integers(-6, 7, (batch, n))
    x[:, ::5] = rng.integers(-64, 64, (batch, len(x[0, ::5]))) * 0.5  # small dyadic: ties
    return np.asarray(round_to(x, fmt), dtype=np.float64)


# --------------------------------------------------------------------------- exactness


@pytest.mark.parametrize("fmt", ["bfloat16", "float16", "float8_e4m3fn", "tfloat32"])
def test_naive_sum_equals_exact_rational_simulation(fmt):
    rng = np.random.default_rng(1)
    for _ in range(5):
        x = rng.standard_normal(40) * 4
        assert sm.naive_sum(x, fmt) == reference_naive(x, fmt)


@pytest.mark.parametrize("fmt_acc", ["bfloat16", "float16", "float32"])
def test_fused_dot_equals_exact_rational_simulation(fmt_acc):
    rng = np.random.default_rng(2)
    for _ in range(4):
        a, b = rng.standard_normal((2, 60)) * 3
        got = sm.dot(a, b, inputs="bfloat16", accumulate=fmt_acc)
        assert got == reference_fused_dot(a, b, "bfloat16", fmt_acc)


def test_fused_dot_rounds_once_at_a_midpoint():
    # The product 1 + 2**-8 is exactly the midpoint between the bfloat16 neighbours 1 and
    # 1 + 2**-7; the tiny accumulator puts the exact sum just above it, so one rounding
    # gives 1 + 2**-7.  Rounding to nearest in float32 or float64 first would give the
    # midpoint itself, and then the tie would go to the even neighbour, 1.
    a, b = np.array([2.0**-70, 1 + 2**-8]), np.array([1.0, 1.0])
    assert sm.dot(a, b, inputs="float32", accumulate="bfloat16") == 1 + 2**-7
    assert sm.dot(-a, b, inputs="float32", accumulate="bfloat16") == -(1 + 2**-7)
    assert sm.dot(a, b, inputs="float32", accumulate="bfloat16", fused=False) == 1.0
    assert sm.dot(a, b, inputs="float32", accumulate="bfloat16", method="pairwise") == 1 + 2**-7


def test_fused_float32_dot_of_float32_inputs_is_correctly_rounded():
    # float32 x float32 products have 48 bits: fl64(s + p) followed by fl32 would be wrong here.
    a = np.array([2.0**-90, 1 + 2**-23], dtype=np.float32)
    b = np.array([1.0, 1 + 2**-23], dtype=np.float32)  # product 1 + 2**-22 + 2**-46
    exact = Fraction(2.0**-90) + Fraction(1 + 2**-23) ** 2
    assert sm.dot(a, b, inputs="float32", accumulate="float32") == float(np.float32(float(exact)))
    a = np.array([2.0**-80, 1 + 2**-12], dtype=np.float32)
    b = np.array([1.0, 1 + 2**-12], dtype=np.float32)  # 1 + 2**-11 + 2**-24: a float32 midpoint
    assert sm.dot(a, b, inputs="float32", accumulate="float32") == 1 + 2**-11 + 2**-23


# --------------------------------------------------------------------------- fast paths


@pytest.mark.parametrize("fmt", NATIVE)
def test_native_paths_equal_the_round_to_definition(fmt, monkeypatch):
    rng = np.random.default_rng(3)
    x = hard_data(rng, 6, 300, fmt)
    a, b = hard_data(rng, 2, 200, "bfloat16")
    fast = {
        "naive": sm.naive_sum(x, fmt, cumulative=True),
        "pairwise": sm.pairwise_sum(x, fmt),
        "pairwise8": sm.pairwise_sum(x, fmt, block=8),
        "blocked": sm.blocked_sum(x, fmt, block=37),
        "kahan": sm.kahan_sum(x, fmt, cumulative=True),
        "kahan1": sm.kahan_sum(x[0], fmt),
        "numpy": sm.numpy_pairwise_sum(x, fmt),
        "dot": sm.dot(a, b, accumulate=fmt, cumulative=True),
        "dotpw": sm.dot(a, b, accumulate=fmt, method="pairwise"),
        "prerounded": sm.prerounded_sum(x[:, :60], fmt),
    }
    monkeypatch.setattr(sm, "_native_dtype", lambda f: None)
    slow = {
        "naive": sm.naive_sum(x, fmt, cumulative=True),
        "pairwise": sm.pairwise_sum(x, fmt),
        "pairwise8": sm.pairwise_sum(x, fmt, block=8),
        "blocked": sm.blocked_sum(x, fmt, block=37),
        "kahan": sm.kahan_sum(x, fmt, cumulative=True),
        "kahan1": sm.kahan_sum(x[0], fmt),
        "numpy": sm.numpy_pairwise_sum(x, fmt),
        "dot": sm.dot(a, b, accumulate=fmt, cumulative=True),
        "dotpw": sm.dot(a, b, accumulate=fmt, method="pairwise"),
        "prerounded": sm.prerounded_sum(x[:, :60], fmt),
    }
    for key in fast:
        np.testing.assert_array_equal(fast[key], slow[key], err_msg=key)


def test_cumsum_in_float32_is_sequential():
    x = np.random.default_rng(4).standard_normal(2000).astype(np.float32)
    s = np.float32(0)
    loop = []
    for v in x:
        s = np.float32(s + v)
        loop.append(float(s))
    np.testing.assert_array_equal(sm.naive_sum(x, "float32", cumulative=True), loop)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_numpy_pairwise_sum_reproduces_np_sum(dtype):
    rng = np.random.default_rng(5)
    for n in [*range(1, 300), 1000, 4097, 10_001, 100_003]:
        x = (rng.standard_normal(n) * 2.0 ** rng.integers(-20, 20, n)).astype(dtype)
        assert sm.numpy_pairwise_sum(x, np.dtype(dtype).name) == float(np.sum(x)), n
    x = rng.standard_normal((4, 5000)).astype(dtype)  # rows: np.sum along the contiguous axis
    np.testing.assert_array_equal(sm.numpy_pairwise_sum(x, np.dtype(dtype).name), np.sum(x, axis=1))
    for n in (1, 8, 200):  # a sum of negative zeros: numpy adds it to its identity, +0.0
        z = np.full(n, -0.0, dtype=dtype)
        assert np.signbit(sm.numpy_pairwise_sum(z, np.dtype(dtype).name)) == np.signbit(np.sum(z))


def test_np_sum_is_not_sequential():
    x = np.full(10**5, np.float32(1e-5))
    assert float(np.sum(x)) != sm.naive_sum(x, "float32")
    assert float(np.sum(x)) != sm.pairwise_sum(x, "float32")  # nor a full binary tree


# --------------------------------------------------------------------------- behaviour


@pytest.mark.parametrize("fmt,stall", [("bfloat16", 256), ("float16", 2048)])
def test_counting_stalls_at_two_to_the_precision(fmt, stall):
    ones = np.ones(3 * stall)
    partial = sm.naive_sum(ones, fmt, cumulative=True)
    assert partial[-1] == stall
    assert np.flatnonzero(partial == stall)[0] == stall - 1  # reached exactly once, then stuck
    assert sm.pairwise_sum(ones, fmt) == 3 * stall and sm.kahan_sum(ones, fmt) == 3 * stall


def test_float32_stalls_at_2_to_the_24():
    x = np.array([2.0**24 - 2, 1, 1, 1, 1, 1])
    assert sm.naive_sum(x, "float32") == 2.0**24
    assert sm.kahan_sum(x, "float32") == 2.0**24 + 4  # exact 2**24 + 3 is a tie: to even


def test_exact_sum_equals_fsum_and_is_order_independent():
    rng = np.random.default_rng(6)
    x = rng.standard_normal(5000) * 10.0 ** rng.integers(-12, 12, 5000)
    x = np.concatenate([x, -x[:2000]])  # heavy cancellation
    assert sm.exact_sum(x) == math.fsum(x)
    for _ in range(5):
        assert sm.exact_sum(rng.permutation(x)) == math.fsum(x)
    assert sm.exact_sum([2.0**1000, 2.0**-1000, -(2.0**1000)]) == 2.0**-1000
    assert sm.exact_sum([5e-324, 5e-324]) == 1e-323


@pytest.mark.parametrize("fmt", ["float32", "bfloat16", "float16"])
def test_exact_sum_is_correctly_rounded(fmt):
    rng = np.random.default_rng(7)
    x = hard_data(rng, 3, 500, fmt)
    want = [round_fraction(sum(map(Fraction, row)), fmt) for row in x]
    np.testing.assert_array_equal(sm.exact_sum(x, fmt), want)
    # a float32 case where rounding fsum's float64 result again would be wrong
    y = np.array([1.0, 2.0**-24, 2.0**-70], dtype=np.float64)
    assert sm.exact_sum(y, "float32") == 1 + 2**-23
    assert float(np.float32(math.fsum(y))) == 1.0


@pytest.mark.parametrize("fmt,n", [("float32", 10_000), ("bfloat16", 16), ("float16", 256)])
def test_prerounded_sum_is_order_independent_and_accurate(fmt, n):
    rng = np.random.default_rng(8)
    x = np.asarray(round_to(rng.standard_normal(n) * 10, fmt), dtype=np.float64)
    perms = np.stack([rng.permutation(x) for _ in range(20)])
    levels = 3
    results = sm.prerounded_sum(perms, fmt, levels=levels)
    assert np.unique(results).size == 1
    p, log2n = get_format(fmt).man_bits + 1, math.ceil(math.log2(n))
    _, e1 = np.frexp(np.abs(x).max())
    residual = n * 2.0 ** (e1 - levels * (p - 1 - log2n))  # what the last level leaves out
    u = sm.unit_roundoff(fmt)
    assert abs(results[0] - math.fsum(x)) <= 2 * u * np.abs(x).sum() + residual
    with pytest.raises(ValueError, match="at most"):
        sm.prerounded_sum(np.ones(65), "bfloat16")


def test_results_depend_on_order_for_ordinary_algorithms():
    rng = np.random.default_rng(9)
    x = rng.standard_normal(10_000).astype(np.float32)
    perms = np.stack([rng.permutation(x) for _ in range(50)])
    assert np.unique(sm.naive_sum(perms, "float32")).size > 5
    assert np.unique(sm.pairwise_sum(perms, "float32")).size > 5
    assert np.unique(sm.exact_sum(perms, "float32")).size == 1


# --------------------------------------------------------------------------- error bounds


@pytest.mark.parametrize("fmt", ["float32", "bfloat16"])
def test_errors_are_within_the_worst_case_bounds(fmt):
    rng = np.random.default_rng(10)
    n = 4096 if fmt == "float32" else 200
    x = np.asarray(round_to(rng.random((20, n)), fmt), dtype=np.float64)
    u = sm.unit_roundoff(fmt)
    exact = np.array([math.fsum(r) for r in x])
    scale = np.abs(x).sum(axis=1)
    assert (np.abs(sm.naive_sum(x, fmt) - exact) <= sm.gamma(n - 1, u) * scale).all()
    assert (np.abs(sm.pairwise_sum(x, fmt) - exact) <= sm.gamma(math.ceil(math.log2(n)), u) * scale).all()
    assert (np.abs(sm.blocked_sum(x, fmt, block=64) - exact) <= sm.gamma(63 + n // 64 - 1, u) * scale).all()
    assert (np.abs(sm.kahan_sum(x, fmt) - exact) <= (2 * u + n * u**2) * scale).all()


def test_gamma():
    assert sm.gamma(0, 0.1) == 0
    assert sm.gamma(1, 0.25) == pytest.approx(1 / 3)
    assert sm.gamma(4, 0.25) == math.inf
    np.testing.assert_allclose(sm.gamma([1, 2], 2.0**-24), [2.0**-24 / (1 - 2.0**-24), 2.0**-23 / (1 - 2.0**-23)])
    assert sm.unit_roundoff("float32") == 2.0**-24
    with pytest.raises(ValueError, match="unit roundoff"):
        sm.gamma(3, 1.5)
    with pytest.raises(ValueError, match="non-negative"):
        sm.gamma(-1, 0.1)


# --------------------------------------------------------------------------- interface


def test_shapes_and_types():
    x = np.arange(12.0).reshape(3, 4)
    assert isinstance(sm.naive_sum(x[0]), float)
    assert sm.naive_sum(x).shape == (3,)
    assert sm.naive_sum(x, cumulative=True).shape == (3, 4)
    assert sm.kahan_sum(x, cumulative=True).shape == (3, 4)
    assert sm.kahan_sum(x[0], cumulative=True).shape == (4,)
    assert sm.dot(x, x, cumulative=True).shape == (3, 4)
    assert sm.naive_sum([1, 2, 3]) == 6.0  # lists and integers
    import ml_dtypes

    assert sm.naive_sum(np.ones(3, dtype=ml_dtypes.bfloat16), "bfloat16") == 3.0
    assert sm.dot([1.5], [2.0]) == 3.0 and sm.dot([1.0, 2.0, 3.0], [1.0, 1.0, 1.0], method="pairwise") == 6.0


def test_inputs_are_rounded_to_the_format():
    assert sm.naive_sum([0.1], "bfloat16") == float(round_to(0.1, "bfloat16"))


@pytest.mark.parametrize(
    "call,error,match",
    [
        (lambda: sm.naive_sum(np.ones((2, 2, 2))), ValueError, "1-D"),
        (lambda: sm.naive_sum([]), ValueError, "empty"),
        (lambda: sm.naive_sum([1.0, np.nan]), ValueError, "NaN"),
        (lambda: sm.kahan_sum([1.0, np.inf]), ValueError, "infinite"),
        (lambda: sm.naive_sum(["a", "b"]), TypeError, "real numbers"),
        (lambda: sm.naive_sum(True), TypeError, "booleans"),
        (lambda: sm.naive_sum([1.0], "float7"), ValueError, "is not a registered format"),
        (lambda: sm.naive_sum([1.0], "float8_e8m0fnu"), ValueError, "signed format"),
        (lambda: sm.naive_sum([1e6], "float8_e4m3fn"), ValueError, "overflow"),
        (lambda: sm.pairwise_sum([1.0], block=0), ValueError, "positive"),
        (lambda: sm.blocked_sum([1.0], block=2.5), TypeError, "positive integer"),
        (lambda: sm.dot([1.0], [1.0, 2.0]), ValueError, "same shape"),
        (lambda: sm.dot([1.0], [1.0], method="kahan"), ValueError, "method"),
        (lambda: sm.dot([1.0], [1.0], method="pairwise", cumulative=True), ValueError, "cumulative"),
        (lambda: sm.prerounded_sum([1.0], levels=0), ValueError, "levels must be an integer from 1 to 64"),
    ],
)
def test_bad_arguments(call, error, match):
    with pytest.raises(error, match=match):
        call()


@pytest.mark.parametrize("bad", ["no", 0, 1, None])
def test_boolean_flags_must_be_true_or_false(bad):
    # bool("no") is True: cumulative="no" returned every partial sum
    for name, call in [
        ("cumulative", lambda: sm.naive_sum([1.0, 2.0], cumulative=bad)),
        ("cumulative", lambda: sm.kahan_sum([1.0, 2.0], cumulative=bad)),
        ("cumulative", lambda: sm.dot([1.0], [1.0], cumulative=bad)),
        ("fused", lambda: sm.dot([1.0], [1.0], fused=bad)),
    ]:
        with pytest.raises(TypeError, match=rf"^{name} must be True or False, got {bad!r}$"):
            call()


@pytest.mark.parametrize("fmt", NATIVE)
def test_fast_input_rounding_equals_round_to(fmt):
    rng = np.random.default_rng(11)
    x = rng.standard_normal(100_000) * 2.0 ** rng.integers(-150, 140, 100_000)
    with np.errstate(over="ignore"):
        x32 = x.astype(np.float32).astype(np.float64)  # float32 numbers take ml_dtypes' path for bfloat16
    for values in (x, x32[np.isfinite(x32)]):
        want = np.asarray(round_to(values, fmt), dtype=np.float64)
        np.testing.assert_array_equal(sm._round_values(values, get_format(fmt)), want)


# --------------------------------------------------------------------------- bad input (issue 15)


def test_prerounded_sum_levels_are_bounded_and_stop_when_nothing_is_left():
    # levels=10**30 used to loop for ever
    with pytest.raises(ValueError, match="^levels must be an integer from 1 to 64"):
        sm.prerounded_sum(np.ones(4), levels=10**30)
    x = np.array([1.0, 2.0**-30, -3.0])
    assert sm.prerounded_sum(x, "float64", levels=64) == sm.exact_sum(x)


def test_gamma_refuses_complex_strings_and_booleans():
    # complex n silently lost its imaginary part
    with pytest.raises(TypeError, match="^n must hold real numbers"):
        sm.gamma(10 + 5j, 2.0**-24)
    with pytest.raises(TypeError, match="^n must hold real numbers"):
        sm.gamma("4", 2.0**-24)
    with pytest.raises(TypeError, match="^u must be a real number"):
        sm.gamma(10, 1j)
    with pytest.raises(TypeError, match="^n must hold real numbers"):
        sm.gamma(True, 2.0**-24)


def test_sums_take_torch_tensors_and_float8_arrays():
    torch = pytest.importorskip("torch")
    ml_dtypes = pytest.importorskip("ml_dtypes")
    x = np.array([0.5, 1.0, -0.25, 3.0], dtype=np.float32)
    expected = sm.naive_sum(x, "bfloat16")
    assert sm.naive_sum(torch.from_numpy(x), "bfloat16") == expected
    assert sm.naive_sum(torch.from_numpy(x).to(torch.bfloat16), "bfloat16") == expected
    assert sm.naive_sum(x.astype(ml_dtypes.float8_e4m3fn), "bfloat16") == expected
    with pytest.raises(TypeError, match="^x must be an array of real numbers; could not make an array"):
        sm.naive_sum([[1.0], [2.0, 3.0]])
