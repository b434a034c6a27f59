"""Tests for support.outliers."""

import numpy as np
import pytest

from support import outliers as ol


def _layer_with_outlier_features(seed=0, tokens=64, d_in=256, d_out=64, n_outliers=4, size=60.0):
    """Activations with a few feature columns 10-100x larger than the rest, as in LLMs."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((tokens, d_in))
    cols = rng.choice(d_in, size=n_outliers, replace=False)
    x[:, cols] *= size
    w = rng.standard_normal((d_in, d_out)) / np.sqrt(d_in)
    return x, w, np.sort(cols)


def _rel_err(ref, approx):
    return np.linalg.norm(ref - approx) / np.linalg.norm(ref)


# ----------------------------------------------------------------------------- SmoothQuant


def test_smoothquant_scales_formula():
    act = np.array([16.0, 1.0, 9.0, 0.0])
    wmax = np.array([1.0, 4.0, 0.25, 2.0])
    for alpha in (0.0, 0.5, 0.8, 1.0):
        s = ol.smoothquant_scales(act, wmax, alpha)
        expected = np.maximum(act**alpha / wmax ** (1 - alpha), 1e-5)
        np.testing.assert_allclose(s, expected)
    # alpha = 0.5 balances the two maxima exactly: max|X_j| / s_j == s_j * max|W_j|.
    s = ol.smoothquant_scales(act[:3], wmax[:3], 0.5)
    np.testing.assert_allclose(act[:3] / s, s * wmax[:3])


def test_smoothquant_scales_zero_channels_stay_finite():
    s = ol.smoothquant_scales(np.array([0.0, 3.0]), np.array([2.0, 0.0]), 0.5)
    assert np.all(np.isfinite(s)) and np.all(s > 0)


def test_smooth_preserves_the_product():
    x, w, _ = _layer_with_outlier_features()
    s = ol.smoothquant_scales(np.abs(x).max(axis=0), np.abs(w).max(axis=1), 0.5)
    xs, ws = ol.smooth(x, w, s)
    np.testing.assert_allclose(xs @ ws, x @ w, rtol=1e-12, atol=1e-12)
    # Smoothing flattens the per-channel activation maxima.
    spread = lambda a: np.abs(a).max(axis=0).max() / np.abs(a).max(axis=0).min()
    assert spread(xs) < spread(x) / 5


def test_smoothing_helps_per_tensor_int8():
    x, w, _ = _layer_with_outlier_features()
    s = ol.smoothquant_scales(np.abs(x).max(axis=0), np.abs(w).max(axis=1), 0.5)
    xs, ws = ol.smooth(x, w, s)
    plain = _rel_err(x @ w, ol.int8_matmul(x, w, granularity="tensor"))
    smoothed = _rel_err(x @ w, ol.int8_matmul(xs, ws, granularity="tensor"))
    assert smoothed < plain / 2


def test_smoothquant_argument_checks():
    with pytest.raises(ValueError, match="same length"):
        ol.smoothquant_scales(np.ones(3), np.ones(4))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        ol.smoothquant_scales(np.ones(3), np.ones(3), alpha=1.5)
    with pytest.raises(ValueError, match=">= 0"):
        ol.smoothquant_scales(-np.ones(3), np.ones(3))
    with pytest.raises(ValueError, match="finite"):
        ol.smoothquant_scales(np.array([np.nan]), np.ones(1))
    with pytest.raises(ValueError, match="positive"):
        ol.smooth(np.ones((2, 3)), np.ones((3, 1)), np.array([1.0, 0.0, 1.0]))
    with pytest.raises(ValueError, match=r"shape \(in, out\)"):
        ol.smooth(np.ones((2, 3)), np.ones((4, 1)), np.ones(3))


# ----------------------------------------------------------------------------- int8 and LLM.int8()


def test_int8_matmul_exact_on_representable_values():
    # Values k * absmax / 127 get exact codes; only the float32 scale rounds.
    x = np.array([[127.0, -64.0, 1.0]]) / 127.0
    w = np.array([[127.0], [64.0], [-127.0]]) / 127.0
    np.testing.assert_allclose(ol.int8_matmul(x, w), x @ w, rtol=1e-7)


def test_int8_matmul_handles_zero_rows():
    x = np.zeros((2, 3))
    x[1] = [1.0, 2.0, 3.0]
    out = ol.int8_matmul(x, np.ones((3, 2)))
    assert np.all(np.isfinite(out))
    np.testing.assert_array_equal(out[0], 0.0)


def test_llm_int8_finds_outlier_columns_and_beats_plain_int8():
    x, w, cols = _layer_with_outlier_features()
    ref = x @ w
    result = ol.llm_int8_matmul(x, w, threshold=6.0)
    np.testing.assert_array_equal(result.outlier_columns, cols)
    err_mixed = _rel_err(ref, result.output)
    err_vector = _rel_err(ref, ol.int8_matmul(x, w, granularity="vector"))
    err_tensor = _rel_err(ref, ol.int8_matmul(x, w, granularity="tensor"))
    assert err_vector < err_tensor
    assert err_mixed < err_vector / 10
    assert err_mixed < 0.01


def test_llm_int8_without_outliers_is_vectorwise_int8():
    x = np.random.default_rng(1).uniform(-1, 1, (8, 16))
    w = np.random.default_rng(2).standard_normal((16, 4))
    result = ol.llm_int8_matmul(x, w, threshold=6.0)
    assert result.outlier_columns.size == 0
    np.testing.assert_array_equal(result.output, ol.int8_matmul(x, w))


def test_llm_int8_all_outliers_is_exact():
    x = np.full((2, 3), 10.0)
    w = np.arange(6.0).reshape(3, 2)
    result = ol.llm_int8_matmul(x, w)
    np.testing.assert_array_equal(result.outlier_columns, [0, 1, 2])
    np.testing.assert_allclose(result.output, x @ w)


def test_int8_argument_checks():
    with pytest.raises(ValueError, match="granularity"):
        ol.int8_matmul(np.ones((2, 2)), np.ones((2, 2)), granularity="row")
    with pytest.raises(ValueError, match="positive"):
        ol.llm_int8_matmul(np.ones((2, 2)), np.ones((2, 2)), threshold=0.0)
    with pytest.raises(ValueError, match="2-D"):
        ol.llm_int8_matmul(np.ones(2), np.ones((2, 2)))
    with pytest.raises(TypeError, match="real numbers"):
        ol.llm_int8_matmul(np.ones((2, 2), dtype=complex), np.ones((2, 2)))


# ----------------------------------------------------------------------------- AWQ


def _salient_layer(seed=0):
    rng = np.random.default_rng(seed)
    gain = np.ones(128)
    gain[rng.choice(128, 4, replace=False)] = 30.0  # a few salient input channels
    x = rng.standard_normal((128, 128)) * gain
    w = rng.standard_normal((128, 32))
    return x, w


def test_awq_alpha_zero_is_round_to_nearest_and_search_improves_it():
    from support import uniform

    x, w = _salient_layer()
    r = ol.awq_search(x, w, 3, group_size=32)
    rtn = uniform.fake_quantize(w, 3, axis=0, group_size=32, symmetric=False)
    np.testing.assert_allclose(r.errors[0], np.mean((x @ rtn - x @ w) ** 2))
    assert r.alpha > 0
    assert r.errors.min() < 0.7 * r.errors[0]
    np.testing.assert_allclose(np.mean((x @ r.weight - x @ w) ** 2), r.errors.min())
    np.testing.assert_allclose(r.scales.max() * r.scales.min(), 1.0)
    np.testing.assert_array_equal(r.alphas, np.arange(20) / 20)


def test_awq_argument_checks():
    x, w = _salient_layer()
    with pytest.raises(ValueError, match="n_grid"):
        ol.awq_search(x, w, 4, n_grid=0)
    with pytest.raises(TypeError, match="n_grid must be a positive integer"):
        ol.awq_search(x, w, 4, n_grid=2.5)
    # no tokens: the mean of an empty slice was NaN, reported as "x contains NaN"
    with pytest.raises(ValueError, match="at least one token"):
        ol.awq_search(x[:0], w, 4)
    with pytest.raises(ValueError, match="at least one token and one feature"):
        ol.awq_search(np.zeros((3, 0)), np.zeros((0, 2)), 4)
    x[:, 5] = 0.0
    with pytest.raises(ValueError, match="non-zero activation"):
        ol.awq_search(x, w, 4)
