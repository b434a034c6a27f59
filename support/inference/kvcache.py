"""The KV cache: its size for every attention variant, and its quantization per channel or per token.

During decoding, a transformer keeps the keys and values of every past token of every layer (the
*KV cache*) so that each new token attends to them without recomputing them.  Its size is

- multi-head, grouped-query and multi-query attention (MHA, GQA, MQA):
  ``2 · layers · kv_heads · head_dim`` values per token (a key and a value per KV head);
- multi-head latent attention (MLA, DeepSeek-V2/V3): ``layers · latent_dim`` values per token,
  where ``latent_dim = kv_lora_rank + qk_rope_head_dim`` (one compressed latent shared by keys and
  values, plus the decoupled rotary key).

:func:`quantize_kv` quantizes a cached tensor of shape ``(tokens, channels)`` with one scale per
channel (over tokens), per token (over channels) or per tensor, to an integer grid (through
:mod:`support.quant.uniform`) or to an FP8 format (through :mod:`support.numbers.formats`); KIVI
(Liu et al., 2024) quantizes keys per channel and values per token.  :func:`attention` computes
``softmax(Q Kᵀ / √d) V`` head by head, so that a quantized cache can be judged by the error of the
attention output rather than of the cached tensor.
"""

from __future__ import annotations

import math

import numpy as np

from support._validate import flag, integer_in_range, one_of, positive_int, positive_number, real_array
from support.numbers.formats import get_format, round_to
from support.numbers.scaling import scale_for_amax
from support.quant.uniform import fake_quantize

__all__ = ["kv_values_per_token", "kv_cache_bytes", "quantize_kv", "attention", "GRANULARITIES"]

GRANULARITIES = ("channel", "token", "tensor")
_FLOAT_FORMATS = ("float8_e4m3fn", "float8_e5m2")
_MAX_SIZE = 10**7      # layers, heads, dimensions: far above any published model


def kv_values_per_token(layers: int, kv_heads: int | None = None, head_dim: int | None = None, *,
                        latent_dim: int | None = None) -> int:
    """Numbers the KV cache stores per token, over all layers.

    Give ``kv_heads`` and ``head_dim`` for MHA (``kv_heads`` = query heads), GQA (fewer KV heads
    than query heads) or MQA (``kv_heads=1``): ``2 · layers · kv_heads · head_dim``.  Give
    ``latent_dim`` instead for multi-head latent attention: ``layers · latent_dim``.

    Parameters
    ----------
    layers : int
        Transformer blocks (``num_hidden_layers``).
    kv_heads : int, optional
        Key/value heads (``num_key_value_heads``).
    head_dim : int, optional
        Dimension of one head (``hidden_size / num_attention_heads`` unless the config says).
    latent_dim : int, optional
        MLA: ``kv_lora_rank + qk_rope_head_dim``.

    Returns
    -------
    int

    Examples
    --------
    >>> kv_values_per_token(32, 8, 128)           # Llama-3 8B (GQA, 8 KV heads)
    65536
    >>> kv_values_per_token(61, latent_dim=576)   # DeepSeek-V3 (MLA, 512 + 64)
    35136
    """
    layers = integer_in_range(layers, "layers", 1, _MAX_SIZE)
    if latent_dim is not None:
        if kv_heads is not None or head_dim is not None:
            raise ValueError("give either kv_heads and head_dim (MHA/GQA/MQA) or latent_dim (MLA), not both")
        return layers * integer_in_range(latent_dim, "latent_dim", 1, _MAX_SIZE)
    if kv_heads is None or head_dim is None:
        raise ValueError("kv_heads and head_dim are both needed for MHA/GQA/MQA (or give latent_dim for MLA)")
    kv_heads = integer_in_range(kv_heads, "kv_heads", 1, _MAX_SIZE)
    head_dim = integer_in_range(head_dim, "head_dim", 1, _MAX_SIZE)
    return 2 * layers * kv_heads * head_dim


def kv_cache_bytes(values_per_token: int, tokens: int, bits_per_value: float = 16.0, *, batch: int = 1) -> float:
    """Bytes of a KV cache: ``values_per_token · tokens · batch · bits_per_value / 8``.

    Parameters
    ----------
    values_per_token : int
        From :func:`kv_values_per_token`.
    tokens : int
        Context length (prompt and generated tokens).
    bits_per_value : float
        Bits per cached value, scales included where they are counted (16 for BF16, 8 for FP8/INT8,
        4 for INT4, 4.5 for INT4 with a 16-bit scale per 32 values...).
    batch : int
        Sequences cached at once.

    Returns
    -------
    float

    Examples
    --------
    >>> kv_cache_bytes(kv_values_per_token(32, 8, 128), 8192) / 2**30   # GiB, BF16
    1.0
    """
    values_per_token = integer_in_range(values_per_token, "values_per_token", 1, 10**12)
    tokens = integer_in_range(tokens, "tokens", 1, 10**9)
    batch = integer_in_range(batch, "batch", 1, 10**6)
    bits_per_value = positive_number(bits_per_value, "bits_per_value")
    if bits_per_value > 64:
        raise ValueError(f"bits_per_value must be at most 64, got {bits_per_value}")
    return float(values_per_token) * tokens * batch * bits_per_value / 8


def _check_format(fmt: object) -> tuple[str, int | None]:
    """``("int", bits)`` for 'int2' ... 'int8', ``(name, None)`` for an FP8 format."""
    allowed = tuple(f"int{b}" for b in range(2, 9)) + _FLOAT_FORMATS
    name = one_of(fmt, "fmt", allowed)
    return (name, int(name[3:])) if name.startswith("int") else (name, None)


def _groups(x: np.ndarray, granularity: str, group_size: int | None) -> np.ndarray:
    """View ``x`` (tokens, channels) as (..., members) so that each group is one row of members."""
    tokens, channels = x.shape
    if granularity == "tensor":
        return x.reshape(1, -1)
    if granularity == "token":
        g = channels if group_size is None else group_size
        return x.reshape(tokens * channels // g, g)
    g = tokens if group_size is None else group_size      # per channel: groups run along tokens
    return x.reshape(tokens // g, g, channels).transpose(0, 2, 1).reshape(-1, g)


def _ungroup(rows: np.ndarray, shape: tuple[int, int], granularity: str, group_size: int | None) -> np.ndarray:
    tokens, channels = shape
    if granularity != "channel":
        return rows.reshape(shape)
    g = tokens if group_size is None else group_size
    return rows.reshape(tokens // g, channels, g).transpose(0, 2, 1).reshape(shape)


def quantize_kv(x: object, fmt: str = "int8", granularity: str = "channel", *,
                group_size: int | None = None, symmetric: bool | None = None) -> np.ndarray:
    """Fake-quantize a cached key or value tensor of shape ``(tokens, channels)``.

    Parameters
    ----------
    x : array_like
        Keys or values of one layer, ``(tokens, channels)``, channels = heads · head_dim; finite.
    fmt : str
        ``'int2'`` to ``'int8'`` (uniform grid of :func:`support.quant.uniform.quantize`, float16
        scales) or ``'float8_e4m3fn'`` / ``'float8_e5m2'`` (a float32 scale maps the group's amax
        onto the format's largest value, then :func:`support.numbers.formats.round_to`).
    granularity : {'channel', 'token', 'tensor'}
        Who shares a scale: each channel over the tokens (KIVI's keys), each token over the
        channels (KIVI's values), or the whole tensor.
    group_size : int, optional
        ``'channel'``: runs of this many tokens share a channel's scale (KIVI's key groups);
        ``'token'``: runs of this many channels share a token's scale (a head_dim, say).  Must
        divide that length.  ``None``: the whole axis.  Not allowed with ``'tensor'``.
    symmetric : bool, optional
        Integers only: zero-point 0 (True) or an integer zero-point covering [min, max] (False).
        ``None`` (default): asymmetric for integers, as KIVI; FP8 is always symmetric.

    Returns
    -------
    numpy.ndarray
        The dequantized values, float64, the shape of ``x``.

    Examples
    --------
    >>> k = np.array([[10.0, 0.1], [-9.0, 0.2], [11.0, -0.1]])   # channel 0 is an outlier
    >>> quantize_kv(k, "int4", "channel").round(2)
    array([[10.66,  0.1 ],
           [-9.33,  0.2 ],
           [10.66, -0.1 ]])
    >>> quantize_kv(k, "int4", "token").round(2)                 # the small channel is lost
    array([[10. ,  0. ],
           [-9.2,  0. ],
           [11.1,  0. ]])
    """
    arr = real_array(x, "x").astype(np.float64)
    if arr.ndim != 2:
        raise ValueError(f"x must be 2-D (tokens, channels), got {arr.ndim}-D")
    name, bits = _check_format(fmt)
    granularity = one_of(granularity, "granularity", GRANULARITIES)
    group_size = positive_int(group_size, "group_size", allow_none=True)
    if group_size is not None:
        if granularity == "tensor":
            raise ValueError("group_size has no meaning with granularity='tensor'; allowed: None")
        length = arr.shape[0] if granularity == "channel" else arr.shape[1]
        if length % group_size:
            raise ValueError(f"group_size {group_size} does not divide the {length} "
                             f"{'tokens' if granularity == 'channel' else 'channels'} of x; allowed: a divisor")
    if symmetric is not None:
        symmetric = flag(symmetric, "symmetric")
    if bits is None and symmetric is False:
        raise ValueError(f"{name} is a symmetric format; allowed symmetric: None or True")
    rows = _groups(arr, granularity, group_size)
    if bits is not None:
        out = fake_quantize(rows, bits, axis=0, symmetric=bool(symmetric), scale_dtype="float16")
    else:
        scale = scale_for_amax(np.abs(rows).max(axis=1, keepdims=True), get_format(name)).astype(np.float32)
        out = np.asarray(round_to(rows * scale, name, saturate=True), dtype=np.float64) / scale
    return _ungroup(np.asarray(out, dtype=np.float64), arr.shape, granularity, group_size)


def attention(q: object, k: object, v: object, heads: int) -> np.ndarray:
    """Scaled dot-product attention, head by head: ``softmax(Q Kᵀ / √d) V`` (no mask).

    Parameters
    ----------
    q : array_like
        Queries, ``(queries, heads · d)``.
    k, v : array_like
        Keys and values, ``(tokens, heads · d)``.
    heads : int
        Number of heads; must divide the number of channels.

    Returns
    -------
    numpy.ndarray
        ``(queries, heads · d)``, float64; head ``h`` in columns ``h·d`` to ``(h+1)·d``.

    Examples
    --------
    >>> q = np.array([[1.0, 0.0]]); k = np.array([[1.0, 0.0], [0.0, 1.0]]); v = np.array([[2.0, 0.0], [0.0, 2.0]])
    >>> attention(q, k, v, heads=1).round(4)           # weights softmax([1, 0] / √2)
    array([[1.3395, 0.6605]])
    """
    q = real_array(q, "q").astype(np.float64)
    k = real_array(k, "k").astype(np.float64)
    v = real_array(v, "v").astype(np.float64)
    heads = integer_in_range(heads, "heads", 1, _MAX_SIZE)
    for name, a in (("q", q), ("k", k), ("v", v)):
        if a.ndim != 2:
            raise ValueError(f"{name} must be 2-D (tokens, heads * head_dim), got {a.ndim}-D")
    if not (q.shape[1] == k.shape[1] == v.shape[1]) or k.shape[0] != v.shape[0]:
        raise ValueError(f"shapes do not fit: q {q.shape}, k {k.shape}, v {v.shape}; "
                         "allowed: the same channels, and as many keys as values")
    if q.shape[1] % heads:
        raise ValueError(f"heads={heads} does not divide the {q.shape[1]} channels")
    d = q.shape[1] // heads
    qh, kh, vh = (a.reshape(a.shape[0], heads, d).transpose(1, 0, 2) for a in (q, k, v))
    scores = qh @ kh.transpose(0, 2, 1) / math.sqrt(d)
    scores -= scores.max(axis=-1, keepdims=True)
    weights = np.exp(scores)
    weights /= weights.sum(axis=-1, keepdims=True)
    return (weights @ vh).transpose(1, 0, 2).reshape(q.shape[0], heads * d)
