"""Non-uniform codes: a codebook of levels, blockwise absmax scaling, and optimal codebooks.

A codebook quantizer stores each value as the *index* of the nearest level of
a small table (16 levels for 4 bits), scaled per block of values.  This module
holds:

- the two 4-bit tables of bitsandbytes: :data:`NF4` (NormalFloat, QLoRA) and
  :data:`FP4_BNB` (its FP4, in bitsandbytes' code order), and
  :func:`nf4_levels`, which rebuilds NF4 from normal quantiles;
- :func:`quantize_blockwise`: blockwise absmax quantization with any codebook,
  bit-compatible with ``bitsandbytes.functional.quantize_4bit`` on CPU,
  including double quantization of the scales with bitsandbytes' 8-bit
  dynamic map (:func:`dynamic_map`), and packing two 4-bit codes per byte;
- :func:`ternary_quantize` (BitNet b1.58) and :func:`binary_quantize`;
- :func:`lloyd_max`: the MSE-optimal scalar quantizer (Lloyd 1957/1982,
  Max 1960), for the N(0, 1) density with exact integrals or for samples
  (1-D k-means, :func:`kmeans_codebook`).

Nearest-level rule (:func:`nearest_code`): the levels are sorted (stably),
the decision thresholds are the midpoints of neighbours, and a value exactly
on a midpoint goes to the *lower* level.  This is what bitsandbytes' CPU
``quantize_4bit`` does (``torch.bucketize`` on the midpoints).

>>> import numpy as np
>>> q = quantize_blockwise(np.array([0.1, -0.5, 1.0, 0.0]), NF4, block_size=4)
>>> q.codes
array([ 8,  2, 15,  7], dtype=uint8)
>>> q.dequantize()
array([ 0.0795803 , -0.52507305,  1.        ,  0.        ], dtype=float32)
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from support.numbers import formats
from support._validate import as_numpy, check_fields, flag, integer_in_range, positive_int, positive_number, real_array

__all__ = [
    "NF4",
    "FP4_BNB",
    "nf4_levels",
    "dynamic_map",
    "nearest_code",
    "BlockwiseQuantized",
    "quantize_blockwise",
    "pack_4bit",
    "unpack_4bit",
    "ternary_quantize",
    "binary_quantize",
    "LloydMaxResult",
    "lloyd_max",
    "kmeans_codebook",
]

#: Largest block (and double-quantization block) :func:`quantize_blockwise` accepts.
MAX_BLOCK_SIZE = 1 << 20

NF4_OFFSET = 0.9677083


def _frozen(values: list[float]) -> np.ndarray:
    arr = np.array(values, dtype=np.float32)
    arr.flags.writeable = False
    return arr


#: NF4 as bitsandbytes ships it (``get_4bit_type("nf4")``): 16 float32 levels,
#: sorted, index = 4-bit code.  8 positive and 7 negative levels plus an exact 0.
NF4 = _frozen([
    -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453,
    -0.28444138169288635, -0.18477343022823334, -0.09105003625154495, 0.0,
    0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224,
    0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0,
])

#: bitsandbytes' FP4 (``get_4bit_type("fp4")``) in code order: bit 3 is the sign,
#: bits 0-2 index ``[0, 0.0625, 8, 12, 4, 6, 2, 3]``, all divided by 12.  The
#: magnitudes are E2M1 with exponent bias 2 and a subnormal ``0.0625 = 0.5 * 2**-3``:
#: scaled to a maximum of 6 they are ``0, 0.03125, 1, 1.5, 2, 3, 4, 6``, i.e. the
#: OCP E2M1 grid except the smallest non-zero value (OCP: 0.5).  Code 8 ("-0")
#: is +0.0 here, as in bitsandbytes' table.  Its CPU ``dequantize_4bit`` (0.50.2,
#: measured on an AVX-512 CPU) also gives +0.0 when the tensor's last dimension is
#: a multiple of 16 (the vectorised kernel) or odd (the PyTorch fallback), but -0.0
#: for any other even last dimension (the scalar kernel applies the sign bit).  The
#: two zeros compare equal; only their sign bit differs.
FP4_BNB = _frozen(list(
    np.array([0, 0.0625, 8, 12, 4, 6, 2, 3, 0, -0.0625, -8, -12, -4, -6, -2, -3], dtype=np.float32)
    / np.float32(12)
))


# --------------------------------------------------------------------------- tables


def _linspace_float32(start: float, end: float, steps: int) -> np.ndarray:
    """``torch.linspace(start, end, steps)`` in float32, exactly as torch's CPU kernel computes it.

    The first half is ``start + step * i``, the second ``end - step * (steps - 1 - i)``,
    each with a single rounding (a fused multiply-add; emulated exactly in float64).
    bitsandbytes built NF4 and the dynamic map with it; numpy's float64
    ``linspace`` rounded to float32 differs in the last bit for some entries.
    """
    start32, end32 = np.float32(start), np.float32(end)
    step = np.float64((end32 - start32) / np.float32(steps - 1))
    i = np.arange(steps, dtype=np.float64)
    from_start = np.float64(start32) + step * i
    from_end = np.float64(end32) - step * (steps - 1 - i)
    return np.where(i < steps // 2, from_start, from_end).astype(np.float32)


def nf4_levels(offset: float = NF4_OFFSET) -> np.ndarray:
    """Rebuild NF4 from normal quantiles, as ``bitsandbytes.functional.create_normal_map`` does.

    8 positive levels ``Phi^-1(linspace(offset, 0.5, 9)[:-1])``, 7 negative
    levels ``-Phi^-1(linspace(offset, 0.5, 8)[:-1])`` and an exact 0, sorted
    and divided by the largest, in float32.  The asymmetry (one more positive
    level) buys the exact zero with 16 codes.

    Parameters
    ----------
    offset : float
        The outermost probability, in (0.5, 1).  bitsandbytes uses 0.9677083,
        about the mean of ``1 - 1/(2*15)`` and ``1 - 1/(2*16)``.

    Returns
    -------
    numpy.ndarray of float32, shape (16,)

    Examples
    --------
    >>> bool(np.array_equal(nf4_levels(), NF4))
    True
    """
    from scipy.stats import norm

    if isinstance(offset, bool) or not isinstance(offset, numbers.Real) or not 0.5 < offset < 1:
        raise ValueError(f"offset must be a probability in (0.5, 1), got {offset!r}")
    positive = norm.ppf(_linspace_float32(offset, 0.5, 9)[:-1].astype(np.float64))
    negative = -norm.ppf(_linspace_float32(offset, 0.5, 8)[:-1].astype(np.float64))
    levels = np.sort(np.concatenate([positive, [0.0], negative]).astype(np.float32))
    return levels / levels.max()


def dynamic_map(signed: bool = True, max_exponent_bits: int = 7, total_bits: int = 8) -> np.ndarray:
    """bitsandbytes' dynamic quantization map (``create_dynamic_map``), rebuilt in numpy.

    A float-like 8-bit code (Dettmers 2016): for each decade ``10**(i - 6)``,
    ``i = 0 .. 6``, the midpoints of ``2**i`` equal steps of ``[0.1, 1]``
    (positive and negative), plus 0 and 1: 256 sorted float32 values from
    about -0.993 to 1.  It quantizes the scales in double quantization.

    Parameters
    ----------
    signed : bool
    max_exponent_bits : int
    total_bits : int
        As in bitsandbytes; the defaults give the 256-entry signed map.

    Returns
    -------
    numpy.ndarray of float32, shape (2**total_bits,)

    Examples
    --------
    >>> d = dynamic_map()
    >>> d.shape, float(d[0]), float(d[127]), float(d[-1])
    ((256,), -0.992968738079071, 0.0, 1.0)
    """
    signed = flag(signed, "signed")
    total_bits = integer_in_range(total_bits, "total_bits", 1, 8, why="a code must fit a uint8")
    max_exponent_bits = integer_in_range(max_exponent_bits, "max_exponent_bits", 0, total_bits - 1)
    non_sign_bits = total_bits - 1
    additional_items = 2 ** (non_sign_bits - max_exponent_bits) - 1
    data: list[np.ndarray] = []

    def add(count: int, decade: int) -> None:
        bounds = _linspace_float32(0.1, 1.0, count)
        means = (bounds[:-1] + bounds[1:]) / np.float32(2)
        factor = np.float32(10.0 ** (-(max_exponent_bits - 1) + decade))
        data.append(factor * means)
        if signed:
            data.append(-factor * means)

    for i in range(max_exponent_bits):
        extra = 0 if signed else 1
        add(2 ** (i + non_sign_bits - max_exponent_bits + extra) + 1, i)
    if additional_items > 0:
        add(additional_items + 1, max_exponent_bits - 1)
    values = np.concatenate(data + [np.array([0.0, 1.0], dtype=np.float32)])
    if len(values) != 2**total_bits:
        raise ValueError(
            f"these parameters give {len(values)} values, not 2**total_bits = {2**total_bits}; "
            "allowed: signed=True with any max_exponent_bits < total_bits, "
            "or signed=False with max_exponent_bits = total_bits - 1"
        )
    return np.sort(values).astype(np.float32)


# --------------------------------------------------------------------------- nearest code


def _check_codebook(codebook: ArrayLike) -> np.ndarray:
    cb = real_array(codebook, "codebook", allow_empty=True)
    if cb.ndim != 1 or not 2 <= len(cb) <= 256:
        raise ValueError(
            f"codebook must be 1-D with 2 to 256 levels (a code must fit a uint8), got shape {cb.shape}"
        )
    return cb


def nearest_code(x: ArrayLike, codebook: ArrayLike) -> np.ndarray:
    """Index of the nearest level for each value; an exact midpoint goes to the lower level.

    The levels need not be sorted (FP4's code order is not): they are sorted
    stably, the thresholds are the midpoints of sorted neighbours computed in
    the codebook's dtype, and ``searchsorted(..., side="left")`` places each
    value.  Equal levels (FP4's +0 and -0 codes) keep their code order, so a
    value just above 0 gets the second of the two, exactly as bitsandbytes'
    ``torch.bucketize`` does.

    Parameters
    ----------
    x : array_like
        Values, no NaN.
    codebook : array_like, shape (k,)
        2 to 256 finite levels.

    Returns
    -------
    numpy.ndarray of uint8 (k <= 256), same shape as ``x``

    Examples
    --------
    >>> nearest_code([-0.6, 0.05, 0.5], [-1.0, 0.0, 0.1, 1.0])  # 0.05 is a midpoint
    array([0, 1, 2], dtype=uint8)
    """
    cb = _check_codebook(codebook)
    values = as_numpy(x, "x")  # the input policy: ml_dtypes arrays become float32 exactly, torch tensors too
    if values.dtype.kind not in "iuf":
        raise TypeError(f"x must hold real numbers (integers or floats), got dtype {values.dtype}")
    if values.dtype.kind not in "iu" and np.isnan(values).any():
        raise ValueError("x contains NaN; a NaN has no nearest level")
    if not np.issubdtype(cb.dtype, np.floating):
        cb = cb.astype(np.float64)
    order = np.argsort(cb, kind="stable")
    sorted_levels = cb[order]
    midpoints = (sorted_levels[:-1] + sorted_levels[1:]) / 2  # in the codebook's dtype
    order = order.astype(np.uint8)  # codes fit a uint8: at most 256 levels
    if len(midpoints) <= 15:
        # Same as searchsorted(side="left"): count the midpoints strictly below each
        # value.  For 4-bit codebooks 15 vectorised comparisons, counted in uint8 into
        # one reused mask, take a third of the time of a binary search.
        position = np.zeros(values.shape, dtype=np.uint8)
        above = np.empty(values.shape, dtype=bool)
        for midpoint in midpoints:
            position += np.greater(values, midpoint, out=above)
    else:
        position = np.searchsorted(midpoints, values, side="left")
    return order[position]


# --------------------------------------------------------------------------- blockwise


def _check_finite_values(x: ArrayLike, name: str = "x") -> np.ndarray:
    return real_array(x, name, why="a NaN or infinite value would make its block's absmax NaN or inf")


def _blocks(values: np.ndarray, block_size: int) -> list[np.ndarray]:
    """Split a flat array into the full blocks (2-D) and, if any, the partial last block."""
    full = (values.size // block_size) * block_size
    parts = [values[:full].reshape(-1, block_size)]
    if full < values.size:
        parts.append(values[full:].reshape(1, -1))
    return parts


#: The least absmax bitsandbytes divides by (``clamp(min=1e-38)``: float32(1e-38), a subnormal).
_BNB_ABSMAX_FLOOR = np.float32(1e-38)


def _scale_and_code(flat: np.ndarray, codebook: np.ndarray, block_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Absmax per block and nearest codes of ``flat / absmax``, in float32 as bitsandbytes.

    As bitsandbytes 0.50.2's ``quantize_4bit`` on CPU: whole blocks store their absmax
    and are multiplied by ``1 / max(absmax, 1e-38)``; the partial last block stores
    ``max(absmax, 1e-38)`` and is divided by it.  Its 8-bit ``quantize_blockwise``
    (codebooks of more than 16 levels) stores the partial block's absmax unclamped.
    """
    absmax, codes = [], []
    full_blocks, *tail = _blocks(flat, block_size)
    amax = np.abs(full_blocks).max(axis=1, initial=np.float32(0))
    # an all-zero block keeps absmax 0 and gets the code of 0.0
    reciprocal = np.float32(1) / np.maximum(amax, _BNB_ABSMAX_FLOOR)
    scaled = full_blocks * reciprocal[:, None]
    np.clip(scaled, np.float32(-1), np.float32(1), out=scaled)
    absmax.append(amax)
    codes.append(nearest_code(scaled, codebook).ravel())
    for block in tail:
        amax = np.abs(block).max(axis=1)
        divisor = np.maximum(amax, _BNB_ABSMAX_FLOOR)
        scaled = np.clip(block / divisor[:, None], np.float32(-1), np.float32(1))
        absmax.append(divisor if codebook.size <= 16 else amax)
        codes.append(nearest_code(scaled, codebook).ravel())
    return np.concatenate(absmax), np.concatenate(codes)


@dataclass(frozen=True)
class BlockwiseQuantized:
    """A tensor stored as codebook indices with one absmax scale per block of values.

    Blocks are consecutive runs of ``block_size`` values of the flattened
    (C-order) tensor; the last block may be shorter.

    Attributes
    ----------
    codes : numpy.ndarray of uint8
        Codebook indices, the tensor's shape.
    absmax : numpy.ndarray of float32
        One per block.  The scales that :meth:`dequantize` multiplies by.  With double
        quantization these are the *reconstructed* scales
        ``absmax_quantized.dequantize() + absmax_offset``.
    codebook : numpy.ndarray of float32
    block_size : int
    shape : tuple of int
    absmax_quantized : BlockwiseQuantized or None
        Double quantization: the centred scales stored with :func:`dynamic_map`.
    absmax_offset : float or None
        Double quantization: the mean of the scales, subtracted before
        quantizing them (a float32).

    Examples
    --------
    >>> q = quantize_blockwise(np.linspace(-1, 1, 64), NF4)
    >>> q.codes[:4], q.absmax, q.bits_per_value
    (array([0, 0, 0, 0], dtype=uint8), array([1.], dtype=float32), 4.5)
    """

    codes: np.ndarray
    absmax: np.ndarray
    codebook: np.ndarray
    block_size: int
    shape: tuple[int, ...]
    absmax_quantized: BlockwiseQuantized | None = None
    absmax_offset: float | None = None

    def __post_init__(self) -> None:
        """Check that the fields fit together (codes of ``shape``, one absmax per block, codes in the codebook)."""
        check_fields(self, codes="codes", absmax="finite", codebook="finite", block_size="positive",
                     shape="shape", absmax_offset="number?")
        if self.codes.shape != self.shape:
            raise ValueError(f"codes has shape {self.codes.shape}, but shape is {self.shape}; they must be equal")
        n_blocks = -(-self.codes.size // self.block_size)
        if self.absmax.shape != (n_blocks,):
            raise ValueError(
                f"absmax has shape {self.absmax.shape}; {self.codes.size} values in blocks of "
                f"block_size={self.block_size} need ({n_blocks},)"
            )
        if self.codebook.ndim != 1 or self.codebook.size == 0:
            raise ValueError(f"codebook must be a non-empty 1-D array, got shape {self.codebook.shape}")
        if self.codes.size and (self.codes.min() < 0 or self.codes.max() >= self.codebook.size):
            raise ValueError(f"codes must index the codebook: integers in [0, {self.codebook.size - 1}]")
        if self.absmax_quantized is not None and not isinstance(self.absmax_quantized, BlockwiseQuantized):
            raise TypeError(f"absmax_quantized must be a BlockwiseQuantized or None, got {self.absmax_quantized!r}")

    @property
    def code_bits(self) -> int:
        """Bits per code, ``ceil(log2(len(codebook)))``."""
        return max(1, math.ceil(math.log2(len(self.codebook))))

    @property
    def storage_bits(self) -> int:
        """Total bits of the codes plus the scales (float32 each) or their double-quantized form."""
        bits = self.code_bits * self.codes.size
        if self.absmax_quantized is None:
            return bits + 32 * self.absmax.size
        return bits + self.absmax_quantized.storage_bits + 32  # + the float32 offset

    @property
    def bits_per_value(self) -> float:
        """Storage per value, scales included.

        NF4, block 64: ``4 + 32/64 = 4.5``; with double quantization (8-bit
        scales in blocks of 256): ``4 + 8/64 + 32/(64*256) = 4.127`` (plus one
        float32 offset for the whole tensor).

        Examples
        --------
        >>> w = np.random.default_rng(0).normal(size=64 * 256 * 8)
        >>> quantize_blockwise(w, NF4).bits_per_value
        4.5
        >>> round(quantize_blockwise(w, NF4, double_quant=True).bits_per_value, 4)
        4.1272
        """
        return self.storage_bits / self.codes.size

    def dequantize(self) -> np.ndarray:
        """``codebook[codes] * absmax[block]`` in float32, in the original shape."""
        dtype = np.result_type(self.codebook, self.absmax)  # float32 from quantize_blockwise
        values = self.codebook[self.codes.ravel()].astype(dtype, copy=False)  # new: scaled in place
        full_blocks, *tail = _blocks(values, self.block_size)
        full_blocks *= self.absmax[: len(full_blocks), None]
        for block in tail:
            block *= self.absmax[-1]
        return values.reshape(self.shape)

    def packed(self) -> np.ndarray:
        """The codes as bytes, two 4-bit codes per byte, the first in the high nibble.

        bitsandbytes' layout: an odd count is padded with the code of 0.0.
        Needs a codebook of at most 16 levels.
        """
        if len(self.codebook) > 16:
            raise ValueError(f"packing needs at most 16 levels (4-bit codes), this codebook has {len(self.codebook)}")
        codes = self.codes.ravel()
        if codes.size % 2:
            codes = np.append(codes, nearest_code(np.float32(0), self.codebook))
        return pack_4bit(codes)


def quantize_blockwise(
    x: ArrayLike,
    codebook: ArrayLike,
    block_size: int = 64,
    *,
    double_quant: bool = False,
    double_quant_block_size: int = 256,
) -> BlockwiseQuantized:
    """Blockwise absmax quantization with a codebook (NF4, FP4, ...), as bitsandbytes does it.

    The values (in float32) are split into blocks of ``block_size``; each
    block is scaled by ``1 / absmax`` (float32 reciprocal, then multiply,
    clamped to [-1, 1]) and every value gets the nearest level
    (:func:`nearest_code`).  For NF4 and FP4 with float32 input the codes and
    scales are bit-identical to ``bitsandbytes.functional.quantize_4bit`` on CPU
    (bitsandbytes 0.50.2), the partial last block included: as there, that block
    is divided by its absmax (not multiplied by the reciprocal), and its stored
    absmax is clamped to at least ``float32(1e-38)``, so a tail of zeros stores
    1e-38 and a tail of values below 1e-38 is scaled by 1e-38, not by its own
    absmax.  A whole all-zero block stores absmax 0; its values get the code of
    0.0.  Codebooks of more than 16 levels follow bitsandbytes' 8-bit
    ``quantize_blockwise`` instead, which stores the partial block's absmax
    unclamped.

    Double quantization (QLoRA): the float32 scales minus their mean (computed
    in float64, rounded to float32; torch's float32 mean can differ by an ulp) are
    quantized with the 8-bit :func:`dynamic_map` in blocks of
    ``double_quant_block_size`` (their own absmax in float32).  As in
    bitsandbytes, the codes are computed with the exact scales and
    dequantization uses the reconstructed ones.  (bitsandbytes' CPU kernel
    for that 8-bit step looks codes up in a 65536-entry table instead of
    rounding to the nearest level, so a few of its scale codes differ from
    these by one.)

    Parameters
    ----------
    x : array_like
        Finite values; quantized in float32 (float64 input is rounded first).
    codebook : array_like
        2 to 256 levels, normally in [-1, 1] with the largest magnitude 1.
    block_size : int
        Values per block (bitsandbytes 4-bit default: 64).
    double_quant : bool
        Quantize the scales too (bitsandbytes ``compress_statistics=True``).
    double_quant_block_size : int
        Scales per block of the second quantization (bitsandbytes: 256).

    Returns
    -------
    BlockwiseQuantized

    Examples
    --------
    >>> w = np.concatenate([np.full(64, 0.5), np.full(64, -2.0)])
    >>> q = quantize_blockwise(w, NF4, block_size=64)
    >>> q.absmax, q.bits_per_value
    (array([0.5, 2. ], dtype=float32), 4.5)
    """
    cb = _check_codebook(codebook).astype(np.float32)
    block_size = integer_in_range(block_size, "block_size", 1, MAX_BLOCK_SIZE, why="bitsandbytes uses 64 to 4096")
    double_quant = flag(double_quant, "double_quant")
    double_quant_block_size = integer_in_range(double_quant_block_size, "double_quant_block_size", 1, MAX_BLOCK_SIZE)
    arr = _check_finite_values(x)
    with np.errstate(over="ignore"):
        flat = arr.astype(np.float32, copy=False).ravel()  # read only: no copy of float32 input
    if not np.isfinite(flat).all():
        raise ValueError(
            f"x has finite values beyond the float32 range (|x| > {np.finfo(np.float32).max:.4g}); "
            "blockwise quantization computes in float32, so scale x down first"
        )
    absmax, codes = _scale_and_code(flat, cb, block_size)
    absmax_quantized, offset = None, None
    if double_quant:
        offset = np.float32(absmax.mean(dtype=np.float64))
        absmax_quantized = quantize_blockwise(absmax - offset, dynamic_map(), double_quant_block_size)
        absmax = absmax_quantized.dequantize() + offset
        offset = float(offset)
    codes, absmax = codes.reshape(arr.shape), absmax.astype(np.float32)
    for array in (codes, absmax, cb):
        array.flags.writeable = False
    return BlockwiseQuantized(
        codes=codes, absmax=absmax, codebook=cb,
        block_size=block_size, shape=tuple(arr.shape), absmax_quantized=absmax_quantized,
        absmax_offset=offset,
    )


def pack_4bit(codes: ArrayLike) -> np.ndarray:
    """Pack 4-bit codes two per byte, the first code in the high nibble (bitsandbytes' order).

    Uses :func:`support.numbers.integers.pack` with ``first="high"``; the count must be even.

    Examples
    --------
    >>> pack_4bit([1, 2, 15, 0])
    array([ 18, 240], dtype=uint8)
    """
    from support.numbers.integers import pack

    flat = as_numpy(codes, "codes").ravel()
    if flat.size % 2:
        raise ValueError(f"pack_4bit needs an even number of codes, got {flat.size}; pad first")
    return pack(flat, 4, first="high")


def unpack_4bit(packed: ArrayLike, count: int | None = None) -> np.ndarray:
    """Inverse of :func:`pack_4bit`: two codes per byte, high nibble first.

    Examples
    --------
    >>> unpack_4bit([0x12, 0xF0])
    array([ 1,  2, 15,  0], dtype=uint8)
    """
    from support.numbers.integers import unpack

    flat = as_numpy(packed, "packed").ravel()
    return unpack(flat, 4, count, first="high")


# --------------------------------------------------------------------------- ternary / binary


def _check_weights(w: ArrayLike) -> np.ndarray:
    """``w`` checked, as a float64 copy that the caller may overwrite."""
    return _check_finite_values(w, "w").astype(np.float64, copy=True)


def ternary_quantize(w: ArrayLike, eps: float = 1e-5) -> tuple[np.ndarray, float]:
    """Ternary weights as BitNet b1.58 defines them (absmean quantization).

    ``gamma = mean(|W|)`` and ``W~ = RoundClip(W / (gamma + eps), -1, 1)``
    with ``RoundClip(x, a, b) = max(a, min(b, round(x)))``, rounding half to
    even (``torch.round``, as the reference code).  ``W ~ gamma * W~``.

    Parameters
    ----------
    w : array_like
        Finite weights.
    eps : float
        Positive; keeps the division finite for an all-zero ``w``.

    Returns
    -------
    codes : numpy.ndarray of int8
        Values in {-1, 0, 1}, the shape of ``w``.
    scale : float
        ``gamma = mean(|W|)``.

    Examples
    --------
    >>> codes, scale = ternary_quantize([0.9, -0.05, 0.4, -1.5])
    >>> codes, round(scale, 6)
    (array([ 1,  0,  1, -1], dtype=int8), 0.7125)
    """
    arr = _check_weights(w)
    positive_number(eps, "eps")  # validated, used as given
    gamma = float(np.abs(arr).mean())
    arr /= gamma + eps  # arr is a float64 copy: round and clip it in place
    np.rint(arr, out=arr)
    return np.clip(arr, -1, 1, out=arr).astype(np.int8), gamma


def binary_quantize(w: ArrayLike) -> tuple[np.ndarray, float]:
    """Binary weights: ``sign(W)`` with ``sign(0) = +1``, and the scale ``mean(|W|)``.

    ``mean(|W|)`` minimises ``||W - s * sign(W)||**2`` over ``s`` (XNOR-Net, BitNet).

    Returns
    -------
    codes : numpy.ndarray of int8
        Values in {-1, +1}.
    scale : float

    Examples
    --------
    >>> binary_quantize([0.5, 0.0, -1.5])
    (array([ 1,  1, -1], dtype=int8), 0.6666666666666666)
    """
    arr = _check_weights(w)
    return np.where(arr >= 0, np.int8(1), np.int8(-1)), float(np.abs(arr).mean())


# --------------------------------------------------------------------------- Lloyd-Max


@dataclass(frozen=True)
class LloydMaxResult:
    """An MSE-optimised scalar quantizer.

    Attributes
    ----------
    levels : numpy.ndarray of float64
        The ``2**bits`` reconstruction levels, sorted.
    thresholds : numpy.ndarray of float64
        The ``2**bits - 1`` decision thresholds: midpoints of neighbouring levels.
    mse : float
        Mean squared error for the density (exact integral) or the samples.
    iterations : int
        Lloyd iterations run.
    converged : bool
        Whether the largest level change fell below ``tol``.

    Examples
    --------
    >>> r = lloyd_max(bits=2)
    >>> np.round(r.levels, 4), round(r.mse, 4), r.converged
    (array([-1.5104, -0.4528,  0.4528,  1.5104]), 0.1175, True)
    """

    levels: np.ndarray
    thresholds: np.ndarray
    mse: float
    iterations: int
    converged: bool

    def __post_init__(self) -> None:
        """Check that the fields fit together (sorted levels, one threshold between two levels)."""
        check_fields(self, levels="finite", thresholds="finite", mse="number", iterations="count",
                     converged="flag")
        if self.levels.ndim != 1 or self.levels.size == 0 or (np.diff(self.levels) < 0).any():
            raise ValueError(f"levels must be a non-empty sorted 1-D array, got {self.levels}")
        if self.thresholds.shape != (self.levels.size - 1,):
            raise ValueError(
                f"thresholds has shape {self.thresholds.shape}; {self.levels.size} levels need "
                f"({self.levels.size - 1},), one between two neighbours"
            )
        if not 0 <= self.mse < np.inf:
            raise ValueError(f"mse must be finite and >= 0, got {self.mse}")


def _normal_cell_moments(edges: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Probability, first and second moment of N(0, 1) on each cell ``[edges[i], edges[i+1]]``.

    ``scipy.special.ndtr`` is the function behind ``scipy.stats.norm.cdf``,
    called directly because Lloyd's loop calls it hundreds of times.
    """
    from scipy.special import ndtr

    a, b = edges[:-1], edges[1:]
    # Phi(b) - Phi(a), computed on the side where it does not cancel (sf(x) = Phi(-x)).
    prob = np.where(a >= 0, ndtr(-a) - ndtr(-b), ndtr(b) - ndtr(a))
    pdf_a, pdf_b = np.exp(-a**2 / 2) / np.sqrt(2 * np.pi), np.exp(-b**2 / 2) / np.sqrt(2 * np.pi)
    first = pdf_a - pdf_b
    # x * phi(x) -> 0 at +-inf
    a_pdf_a = np.where(np.isinf(a), 0.0, np.where(np.isinf(a), 0.0, a) * pdf_a)
    b_pdf_b = np.where(np.isinf(b), 0.0, np.where(np.isinf(b), 0.0, b) * pdf_b)
    second = prob + a_pdf_a - b_pdf_b
    return prob, first, second


def _lloyd_normal(n: int, iters: int, tol: float) -> LloydMaxResult:
    from scipy.stats import norm

    levels = norm.ppf((np.arange(n) + 0.5) / n)
    converged, it = False, 0
    for it in range(1, iters + 1):
        edges = np.concatenate([[-np.inf], (levels[:-1] + levels[1:]) / 2, [np.inf]])
        prob, first, _ = _normal_cell_moments(edges)
        new_levels = first / prob  # centroid: (phi(a) - phi(b)) / (Phi(b) - Phi(a))
        change = np.max(np.abs(new_levels - levels))
        levels = new_levels
        if change < tol:
            converged = True
            break
    thresholds = (levels[:-1] + levels[1:]) / 2
    prob, first, second = _normal_cell_moments(np.concatenate([[-np.inf], thresholds, [np.inf]]))
    mse = float(np.sum(second - 2 * levels * first + levels**2 * prob))
    return LloydMaxResult(levels, thresholds, mse, it, converged)


def _lloyd_samples(samples: np.ndarray, n: int, iters: int, tol: float,
                   weights: np.ndarray | None = None) -> LloydMaxResult:
    values = samples.astype(np.float64).ravel()
    if weights is None:
        values, mass = np.sort(values), np.ones(values.size)
    else:
        order = np.argsort(values)  # the order of equal values does not matter: they share a cell
        values, mass = values[order], weights.ravel()[order].astype(np.float64)
    distinct = 1 + np.count_nonzero(np.diff(values)) if values.size else 0  # values are sorted
    if distinct < n:
        raise ValueError(f"need at least {n} distinct samples for {n} levels, got {distinct}")
    levels = np.quantile(values, (np.arange(n) + 0.5) / n)
    # prefix[i] = (mass, mass * value) summed over the first i values: a cell's totals are two differences
    prefix = np.zeros((values.size + 1, 2))
    np.cumsum(mass, out=prefix[1:, 0])
    np.cumsum(mass * values, out=prefix[1:, 1])
    # values are sorted, so cell k is the run values[bounds[k]:bounds[k + 1]] (a value on a threshold goes down)
    bounds = np.empty(n + 1, dtype=np.intp)
    bounds[0], bounds[-1] = 0, values.size
    converged, it = False, 0
    for it in range(1, iters + 1):
        bounds[1:-1] = np.searchsorted(values, (levels[:-1] + levels[1:]) / 2, side="right")
        at_bounds = prefix[bounds]
        counts, sums = (at_bounds[1:] - at_bounds[:-1]).T
        # An empty cell keeps its level (it can become non-empty again later).
        filled = counts > 0
        new_levels = np.where(filled, sums / np.where(filled, counts, 1), levels)
        new_levels.sort()
        change = np.abs(new_levels - levels).max()
        levels = new_levels
        if change < tol:
            converged = True
            break
    thresholds = (levels[:-1] + levels[1:]) / 2
    bounds[1:-1] = np.searchsorted(values, thresholds, side="right")
    nearest = np.repeat(levels, np.diff(bounds))
    mse = float(np.sum(mass * (values - nearest) ** 2) / prefix[-1, 0])
    return LloydMaxResult(levels, thresholds, mse, it, converged)


def lloyd_max(
    samples: ArrayLike | None = None,
    *,
    bits: int,
    density: str = "normal",
    iters: int = 10_000,
    tol: float = 1e-12,
) -> LloydMaxResult:
    """Design the MSE-optimal scalar quantizer with ``2**bits`` levels (Lloyd's algorithm).

    Alternates the two optimality conditions until the levels stop moving:
    thresholds at the midpoints of neighbouring levels, and each level at the
    centroid (conditional mean) of its cell.

    - ``samples=None``: the ``density`` (only ``"normal"``, N(0, 1)) with exact
      integrals: the centroid of ``[a, b]`` is
      ``(phi(a) - phi(b)) / (Phi(b) - Phi(a))`` and the MSE is integrated
      exactly.  This reproduces Max's (1960) table: MSE 0.3634, 0.1175,
      0.03454 at 1-3 bits; at 4 bits the exact value is 0.009501 where Max
      printed 0.009497 (his own tabulated levels give 0.009501 too).
    - ``samples`` given: the empirical distribution of the samples, i.e. 1-D
      k-means (``density`` is then ignored).  Initial levels are the sample
      quantiles at ``(i + 0.5) / 2**bits``.

    Parameters
    ----------
    samples : array_like, optional
        Finite values, at least ``2**bits`` distinct.
    bits : int
        1 to 8.
    density : {'normal'}
    iters : int
        Maximum iterations (positive).
    tol : float
        Stop when no level moves by more than this (positive).

    Returns
    -------
    LloydMaxResult

    Examples
    --------
    >>> r = lloyd_max(bits=2)
    >>> r.levels.round(4), round(r.mse, 4)
    (array([-1.5104, -0.4528,  0.4528,  1.5104]), 0.1175)
    """
    bits = integer_in_range(bits, "bits", 1, 8)
    iters = positive_int(iters, "iters")
    tol = positive_number(tol, "tol")
    n = 2**bits
    if samples is not None:
        return _lloyd_samples(_check_finite_values(samples, "samples"), n, iters, tol)
    if density != "normal":
        raise ValueError(f"density must be 'normal' (or pass samples), got {density!r}")
    return _lloyd_normal(n, iters, tol)


def kmeans_codebook(samples: ArrayLike, bits: int, *, weights: ArrayLike | None = None,
                    iters: int = 10_000, tol: float = 1e-12) -> LloydMaxResult:
    """1-D k-means codebook of ``2**bits`` levels for ``samples``: Lloyd on the empirical distribution.

    With ``weights``, each sample counts in proportion to its weight: the levels
    minimise ``sum(weights * (samples - level)**2)`` (each level is the weighted
    centroid of its cell) and ``mse`` is that sum divided by ``sum(weights)``.
    For values divided by their block's absmax, ``weights = absmax**2`` makes
    this the squared error of the tensor itself.

    Parameters
    ----------
    samples : array_like
        Finite values, at least ``2**bits`` distinct.
    bits : int
        1 to 8.
    weights : array_like, optional
        Finite, non-negative, the shape of ``samples``, with a positive sum.
    iters, tol
        As in :func:`lloyd_max`.

    Examples
    --------
    >>> x = np.random.default_rng(0).normal(size=100_000)
    >>> r = kmeans_codebook(x, 2)
    >>> bool(abs(r.mse - 0.1175) < 0.005)
    True
    >>> w = kmeans_codebook([0.0, 1.0, 2.0, 3.0], 1, weights=[1.0, 1.0, 0.0, 2.0])
    >>> w.levels, w.mse
    (array([0.5, 3. ]), 0.125)
    """
    if samples is None:
        raise ValueError("kmeans_codebook needs samples; for the normal density use lloyd_max(bits=...)")
    if weights is None:
        return lloyd_max(samples, bits=bits, iters=iters, tol=tol)
    bits = integer_in_range(bits, "bits", 1, 8)
    iters = positive_int(iters, "iters")
    tol = positive_number(tol, "tol")
    values = _check_finite_values(samples, "samples")
    mass = real_array(weights, "weights")
    if mass.shape != values.shape:
        raise ValueError(f"weights must have the shape of samples, {values.shape}, got {mass.shape}")
    if (mass < 0).any() or not mass.sum() > 0:
        raise ValueError("weights must be non-negative with a positive sum")
    return _lloyd_samples(values, 2**bits, iters, tol, mass)
