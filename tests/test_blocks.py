"""Tests for support.quant.blocks: MX and NVFP4 against the spec, worked examples and torchao."""

import numpy as np
import pytest

from support.numbers import formats
from support.quant.blocks import MX_ELEMENTS, mx_quantize, nvfp4_quantize, pack_fp4, unpack_fp4

FLOAT_ELEMS = ["float8_e4m3fn", "float8_e5m2", "float6_e2m3fn", "float6_e3m2fn", "float4_e2m1fn"]


def _wide_range_blocks(seed, n_blocks, block_size=32):
    """Normal values whose block magnitudes span 2**-135 to 2**120, plus corner blocks."""
    rng = np.random.default_rng(seed)
    exps = rng.integers(-135, 120, size=(n_blocks, 1))
    x = (rng.standard_normal((n_blocks, block_size)) * np.ldexp(1.0, exps)).astype(np.float32)
    x[0] = 0.0  # zero block
    x[1] = np.float32(2.0**5)  # amax exactly a power of two
    x[2] = np.nextafter(np.float32(2.0**5), np.float32(0))  # just below it
    x[3] = np.float32(1e-40)  # float32 subnormals
    # Element ties: multiples of half the element spacing at several magnitudes.
    x[4] = (np.arange(block_size) - block_size / 2) * np.float32(0.125)
    x[5, 0] = -0.0
    return x


@pytest.fixture(scope="module")
def torchao_mx():
    pytest.importorskip("torch")
    mx_tensor = pytest.importorskip("torchao.prototype.mx_formats.mx_tensor")
    kernels = pytest.importorskip("torchao.prototype.mx_formats.kernels")
    return mx_tensor, kernels


def _torchao_to_mx(torchao_mx, x, elem):
    import torch

    mx_tensor, kernels = torchao_mx
    dtypes = {
        "float8_e4m3fn": torch.float8_e4m3fn,
        "float8_e5m2": torch.float8_e5m2,
        "float6_e2m3fn": "fp6_e2m3",
        "float6_e3m2fn": "fp6_e3m2",
        "float4_e2m1fn": torch.float4_e2m1fn_x2,
    }
    scale, data = mx_tensor.to_mx(torch.from_numpy(np.ascontiguousarray(x)), dtypes[elem], 32)
    data = data.view(torch.uint8)
    if elem == "float4_e2m1fn":
        data = kernels.unpack_uint4(data)
    return scale.view(torch.uint8).numpy(), data.numpy()


# ----------------------------------------------------------------------------- MX vs torchao


@pytest.mark.parametrize("elem", FLOAT_ELEMS)
def test_mx_bit_identical_to_torchao(torchao_mx, elem):
    x = _wide_range_blocks(0, 2048)
    scale, data = _torchao_to_mx(torchao_mx, x, elem)
    q = mx_quantize(x, elem)
    np.testing.assert_array_equal(q.scale_codes, scale)
    # Elements agree except in non-zero blocks whose scale clamps to code 0 (see below).
    same = (q.scale_codes[:, 0] > 0) | np.all(x == 0, axis=1)
    assert same.sum() > 1800
    np.testing.assert_array_equal(q.element_codes[same], data[same])


def test_mx_torchao_divergence_tiny_blocks(torchao_mx):
    # amax = 2**-120 for E4M3: 2**(-120 - 8) clamps to 2**-127 (code 0).  The spec
    # divides by 2**-127; torchao divides by 2**-126 while storing code 0, so its
    # elements are half of ours and its dequantization is off by a factor of 2.
    x = np.full((1, 32), np.float32(2.0**-121))
    x[0, 0] = np.float32(2.0**-120)
    scale, data = _torchao_to_mx(torchao_mx, x, "float8_e4m3fn")
    q = mx_quantize(x, "float8_e4m3fn")
    assert scale[0, 0] == q.scale_codes[0, 0] == 0
    np.testing.assert_array_equal(q.dequantize(), x)  # exact with X = 2**-127
    torchao_elements = formats.decode(data, "float8_e4m3fn")
    np.testing.assert_array_equal(torchao_elements * 2, q.elements)


def test_mx_torchao_divergence_infinite_blocks(torchao_mx):
    # A block with an infinity (and no NaN): NaN scale here, as in the spec's
    # reference code; torchao gives the finite scale 2**(128 - emax_elem).
    x = np.ones((2, 32), dtype=np.float32)
    x[0, 3] = np.inf
    x[1, 3] = np.nan
    scale, _ = _torchao_to_mx(torchao_mx, x, "float8_e4m3fn")
    assert scale[0, 0] == 127 + 128 - 8 and scale[1, 0] == 255
    q = mx_quantize(x, "float8_e4m3fn")
    np.testing.assert_array_equal(q.scale_codes[:, 0], [255, 255])


# ----------------------------------------------------------------------------- MX from the spec


@pytest.mark.parametrize("elem", list(MX_ELEMENTS))
def test_mx_scale_is_floor_log2_amax_minus_emax(elem):
    emax = MX_ELEMENTS[elem][1]
    amax = np.float32([1.0, 1.5, 2.0**10, 2.0**-3 * 1.99, 6.0e4])
    below = np.nextafter(np.float32(2.0**7), np.float32(0))  # float32 log2 gives exactly 7.0
    amax = np.append(amax, below)
    x = np.zeros((amax.size, 32), dtype=np.float32)
    x[:, 5] = -amax
    q = mx_quantize(x, elem)
    expected = np.floor(np.log2(amax.astype(np.float64))) - emax
    np.testing.assert_array_equal(q.scale_codes[:, 0].astype(int) - 127, expected)
    # Read from the exponent field: float32 log2 rounds up to 7 just below 2**7.
    assert np.log2(below) == 7.0
    assert int(q.scale_codes[-1, 0]) - 127 == 6 - emax


@pytest.mark.parametrize("elem", FLOAT_ELEMS)
def test_mx_elements_are_rne_and_saturated(elem):
    fmt = formats.get_format(elem)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((64, 32)).astype(np.float32) * 3
    q = mx_quantize(x, elem)
    scales = np.repeat(q.scales, 32, axis=1)
    expected = formats.round_to(np.clip(x / scales, -fmt.max, fmt.max), fmt)
    np.testing.assert_array_equal(q.elements, expected)
    assert np.abs(q.elements).max() <= fmt.max
    np.testing.assert_array_equal(q.element_codes, formats.encode(q.elements, fmt))
    np.testing.assert_array_equal(q.dequantize(), q.elements * scales)


def test_mx_elements_saturate_above_the_largest_power_of_two():
    # amax = 7.9 * 2**k: the scale is 2**(k - 2) for E2M1 (emax 2), so amax / X = 7.9
    # exceeds the E2M1 max 6 and is clamped.
    x = np.zeros(32, dtype=np.float32)
    x[0], x[1] = 7.9, 5.0
    q = mx_quantize(x, "float4_e2m1fn")
    assert q.scale_codes[0] == 127
    assert q.elements[0] == 6.0 and q.elements[1] == 4.0  # 5 is a tie: to even (4)


def test_mxint8_worked_example():
    # amax 1.75: floor(log2) = 0, emax 0, X = 1; elements k / 64 with k = rint(64 x).
    x = np.zeros(32, dtype=np.float32)
    x[:6] = [1.75, -1.0, 1 / 128, 3 / 128, -0.3, 1.0 - 1 / 256]
    q = mx_quantize(x, "int8")
    assert q.scale_codes[0] == 127
    k = np.array([112, -64, 0, 2, -19, 64])  # 0.5 -> 0 and 1.5 -> 2 (ties to even)
    np.testing.assert_array_equal(q.elements[:6], k / 64)
    np.testing.assert_array_equal(q.element_codes[:6], k.astype(np.int8).view(np.uint8))
    # amax 1.999 stays in binade 0 and saturates at k = 127 (127/64 = 1.984375).
    x[0] = 1.999
    assert mx_quantize(x, "int8").elements[0] == 127 / 64
    # amax 3: X = 2, so 3 -> 1.5 -> k = 96.
    x[0] = -3.0
    q = mx_quantize(x, "int8")
    assert q.scale_codes[0] == 128 and q.elements[0] == -96 / 64 and q.dequantize()[0] == -3.0


@pytest.mark.parametrize("elem", list(MX_ELEMENTS))
def test_mx_special_blocks(elem):
    x = np.ones((4, 32), dtype=np.float32)
    x[0] = 0.0
    x[1, 7] = np.nan
    x[2, 9] = -np.inf
    q = mx_quantize(x, elem)
    np.testing.assert_array_equal(q.scale_codes[:, 0], [0, 255, 255, 127 - MX_ELEMENTS[elem][1]])
    deq = q.dequantize()
    np.testing.assert_array_equal(deq[0], 0.0)
    assert np.all(np.isnan(deq[1])) and np.all(np.isnan(deq[2]))
    np.testing.assert_array_equal(deq[3], 1.0)
    assert np.isnan(q.scales[1, 0]) and q.scales[0, 0] == 2.0**-127


def test_mx_round_trip_of_representable_values():
    # Values that are E4M3 values times a power of two survive exactly.
    rng = np.random.default_rng(2)
    values = formats.all_values("float8_e4m3fn")
    block_scale = np.ldexp(1.0, rng.integers(-20, 20, size=(16, 1)))
    x = rng.choice(values, size=(16, 32)) * block_scale
    x[:, :1] = 448 * block_scale  # pin each block's amax: X = block_scale
    q = mx_quantize(x.astype(np.float32), "float8_e4m3fn")
    np.testing.assert_array_equal(q.dequantize(), x)


def test_mx_axis_and_shapes():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((64, 3, 5)).astype(np.float32)
    q0 = mx_quantize(x, "float6_e3m2fn", axis=0)
    ql = mx_quantize(np.moveaxis(x, 0, -1), "float6_e3m2fn", axis=-1)
    assert q0.scale_codes.shape == (2, 3, 5) and q0.element_codes.shape == x.shape
    np.testing.assert_array_equal(np.moveaxis(q0.scale_codes, 0, -1), ql.scale_codes)
    np.testing.assert_array_equal(np.moveaxis(q0.dequantize(), 0, -1), ql.dequantize())
    assert q0.element_codes.dtype == np.uint8 and q0.scale_codes.dtype == np.uint8


def test_mx_bits_per_value():
    x = np.ones(64)
    bits = {e: mx_quantize(x, e).bits_per_value for e in MX_ELEMENTS}
    assert bits == {
        "float8_e4m3fn": 8.25, "float8_e5m2": 8.25, "float6_e2m3fn": 6.25,
        "float6_e3m2fn": 6.25, "float4_e2m1fn": 4.25, "int8": 8.25,
    }
    assert mx_quantize(x, "float4_e2m1fn", block_size=16).bits_per_value == 4.5


def test_mx_argument_checks():
    with pytest.raises(ValueError, match="multiple of block_size"):
        mx_quantize(np.ones(48))
    with pytest.raises(ValueError, match="elem must be one of"):
        mx_quantize(np.ones(32), "float16")
    with pytest.raises(ValueError, match="positive"):
        mx_quantize(np.ones(32), block_size=0)
    with pytest.raises(ValueError, match="out of range"):
        mx_quantize(np.ones(32), axis=1)
    with pytest.raises(TypeError, match="real numbers"):
        mx_quantize(np.ones(32, dtype=complex))
    with pytest.raises(ValueError, match="scalar"):
        mx_quantize(np.float32(1.0))
    with pytest.raises(ValueError, match="float32 range"):
        mx_quantize(np.full(32, 1e39))
    with pytest.raises(TypeError, match="real numbers"):
        mx_quantize(np.ones(32, dtype=bool))
    with pytest.raises(ValueError, match=r"x is empty \(shape \(0, 32\)\)"):  # was a reshape error
        mx_quantize(np.zeros((0, 32)))
    with pytest.raises(TypeError, match="block_size must be a positive integer"):
        mx_quantize(np.ones(32), block_size=32.0)
    with pytest.raises(TypeError, match="axis must be an integer"):
        mx_quantize(np.ones(32), axis=0.0)


def test_mx_accepts_bfloat16_and_integers():
    ml_dtypes = pytest.importorskip("ml_dtypes")
    x = np.linspace(-3, 3, 32).astype(ml_dtypes.bfloat16)
    np.testing.assert_array_equal(
        mx_quantize(x).element_codes, mx_quantize(x.astype(np.float32)).element_codes
    )
    np.testing.assert_array_equal(mx_quantize(np.arange(32), "int8").dequantize()[:3], [0, 1, 2])


# ----------------------------------------------------------------------------- NVFP4


def _nvfp4_data(seed):
    rng = np.random.default_rng(seed)
    exps = rng.integers(-12, 12, size=(128, 8)).repeat(16, axis=1)
    x = (rng.standard_normal((128, 128)) * np.ldexp(1.0, exps)).astype(np.float32)
    x[0, :16] = 0.0  # a zero block
    x[1, :16] = np.float32(0.25) * np.arange(16)  # exact multiples: ties in E2M1
    return x


@pytest.fixture(scope="module")
def torchao_nvfp4():
    pytest.importorskip("torch")
    return pytest.importorskip("torchao.prototype.mx_formats.nvfp4_tensor")


@pytest.mark.parametrize("two_level", [True, False])
def test_nvfp4_bit_identical_to_torchao(torchao_nvfp4, two_level):
    import torch
    from torchao.prototype.mx_formats.kernels import unpack_uint4

    x = _nvfp4_data(4)
    xt = torch.from_numpy(x)
    if two_level:
        ts = torchao_nvfp4.per_tensor_amax_to_scale(torch.amax(torch.abs(xt)))
        q = nvfp4_quantize(x)
        assert q.tensor_scale == float(ts)
    else:
        ts = None
        q = nvfp4_quantize(x, tensor_scale=1.0)
    scales, data = torchao_nvfp4.nvfp4_quantize(xt, 16, ts)
    np.testing.assert_array_equal(q.block_scale_codes, scales.view(torch.uint8).numpy())
    np.testing.assert_array_equal(q.element_codes, unpack_uint4(data).numpy())
    reference = torchao_nvfp4.NVFP4Tensor.to_nvfp4(xt, per_tensor_scale=ts).dequantize(torch.float32)
    np.testing.assert_allclose(q.dequantize(), reference.numpy(), rtol=2**-23, atol=0)


def test_nvfp4_worked_example():
    x = np.zeros((1, 32), dtype=np.float32)
    x[0, :4] = [6.0, -3.0, 0.7, 2.4]  # block 0: amax 6
    x[0, 16] = 0.75  # block 1: amax 0.75
    q = nvfp4_quantize(x)
    ts = np.float32(6.0) / np.float32(2688.0)
    assert q.tensor_scale == ts
    # block 0: (6 / 6) / ts = 448 exactly; block 1: (0.75 / 6) / ts = 56.
    np.testing.assert_array_equal(q.block_scales, [[448.0, 56.0]])
    np.testing.assert_array_equal(q.elements[0, :4], [6.0, -3.0, 0.5, 2.0])
    assert q.elements[0, 16] == 6.0
    np.testing.assert_allclose(q.dequantize()[0, [0, 1, 16]], [6.0, -3.0, 0.75], rtol=1e-6)
    assert q.bits_per_value == 4 + 8 / 16 + 32 / 32


def test_nvfp4_block_scale_clamps_and_zero_tensor():
    x = np.zeros((1, 32), dtype=np.float32)
    x[0, 0] = 1.0
    x[0, 16] = 1e-6  # (1e-6 / 6) / (1 / 2688) < 2**-6: clamped to E4M3's min normal
    q = nvfp4_quantize(x)
    assert q.block_scales[0, 1] == 2.0**-6 and q.elements[0, 16] == 0.0
    z = nvfp4_quantize(np.zeros((2, 16)))
    assert z.tensor_scale == 1.0
    np.testing.assert_array_equal(z.dequantize(), 0.0)


def test_nvfp4_axis():
    x = _nvfp4_data(5)[:32, :48]
    a = nvfp4_quantize(x, axis=0)
    b = nvfp4_quantize(x.T, axis=-1)
    np.testing.assert_array_equal(a.dequantize(), b.dequantize().T)
    assert a.block_scale_codes.shape == (2, 48)


def test_nvfp4_argument_checks():
    with pytest.raises(ValueError, match="finite"):
        nvfp4_quantize(np.array([np.nan] * 16))
    with pytest.raises(ValueError, match="multiple of block_size"):
        nvfp4_quantize(np.ones(24))
    with pytest.raises(ValueError, match="too small"):
        nvfp4_quantize(np.full(16, 1e-38))
    with pytest.raises(ValueError, match="tensor_scale"):
        nvfp4_quantize(np.ones(16), tensor_scale=0.0)
    with pytest.raises(TypeError, match="tensor_scale"):
        nvfp4_quantize(np.ones(16), tensor_scale="amax")
    with pytest.raises(ValueError, match="x is empty"):  # was a reshape error
        nvfp4_quantize(np.zeros((3, 0)))


# ----------------------------------------------------------------------------- packing


def test_pack_fp4_matches_torchao():
    torch = pytest.importorskip("torch")
    kernels = pytest.importorskip("torchao.prototype.mx_formats.kernels")
    codes = np.random.default_rng(6).integers(0, 16, size=(8, 64)).astype(np.uint8)
    expected = kernels.pack_uint4(torch.from_numpy(codes)).numpy()
    np.testing.assert_array_equal(pack_fp4(codes), expected)
    np.testing.assert_array_equal(unpack_fp4(expected), codes)


def test_pack_fp4_nibble_orders():
    codes = np.array([0x1, 0xA, 0x7], dtype=np.uint8)
    np.testing.assert_array_equal(pack_fp4(codes), [0xA1, 0x07])
    np.testing.assert_array_equal(pack_fp4(codes, first="high"), [0x1A, 0x70])
    np.testing.assert_array_equal(unpack_fp4(pack_fp4(codes, first="high"), 3, first="high"), codes)
    q = nvfp4_quantize(np.linspace(-6, 6, 32))
    np.testing.assert_array_equal(unpack_fp4(pack_fp4(q.element_codes)), q.element_codes)
    with pytest.raises(ValueError):
        pack_fp4(np.array([16]))


# --------------------------------------------------------------------------- bad input (issue 15)


def test_block_records_check_that_their_fields_fit_together():
    from support.quant.blocks import MXQuantized, NVFP4Quantized, mx_quantize, nvfp4_quantize

    x = np.linspace(-3.0, 3.0, 64).reshape(2, 32)
    q = mx_quantize(x, "float4_e2m1fn")
    fields = dict(vars(q))
    np.testing.assert_array_equal(MXQuantized(**fields).dequantize(), q.dequantize())
    with pytest.raises(ValueError, match=r"^scale_codes has shape \(1, 1\); one per block of 32 needs \(2, 1\)"):
        MXQuantized(**{**fields, "scale_codes": q.scale_codes[:1]})
    with pytest.raises(ValueError, match="^element_codes .* and elements .* must have the same shape"):
        MXQuantized(**{**fields, "elements": q.elements[:1]})
    with pytest.raises(ValueError, match="^elem must be one of"):
        MXQuantized(**{**fields, "elem": "float7"})
    with pytest.raises(TypeError, match="^elem must be one of"):
        mx_quantize(x, ["float4_e2m1fn"])
    n = nvfp4_quantize(x)
    with pytest.raises(ValueError, match="^tensor_scale must be positive"):
        NVFP4Quantized(**{**vars(n), "tensor_scale": -1.0})
    with pytest.raises(ValueError, match="^block_size 7 must divide the length 32"):
        NVFP4Quantized(**{**vars(n), "block_size": 7})


def test_torch_tensors_and_ragged_lists():
    torch = pytest.importorskip("torch")
    from support.quant.blocks import mx_quantize

    x = np.linspace(-3.0, 3.0, 32, dtype=np.float32)
    np.testing.assert_array_equal(mx_quantize(torch.from_numpy(x), "float8_e4m3fn").dequantize(),
                                  mx_quantize(x, "float8_e4m3fn").dequantize())
    with pytest.raises(TypeError, match="^x must be an array of real numbers; could not make an array"):
        mx_quantize([[1.0], [2.0, 3.0]], "float8_e4m3fn")
