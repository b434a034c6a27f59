"""Tests for support.quant.outliers (nn.Linear layout: w of shape (out, in), y = x @ w.T)."""

import numpy as np
import pytest

from support.quant import outliers as ol


def _layer_with_outlier_features(seed=0, tokens=64, d_in=256, d_out=64, n_outliers=4, size=60.0):
    """Activations with a few feature columns 10-100x larger than the rest, as in LLMs."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((tokens, d_in))
    cols = rng.choice(d_in, size=n_outliers, replace=False)
    x[:, cols] *= size
    w = rng.standard_normal((d_out, d_in)) / np.sqrt(d_in)
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
    s = ol.smoothquant_scales(np.abs(x).max(axis=0), np.abs(w).max(axis=0), 0.5)
    xs, ws = ol.smooth(x, w, s)
    np.testing.assert_allclose(xs @ ws.T, x @ w.T, rtol=1e-12, atol=1e-12)
    # The factors divide the columns of x and multiply the columns of w: W diag(s).
    np.testing.assert_array_equal(ws, w @ np.diag(s))
    np.testing.assert_array_equal(xs, x / s)
    # Smoothing flattens the per-channel activation maxima.
    spread = lambda a: np.abs(a).max(axis=0).max() / np.abs(a).max(axis=0).min()
    assert spread(xs) < spread(x) / 5


def test_smoothing_helps_per_tensor_int8():
    x, w, _ = _layer_with_outlier_features()
    s = ol.smoothquant_scales(np.abs(x).max(axis=0), np.abs(w).max(axis=0), 0.5)
    xs, ws = ol.smooth(x, w, s)
    plain = _rel_err(x @ w.T, ol.int8_matmul(x, w, granularity="tensor"))
    smoothed = _rel_err(x @ w.T, ol.int8_matmul(xs, ws, granularity="tensor"))
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
        ol.smooth(np.ones((2, 3)), np.ones((1, 3)), np.array([1.0, 0.0, 1.0]))
    # w in the (in, out) layout of the papers is refused: it must be (out, in), as nn.Linear
    with pytest.raises(ValueError, match=r"shape \(out, in\) so that y = x @ w.T"):
        ol.smooth(np.ones((2, 3)), np.ones((3, 1)), np.ones(3))


# ----------------------------------------------------------------------------- int8 and LLM.int8()


def test_int8_matmul_exact_on_representable_values():
    # Values k * absmax / 127 get exact codes; only the float32 scale rounds.
    x = np.array([[127.0, -64.0, 1.0]]) / 127.0
    w = np.array([[127.0, 64.0, -127.0]]) / 127.0
    np.testing.assert_allclose(ol.int8_matmul(x, w), x @ w.T, rtol=1e-7)


def test_int8_matmul_handles_zero_rows():
    x = np.zeros((2, 3))
    x[1] = [1.0, 2.0, 3.0]
    out = ol.int8_matmul(x, np.ones((2, 3)))
    assert out.shape == (2, 2) and np.all(np.isfinite(out))
    np.testing.assert_array_equal(out[0], 0.0)
    w = np.array([[0.0, 0.0, 0.0], [1.0, -2.0, 3.0]])  # an all-zero output channel
    np.testing.assert_array_equal(ol.int8_matmul(x, w)[:, 0], 0.0)


def test_int8_matmul_scales_are_per_output_channel():
    # Rows of w (output channels) of very different sizes each get their own scale,
    # so every output channel is as accurate as the others; the tensor-wise scale is not.
    rng = np.random.default_rng(3)
    x = rng.uniform(-1, 1, (8, 32))
    w = rng.uniform(-1, 1, (4, 32)) * np.array([[1e-3], [1.0], [1e3], [1.0]])
    ref = x @ w.T
    per_channel = np.abs(ol.int8_matmul(x, w) - ref).max(axis=0) / np.abs(ref).max(axis=0)
    per_tensor = np.abs(ol.int8_matmul(x, w, granularity="tensor") - ref).max(axis=0) / np.abs(ref).max(axis=0)
    assert per_channel.max() < 0.02
    assert per_tensor[0] > 0.5


def test_llm_int8_finds_outlier_columns_and_beats_plain_int8():
    x, w, cols = _layer_with_outlier_features()
    ref = x @ w.T
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
    w = np.random.default_rng(2).standard_normal((4, 16))
    result = ol.llm_int8_matmul(x, w, threshold=6.0)
    assert result.outlier_columns.size == 0
    np.testing.assert_array_equal(result.output, ol.int8_matmul(x, w))


def test_llm_int8_all_outliers_is_exact():
    x = np.full((2, 3), 10.0)
    w = np.arange(6.0).reshape(2, 3)
    result = ol.llm_int8_matmul(x, w)
    np.testing.assert_array_equal(result.outlier_columns, [0, 1, 2])
    np.testing.assert_allclose(result.output, x @ w.T)


def test_int8_argument_checks():
    with pytest.raises(ValueError, match="granularity"):
        ol.int8_matmul(np.ones((2, 2)), np.ones((2, 2)), granularity="row")
    with pytest.raises(ValueError, match="positive"):
        ol.llm_int8_matmul(np.ones((2, 2)), np.ones((2, 2)), threshold=0.0)
    with pytest.raises(ValueError, match="2-D"):
        ol.llm_int8_matmul(np.ones(2), np.ones((2, 2)))
    with pytest.raises(TypeError, match="real numbers"):
        ol.llm_int8_matmul(np.ones((2, 2), dtype=complex), np.ones((2, 2)))
    with pytest.raises(ValueError, match=r"x has 3 features but w has 2 input columns"):
        ol.int8_matmul(np.ones((2, 3)), np.ones((3, 2)))


# ----------------------------------------------------------------------------- AWQ


def _salient_layer(seed=0):
    rng = np.random.default_rng(seed)
    gain = np.ones(128)
    gain[rng.choice(128, 4, replace=False)] = 30.0  # a few salient input channels
    x = rng.standard_normal((128, 128)) * gain
    w = rng.standard_normal((32, 128))
    return x, w


def test_awq_alpha_zero_is_round_to_nearest_and_search_improves_it():
    from support.quant import uniform

    x, w = _salient_layer()
    r = ol.awq_search(x, w, 3, group_size=32)
    rtn = uniform.fake_quantize(w, 3, axis=1, group_size=32, symmetric=False)
    np.testing.assert_allclose(r.errors[0], np.mean((x @ rtn.T - x @ w.T) ** 2))
    assert r.alpha > 0
    assert r.errors.min() < 0.7 * r.errors[0]
    assert r.weight.shape == w.shape
    np.testing.assert_allclose(np.mean((x @ r.weight.T - x @ w.T) ** 2), r.errors.min())
    np.testing.assert_allclose(r.scales.max() * r.scales.min(), 1.0)
    np.testing.assert_array_equal(r.alphas, np.arange(20) / 20)


def test_awq_groups_run_along_in_features():
    # As the reference's w.reshape(-1, group_size) for an nn.Linear weight: each output
    # row is cut into groups of consecutive input columns, and s scales the columns.
    from support.quant import uniform

    x, w = _salient_layer()
    r = ol.awq_search(x, w, 3, group_size=32)
    grouped_along_in = uniform.fake_quantize(w * r.scales, 3, axis=-1, group_size=32, symmetric=False)
    np.testing.assert_allclose(r.weight * r.scales, grouped_along_in, rtol=1e-12, atol=1e-12)
    along_out = uniform.fake_quantize(w * r.scales, 3, axis=0, group_size=32, symmetric=False)
    assert not np.allclose(r.weight * r.scales, along_out)
    # Without groups: one scale per output row (per output channel).
    r = ol.awq_search(x, w, 3, n_grid=1)
    np.testing.assert_array_equal(r.weight, uniform.fake_quantize(w, 3, axis=0, symmetric=False))


def test_awq_argument_checks():
    x, w = _salient_layer()
    with pytest.raises(ValueError, match="n_grid"):
        ol.awq_search(x, w, 4, n_grid=0)
    with pytest.raises(TypeError, match="n_grid must be an integer from 1 to 1000"):
        ol.awq_search(x, w, 4, n_grid=2.5)
    # no tokens: the mean of an empty slice was NaN, reported as "x contains NaN"
    with pytest.raises(ValueError, match="at least one token"):
        ol.awq_search(x[:0], w, 4)
    with pytest.raises(ValueError, match="at least one token and one feature"):
        ol.awq_search(np.zeros((3, 0)), np.zeros((2, 0)), 4)
    with pytest.raises(ValueError, match=r"group_size 48 must divide the number of input columns of w, 128"):
        ol.awq_search(x, w, 4, group_size=48)
    with pytest.raises(ValueError, match="w must have shape \\(out, in\\)"):
        ol.awq_search(x, w.T, 4)  # the (in, out) layout
    with pytest.raises(TypeError, match="symmetric must be True or False, got 'no'"):
        ol.awq_search(x, w, 4, symmetric="no")
    x[:, 5] = 0.0
    with pytest.raises(ValueError, match="non-zero activation"):
        ol.awq_search(x, w, 4)


# --------------------------------------------------------------------------- bad input (issue 15)


@pytest.mark.parametrize("call, name, why", [
    (lambda x, w: ol.int8_matmul(x * 1e200, w), "x", "float32"),
    (lambda x, w: ol.llm_int8_matmul(x, w * 1e200), "w", "float32"),
    (lambda x, w: ol.awq_search(x, w * 1e200, 4), "w", "float16"),
])
def test_huge_inputs_name_the_argument_not_a_scale_dtype_they_do_not_have(call, name, why):
    rng = np.random.default_rng(0)
    x, w = rng.normal(size=(8, 16)), rng.normal(size=(4, 16))
    with pytest.raises(ValueError, match=f"^{name} cannot be quantized: a scale .* does not fit {why}") as info:
        call(x, w)
    assert "scale_dtype" not in str(info.value)


def test_result_records_check_their_fields():
    AWQResult, Int8MatmulResult = ol.AWQResult, ol.Int8MatmulResult

    rng = np.random.default_rng(0)
    x, w = rng.normal(size=(8, 16)), rng.normal(size=(4, 16))
    r = ol.awq_search(x, w, 4)
    assert AWQResult(**vars(r)).alpha == r.alpha
    with pytest.raises(ValueError, match="^scales .* must hold one value per column"):
        AWQResult(**{**vars(r), "scales": r.scales[:3]})
    with pytest.raises(ValueError, match="^errors .* must hold one value per value of alphas"):
        AWQResult(**{**vars(r), "errors": r.errors[:3]})
    m = ol.llm_int8_matmul(x, w)
    with pytest.raises(ValueError, match="^outlier_columns must be distinct"):
        Int8MatmulResult(output=m.output, outlier_columns=np.array([1, 1]))
    with pytest.raises(TypeError, match="^outlier_columns must hold integers"):
        Int8MatmulResult(output=m.output, outlier_columns=np.array([1.5]))


def test_bfloat16_and_torch_inputs():
    ml_dtypes = pytest.importorskip("ml_dtypes")
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, 16)).astype(ml_dtypes.bfloat16).astype(np.float32)
    w = rng.normal(size=(4, 16)).astype(np.float32)
    expected = ol.int8_matmul(x, w)
    np.testing.assert_array_equal(ol.int8_matmul(x.astype(ml_dtypes.bfloat16), torch.from_numpy(w)), expected)
