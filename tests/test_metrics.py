"""Tests for support.metrics: one definition of each error metric."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from support.metrics import cosine_similarity, mse, rel_error, sqnr_db


def test_mse_matches_definition():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(8, 16)), rng.normal(size=(8, 16))
    assert mse(a, b) == pytest.approx(np.mean((a - b) ** 2), rel=1e-15)
    assert mse(a, a) == 0.0
    assert isinstance(mse(a, b), float)


def test_sqnr_db_definition_and_6db_per_bit():
    rng = np.random.default_rng(1)
    x = rng.normal(size=10_000)
    noise = 0.1 * rng.normal(size=x.shape)
    expected = 10 * np.log10(np.sum(x**2) / np.sum(noise**2))
    assert sqnr_db(x, x + noise) == pytest.approx(expected, rel=1e-12)
    # halving the noise amplitude adds 20 log10(2) = 6.02 dB
    assert sqnr_db(x, x + noise / 2) - sqnr_db(x, x + noise) == pytest.approx(6.0206, abs=1e-3)


@pytest.mark.parametrize("metric", [mse, sqnr_db, rel_error, cosine_similarity])
def test_float32_input_gives_the_float64_result_and_is_left_unchanged(metric):
    # the metrics convert to float64 while they compute and scale their own copies in place
    rng = np.random.default_rng(3)
    ref = rng.normal(size=(64, 48)).astype(np.float32)
    approx = ref + np.float32(0.01) * rng.normal(size=ref.shape).astype(np.float32)
    kept = ref.copy(), approx.copy()
    assert metric(ref, approx) == metric(ref.astype(np.float64), approx.astype(np.float64))
    assert metric(ref.T, approx.T) == pytest.approx(metric(ref, approx), rel=1e-12)  # non-contiguous input
    ref64, approx64 = ref.astype(np.float64), approx.astype(np.float64)
    ref64.flags.writeable = approx64.flags.writeable = False  # read-only input is fine
    metric(ref64, approx64)
    np.testing.assert_array_equal(ref, kept[0])
    np.testing.assert_array_equal(approx, kept[1])


@pytest.mark.parametrize("metric", [mse, sqnr_db, rel_error, cosine_similarity])
def test_scalars_and_0d_arrays(metric):
    expected = metric([3.0], [2.0])
    assert metric(3.0, 2.0) == expected
    assert metric(np.array(3.0), np.float32(2.0)) == expected
    assert isinstance(metric(3, 2), float)


def test_sqnr_db_exact_and_degenerate():
    assert sqnr_db([1.0, 2.0], [1.0, 2.0]) == math.inf
    assert sqnr_db([0.0, 0.0], [0.0, 0.0]) == math.inf
    assert sqnr_db([0.0, 0.0], [0.0, 1.0]) == -math.inf


def test_rel_error_definition():
    assert rel_error([3.0, 4.0], [3.0, 4.5]) == pytest.approx(0.1)
    m = np.arange(6.0).reshape(2, 3) + 1
    assert rel_error(m, 1.1 * m) == pytest.approx(0.1)
    with pytest.raises(ValueError, match="all zeros"):
        rel_error([0.0, 0.0], [1.0, 0.0])


def test_cosine_similarity_flat_and_axis():
    assert cosine_similarity([1.0, 0.0], [0.0, 3.0]) == pytest.approx(0.0)
    assert cosine_similarity([[1.0, 2.0]], [[2.0, 4.0]]) == pytest.approx(1.0)
    rows = cosine_similarity([[1.0, 0.0], [0.0, 2.0]], [[2.0, 0.0], [0.0, -1.0]], axis=1)
    np.testing.assert_allclose(rows, [1.0, -1.0])
    cols = cosine_similarity([[1.0, 0.0], [1.0, 2.0]], [[1.0, 0.0], [1.0, 2.0]], axis=0)
    np.testing.assert_allclose(cols, [1.0, 1.0])


@pytest.mark.parametrize("metric", [mse, sqnr_db, rel_error, cosine_similarity])
def test_shapes_must_match(metric):
    with pytest.raises(ValueError, match="same shape"):
        metric(np.ones(4), np.ones((2, 2)))


@pytest.mark.parametrize("metric", [mse, sqnr_db, rel_error, cosine_similarity])
def test_nan_rejected(metric):
    with pytest.raises(ValueError, match="NaN"):
        metric([1.0, np.nan], [1.0, 2.0])
    with pytest.raises(ValueError, match="NaN"):
        metric([1.0, 2.0], [np.nan, 2.0])


@pytest.mark.parametrize("metric", [mse, sqnr_db, rel_error, cosine_similarity])
@pytest.mark.parametrize("bad", [np.inf, -np.inf])
def test_infinities_rejected(metric, bad):
    # inf - inf is NaN and inf**2 / inf**2 is NaN: refuse with a clear error, no warning
    first, second = ("a", "b") if metric is cosine_similarity else ("ref", "approx")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a RuntimeWarning would fail the test
        with pytest.raises(ValueError, match=rf"^{first} contains 1 infinite value\(s\); only finite values"):
            metric([1.0, bad], [1.0, 2.0])
        with pytest.raises(ValueError, match=rf"^{second} contains 1 infinite value\(s\); only finite values"):
            metric([1.0, 2.0], [bad, 2.0])
        with pytest.raises(ValueError, match="infinite"):
            metric(np.full(3, bad), np.full(3, bad))  # even identical infinities
        with pytest.raises(ValueError, match="infinite"):
            metric(np.array([1.0, bad], dtype=np.float16), np.ones(2, dtype=np.float16))


def test_bad_inputs():
    with pytest.raises(TypeError, match="real numbers"):
        mse(["a", "b"], ["a", "b"])
    with pytest.raises(TypeError, match="complex"):
        mse([1j], [1j])
    with pytest.raises(ValueError, match="empty"):
        mse([], [])
    with pytest.raises(ValueError, match="zero norm"):
        cosine_similarity([0.0, 0.0], [1.0, 1.0])
    with pytest.raises(ValueError, match="out of range"):
        cosine_similarity([1.0], [1.0], axis=3)
    with pytest.raises(TypeError, match="axis must be an integer or None"):
        cosine_similarity([1.0], [1.0], axis=0.5)
    with pytest.raises(TypeError, match="could not make an array"):
        mse([[1.0, 2.0], [3.0]], [1.0])


def test_docstring_examples():
    import doctest

    import support.metrics as module

    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0


@pytest.mark.parametrize("scale", [1e-200, 1e-30, 1.0, 1e30, 1e200])
def test_ratios_do_not_depend_on_the_scale_of_the_data(scale):
    """Squares of 1e200 overflow and of 1e-200 underflow; the ratio metrics must not care."""
    ref = np.array([1.0, -2.0, 3.0, 0.5])
    approx = np.array([1.1, -2.0, 2.9, 0.5])
    assert sqnr_db(ref * scale, approx * scale) == pytest.approx(sqnr_db(ref, approx), rel=1e-12)
    assert rel_error(ref * scale, approx * scale) == pytest.approx(rel_error(ref, approx), rel=1e-12)
    assert cosine_similarity(ref * scale, approx) == pytest.approx(cosine_similarity(ref, approx), rel=1e-12)
    rows = np.stack([ref * scale, ref])
    assert np.allclose(cosine_similarity(rows, np.stack([approx, approx * scale]), axis=1),
                       cosine_similarity(ref, approx), rtol=1e-12)


# --------------------------------------------------------------------------- bad input (issue 15)


def test_sqnr_db_of_values_1e300_apart_is_computed_not_minus_inf():
    # the common power-of-two rescaling underflowed sum(ref**2) to 0 and gave -inf
    ref, approx = [1.0, -2.0, 3.0, 0.5], [1e300, -1e300, 1e300, 1e300]
    signal = sum(v * v for v in ref)
    noise_log10 = 2 * 300 + np.log10(sum((a / 1e300 - r / 1e300) ** 2 for r, a in zip(ref, approx)))
    expected = 10 * (np.log10(signal) - noise_log10)
    assert sqnr_db(ref, approx) == pytest.approx(expected, rel=1e-12)
    assert rel_error(ref, approx) == pytest.approx(np.sqrt(4) * 1e300 / np.sqrt(signal), rel=1e-12)


def test_metrics_of_values_near_the_float64_maximum():
    ref, approx = [1e308, -1e308], [-1e308, 1e308]  # ref - approx overflows float64
    assert sqnr_db(ref, approx) == pytest.approx(-20 * np.log10(2.0))
    assert rel_error(ref, approx) == pytest.approx(2.0)


@pytest.mark.parametrize("metric", [mse, sqnr_db, rel_error, cosine_similarity])
def test_booleans_are_refused_by_the_input_policy(metric):
    with pytest.raises(TypeError, match=r"^(ref|a) must hold real numbers"):
        metric(np.array([True, False]), np.array([1.0, 0.0]))


@pytest.mark.parametrize("metric", [mse, sqnr_db, rel_error, cosine_similarity])
def test_bfloat16_float8_and_torch_inputs(metric):
    ml_dtypes = pytest.importorskip("ml_dtypes")
    torch = pytest.importorskip("torch")
    ref, approx = [1.0, -2.0, 0.5], [1.0, -1.5, 0.5]
    expected = metric(ref, approx)
    assert metric(np.array(ref, dtype=ml_dtypes.bfloat16), np.array(approx, dtype=ml_dtypes.float8_e4m3fn)) == expected
    assert metric(torch.tensor(ref, dtype=torch.bfloat16), torch.tensor(approx)) == expected
