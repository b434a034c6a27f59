"""support.inference.quantizers: each method equals its support.quant building block (or the
library that ships it), counts its bits with the scales, and refuses bad arguments."""

from __future__ import annotations

import functools

import numpy as np
import pytest
import torch

from support.inference import quantizers as Q
from support.quant import codebooks, gptq, outliers, rotations, uniform

RNG = np.random.default_rng(0)
W = RNG.standard_t(df=5, size=(24, 256)).astype(np.float32) * 0.05
X = (RNG.normal(size=(96, 256)) * np.where(np.arange(256) % 37 == 0, 15.0, 1.0)).astype(np.float32)

ALL = [
    Q.int_per_channel, Q.int_per_group, Q.hadamard_int, Q.nf4, Q.fp8_e4m3, Q.mxfp4, Q.nvfp4,
    Q.gptq, Q.awq, Q.smoothquant_int8,
]
CALIBRATED = {Q.gptq, Q.awq, Q.smoothquant_int8}


def _run(f, w=W, x=X):
    return f(w, x) if f in CALIBRATED else f(w)


@pytest.mark.parametrize("f", ALL, ids=lambda f: f.__name__)
def test_shape_dtype_and_small_output_error(f):
    q = _run(f)
    assert q.weight.shape == W.shape and q.weight.dtype == np.float32
    x = X / q.input_divisor if q.input_divisor is not None else X
    y = X @ W.T
    rel = np.linalg.norm(x @ q.weight.T - y) / np.linalg.norm(y)
    assert 0 < rel < 0.2, f"{f.__name__}: relative output error {rel}"


@pytest.mark.parametrize("f", ALL, ids=lambda f: f.__name__)
def test_rejects_a_vector_and_nan(f):
    with pytest.raises(ValueError, match="2-D"):
        _run(f, w=W[0])
    bad = W.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError):
        _run(f, w=bad)


@pytest.mark.parametrize("f", sorted(CALIBRATED, key=lambda f: f.__name__), ids=lambda f: f.__name__)
def test_calibrated_methods_need_matching_inputs(f):
    with pytest.raises(ValueError, match="calibration inputs"):
        f(W, None)
    with pytest.raises(ValueError, match="tokens, in"):
        f(W, X[:, :128])


@pytest.mark.parametrize(
    "f, expected",
    [
        (functools.partial(Q.int_per_channel, bits=8), 8 + 16 / 256),
        (functools.partial(Q.int_per_group, bits=4, group_size=128), 4 + 16 / 128),
        (functools.partial(Q.int_per_group, bits=3, group_size=64), 3 + 16 / 64),
        (Q.hadamard_int, 4 + 16 / 128),
        (Q.nf4, 4 + 32 / 64),
        (Q.fp8_e4m3, 8 + 32 / W.size),
        (Q.mxfp4, 4 + 8 / 32),
        (Q.nvfp4, 4 + 8 / 16 + 32 / W.size),
    ],
)
def test_bits_per_weight_include_scales(f, expected):
    assert f(W).bits_per_weight == pytest.approx(expected, rel=1e-12)


def test_calibrated_bits():
    assert Q.gptq(W, X).bits_per_weight == pytest.approx(4 + 16 / 128)
    assert Q.awq(W, X).bits_per_weight == pytest.approx(4 + 20 / 128 + 16 / W.shape[0])
    assert Q.smoothquant_int8(W, X).bits_per_weight == pytest.approx(8 + 16 / W.shape[1])


@pytest.mark.parametrize("bits, group", [(4, 128), (4, 64), (3, 32), (8, 256)])
def test_int_per_group_is_uniform_quantize(bits, group):
    expected = uniform.fake_quantize(W, bits, axis=1, group_size=group)
    np.testing.assert_array_equal(Q.int_per_group(W, bits=bits, group_size=group).weight,
                                  expected.astype(np.float32))


def test_int8_per_channel_matches_torch_fake_quantize():
    """Per-row symmetric INT8 with the same (float16-exact) scales as torch's fake-quantize op."""
    q = uniform.quantize(W, 8, axis=0)
    scale = torch.from_numpy(q.scale.ravel().astype(np.float32))
    ref = torch.fake_quantize_per_channel_affine(torch.from_numpy(W), scale, torch.zeros(W.shape[0], dtype=torch.int32),
                                                 0, -127, 127)
    np.testing.assert_allclose(Q.int_per_channel(W).weight, ref.numpy(), rtol=0, atol=1e-7)


def test_gptq_and_awq_are_support_quant():
    np.testing.assert_array_equal(Q.gptq(W, X).weight,
                                  gptq.gptq_quantize(W, X, 4, group_size=128).weight.astype(np.float32))
    np.testing.assert_array_equal(Q.awq(W, X, n_grid=5).weight,
                                  outliers.awq_search(X, W, 4, group_size=128, n_grid=5).weight.astype(np.float32))


def test_gptq_and_awq_beat_rtn_on_the_output():
    rtn = Q.int_per_group(W).weight
    err = lambda w_hat: np.linalg.norm(X @ (w_hat - W).T)
    assert err(Q.gptq(W, X).weight) < err(rtn)
    assert err(Q.awq(W, X).weight) <= err(rtn)


def test_hadamard_round_trip_error_is_the_rounding_error():
    """The rotation is orthogonal: the error in w equals the rounding error of the rotated w."""
    from support.quant.rotations import hadamard_rotate, random_signs

    signs = random_signs(128, 0)
    w = W.astype(np.float64)
    rotated = hadamard_rotate(w.reshape(24, 2, 128), signs).reshape(24, 256)
    rounding = uniform.fake_quantize(rotated, 8, axis=1, group_size=128) - rotated
    error = Q.hadamard_int(w, bits=8).weight - w
    assert np.linalg.norm(error) == pytest.approx(np.linalg.norm(rounding), rel=1e-5)


def test_hadamard_spreads_an_outlier_column():
    w = RNG.normal(size=(16, 128)) * 0.02
    w[:, 5] = 1.0
    rtn = np.linalg.norm(Q.int_per_group(w).weight - w)
    rotated = np.linalg.norm(Q.hadamard_int(w).weight - w)
    assert rotated < rtn


def test_hadamard_block_matches_explicit_matrix():
    signs = rotations.random_signs(128, 0)
    qmat = rotations.random_hadamard(128, 0)
    w = W[:, :128].astype(np.float64)
    q = uniform.fake_quantize(w @ qmat, 4, axis=1, group_size=128)
    np.testing.assert_allclose(Q.hadamard_int(w).weight, q @ qmat.T, atol=1e-6)
    assert signs.shape == (128,)


def test_hadamard_needs_power_of_two_group():
    with pytest.raises(ValueError, match="power of two"):
        Q.hadamard_int(np.ones((2, 96)), group_size=96)


def test_smoothquant_keeps_the_product():
    q = Q.smoothquant_int8(W, X, alpha=0.5)
    s = outliers.smoothquant_scales(np.abs(X).max(0), np.abs(W).max(0), 0.5)
    np.testing.assert_allclose(q.input_divisor, s.astype(np.float32))
    y = X @ W.T
    y_hat = (X / q.input_divisor) @ q.weight.T
    assert np.linalg.norm(y_hat - y) / np.linalg.norm(y) < 0.01


def test_nf4_equals_bitsandbytes():
    bnbf = pytest.importorskip("bitsandbytes.functional")
    packed, state = bnbf.quantize_4bit(torch.from_numpy(W), blocksize=64, quant_type="nf4")
    np.testing.assert_array_equal(Q.nf4(W).weight, bnbf.dequantize_4bit(packed, state).numpy())
    assert Q.nf4(W).weight.tobytes() == codebooks.quantize_blockwise(W, codebooks.NF4, 64).dequantize().tobytes()


def test_fp8_uses_the_e4m3_grid():
    ml_dtypes = pytest.importorskip("ml_dtypes")
    q = Q.fp8_e4m3(W)
    s = 448.0 / np.abs(W.astype(np.float64)).max()
    ref = (W.astype(np.float64) * s).astype(np.float32).astype(ml_dtypes.float8_e4m3fn).astype(np.float64) / s
    np.testing.assert_allclose(q.weight, ref.astype(np.float32), rtol=1e-6)


@pytest.mark.parametrize("kwargs, error", [({"bits": 1}, ValueError), ({"bits": 9}, ValueError),
                                           ({"bits": 4.0}, TypeError), ({"group_size": 100}, ValueError),
                                           ({"group_size": 0}, ValueError)])
def test_int_per_group_rejects(kwargs, error):
    with pytest.raises(error):
        Q.int_per_group(W, **kwargs)
