"""Tests for support.quant.uniform: uniform (affine) quantization and integer matmul."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from support.quant import uniform as U
from support.metrics import mse

RNG_SEED = 0


def _normal(shape, seed=RNG_SEED):
    return np.random.default_rng(seed).normal(size=shape)


# --------------------------------------------------------------------------- ranges and validation


def test_integer_range():
    assert U.integer_range(8) == (-127, 127)
    assert U.integer_range(8, restricted=False) == (-128, 127)
    assert U.integer_range(4) == (-7, 7)
    assert U.integer_range(2) == (-1, 1)
    assert U.integer_range(1) == (-1, 1)
    assert U.integer_range(16) == (-32767, 32767)
    assert U.integer_range(8, symmetric=False) == (0, 255)
    assert U.integer_range(1, symmetric=False) == (0, 1)


@pytest.mark.parametrize("bits, error", [(0, ValueError), (17, ValueError), (-3, ValueError),
                                         (4.0, TypeError), (True, TypeError), ("4", TypeError)])
def test_bits_out_of_range(bits, error):
    with pytest.raises(error, match="bits must be an integer from 1 to 16"):
        U.quantize(np.ones(4), bits)
    with pytest.raises(error, match="bits must be an integer from 1 to 16"):
        U.scale_zero_point(np.ones(4), bits)


def test_bad_arguments_say_what_is_allowed():
    x = _normal((4, 10))
    with pytest.raises(ValueError, match="does not divide the length 10 of axis 1"):
        U.quantize(x, 4, group_size=4)
    with pytest.raises(ValueError, match="positive"):
        U.quantize(x, 4, group_size=0)
    with pytest.raises(TypeError, match="group_size"):
        U.quantize(x, 4, group_size=2.0)
    with pytest.raises(ValueError, match="out of range"):
        U.quantize(x, 4, axis=2)
    with pytest.raises(TypeError, match="axis"):
        U.quantize(x, 4, axis="rows")
    with pytest.raises(ValueError, match="clip must be"):
        U.quantize(x, 4, clip="max")
    with pytest.raises(ValueError, match=r"\(0, 1\]"):
        U.quantize(x, 4, clip=1.5)
    with pytest.raises(ValueError, match=r"\(0, 1\]"):
        U.quantize(x, 4, clip=0.0)
    with pytest.raises(ValueError, match="scale_dtype must be one of"):
        U.quantize(x, 4, scale_dtype="int8")
    with pytest.raises(ValueError, match="empty"):
        U.quantize(np.array([]), 4)
    with pytest.raises(TypeError, match="real numbers"):
        U.quantize(np.array(["a"]), 4)
    with pytest.raises(ValueError, match="clip must be 'absmax' or 'mse'"):
        U.quantize(x, 1, clip=0.5)


def test_nan_and_inf_raise():
    x = _normal(16)
    x[3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        U.quantize(x, 4)
    with pytest.raises(ValueError, match="NaN"):
        U.scale_zero_point(x, 4)
    with pytest.raises(ValueError, match="NaN"):
        U.fake_quantize_with(x, 0.1, 0, 4)
    x[3] = np.inf
    with pytest.raises(ValueError, match="infinite"):
        U.quantize(x, 8, symmetric=False)


def test_scale_that_does_not_fit_float16_raises():
    with pytest.raises(ValueError, match="overflows float16"):
        U.quantize(np.array([1e6, -3.0]), 4)
    q = U.quantize(np.array([1e6, -3.0]), 4, scale_dtype="float32")
    assert q.scale.item() == np.float32(1e6 / 7)
    with pytest.raises(ValueError, match="underflows"):
        U.quantize(np.array([1e-12, 0.0]), 8)


def test_primitive_parameter_checks():
    x = np.ones((2, 3))
    with pytest.raises(ValueError, match="zero_point 0"):
        U.fake_quantize_with(x, 0.1, 3, 4)
    with pytest.raises(ValueError, match=r"\[0, 15\]"):
        U.fake_quantize_with(x, 0.1, 16, 4, symmetric=False)
    with pytest.raises(ValueError, match="finite and positive"):
        U.fake_quantize_with(x, 0.0, 0, 4)
    with pytest.raises(ValueError, match="broadcast"):
        U.fake_quantize_with(x, np.ones(2), 0, 4)
    with pytest.raises(ValueError, match="integers"):
        U.fake_quantize_with(x, 0.1, 1.5, 4, symmetric=False)
    with pytest.raises(TypeError, match="integers"):
        U.dequantize_with(np.ones(3), 0.1)


def test_dequantize_with_refuses_what_it_used_to_return_silently():
    codes = np.array([1, 2, 3])
    # a fractional zero-point was truncated to 0, a NaN scale gave NaN values
    with pytest.raises(ValueError, match="zero_point must hold integers, got 0.5"):
        U.dequantize_with(codes, 1.0, 0.5)
    with pytest.raises(ValueError, match="finite and non-negative"):
        U.dequantize_with(codes, np.nan)
    with pytest.raises(ValueError, match="finite and non-negative"):
        U.dequantize_with(codes, -0.5)
    with pytest.raises(ValueError, match=r"must broadcast against codes \(3,\)"):
        U.dequantize_with(codes, np.ones(2))
    # what stays allowed: integral float zero-points, scale 0 (1-bit all-zero groups), broadcasting
    np.testing.assert_array_equal(U.dequantize_with(codes, 0.5, 2.0), [-0.5, 0.0, 0.5])
    np.testing.assert_array_equal(U.dequantize_with(codes, 0.0), [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(U.dequantize_with(codes[:, None], [1.0, 2.0]).shape, (3, 2))


def test_other_argument_types_follow_the_convention():
    with pytest.raises(TypeError, match="out_zero_point must be an integer from -128 to 127"):
        U.int_matmul(np.ones((2, 3), np.int8), np.ones((3, 2), np.int8), a_scale=1.0, b_scale=1.0,
                     out_scale=1.0, out_zero_point=1.5)
    with pytest.raises(TypeError, match="group_size must be a positive integer or None"):
        U.quantize(np.ones(4), 4, group_size="2")
    with pytest.raises(ValueError, match="a 0-d array"):
        U.quantize(np.float64(1.0), 4, axis=0)
    with pytest.raises(TypeError, match="could not make an array"):
        U.quantize([[1.0, 2.0], [3.0]], 4)


@pytest.mark.parametrize("bad", ["no", 0, 1, None])
def test_boolean_flags_must_be_true_or_false(bad):
    # bool("no") is True: a string or a number must not silently pick a grid
    x = np.array([-1.0, 0.5, 2.0])
    calls = {
        "symmetric": [
            lambda: U.quantize(x, 4, symmetric=bad), lambda: U.fake_quantize(x, 4, symmetric=bad),
            lambda: U.scale_zero_point(x, 4, symmetric=bad), lambda: U.integer_range(4, symmetric=bad),
            lambda: U.quantize_with(x, 1.0, 0, 4, symmetric=bad),
            lambda: U.fake_quantize_with(x, 1.0, 0, 4, symmetric=bad),
        ],
        "restricted": [
            lambda: U.quantize(x, 4, restricted=bad), lambda: U.scale_zero_point(x, 4, restricted=bad),
            lambda: U.integer_range(4, restricted=bad), lambda: U.quantize_with(x, 1.0, 0, 4, restricted=bad),
        ],
        "integer_only": [
            lambda: U.int_matmul(np.ones((1, 2), np.int8), np.ones((2, 1), np.int8), a_scale=1.0,
                                 b_scale=1.0, out_scale=1.0, integer_only=bad),
        ],
    }
    for name, functions in calls.items():
        for call in functions:
            with pytest.raises(TypeError, match=rf"^{name} must be True or False, got {bad!r}$"):
                call()
    # numpy booleans are booleans
    np.testing.assert_array_equal(U.quantize(x, 4, symmetric=np.False_).codes, U.quantize(x, 4, symmetric=False).codes)


# --------------------------------------------------------------------------- symmetric / asymmetric


def test_symmetric_scale_codes_and_round_half_even():
    x = np.array([-3.5, -1.2, 0.0, 1.25, 1.75, 0.75, -0.25])
    q = U.quantize(x, 4)
    assert q.scale.item() == 0.5  # 3.5 / 7
    np.testing.assert_array_equal(q.codes, [-7, -2, 0, 2, 4, 2, 0])  # 2.5 -> 2, 3.5 -> 4, 1.5 -> 2, -0.5 -> 0
    assert q.codes.dtype == np.int8
    assert q.zero_point.item() == 0


def test_restricted_and_full_range():
    x = np.linspace(-1, 1, 101)
    q = U.quantize(x, 8, clip=0.5)
    assert q.codes.min() == -127 and q.codes.max() == 127
    q = U.quantize(x, 8, clip=0.5, restricted=False)
    assert q.codes.min() == -128 and q.codes.max() == 127
    # without clipping the extra code is never used (absmax maps to +-127)
    assert U.quantize(x, 8, restricted=False).codes.min() == -127


def test_one_bit_is_sign_times_mean_abs():
    x = np.array([0.5, 0.0, -1.5, 2.0])
    q = U.quantize(x, 1, scale_dtype="float64")
    np.testing.assert_array_equal(q.codes, [1, 1, -1, 1])  # sign(0) = +1
    assert q.scale.item() == np.mean(np.abs(x))
    np.testing.assert_allclose(q.dequantize(), np.mean(np.abs(x)) * np.array([1, 1, -1, 1]))
    # mean|x| is MSE-optimal: any other scale is worse
    w = _normal((8, 64))
    best = mse(w, U.fake_quantize(w, 1, axis=0, scale_dtype="float64"))
    s, _ = U.scale_zero_point(w, 1, axis=0, scale_dtype="float64")
    for factor in (0.95, 1.05):
        assert mse(w, U.fake_quantize_with(w, s * factor, 0, 1)) > best
    np.testing.assert_allclose(s.ravel(), np.abs(w).mean(axis=1))


def test_asymmetric_zero_point_and_range():
    x = np.array([0.0, 0.5, 1.0, 3.0, -1.0])
    q = U.quantize(x, 4, symmetric=False, scale_dtype="float64")
    assert q.scale.item() == pytest.approx(4.0 / 15)
    assert q.zero_point.item() == 4  # round(1 / (4/15)) = round(3.75)
    assert q.codes.dtype == np.uint8 and q.codes.min() >= 0 and q.codes.max() <= 15
    assert q.dequantize()[0] == 0.0
    # all-positive data: the range is widened to include 0, zero-point 0
    q = U.quantize(np.array([2.0, 3.0, 5.0]), 8, symmetric=False)
    assert q.zero_point.item() == 0
    assert q.codes.max() == 255


def test_all_zero_groups_get_scale_one_and_exact_zeros():
    x = _normal((4, 8))
    x[1] = 0.0
    for symmetric in (True, False):
        for bits in (1, 4, 8):
            q = U.quantize(x, bits, symmetric=symmetric, axis=0)
            sign_only = symmetric and bits == 1  # no zero code: scale mean|x| = 0
            assert q.scale[1, 0] == (0.0 if sign_only else 1.0) and q.zero_point[1, 0] == 0
            assert np.all(np.isfinite(q.scale))
            np.testing.assert_array_equal(q.dequantize()[1], 0.0)
    np.testing.assert_array_equal(U.fake_quantize(np.zeros(5), 4), 0.0)


def test_float16_scales_are_stored_and_used():
    x = _normal((3, 64))
    q = U.quantize(x, 4, axis=0)
    np.testing.assert_array_equal(q.scale, q.scale.astype(np.float16).astype(np.float64))
    # the codes are the nearest ones for the stored scale
    np.testing.assert_array_equal(q.codes, U.quantize_with(x, q.scale, 0, 4))


def test_bfloat16_scales_match_torch():
    torch = pytest.importorskip("torch")
    x = _normal((16, 32))
    q = U.quantize(x, 8, axis=0, scale_dtype="bfloat16")
    exact = (np.abs(x).max(axis=1) / 127).astype(np.float32)
    expected = torch.from_numpy(exact).to(torch.bfloat16).float().numpy()
    np.testing.assert_array_equal(q.scale.ravel(), expected)
    assert q.bits_per_value == 8 + 16 / 32


def test_output_dtype_follows_input():
    x = _normal(32).astype(np.float32)
    assert U.fake_quantize(x, 4).dtype == np.float32
    assert U.fake_quantize_with(x, 0.1, 0, 4).dtype == np.float32
    assert U.fake_quantize(np.arange(-4, 5), 4).dtype == np.float64


def test_result_is_frozen_and_read_only():
    q = U.quantize(_normal(16), 4)
    with pytest.raises(dataclasses.FrozenInstanceError):
        q.bits = 3
    with pytest.raises(ValueError):
        q.codes[0] = 1


# --------------------------------------------------------------------------- granularity


def test_per_channel_any_axis_equals_slice_by_slice():
    x = _normal((3, 4, 5))
    for axis in (0, 1, 2, -1):
        q = U.quantize(x, 4, axis=axis)
        expected_shape = [1, 1, 1]
        expected_shape[axis] = x.shape[axis]
        assert q.scale.shape == tuple(expected_shape)
        moved = np.moveaxis(x, axis, 0)
        manual = np.stack([U.fake_quantize(channel, 4) for channel in moved])
        np.testing.assert_array_equal(q.dequantize(), np.moveaxis(manual, 0, axis))


def test_per_group_equals_group_by_group():
    x = _normal((6, 32))
    q = U.quantize(x, 3, group_size=8, symmetric=False)
    assert q.scale.shape == (6, 4) and q.codes.shape == x.shape
    manual = np.concatenate(
        [np.stack([U.fake_quantize(row[g:g + 8], 3, symmetric=False) for row in x]) for g in range(0, 32, 8)],
        axis=1,
    )
    np.testing.assert_array_equal(q.dequantize(), manual)
    # groups along axis 0: one scale per column and group of rows
    q0 = U.quantize(x, 3, axis=0, group_size=3)
    assert q0.scale.shape == (2, 32)
    np.testing.assert_array_equal(q0.dequantize(), U.fake_quantize(x.T, 3, group_size=3).T)


def test_primitives_agree_with_quantize():
    w = _normal((16, 24))
    for symmetric in (True, False):
        for clip in ("absmax", 0.8, "mse"):
            scale, zp = U.scale_zero_point(w, 4, symmetric=symmetric, axis=0, clip=clip)
            assert scale.shape == (16, 1) and zp.shape == (16, 1)
            q = U.quantize(w, 4, symmetric=symmetric, axis=0, clip=clip)
            np.testing.assert_array_equal(scale, q.scale)
            np.testing.assert_array_equal(zp, q.zero_point)
            np.testing.assert_array_equal(
                U.fake_quantize_with(w, scale, zp, 4, symmetric=symmetric), q.dequantize()
            )
    scale, zp = U.scale_zero_point(w, 8)
    assert scale.shape == (1, 1)


def test_bits_per_value():
    w = _normal((4, 256))
    assert U.quantize(w, 4, group_size=128).bits_per_value == 4 + 16 / 128
    assert U.quantize(w, 4, group_size=64, symmetric=False).bits_per_value == 4 + 20 / 64
    assert U.quantize(w, 4, group_size=128, scale_dtype="float32").bits_per_value == 4 + 32 / 128
    assert U.quantize(w, 8, axis=0).bits_per_value == 8 + 16 / 256
    assert U.quantize(w, 8).bits_per_value == 8 + 16 / w.size


def test_per_group_never_worse_than_per_channel_or_tensor_with_outlier_rows():
    w = _normal((64, 256), seed=3)
    w[[5, 40]] *= 50.0  # outlier rows
    w[:, 7] *= 20.0  # an outlier column
    for bits in (3, 4, 8):
        per_tensor = mse(w, U.fake_quantize(w, bits))
        per_channel = mse(w, U.fake_quantize(w, bits, axis=0))
        per_group = mse(w, U.fake_quantize(w, bits, group_size=64))
        assert per_group < per_channel < per_tensor


# --------------------------------------------------------------------------- clipping


def test_clip_ratio_scales_the_range():
    x = np.array([-2.0, 0.5, 1.0])
    q = U.quantize(x, 4, clip=0.5, scale_dtype="float64")
    assert q.scale.item() == pytest.approx(1.0 / 7)
    assert q.codes[0] == -7  # clipped


def test_mse_clip_is_best_on_the_grid_for_every_group():
    x = _normal((5, 64), seed=4)
    x[2, 0] = 12.0  # an outlier makes clipping worthwhile
    for symmetric in (True, False):
        q = U.quantize(x, 3, symmetric=symmetric, axis=0, clip="mse")
        best = q.dequantize()
        for ratio in U.MSE_CLIP_RATIOS:
            other = U.quantize(x, 3, symmetric=symmetric, axis=0, clip=float(ratio)).dequantize()
            assert np.all(np.sum((best - x) ** 2, axis=1) <= np.sum((other - x) ** 2, axis=1) + 1e-12)
        absmax = U.quantize(x, 3, symmetric=symmetric, axis=0).dequantize()
        assert mse(x, best) < mse(x, absmax)


def test_mse_clip_batches_agree(monkeypatch):
    x = _normal((7, 48), seed=5)
    reference = U.quantize(x, 4, group_size=16, clip="mse").dequantize()
    monkeypatch.setattr(U, "_MSE_BATCH_VALUES", 100)  # one ratio at a time
    np.testing.assert_array_equal(U.quantize(x, 4, group_size=16, clip="mse").dequantize(), reference)


# --------------------------------------------------------------------------- properties


_values = st.integers(-10**6, 10**6).map(lambda i: i / 1000.0)
_tensors = arrays(np.float64, st.tuples(st.integers(1, 4), st.integers(1, 12)), elements=_values)


@settings(max_examples=60, deadline=None)
@given(x=_tensors, bits=st.integers(2, 8), symmetric=st.booleans(), clip=st.sampled_from(["absmax", 0.7]))
def test_error_within_half_step_inside_the_range(x, bits, symmetric, clip):
    q = U.quantize(x, bits, symmetric=symmetric, axis=0, clip=clip, scale_dtype="float64")
    qmin, qmax = U.integer_range(bits, symmetric=symmetric)
    low = (qmin - q.zero_point) * q.scale
    high = (qmax - q.zero_point) * q.scale
    inside = (x >= low) & (x <= high)
    err = np.abs(q.dequantize() - x)
    bound = np.broadcast_to(q.scale / 2, x.shape) * (1 + 1e-12)
    assert np.all(err[inside] <= bound[inside])


@settings(max_examples=60, deadline=None)
@given(x=_tensors, bits=st.integers(1, 16), symmetric=st.booleans(), group=st.booleans())
def test_requantizing_the_dequantized_tensor_gives_the_same_codes(x, bits, symmetric, group):
    kwargs = dict(group_size=1) if group else dict(axis=0)
    q = U.quantize(x, bits, symmetric=symmetric, **kwargs)  # group_size=1: scale has x's shape
    codes = U.quantize_with(q.dequantize(), q.scale, q.zero_point, bits, symmetric=symmetric)
    np.testing.assert_array_equal(codes, q.codes)


@settings(max_examples=60, deadline=None)
@given(x=_tensors, bits=st.integers(1, 16))
def test_exact_zero_is_representable_with_a_zero_point(x, bits):
    x = x.copy()
    x.flat[0] = 0.0
    q = U.quantize(x, bits, symmetric=False, axis=0)
    assert np.all((q.zero_point >= 0) & (q.zero_point <= 2**bits - 1))
    assert q.dequantize().flat[0] == 0.0
    np.testing.assert_array_equal(U.fake_quantize_with(np.zeros(x.shape), q.scale, q.zero_point, bits,
                                                       symmetric=False), 0.0)


# --------------------------------------------------------------------------- torch cross-check


def test_ties_round_half_to_even_like_torch_per_tensor():
    torch = pytest.importorskip("torch")
    scale = 0.25  # a power of two: 1/scale is exact, so torch's x * (1/scale) is exact too
    ks = np.arange(-20, 20) + 0.5
    x = np.concatenate([ks * scale, ks * scale + 0.01]).astype(np.float32)
    for symmetric, zp, (qmin, qmax) in [(True, 0, (-7, 7)), (False, 5, (0, 15)), (True, 0, (-127, 127))]:
        bits = 4 if qmax <= 15 else 8
        mine = U.fake_quantize_with(x, scale, zp, bits, symmetric=symmetric)
        ref = torch.fake_quantize_per_tensor_affine(torch.from_numpy(x), scale, zp, qmin, qmax).numpy()
        np.testing.assert_array_equal(mine, ref)
    # the ties really are ties, and go to even
    np.testing.assert_array_equal(U.quantize_with(np.array([0.125, 0.375, -0.125]), scale, 0, 4), [0, 2, 0])


@pytest.mark.parametrize("bits, symmetric", [(8, True), (8, False), (4, True), (4, False)])
def test_same_as_torch_per_channel_for_the_same_scales(bits, symmetric):
    torch = pytest.importorskip("torch")
    x = _normal((32, 512), seed=6).astype(np.float32)
    x[0, :3] = [0.0, 1.0, -1.0]
    scale, zp = U.scale_zero_point(x, bits, symmetric=symmetric, axis=0, scale_dtype="float32")
    qmin, qmax = U.integer_range(bits, symmetric=symmetric)
    ref = torch.fake_quantize_per_channel_affine(
        torch.from_numpy(x), torch.from_numpy(scale.ravel().astype(np.float32)),
        torch.from_numpy(zp.ravel().astype(np.int32)), 0, qmin, qmax,
    ).numpy()
    np.testing.assert_array_equal(U.fake_quantize_with(x, scale, zp, bits, symmetric=symmetric), ref)
    per_tensor_scale, per_tensor_zp = U.scale_zero_point(x, bits, symmetric=symmetric, scale_dtype="float32")
    ref = torch.fake_quantize_per_tensor_affine(
        torch.from_numpy(x), float(per_tensor_scale.item()), int(per_tensor_zp.item()), qmin, qmax
    ).numpy()
    np.testing.assert_array_equal(
        U.fake_quantize_with(x, per_tensor_scale, per_tensor_zp, bits, symmetric=symmetric), ref
    )


def test_torch_multiplies_by_the_float32_reciprocal_near_ties():
    """A documented divergence: torch computes x * (1/scale) in float32, we divide exactly."""
    torch = pytest.importorskip("torch")
    x = np.array([-12.15], dtype=np.float32)  # x / 0.1f = -121.4999944...: nearest code -121
    scale = np.float32(0.1)
    assert U.quantize_with(x, scale, 0, 8).item() == -121
    ref = torch.fake_quantize_per_tensor_affine(torch.from_numpy(x), float(scale), 0, -127, 127)
    assert ref.item() == pytest.approx(-12.2, abs=1e-6)  # torch: float32(x * (1/0.1f)) = -121.5 -> -122


# --------------------------------------------------------------------------- integer matmul


def test_quantize_multiplier():
    m = np.array([0.75, 1e-3, 2.5, 3.1e-7, 0.999999999])
    m0, shift = U.quantize_multiplier(m)
    assert np.all((m0 >= 2**30) & (m0 < 2**31))
    np.testing.assert_allclose(m0 / 2.0**shift, m, rtol=2.0**-31)
    with pytest.raises(ValueError, match="multiplier"):
        U.quantize_multiplier(0.0)


def test_int_matmul_equals_float_emulation():
    rng = np.random.default_rng(7)
    a = rng.integers(-128, 128, size=(16, 256), dtype=np.int8)
    b = rng.integers(-128, 128, size=(256, 8), dtype=np.int8)
    a_scale, b_scale, out_scale = 0.013, rng.uniform(0.001, 0.01, size=8), 0.05
    out = U.int_matmul(a, b, a_scale=a_scale, b_scale=b_scale, out_scale=out_scale, out_zero_point=3)
    assert out.dtype == np.int8
    float_path = U.int_matmul(a, b, a_scale=a_scale, b_scale=b_scale, out_scale=out_scale,
                              out_zero_point=3, integer_only=False)
    np.testing.assert_array_equal(out, float_path)
    # the float emulation of the quantized layer: dequantize, matmul, requantize
    y = (a * a_scale) @ (b * b_scale)
    emulated = np.clip(np.rint(y / out_scale) + 3, -128, 127)
    np.testing.assert_array_equal(out, emulated)
    saturated = np.count_nonzero((out == 127) | (out == -128))
    assert 0 < saturated < out.size / 2  # some saturate, most do not


def test_int_matmul_exact_ties_round_half_to_even():
    kw = dict(a_scale=2.0**-4, b_scale=2.0**-4, out_scale=2.0**-1)  # M = 2**-7 exactly
    a = np.array([[64, 0, 0], [96, 96, 0], [-64, 0, 0], [107, 107, 106], [-96, -96, 0]], dtype=np.int8)
    b = np.ones((3, 1), dtype=np.int8)
    expected = [[0], [2], [0], [2], [-2]]  # 0.5, 1.5, -0.5, 2.5, -1.5
    np.testing.assert_array_equal(U.int_matmul(a, b, **kw), expected)
    np.testing.assert_array_equal(U.int_matmul(a, b, integer_only=False, **kw), expected)


def test_int_matmul_checks():
    a = np.zeros((1, 2**17), dtype=np.int8)
    with pytest.raises(ValueError, match="int32 accumulator"):
        U.int_matmul(a, a.T, a_scale=1.0, b_scale=1.0, out_scale=1.0)
    with pytest.raises(ValueError, match="int8 codes"):
        U.int_matmul(np.array([[200]]), np.array([[1]]), a_scale=1.0, b_scale=1.0, out_scale=1.0)
    with pytest.raises(ValueError, match=r"\(M, K\)"):
        U.int_matmul(np.ones((2, 3), np.int8), np.ones((2, 3), np.int8), a_scale=1.0, b_scale=1.0, out_scale=1.0)
    with pytest.raises(TypeError, match="integer codes"):
        U.int_matmul(np.ones((2, 3)), np.ones((3, 2), np.int8), a_scale=1.0, b_scale=1.0, out_scale=1.0)
    with pytest.raises(ValueError, match="positive"):
        U.int_matmul(np.ones((2, 3), np.int8), np.ones((3, 2), np.int8), a_scale=-1.0, b_scale=1.0, out_scale=1.0)
    with pytest.raises(ValueError, match="out_zero_point"):
        U.int_matmul(np.ones((2, 3), np.int8), np.ones((3, 2), np.int8), a_scale=1.0, b_scale=1.0,
                     out_scale=1.0, out_zero_point=300)


def test_accumulator_overflow_finds_the_first_k():
    a = np.full(8, 127, dtype=np.int8)
    report = U.accumulator_overflow(a, a, acc_bits=16)
    assert report == U.AccumulatorOverflow(k=3, row=0, col=0, partial_sum=3 * 127 * 127)
    assert U.accumulator_overflow(a, a, acc_bits=32) is None
    rng = np.random.default_rng(8)
    A = rng.integers(-128, 128, size=(3, 200))
    B = rng.integers(-128, 128, size=(200, 4))
    report = U.accumulator_overflow(A, B, acc_bits=18)
    partial = np.cumsum(A[:, :, None] * B[None], axis=1)  # brute force
    outside = (partial < -(2**17)) | (partial > 2**17 - 1)
    first_k = int(np.argmax(outside.any(axis=(0, 2))))
    assert report.k == first_k + 1
    assert outside[report.row, first_k, report.col]
    assert report.partial_sum == partial[report.row, first_k, report.col]
    with pytest.raises(ValueError, match="acc_bits"):
        U.accumulator_overflow(a, a, acc_bits=1)


def test_docstring_examples():
    import doctest

    import support.quant.uniform as module

    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0


# --------------------------------------------------------------------------- bad input (issue 15)


def test_accumulator_overflow_is_exact_beyond_int64():
    # the int64 product 2**62 * 4 wrapped to 0 and the overflow went unreported
    found = U.accumulator_overflow([2**62, 1], [4, 1], 64)
    assert found == U.AccumulatorOverflow(k=1, row=0, col=0, partial_sum=2**64)
    big = np.array([2**63 + 5], dtype=np.uint64)  # beyond int64 itself
    assert U.accumulator_overflow(big, [1], 64).partial_sum == 2**63 + 5


def test_uniform_quantized_fields_must_fit_together():
    q = U.quantize(np.arange(8.0).reshape(2, 4), 4, axis=0)
    fields = dict(codes=q.codes, scale=q.scale, zero_point=q.zero_point, bits=q.bits, symmetric=q.symmetric,
                  axis=q.axis, group_size=q.group_size, shape=q.shape)
    np.testing.assert_array_equal(U.UniformQuantized(**fields).dequantize(), q.dequantize())
    with pytest.raises(ValueError, match=r"codes has shape \(1, 4\), but shape is \(2, 4\)"):
        U.UniformQuantized(**{**fields, "codes": q.codes[:1]})  # stretched one row into (2, 4)
    with pytest.raises(ValueError, match=r"scale has shape \(1, 1\)"):
        U.UniformQuantized(**{**fields, "scale": q.scale[:1]})
    with pytest.raises(ValueError, match=r"codes must lie in \[-8, 7\]"):
        U.UniformQuantized(**{**fields, "codes": q.codes * 3})
    with pytest.raises(TypeError, match="^symmetric must be True or False"):
        U.UniformQuantized(**{**fields, "symmetric": "no"})
    with pytest.raises(TypeError, match="^codes must hold integers"):
        U.UniformQuantized(**{**fields, "codes": q.codes.astype(float)})


@pytest.mark.parametrize("bad", [["float16"], None, 16])
def test_scale_dtype_must_be_a_name(bad):
    with pytest.raises(TypeError, match="^scale_dtype must be one of"):
        U.quantize([1.0, 2.0], 4, scale_dtype=bad)


def test_strings_are_not_scales_or_zero_points():
    with pytest.raises(TypeError, match="^scale must hold real numbers"):
        U.dequantize_with([1, 2], "1.0")
    with pytest.raises(TypeError, match="^zero_point must hold real numbers"):
        U.fake_quantize_with([1.0, 2.0], 1.0, "4", 4, symmetric=False)
    with pytest.raises(TypeError, match="^x must hold real numbers"):
        U.fake_quantize_with([1.0 + 1j], 1.0, 0, 4)


def test_int_matmul_names_the_scale_that_does_not_broadcast():
    a = np.ones((2, 3), dtype=np.int8)
    with pytest.raises(ValueError, match=r"^a_scale of shape \(3,\) does not broadcast"):
        U.int_matmul(a, a.T, a_scale=np.ones(3), b_scale=1.0, out_scale=1.0)


def test_bfloat16_float8_and_torch_inputs_give_the_float32_result():
    ml_dtypes = pytest.importorskip("ml_dtypes")
    torch = pytest.importorskip("torch")
    w = np.random.default_rng(0).normal(size=(4, 8)).astype(np.float32)
    w8 = w.astype(ml_dtypes.float8_e4m3fn).astype(np.float32)  # values a float8 array can hold
    for x, same in [(torch.from_numpy(w), w), (w.astype(ml_dtypes.bfloat16), w.astype(ml_dtypes.bfloat16).astype(np.float32)),
                    (w8.astype(ml_dtypes.float8_e4m3fn), w8)]:
        np.testing.assert_array_equal(U.fake_quantize(x, 4, axis=0), U.fake_quantize(same, 4, axis=0))


# --------------------------------------------------------------------------- int_matmul with a bias


def test_int_matmul_bias_equals_float_emulation_and_folds_a_zero_point():
    """An int32 bias on the accumulator's scale is added before requantization; an
    asymmetric activation (codes qa, zero-point za) gives the same output as the
    symmetric product once -za * colsum(b) is folded into the bias."""
    rng = np.random.default_rng(11)
    a_unsigned = rng.integers(0, 256, size=(12, 64))  # uint8 activation codes
    za = 37
    b = rng.integers(-127, 128, size=(64, 6), dtype=np.int8)
    a_scale, b_scale, out_scale = 0.02, rng.uniform(0.002, 0.01, size=6), 0.3
    bias = rng.integers(-5000, 5000, size=6)
    a = (a_unsigned - 128).astype(np.int8)  # shift to int8: zero-point za - 128
    folded = bias - (za - 128) * b.astype(np.int64).sum(axis=0)
    out = U.int_matmul(a, b, a_scale=a_scale, b_scale=b_scale, out_scale=out_scale, bias_codes=folded)
    exact = (a_unsigned - za) @ b.astype(np.int64) + bias  # the integer sum, zero-point applied
    y = exact * (a_scale * b_scale)
    np.testing.assert_array_equal(out, np.clip(np.rint(y / out_scale), -128, 127))
    float_path = U.int_matmul(a, b, a_scale=a_scale, b_scale=b_scale, out_scale=out_scale,
                              bias_codes=folded, integer_only=False)
    np.testing.assert_array_equal(out, float_path)


def test_int_matmul_bias_checks():
    a, b = np.ones((2, 3), np.int8), np.ones((3, 2), np.int8)
    kw = dict(a_scale=1.0, b_scale=1.0, out_scale=1.0)
    with pytest.raises(TypeError, match="bias_codes must be integers"):
        U.int_matmul(a, b, bias_codes=np.ones(2), **kw)
    with pytest.raises(ValueError, match=r"shape \(2,\)"):
        U.int_matmul(a, b, bias_codes=np.ones(3, dtype=np.int32), **kw)
    with pytest.raises(ValueError, match="int32 range"):
        U.int_matmul(a, b, bias_codes=np.array([2**31 - 2, 0]), **kw)
    np.testing.assert_array_equal(U.int_matmul(a, b, bias_codes=[1, -4], **kw), [[4, -1], [4, -1]])


def test_accumulator_overflow_record_checks_its_fields():
    assert U.AccumulatorOverflow(3, 0, 0, 48387) == (3, 0, 0, 48387)
    with pytest.raises(ValueError, match="^k must be a positive integer"):
        U.AccumulatorOverflow(0, 0, 0, 1)
    with pytest.raises(TypeError, match="^partial_sum must be an integer"):
        U.AccumulatorOverflow(1, 0, 0, 1.5)
