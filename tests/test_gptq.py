"""Tests for support.quant.gptq."""

import numpy as np
import pytest

from support.quant import uniform
from support.quant.gptq import gptq_quantize, hessian


def _correlated_layer(seed=0, n=1024, d_in=256, d_out=64):
    """Inputs X = Z A with a random mixing matrix A, so that X^T X is far from diagonal."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d_in)) @ rng.standard_normal((d_in, d_in))
    w = rng.standard_normal((d_out, d_in))
    return w, x


def _output_error(x, w, w_hat):
    return np.linalg.norm(x @ w.T - x @ w_hat.T)


def _rtn(w, bits, group_size, symmetric=True):
    if group_size is None:
        return uniform.fake_quantize(w, bits, axis=0, symmetric=symmetric)
    return uniform.fake_quantize(w, bits, group_size=group_size, symmetric=symmetric)


def _algorithm_1(w, x, bits, group_size, damp=0.01):
    """GPTQ written out plainly (no lazy batches, no act-order) as an independent check."""
    w = w.astype(np.float64).copy()
    h = 2 * x.T @ x / x.shape[0]
    h += damp * np.mean(np.diag(h)) * np.eye(h.shape[0])
    u = np.linalg.cholesky(np.linalg.inv(h)).T  # upper: U^T U = H^-1
    w_hat = np.zeros_like(w)
    for j in range(w.shape[1]):
        if j % group_size == 0:
            scale, zp = uniform.scale_zero_point(w[:, j : j + group_size], bits, axis=0)
        w_hat[:, j] = uniform.fake_quantize_with(w[:, j : j + 1], scale, zp, bits)[:, 0]
        err = (w[:, j] - w_hat[:, j]) / u[j, j]
        w[:, j + 1 :] -= np.outer(err, u[j, j + 1 :])
    return w_hat


@pytest.mark.parametrize("group_size", [None, 128])
def test_gptq_beats_round_to_nearest_on_correlated_inputs(group_size):
    w, x = _correlated_layer()
    result = gptq_quantize(w, x, 4, group_size=group_size)
    gptq_err = _output_error(x, w, result.weight)
    rtn_err = _output_error(x, w, _rtn(w, 4, group_size))
    assert gptq_err < 0.8 * rtn_err  # measured ratio: about 0.7


def test_gptq_asymmetric_and_act_order_also_beat_rtn():
    w, x = _correlated_layer(seed=1, d_in=128, d_out=32)
    rtn_err = _output_error(x, w, _rtn(w, 3, 64, symmetric=False))
    for act_order in (False, True):
        r = gptq_quantize(w, x, 3, group_size=64, symmetric=False, act_order=act_order)
        assert _output_error(x, w, r.weight) < 0.8 * rtn_err


def test_gptq_matches_plain_algorithm_1_for_any_block_size():
    w, x = _correlated_layer(seed=2, n=256, d_in=64, d_out=8)
    expected = _algorithm_1(w, x, 4, group_size=16)
    for block_size in (1, 5, 16, 128):
        r = gptq_quantize(w, x, 4, group_size=16, block_size=block_size)
        np.testing.assert_allclose(r.weight, expected, atol=1e-9)


@pytest.mark.parametrize("group_size, symmetric", [(None, True), (32, True), (32, False)])
def test_gptq_with_diagonal_hessian_equals_rtn(group_size, symmetric):
    # X = diag(c): H is diagonal, its inverse Cholesky factor too, so no error is fed
    # back and GPTQ is plain round-to-nearest on the same grid.
    rng = np.random.default_rng(3)
    w = rng.standard_normal((16, 64))
    x = np.diag(rng.uniform(0.5, 2.0, 64))
    r = gptq_quantize(w, x, 4, group_size=group_size, symmetric=symmetric)
    np.testing.assert_array_equal(r.weight, _rtn(w, 4, group_size, symmetric))
    # act-order reorders the columns; per-channel scales do not care.
    r = gptq_quantize(w, x, 4, act_order=True)
    np.testing.assert_array_equal(r.weight, _rtn(w, 4, None))


def test_result_fields_are_consistent():
    w, x = _correlated_layer(seed=4, n=256, d_in=64, d_out=8)
    for symmetric, act_order in [(True, False), (False, True)]:
        r = gptq_quantize(w, x, 4, group_size=16, symmetric=symmetric, act_order=act_order)
        assert r.codes.shape == w.shape and r.scale.shape == (8, 4) and r.zero_point.shape == (8, 4)
        assert r.codes.dtype == (np.int8 if symmetric else np.uint8)
        lo, hi = uniform.integer_range(4, symmetric=symmetric)
        assert r.codes.min() >= lo and r.codes.max() <= hi
        np.testing.assert_array_equal(r.dequantize(), r.weight)
        np.testing.assert_array_equal(np.bincount(r.group_index), [16] * 4)
        np.testing.assert_array_equal(np.sort(r.order), np.arange(64))
        if act_order:
            diag = np.diag(hessian(x))
            assert np.all(np.diff(diag[r.order]) <= 0)
            # Groups are formed in quantization order.
            np.testing.assert_array_equal(r.group_index[r.order], np.arange(64) // 16)
        else:
            np.testing.assert_array_equal(r.group_index, np.arange(64) // 16)
    assert r.bits_per_value == 4 + (16 + 4) / 16


def test_gptq_result_does_not_depend_on_hessian_scale():
    w, x = _correlated_layer(seed=5, n=256, d_in=32, d_out=4)
    a = gptq_quantize(w, x, 4)
    b = gptq_quantize(w, 10.0 * x, 4)
    np.testing.assert_allclose(a.weight, b.weight, atol=1e-12)


def test_dead_input_columns_are_zeroed():
    w, x = _correlated_layer(seed=6, n=256, d_in=32, d_out=4)
    x[:, [3, 7]] = 0.0
    r = gptq_quantize(w, x, 4)
    assert np.all(np.isfinite(r.weight))
    np.testing.assert_array_equal(r.weight[:, [3, 7]], 0.0)


def test_singular_hessian_without_damping_raises():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((4, 16))  # 4 samples cannot span 16 dimensions
    w = rng.standard_normal((2, 16))
    with pytest.raises(ValueError, match="positive definite"):
        gptq_quantize(w, x, 4, damp=0.0)
    assert np.all(np.isfinite(gptq_quantize(w, x, 4).weight))  # damp=0.01 makes it work


def test_argument_validation():
    w, x = np.ones((4, 8)), np.ones((16, 8))
    with pytest.raises(ValueError, match="features"):
        gptq_quantize(w, np.ones((16, 7)), 4)
    with pytest.raises(ValueError, match="2-D"):
        gptq_quantize(np.ones(8), x, 4)
    with pytest.raises(ValueError, match="from 2 to 8"):
        gptq_quantize(w, x, 1)
    with pytest.raises(TypeError, match="bits"):
        gptq_quantize(w, x, 4.0)
    with pytest.raises(ValueError, match="divide"):
        gptq_quantize(w, x, 4, group_size=3)
    with pytest.raises(ValueError, match="damp"):
        gptq_quantize(w, x, 4, damp=-0.1)
    with pytest.raises(ValueError, match="block_size"):
        gptq_quantize(w, x, 4, block_size=0)
    with pytest.raises(ValueError, match="finite"):
        gptq_quantize(np.full((4, 8), np.nan), x, 4)
    with pytest.raises(TypeError, match="real numbers"):
        gptq_quantize(w.astype(complex), x, 4)


@pytest.mark.parametrize("bad", ["no", 0, 1, None])
def test_boolean_flags_must_be_true_or_false(bad):
    w, x = np.ones((4, 8)), np.ones((16, 8))
    with pytest.raises(TypeError, match=rf"^symmetric must be True or False, got {bad!r}$"):
        gptq_quantize(w, x, 4, symmetric=bad)
    with pytest.raises(TypeError, match=rf"^act_order must be True or False, got {bad!r}$"):
        gptq_quantize(w, x, 4, act_order=bad)


# --------------------------------------------------------------------------- bad input (issue 15)


def test_calibration_inputs_near_1e200_give_the_same_result():
    # the Hessian 2 X^T X / n overflowed and the error said the input held inf or NaN
    rng = np.random.default_rng(0)
    x, w = rng.normal(size=(32, 8)), rng.normal(size=(4, 8))
    np.testing.assert_array_equal(gptq_quantize(w, x * 1e200, 4).weight, gptq_quantize(w, x, 4).weight)
    with pytest.raises(ValueError, match="^the Hessian 2 X\\^T X / n of x_calib overflows float64"):
        hessian(x * 1e200)


def test_huge_weights_name_w_not_a_scale_dtype():
    rng = np.random.default_rng(0)
    x, w = rng.normal(size=(32, 8)), rng.normal(size=(4, 8))
    with pytest.raises(ValueError, match="^w cannot be quantized: a scale .* does not fit float16") as info:
        gptq_quantize(w * 1e200, x, 4)
    assert "scale_dtype" not in str(info.value)


def test_gptq_result_fields_must_fit_together():
    from support.quant.gptq import GPTQResult

    rng = np.random.default_rng(0)
    r = gptq_quantize(rng.normal(size=(4, 8)), rng.normal(size=(32, 8)), 4, group_size=4)
    np.testing.assert_array_equal(GPTQResult(**vars(r)).dequantize(), r.dequantize())
    with pytest.raises(ValueError, match=r"^scale has shape \(4, 1\); one per \(row, group\) needs \(4, 2\)"):
        GPTQResult(**{**vars(r), "scale": r.scale[:, :1]})
    with pytest.raises(ValueError, match="^order must be a permutation"):
        GPTQResult(**{**vars(r), "order": np.zeros(8, dtype=int)})
    with pytest.raises(TypeError, match="^symmetric must be True or False"):
        GPTQResult(**{**vars(r), "symmetric": "yes"})
