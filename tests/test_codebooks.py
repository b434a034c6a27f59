"""Tests for support.quant.codebooks: NF4/FP4, blockwise codebook quantization, ternary, Lloyd-Max.

The bitsandbytes cross-checks run on CPU with bitsandbytes 0.50.2.  There,
``quantize_4bit`` is the pure-torch "default" kernel (absmax, multiply by the
float32 reciprocal, ``torch.bucketize`` on the midpoints) and
``dequantize_4bit`` a C++ kernel; ``quantize_blockwise`` (8-bit, used for
double quantization) is a C++ kernel that looks codes up in a 65536-entry
table, so it is reproduced here by :func:`_bnb_cpu_lut_codes`.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate
from scipy.stats import norm

from support.quant import codebooks as C

# OCP MX E2M1 magnitudes (codes 0-7), for comparison with bitsandbytes' FP4.
E2M1 = np.array([0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0])


@pytest.fixture(scope="module")
def bnb():
    pytest.importorskip("torch")
    return pytest.importorskip("bitsandbytes.functional")


def _weights(shape=(128, 256), seed=0):
    w = np.random.default_rng(seed).normal(size=shape).astype(np.float32)
    w[3, :64] = 0.0  # an all-zero block
    w[5, 64:128] *= 1e-3  # a tiny block
    w[7, 5] = 40.0  # an outlier
    return w


# --------------------------------------------------------------------------- tables


def test_nf4_construction_reproduces_the_table_exactly():
    levels = C.nf4_levels()
    assert levels.dtype == np.float32
    np.testing.assert_array_equal(levels, C.NF4)
    assert C.NF4[7] == 0.0 and C.NF4[0] == -1.0 and C.NF4[-1] == 1.0
    assert np.sum(C.NF4 > 0) == 8 and np.sum(C.NF4 < 0) == 7
    # numpy's float64 linspace rounded to float32 misses the table by an ulp
    positive = norm.ppf(np.linspace(C.NF4_OFFSET, 0.5, 9)[:-1])
    negative = -norm.ppf(np.linspace(C.NF4_OFFSET, 0.5, 8)[:-1])
    naive = np.sort(np.concatenate([positive, [0.0], negative]).astype(np.float32))
    np.testing.assert_allclose(naive / naive.max(), C.NF4, rtol=0, atol=3e-7)
    with pytest.raises(ValueError, match=r"\(0.5, 1\)"):
        C.nf4_levels(0.3)


def test_tables_equal_bitsandbytes(bnb):
    np.testing.assert_array_equal(bnb.get_4bit_type("nf4", device="cpu").numpy(), C.NF4)
    np.testing.assert_array_equal(bnb.get_4bit_type("fp4", device="cpu").numpy(), C.FP4_BNB)
    np.testing.assert_array_equal(bnb.create_dynamic_map().numpy(), C.dynamic_map())
    normal_map = bnb.create_normal_map().numpy()
    np.testing.assert_array_equal(np.unique(normal_map), C.NF4)


def test_bnb_fp4_differs_from_e2m1_only_at_the_smallest_value():
    magnitudes = np.sort(np.abs(C.FP4_BNB[:8])) * 6  # max 1 -> max 6
    np.testing.assert_allclose(magnitudes[[0, 2, 3, 4, 5, 6, 7]], E2M1[[0, 2, 3, 4, 5, 6, 7]], rtol=1e-6)
    assert magnitudes[1] == pytest.approx(0.03125)  # 0.0625 / 12 * 6; E2M1 has 0.5
    assert E2M1[1] == 0.5
    np.testing.assert_array_equal(C.FP4_BNB[8:], -C.FP4_BNB[:8])  # bit 3 is the sign


def test_dynamic_map_shape():
    d = C.dynamic_map()
    assert d.shape == (256,) and np.all(np.diff(d) > 0)
    assert d[-1] == 1.0 and d[127] == 0.0
    with pytest.raises(ValueError, match="max_exponent_bits must be an integer from 0 to 7"):
        C.dynamic_map(max_exponent_bits=8)
    with pytest.raises(ValueError, match="give 193 values, not 2\\*\\*total_bits = 256"):
        C.dynamic_map(signed=False, max_exponent_bits=1)
    with pytest.raises(ValueError, match="total_bits must be an integer from 1 to 8"):
        C.dynamic_map(total_bits=9)  # 512 levels: a code would not fit a uint8
    with pytest.raises(TypeError, match="total_bits"):
        C.dynamic_map(total_bits=8.0)
    assert C.dynamic_map(signed=False).shape == (256,)


# --------------------------------------------------------------------------- nearest code


def test_nearest_code_midpoint_goes_to_the_lower_level():
    cb = np.array([-1.0, 0.0, 0.1, 1.0], dtype=np.float32)
    mids = (cb[:-1] + cb[1:]) / np.float32(2)
    np.testing.assert_array_equal(C.nearest_code(mids, cb), [0, 1, 2])
    np.testing.assert_array_equal(C.nearest_code(np.nextafter(mids, np.float32(2)), cb), [1, 2, 3])
    # unsorted codebooks: indices refer to the original order
    np.testing.assert_array_equal(C.nearest_code([0.9, -0.9], [1.0, -1.0]), [0, 1])


@settings(max_examples=60, deadline=None)
@given(levels=st.integers(2, 40), seed=st.integers(0, 2**16), dtype=st.sampled_from([np.float32, np.float64]))
def test_nearest_code_is_searchsorted_on_the_sorted_midpoints(levels, seed, dtype):
    # the rule of the docstring, written plainly; up to 16 levels nearest_code counts comparisons instead
    rng = np.random.default_rng(seed)
    cb = rng.choice(np.linspace(-1, 1, 9), size=levels).astype(dtype) if seed % 3 == 0 else \
        rng.uniform(-1, 1, size=levels).astype(dtype)  # every third codebook has repeated levels
    order = np.argsort(cb, kind="stable")
    midpoints = (cb[order][:-1] + cb[order][1:]) / dtype(2)
    x = np.concatenate([rng.uniform(-1.2, 1.2, size=500).astype(dtype), midpoints, np.nextafter(midpoints, 2)])
    expected = order[np.searchsorted(midpoints, x, side="left")]
    codes = C.nearest_code(x.reshape(2, -1), cb)
    assert codes.dtype == np.uint8 and codes.shape == (2, x.size // 2)
    np.testing.assert_array_equal(codes.ravel(), expected)


def test_dequantize_is_codebook_times_the_block_absmax():
    w = _weights(shape=(8, 130))  # 1040 values: 16 blocks of 64 and a partial one of 16
    q = C.quantize_blockwise(w, C.NF4, block_size=64)
    expected = q.codebook[q.codes.ravel()] * np.repeat(q.absmax, 64)[: w.size]
    np.testing.assert_array_equal(q.dequantize(), expected.reshape(w.shape))
    assert q.dequantize().dtype == np.float32
    # a record built by hand keeps numpy's type promotion (float64 scales: float64 values)
    by_hand = C.BlockwiseQuantized(codes=q.codes, absmax=q.absmax.astype(np.float64), codebook=q.codebook,
                                   block_size=64, shape=q.shape)
    assert by_hand.dequantize().dtype == np.float64


def test_fp4_positive_zero_and_negative_zero_codes():
    # +0 (code 0) and "-0" (code 8) are equal levels: 0 and below go to code 0, tiny positive values to code 8
    np.testing.assert_array_equal(C.nearest_code(np.float32([0.0, -0.001, 0.001]), C.FP4_BNB), [0, 0, 8])


# --------------------------------------------------------------------------- bitsandbytes cross-check


@pytest.mark.parametrize("quant_type, codebook", [("nf4", C.NF4), ("fp4", C.FP4_BNB)])
def test_blockwise_identical_to_bitsandbytes(bnb, quant_type, codebook):
    import torch

    w = _weights()
    packed, state = bnb.quantize_4bit(torch.from_numpy(w), blocksize=64, quant_type=quant_type)
    q = C.quantize_blockwise(w, codebook, block_size=64)
    np.testing.assert_array_equal(q.absmax, state.absmax.numpy())
    np.testing.assert_array_equal(q.packed(), packed.numpy().ravel())
    np.testing.assert_array_equal(C.unpack_4bit(q.packed()), q.codes.ravel())
    ref = bnb.dequantize_4bit(packed, state).numpy()
    np.testing.assert_array_equal(q.dequantize(), ref)
    assert q.dequantize().dtype == np.float32
    assert q.absmax[3 * 4] == 0.0 and np.all(q.dequantize()[3, :64] == 0.0)


@pytest.mark.parametrize("quant_type, codebook", [("nf4", C.NF4), ("fp4", C.FP4_BNB)])
def test_exact_midpoints_go_to_the_lower_code_like_bitsandbytes(bnb, quant_type, codebook):
    import torch

    levels = np.sort(codebook)
    mids = (levels[:-1] + levels[1:]) / np.float32(2)
    ties = np.concatenate([[1.0], mids, np.nextafter(mids, np.float32(2)), [0.0, -0.0]]).astype(np.float32)
    x = np.pad(ties, (0, 64 - ties.size)).astype(np.float32)  # absmax 1: scaled values are exact
    packed, _ = bnb.quantize_4bit(torch.from_numpy(x), blocksize=64, quant_type=quant_type)
    q = C.quantize_blockwise(x, codebook, 64)
    np.testing.assert_array_equal(q.packed(), packed.numpy().ravel())
    below = codebook[q.codes[1:16]]
    np.testing.assert_array_equal(below, levels[:-1])  # each midpoint took the lower level


def test_partial_last_block_and_odd_count_pack_like_bitsandbytes(bnb):
    import torch

    for n in (64 * 3 + 10, 64 * 3 + 11):
        x = np.random.default_rng(n).normal(size=n).astype(np.float32)
        for quant_type, codebook in (("nf4", C.NF4), ("fp4", C.FP4_BNB)):
            packed, state = bnb.quantize_4bit(torch.from_numpy(x), blocksize=64, quant_type=quant_type)
            q = C.quantize_blockwise(x, codebook, 64)
            assert q.absmax.size == 4
            np.testing.assert_array_equal(q.absmax, state.absmax.numpy())
            np.testing.assert_array_equal(q.packed(), packed.numpy().ravel())


def _bnb_4bit(bnb, x: np.ndarray, quant_type: str, block_size: int = 64):
    """bitsandbytes' packed codes, absmax and dequantized values of float32 ``x``."""
    import torch

    packed, state = bnb.quantize_4bit(torch.from_numpy(x), blocksize=block_size, quant_type=quant_type)
    values = bnb.dequantize_4bit(packed, state).numpy().reshape(x.shape)  # (n, 1) for tiny n
    return packed.numpy().ravel(), state.absmax.numpy(), values


@pytest.mark.parametrize("quant_type, codebook", [("nf4", C.NF4), ("fp4", C.FP4_BNB)])
def test_zero_tail_stores_the_clamped_absmax_like_bitsandbytes(bnb, quant_type, codebook):
    # the example: a partial block of zeros stores float32(1e-38), not 0
    x = np.concatenate([np.linspace(-1, 1, 64), np.zeros(3)]).astype(np.float32)
    packed, absmax, values = _bnb_4bit(bnb, x, quant_type)
    q = C.quantize_blockwise(x, codebook, 64)
    assert absmax[-1] == np.float32(1e-38) and q.absmax[-1] == np.float32(1e-38)
    np.testing.assert_array_equal(q.absmax, absmax)
    np.testing.assert_array_equal(q.packed(), packed)
    np.testing.assert_array_equal(q.dequantize(), values)


@pytest.mark.parametrize("quant_type, codebook", [("nf4", C.NF4), ("fp4", C.FP4_BNB)])
def test_tiny_tail_is_scaled_by_1e38_like_bitsandbytes(bnb, quant_type, codebook):
    # a tail below 1e-38 is divided by 1e-38: unclamped, it would dequantize 10x apart
    x = np.concatenate([np.linspace(-1, 1, 64), np.float32([1e-39, -1e-39, 5e-40])]).astype(np.float32)
    packed, absmax, values = _bnb_4bit(bnb, x, quant_type)
    q = C.quantize_blockwise(x, codebook, 64)
    np.testing.assert_array_equal(q.absmax, absmax)
    np.testing.assert_array_equal(q.packed(), packed)
    np.testing.assert_array_equal(q.dequantize(), values)
    assert abs(q.dequantize()[-3]) < 2e-39  # not the 1e-38 of a tail scaled to its own absmax


def test_whole_zero_block_keeps_absmax_zero_and_8bit_tail_is_unclamped(bnb):
    import torch

    x = np.concatenate([np.zeros(64), np.linspace(-1, 1, 64), np.zeros(3)]).astype(np.float32)
    q4 = C.quantize_blockwise(x, C.NF4, 64)
    assert q4.absmax[0] == 0.0 and q4.absmax[-1] == np.float32(1e-38)
    _, state = bnb.quantize_blockwise(torch.from_numpy(x), blocksize=64)
    q8 = C.quantize_blockwise(x, C.dynamic_map(), 64)
    assert state.absmax.numpy()[-1] == 0.0 and q8.absmax[-1] == 0.0  # 8-bit: no clamp


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 400),
    block_size=st.sampled_from([32, 64, 128]),
    scale=st.sampled_from([1.0, 1e-3, 1e-36, 1e-39, 0.0]),
    quant_type=st.sampled_from(["nf4", "fp4"]),
    seed=st.integers(0, 2**16),
)
def test_random_lengths_equal_bitsandbytes(n, block_size, scale, quant_type, seed):
    bnb = pytest.importorskip("bitsandbytes.functional")
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n).astype(np.float32)
    x[-(n % block_size or block_size):] *= np.float32(scale)  # the last block, partial or not
    codebook = C.NF4 if quant_type == "nf4" else C.FP4_BNB
    packed, absmax, values = _bnb_4bit(bnb, x, quant_type, block_size)
    q = C.quantize_blockwise(x, codebook, block_size)
    np.testing.assert_array_equal(q.absmax, absmax)
    np.testing.assert_array_equal(q.packed(), packed)
    # the values agree up to the sign of zero (bitsandbytes' FP4 code 8, see FP4_BNB)
    np.testing.assert_array_equal(q.dequantize(), values)


@pytest.mark.parametrize("n, sign", [(64, False), (63, False), (8, True), (100, True)])
def test_fp4_code_8_sign_in_bitsandbytes_depends_on_the_last_dimension(bnb, n, sign):
    # documents the claim in FP4_BNB's comment (bitsandbytes 0.50.2 on CPU)
    import torch

    if torch.backends.cpu.get_cpu_capability() != "AVX512" and n % 16 == 0:
        pytest.skip("the +0.0 of the vectorised kernel is measured on AVX-512 CPUs")
    packed = torch.full(((n + 1) // 2, 1), 0x88, dtype=torch.uint8)  # every code is 8
    state = bnb.QuantState(absmax=torch.ones(-(-n // 64)), shape=torch.Size([1, n]),
                           code=bnb.get_4bit_type("fp4", device="cpu"), blocksize=64,
                           quant_type="fp4", dtype=torch.float32)
    values = bnb.dequantize_4bit(packed, state).numpy()
    assert np.all(values == 0.0) and np.all(np.signbit(values) == sign)
    assert not np.signbit(C.FP4_BNB[8])


def _bnb_cpu_lut_codes(normed: np.ndarray, code: np.ndarray) -> np.ndarray:
    """bitsandbytes' CPU 8-bit quantizer: a 65536-entry lookup table, not a nearest search."""
    midpoints = np.float32(0.5) * (code[:-1] + code[1:])
    grid = np.float32(-1) + (np.float32(2) * np.arange(65536, dtype=np.float32)) / np.float32(65535)
    table = np.searchsorted(midpoints, grid, side="left")
    t = (np.clip(normed, -1, 1).astype(np.float32) + np.float32(1)) * np.float32(0.5)
    index = (t * np.float32(65535) + np.float32(0.5)).astype(np.uint16)
    return table[index]


def test_double_quantization_against_bitsandbytes(bnb):
    import torch

    w = _weights((256, 512), seed=1)
    packed, state = bnb.quantize_4bit(torch.from_numpy(w), blocksize=64, quant_type="nf4",
                                      compress_statistics=True)
    q = C.quantize_blockwise(w, C.NF4, 64, double_quant=True)
    # 4-bit codes come from the exact scales, so they are identical
    np.testing.assert_array_equal(q.packed(), packed.numpy().ravel())
    # the offset is the mean of the scales: torch's float32 sum may differ by an ulp
    assert q.absmax_offset == pytest.approx(state.offset.item(), rel=2e-7)
    inner = q.absmax_quantized
    assert inner.block_size == 256 and inner.codebook.size == 256
    np.testing.assert_allclose(inner.absmax, state.state2.absmax.numpy(), rtol=1e-6)
    # the 8-bit codes: our nearest rule vs bitsandbytes' lookup table
    exact_scales = np.abs(w.reshape(-1, 64)).max(axis=1)
    centred = (exact_scales - np.float32(q.absmax_offset)).reshape(-1, 256)
    normed = centred * (np.float32(1) / inner.absmax)[:, None]
    np.testing.assert_array_equal(_bnb_cpu_lut_codes(normed, C.dynamic_map()).ravel(), state.absmax.numpy())
    theirs = state.absmax.numpy().astype(np.int64)
    ours = inner.codes.astype(np.int64)
    differ = ours != theirs
    assert differ.mean() < 0.01
    dmap = C.dynamic_map()
    assert np.all(np.abs(dmap[ours] - normed.ravel()) <= np.abs(dmap[theirs] - normed.ravel()))
    # dequantization: the reconstructed scales, within the 8-bit map's precision
    bnb_scales = (bnb.dequantize_blockwise(state.absmax, state.state2) + state.offset).numpy()
    np.testing.assert_allclose(q.absmax[~differ], bnb_scales[~differ], rtol=1e-5)
    np.testing.assert_allclose(q.dequantize(), bnb.dequantize_4bit(packed, state).numpy(),
                               atol=0.02 * np.abs(w).max())


def test_bits_per_value_with_and_without_double_quantization():
    w = np.random.default_rng(2).normal(size=64 * 256 * 4)
    assert C.quantize_blockwise(w, C.NF4, 64).bits_per_value == 4.5
    dq = C.quantize_blockwise(w, C.NF4, 64, double_quant=True)
    expected = 4 + 8 / 64 + 32 / (64 * 256) + 32 / w.size  # + one float32 offset
    assert dq.bits_per_value == pytest.approx(expected)
    assert round(dq.bits_per_value, 3) == 4.127
    assert C.quantize_blockwise(w, C.dynamic_map(), 256).bits_per_value == 8 + 32 / 256


def test_double_quantization_error_is_small():
    w = np.random.default_rng(3).normal(size=(64, 1024))
    single = C.quantize_blockwise(w, C.NF4).dequantize()
    double = C.quantize_blockwise(w, C.NF4, double_quant=True).dequantize()
    err_single = np.mean((single - w) ** 2)
    err_double = np.mean((double - w) ** 2)
    assert err_single <= err_double < 1.01 * err_single


def test_pack_4bit_high_nibble_first_and_round_trip():
    np.testing.assert_array_equal(C.pack_4bit([1, 2, 15, 0]), [0x12, 0xF0])
    codes = np.random.default_rng(4).integers(0, 16, size=100)
    np.testing.assert_array_equal(C.unpack_4bit(C.pack_4bit(codes)), codes)
    with pytest.raises(ValueError, match="even"):
        C.pack_4bit([1, 2, 3])
    odd = C.quantize_blockwise(np.array([0.5, -1.0, 0.25]), C.NF4, 64)
    assert odd.packed().size == 2 and odd.packed()[1] & 0x0F == 7  # padded with the code of 0.0
    with pytest.raises(ValueError, match="at most 16 levels"):
        C.quantize_blockwise(np.ones(4), C.dynamic_map(), 4).packed()


def test_blockwise_bad_inputs():
    x = np.ones(64)
    with pytest.raises(ValueError, match="2 to 256 levels"):
        C.quantize_blockwise(x, [1.0])
    with pytest.raises(ValueError, match="2 to 256 levels"):
        C.quantize_blockwise(x, np.linspace(-1, 1, 300))
    with pytest.raises(ValueError, match="2 to 256 levels"):
        C.quantize_blockwise(x, C.NF4.reshape(4, 4))
    with pytest.raises(ValueError, match="finite"):
        C.quantize_blockwise(x, [np.nan, 1.0])
    with pytest.raises(ValueError, match="block_size must be an integer from 1 to"):
        C.quantize_blockwise(x, C.NF4, 0)
    with pytest.raises(TypeError, match="block_size"):
        C.quantize_blockwise(x, C.NF4, 64.0)
    x[5] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        C.quantize_blockwise(x, C.NF4)
    with pytest.raises(ValueError, match="NaN"):
        C.nearest_code([np.nan], C.NF4)
    with pytest.raises(ValueError, match="empty"):
        C.quantize_blockwise(np.array([]), C.NF4)


@pytest.mark.parametrize("bad", ["no", 0, 1, None])
def test_boolean_flags_must_be_true_or_false(bad):
    with pytest.raises(TypeError, match=rf"^double_quant must be True or False, got {bad!r}$"):
        C.quantize_blockwise(np.ones(64), C.NF4, double_quant=bad)
    with pytest.raises(TypeError, match=rf"^signed must be True or False, got {bad!r}$"):
        C.dynamic_map(signed=bad)
    assert C.quantize_blockwise(np.ones(64), C.NF4, double_quant=np.True_).absmax_quantized is not None


def test_inputs_that_used_to_give_garbage_or_a_confusing_error():
    # complex values were compared by their real part; strings failed inside numpy
    with pytest.raises(TypeError, match="real numbers"):
        C.nearest_code([0.5 + 1j], C.NF4)
    with pytest.raises(TypeError, match="real numbers"):
        C.nearest_code(["0.5"], C.NF4)
    # ml_dtypes floats stay accepted
    ml_dtypes = pytest.importorskip("ml_dtypes")
    np.testing.assert_array_equal(
        C.nearest_code(np.array([0.3, -0.2]).astype(ml_dtypes.bfloat16), C.NF4), [11, 5]
    )
    # 1e300 became inf in float32, then inf/inf = NaN: "x contains NaN"
    with pytest.raises(ValueError, match="float32 range"):
        C.quantize_blockwise(np.array([1e300, 1.0]), C.NF4)
    # eps=inf gave all-zero codes; tol=inf stopped after one iteration, "converged"
    with pytest.raises(ValueError, match="eps must be a positive finite number"):
        C.ternary_quantize([1.0, -1.0], eps=np.inf)
    with pytest.raises(TypeError, match="eps"):
        C.ternary_quantize([1.0, -1.0], eps="small")
    with pytest.raises(ValueError, match="tol must be a positive finite number"):
        C.lloyd_max(bits=2, tol=np.inf)
    with pytest.raises(ValueError, match="w contains 1 NaN"):  # the message names the argument
        C.ternary_quantize([1.0, np.nan])


# --------------------------------------------------------------------------- ternary / binary


def test_ternary_matches_bitnet_formula():
    torch = pytest.importorskip("torch")
    w = np.random.default_rng(5).normal(size=(32, 64)).astype(np.float32)
    codes, gamma = C.ternary_quantize(w)
    assert set(np.unique(codes)) <= {-1, 0, 1} and codes.dtype == np.int8
    assert gamma == pytest.approx(np.abs(w).mean())
    tw = torch.from_numpy(w.astype(np.float64))
    reference = (tw / (tw.abs().mean() + 1e-5)).round().clamp(-1, 1).numpy()  # torch.round: half to even
    np.testing.assert_array_equal(codes, reference)
    # an exact half rounds to even (0), 1.5 clips to 1
    codes, gamma = C.ternary_quantize([0.5, -0.5, 1.5, -2.5], eps=1e-300)
    assert gamma == 1.25
    np.testing.assert_array_equal(codes, [0, 0, 1, -1])
    np.testing.assert_array_equal(C.ternary_quantize(np.zeros(4))[0], 0)
    with pytest.raises(ValueError, match="eps"):
        C.ternary_quantize(w, eps=0)


def test_ternary_and_binary_leave_their_input_unchanged():
    w = np.random.default_rng(4).normal(size=(32, 16))
    kept = w.copy()
    C.ternary_quantize(w)
    C.binary_quantize(w)
    np.testing.assert_array_equal(w, kept)
    assert C.binary_quantize(w)[0].dtype == np.int8


def test_binary_sign_and_optimal_scale():
    codes, scale = C.binary_quantize([0.5, 0.0, -1.5])
    np.testing.assert_array_equal(codes, [1, 1, -1])
    assert scale == pytest.approx(2.0 / 3)
    w = np.random.default_rng(6).normal(size=1000)
    codes, scale = C.binary_quantize(w)
    err = [np.sum((w - s * codes) ** 2) for s in (0.98 * scale, scale, 1.02 * scale)]
    assert err[1] < err[0] and err[1] < err[2]
    with pytest.raises(ValueError, match="NaN"):
        C.binary_quantize([np.nan])


# --------------------------------------------------------------------------- Lloyd-Max


def test_lloyd_max_reproduces_max_1960():
    # Max (1960), Table I: MSE of the optimum quantizer for N(0, 1)
    results = {bits: C.lloyd_max(bits=bits) for bits in (1, 2, 3, 4)}
    assert all(r.converged for r in results.values())
    assert round(results[1].mse, 4) == 0.3634  # 1 - 2/pi
    assert results[1].mse == pytest.approx(1 - 2 / np.pi, abs=1e-12)
    assert round(results[2].mse, 4) == 0.1175
    assert abs(results[3].mse - 0.03454) < 1e-5  # exact: 0.0345478
    # Max printed 0.009497; the exact optimum (and Max's own levels) give 0.009501
    assert results[4].mse == pytest.approx(0.009497, rel=1e-3)
    assert round(results[4].mse, 6) == 0.009501
    np.testing.assert_allclose(results[2].levels, [-1.510, -0.4528, 0.4528, 1.510], atol=1e-3)
    np.testing.assert_allclose(results[2].thresholds, [-0.9816, 0.0, 0.9816], atol=1e-4)
    max_levels_4bit = [0.1284, 0.3881, 0.6568, 0.9424, 1.256, 1.618, 2.069, 2.733]
    np.testing.assert_allclose(results[4].levels[8:], max_levels_4bit, atol=6e-4)


def test_lloyd_max_mse_is_the_exact_integral():
    r = C.lloyd_max(bits=3)
    edges = np.concatenate([[-np.inf], r.thresholds, [np.inf]])
    direct = sum(
        integrate.quad(lambda x, y=y: (x - y) ** 2 * norm.pdf(x), a, b)[0]
        for a, b, y in zip(edges[:-1], edges[1:], r.levels)
    )
    assert r.mse == pytest.approx(direct, rel=1e-9)
    np.testing.assert_allclose(r.levels, -r.levels[::-1], atol=1e-12)  # symmetric


def test_kmeans_on_samples_approaches_the_density_result():
    x = np.random.default_rng(7).normal(size=200_000)
    empirical = C.kmeans_codebook(x, 3)
    exact = C.lloyd_max(bits=3)
    assert empirical.converged
    # the MSE surface is flat near the optimum: sampling noise moves the levels by a few 0.01
    np.testing.assert_allclose(empirical.levels, exact.levels, atol=0.05)
    assert empirical.mse == pytest.approx(exact.mse, rel=0.01)
    exact_levels_on_samples = np.mean((x - exact.levels[C.nearest_code(x, exact.levels)]) ** 2)
    assert empirical.mse <= exact_levels_on_samples  # k-means is optimal for its samples
    direct = np.mean((x - empirical.levels[C.nearest_code(x, empirical.levels)]) ** 2)
    assert empirical.mse == pytest.approx(direct, rel=1e-12)
    # Lloyd-Max beats NF4 (equal-area levels) in MSE on normal data, at the same 16 levels
    scale = np.abs(x).max()
    nf4 = C.NF4[C.nearest_code(x / scale, C.NF4)] * scale
    lloyd4 = C.lloyd_max(x, bits=4)
    assert lloyd4.mse < np.mean((x - nf4) ** 2)


def test_lloyd_max_bad_inputs():
    with pytest.raises(ValueError, match="from 1 to 8"):
        C.lloyd_max(bits=0)
    with pytest.raises(ValueError, match="from 1 to 8"):
        C.lloyd_max(bits=9)
    with pytest.raises(TypeError, match="from 1 to 8"):
        C.lloyd_max(bits=2.0)
    with pytest.raises(ValueError, match="density must be 'normal'"):
        C.lloyd_max(bits=2, density="laplace")
    with pytest.raises(ValueError, match="distinct samples"):
        C.lloyd_max([1.0, 1.0, 2.0], bits=2)
    with pytest.raises(ValueError, match="NaN"):
        C.kmeans_codebook([1.0, np.nan, 2.0, 3.0], 1)
    with pytest.raises(ValueError, match="tol"):
        C.lloyd_max(bits=2, tol=0)
    with pytest.raises(ValueError, match="needs samples"):
        C.kmeans_codebook(None, 2)


def test_docstring_examples():
    import doctest

    import support.quant.codebooks as module

    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0


# --------------------------------------------------------------------------- bad input (issue 15)


def test_blockwise_quantized_fields_must_fit_together():
    from support.quant.codebooks import NF4, BlockwiseQuantized, quantize_blockwise

    q = quantize_blockwise(np.linspace(-1.0, 1.0, 128).reshape(2, 64), NF4, block_size=64)
    fields = dict(vars(q))
    np.testing.assert_array_equal(BlockwiseQuantized(**fields).dequantize(), q.dequantize())
    with pytest.raises(ValueError, match=r"^codes has shape \(1, 64\), but shape is \(2, 64\)"):
        BlockwiseQuantized(**{**fields, "codes": q.codes[:1]})
    with pytest.raises(ValueError, match=r"^absmax has shape \(1,\); 128 values in blocks of block_size=64 need \(2,\)"):
        BlockwiseQuantized(**{**fields, "absmax": q.absmax[:1]})
    with pytest.raises(ValueError, match=r"^codes must index the codebook"):
        BlockwiseQuantized(**{**fields, "codes": q.codes + 16})


def test_lloyd_max_result_fields_must_fit_together():
    from support.quant.codebooks import LloydMaxResult, kmeans_codebook

    r = kmeans_codebook(np.random.default_rng(0).normal(size=1000), 2)
    assert LloydMaxResult(**vars(r)).mse == r.mse
    with pytest.raises(ValueError, match="^thresholds has shape"):
        LloydMaxResult(**{**vars(r), "thresholds": r.thresholds[:1]})
    with pytest.raises(TypeError, match="^converged must be True or False"):
        LloydMaxResult(**{**vars(r), "converged": "yes"})


def test_nearest_code_refuses_booleans_and_takes_tensors():
    torch = pytest.importorskip("torch")
    from support.quant.codebooks import nearest_code

    with pytest.raises(TypeError, match="^x must hold real numbers"):
        nearest_code(np.array([True, False]), [-1.0, 0.0, 1.0])
    np.testing.assert_array_equal(nearest_code(torch.tensor([-0.6, 0.5]), [-1.0, 0.0, 1.0]), [0, 1])


# --------------------------------------------------------------------------- weighted k-means


def test_kmeans_unit_weights_equal_unweighted():
    x = np.random.default_rng(3).normal(size=5000)
    plain, weighted = C.kmeans_codebook(x, 3), C.kmeans_codebook(x, 3, weights=np.ones_like(x))
    np.testing.assert_allclose(weighted.levels, plain.levels, rtol=0, atol=1e-12)
    assert weighted.mse == pytest.approx(plain.mse, rel=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_kmeans_weighted_levels_are_weighted_centroids(seed):
    # integer weights act as repeated samples: at the result, each level is the mean of the
    # repeated samples in its cell, and the MSE is theirs
    rng = np.random.default_rng(seed)
    x = rng.laplace(size=400)
    counts = rng.integers(0, 4, size=x.size)
    counts[:20] = 1  # enough distinct samples survive
    r = C.kmeans_codebook(x, 2, weights=counts.astype(float), tol=1e-13)
    assert r.converged
    repeated = np.repeat(x, counts)
    cell = np.searchsorted(r.thresholds, repeated, side="left")
    centroids = [repeated[cell == k].mean() for k in range(4)]
    np.testing.assert_allclose(r.levels, centroids, rtol=0, atol=1e-9)
    assert r.mse == pytest.approx(np.mean((repeated - r.levels[cell]) ** 2), rel=1e-9)


def test_kmeans_absmax_weights_minimise_the_tensor_error():
    # blocks with one huge value: weighting by absmax**2 makes the normalised MSE the tensor's MSE
    w = np.random.default_rng(4).normal(size=(512, 64))
    w[::8, 0] = 60.0
    absmax = np.abs(w).max(axis=1, keepdims=True)
    normed, mass = w / absmax, np.broadcast_to(absmax**2, w.shape)
    weighted = C.kmeans_codebook(normed, 4, weights=mass, tol=1e-10)
    plain = C.kmeans_codebook(normed, 4, tol=1e-10)

    def tensor_mse(levels):
        return np.mean((w - C.quantize_blockwise(w, levels.astype(np.float32)).dequantize()) ** 2)

    assert weighted.mse * mass.mean() == pytest.approx(tensor_mse(weighted.levels), rel=1e-3)
    assert tensor_mse(weighted.levels) < tensor_mse(plain.levels)


def test_kmeans_weights_are_validated():
    x = np.arange(10.0)
    with pytest.raises(ValueError, match="shape of samples"):
        C.kmeans_codebook(x, 1, weights=np.ones(9))
    with pytest.raises(ValueError, match="non-negative"):
        C.kmeans_codebook(x, 1, weights=-np.ones(10))
    with pytest.raises(ValueError, match="positive sum"):
        C.kmeans_codebook(x, 1, weights=np.zeros(10))
    with pytest.raises(ValueError, match="weights"):
        C.kmeans_codebook(x, 1, weights=np.full(10, np.nan))
