"""support.inference.kvcache: cache sizes by hand and for published configurations, KV quantizers
against support.quant.uniform / ml_dtypes and against each other, attention against torch."""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from support.inference.kvcache import attention, kv_cache_bytes, kv_values_per_token, quantize_kv
from support.quant.uniform import fake_quantize


@pytest.mark.parametrize("layers, kv_heads, head_dim, expected", [
    (32, 32, 128, 262_144),     # MHA, 32 layers x 32 heads x 128 (Llama-2 7B shape)
    (32, 8, 128, 65_536),       # GQA, Llama-3 8B
    (80, 8, 128, 163_840),      # GQA, Llama-3 70B
    (32, 1, 128, 8_192),        # MQA
])
def test_values_per_token(layers, kv_heads, head_dim, expected):
    assert kv_values_per_token(layers, kv_heads, head_dim) == expected


def test_mla_values_and_gqa_ratio():
    assert kv_values_per_token(61, latent_dim=512 + 64) == 61 * 576
    assert kv_values_per_token(32, 32, 128) // kv_values_per_token(32, 8, 128) == 4


def test_practice_question_8():
    """32 layers, 32 heads, d = 128, 32K tokens, 16-bit: 16 GiB."""
    assert kv_cache_bytes(kv_values_per_token(32, 32, 128), 32 * 1024, 16) == 16 * 2**30


@given(st.integers(1, 10**5), st.integers(1, 10**5), st.sampled_from([4, 8, 16]), st.integers(1, 64))
@settings(max_examples=50, deadline=None)
def test_bytes_linear(values, tokens, bits, batch):
    b = kv_cache_bytes(values, tokens, bits, batch=batch)
    assert b == values * tokens * batch * bits / 8
    assert kv_cache_bytes(values, 2 * tokens, bits, batch=batch) == 2 * b


@pytest.mark.parametrize("kwargs", [dict(layers=32), dict(layers=32, kv_heads=8),
                                    dict(layers=32, kv_heads=8, head_dim=128, latent_dim=576),
                                    dict(layers=0, kv_heads=8, head_dim=128)])
def test_values_per_token_rejects(kwargs):
    with pytest.raises(ValueError):
        kv_values_per_token(**kwargs)


@pytest.mark.parametrize("bad", [dict(bits_per_value=0), dict(bits_per_value=65), dict(tokens=0), dict(batch=0)])
def test_bytes_rejects(bad):
    args = dict(values_per_token=10, tokens=10, bits_per_value=8, batch=1) | bad
    with pytest.raises(ValueError):
        kv_cache_bytes(args.pop("values_per_token"), args.pop("tokens"), args.pop("bits_per_value"), **args)


@pytest.fixture
def keys():
    rng = np.random.default_rng(0)
    k = rng.normal(size=(64, 32))
    k[:, 3] *= 20.0            # an outlier channel, as real keys have
    k[:, 7] += 5.0             # an offset channel
    return k


@pytest.mark.parametrize("bits", [4, 8])
def test_int_equals_uniform(keys, bits):
    """Per channel = one scale per column of the (tokens, channels) matrix; per token = per row."""
    np.testing.assert_array_equal(quantize_kv(keys, f"int{bits}", "channel"),
                                  fake_quantize(keys, bits, axis=1, symmetric=False))
    np.testing.assert_array_equal(quantize_kv(keys, f"int{bits}", "token", symmetric=True),
                                  fake_quantize(keys, bits, axis=0))
    np.testing.assert_array_equal(quantize_kv(keys, f"int{bits}", "tensor"),
                                  fake_quantize(keys, bits, symmetric=False))


def test_groups_equal_uniform_groups(keys):
    np.testing.assert_array_equal(quantize_kv(keys, "int4", "token", group_size=8, symmetric=True),
                                  fake_quantize(keys, 4, axis=1, group_size=8))
    np.testing.assert_array_equal(quantize_kv(keys, "int4", "channel", group_size=16, symmetric=True),
                                  fake_quantize(keys, 4, axis=0, group_size=16))


@pytest.mark.parametrize("granularity", ["channel", "token", "tensor"])
def test_fp8_matches_ml_dtypes(keys, granularity):
    """FP8: scale = 448 / amax of the group (float32), cast with ml_dtypes, scale back."""
    axis = {"channel": 0, "token": 1, "tensor": None}[granularity]
    amax = np.abs(keys).max(axis=axis, keepdims=True)
    scale = (448.0 / amax).astype(np.float32)
    expected = (keys * scale).astype(ml_dtypes.float8_e4m3fn).astype(np.float64) / scale
    np.testing.assert_array_equal(quantize_kv(keys, "float8_e4m3fn", granularity), expected)


def test_outlier_channel_favours_per_channel(keys):
    err = {g: np.mean((quantize_kv(keys, "int4", g) - keys) ** 2) for g in ("channel", "token", "tensor")}
    assert err["channel"] < err["token"] and err["channel"] < err["tensor"]


def test_more_bits_less_error(keys):
    errs = [np.mean((quantize_kv(keys, f"int{b}", "channel") - keys) ** 2) for b in range(2, 9)]
    assert all(a > b for a, b in zip(errs, errs[1:]))


@pytest.mark.parametrize("bad, exc", [
    (dict(fmt="int16"), ValueError), (dict(fmt="nf4"), ValueError), (dict(granularity="row"), ValueError),
    (dict(group_size=5), ValueError), (dict(granularity="tensor", group_size=8), ValueError),
    (dict(fmt="float8_e4m3fn", symmetric=False), ValueError), (dict(symmetric="no"), TypeError),
])
def test_quantize_kv_rejects(keys, bad, exc):
    with pytest.raises(exc):
        quantize_kv(keys, **({"fmt": "int8", "granularity": "channel"} | bad))


def test_quantize_kv_rejects_shapes():
    with pytest.raises(ValueError):
        quantize_kv(np.ones(5), "int8")
    with pytest.raises(ValueError):
        quantize_kv(np.array([[1.0, np.nan]]), "int8")


@pytest.mark.parametrize("heads", [1, 2, 4])
def test_attention_equals_torch(heads):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(heads)
    q, k, v = (rng.normal(size=(n, 16)) for n in (5, 9, 9))
    d = 16 // heads
    t = [torch.from_numpy(a.reshape(a.shape[0], heads, d).transpose(1, 0, 2).copy()) for a in (q, k, v)]
    ref = torch.nn.functional.scaled_dot_product_attention(*t).numpy().transpose(1, 0, 2).reshape(5, 16)
    np.testing.assert_allclose(attention(q, k, v, heads), ref, rtol=1e-12, atol=1e-12)


def test_attention_rejects():
    a = np.ones((3, 8))
    with pytest.raises(ValueError):
        attention(a, a, a, heads=3)
    with pytest.raises(ValueError):
        attention(a, np.ones((3, 4)), a, heads=1)
    with pytest.raises(ValueError):
        attention(a, a, np.ones((2, 8)), heads=1)
