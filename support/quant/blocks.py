"""Block-scaled formats: OCP Microscaling (MX) and NVIDIA's NVFP4.

A block-scaled format stores a short block of values as narrow *elements* that share one
*scale*.  The scale follows the block's largest magnitude, so small and large blocks are
both represented with the element's full relative precision.

**MX** (OCP Microscaling Formats v1.0): blocks of 32 elements share an E8M0 scale, a
power of two ``X = 2**(code - 127)`` (code 255 is NaN).  The scale is
``X = 2**(floor(log2(amax)) - emax_elem)``, where ``emax_elem`` is the exponent of the
element format's largest power of two, and the elements are ``x / X`` rounded to the
element format (round half to even, clamped to the element's largest value):

=================  ======  ==========  ============  =====================
element            bits    emax_elem   element max   format name
=================  ======  ==========  ============  =====================
MXFP8 E4M3         8       8           448           ``"float8_e4m3fn"``
MXFP8 E5M2         8       15          57344         ``"float8_e5m2"``
MXFP6 E2M3         6       2           7.5           ``"float6_e2m3fn"``
MXFP6 E3M2         6       4           28            ``"float6_e3m2fn"``
MXFP4 E2M1         4       2           6             ``"float4_e2m1fn"``
MXINT8             8       0           127/64        ``"int8"``
=================  ======  ==========  ============  =====================

MXINT8 elements are 8-bit two's complement integers ``k`` with an implicit scale of
``2**-6`` (values ``k / 64``, fixed point 1.6); ``k`` is limited to ``[-127, 127]``, the
symmetric range of the spec's reference code (microxcaling).

**NVFP4**: blocks of 16 E2M1 elements share an E4M3 scale, and the whole tensor shares
a float32 scale ``amax / (448 * 6)``, so that the block scales use E4M3's full range.

The functions follow torchao's implementations bit for bit (``to_mx`` with the default
FLOOR scale mode, and ``nvfp4_quantize``), except where those depart from the spec; the
exceptions are listed in :func:`mx_quantize` and :func:`nvfp4_quantize`.

FP4 codes are packed two per byte by :func:`pack_fp4` (first element in the low nibble,
as torchao does; bitsandbytes uses the high nibble).
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

from support.numbers import formats, integers
from support._validate import as_numpy, check_fields, normalize_axis, one_of, positive_int

__all__ = [
    "MX_ELEMENTS",
    "MXQuantized",
    "mx_quantize",
    "NVFP4Quantized",
    "nvfp4_quantize",
    "pack_fp4",
    "unpack_fp4",
]

#: The MX element formats, each name mapped to ``(bits, emax_elem)``.
MX_ELEMENTS: dict[str, tuple[int, int]] = {
    "float8_e4m3fn": (8, 8),
    "float8_e5m2": (8, 15),
    "float6_e2m3fn": (6, 2),
    "float6_e3m2fn": (6, 4),
    "float4_e2m1fn": (4, 2),
    "int8": (8, 0),
}

E8M0_BIAS = 127
E8M0_NAN = 255
MXINT8_MAX_CODE = 127  # elements k / 64 with |k| <= 127
MXINT8_STEP = 2.0**-6
FP4_MAX = 6.0
E4M3_MAX = 448.0
E4M3_MIN_NORMAL = 2.0**-6
FLOAT32_MIN_NORMAL = 2.0**-126


# --------------------------------------------------------------------------- checks


def _as_float32(x: object) -> np.ndarray:
    """``x`` as float32 (both reference libraries quantize float32 or bfloat16 data).

    Accepts integers, float16/32/64 and the ml_dtypes float types (bfloat16, ...); a
    finite value beyond the float32 range raises instead of turning into inf.
    """
    arr = as_numpy(x, "x")  # the input policy: ml_dtypes arrays become float32 exactly, torch tensors too
    dtype = arr.dtype
    if not (dtype.kind in "iuf" or dtype.name in formats.FORMATS) or dtype == np.bool_:
        raise TypeError(
            f"x must hold real numbers (integers, float16/32/64 or an ml_dtypes float), "
            f"got dtype {dtype}"
        )
    if arr.ndim == 0:
        raise ValueError("x must have at least one dimension, got a scalar")
    if arr.size == 0:
        raise ValueError(f"x is empty (shape {arr.shape}); at least one block of values is needed")
    with np.errstate(over="ignore"):
        out = arr.astype(np.float32)
    if dtype.kind == "f" and np.any(np.isinf(out) & np.isfinite(arr)):
        raise ValueError(
            f"x has finite values beyond the float32 range (|x| > {np.finfo(np.float32).max:.4g}); "
            "block formats quantize float32 data"
        )
    return out


def _to_blocks(x: np.ndarray, block_size: int, axis: object) -> tuple[np.ndarray, int]:
    """Move ``axis`` last and split it into blocks: shape ``(..., n // block_size, block_size)``."""
    axis = normalize_axis(axis, x.ndim)
    n = x.shape[axis]
    if n % block_size != 0:
        raise ValueError(
            f"the length {n} of axis {axis} is not a multiple of block_size {block_size}; "
            "pad x with zeros to a multiple (zeros do not change a block's scale)"
        )
    moved = np.moveaxis(x, axis, -1)
    return moved.reshape(*moved.shape[:-1], n // block_size, block_size), axis


def _from_blocks(blocks: np.ndarray, axis: int) -> np.ndarray:
    """Inverse of :func:`_to_blocks`."""
    merged = blocks.reshape(*blocks.shape[:-2], -1)
    return np.moveaxis(merged, -1, axis)


def _per_block(values: np.ndarray, axis: int) -> np.ndarray:
    """One value per block, shape ``(..., n_blocks)`` -> the array's layout with ``axis``."""
    return np.moveaxis(values, -1, axis)


def _expand(per_block: np.ndarray, block_size: int, axis: int) -> np.ndarray:
    return np.repeat(per_block, block_size, axis=axis)


def _check_block_layout(record: object, scales: str) -> None:
    """Check that a block record's codes, values and per-block scales fit together."""
    codes, values, per_block = record.element_codes, record.elements, getattr(record, scales)
    if codes.shape != values.shape or codes.ndim == 0:
        raise ValueError(f"element_codes {codes.shape} and elements {values.shape} must have the same shape (>= 1-D)")
    axis = normalize_axis(record.axis, values.ndim)
    n = values.shape[axis]
    if n % record.block_size:
        raise ValueError(f"block_size {record.block_size} must divide the length {n} of axis {axis} of elements")
    expected = values.shape[:axis] + (n // record.block_size,) + values.shape[axis + 1:]
    if per_block.shape != expected:
        raise ValueError(f"{scales} has shape {per_block.shape}; one per block of {record.block_size} needs {expected}")
    object.__setattr__(record, "axis", axis)


# --------------------------------------------------------------------------- MX


@dataclass(frozen=True)
class MXQuantized:
    """An array in an MX format (see :func:`mx_quantize`).

    Attributes
    ----------
    scale_codes : numpy.ndarray of uint8
        E8M0 codes, one per block: the input's shape with ``axis`` divided by
        ``block_size``.  The scale is ``2**(code - 127)``; 255 is NaN.
    element_codes : numpy.ndarray of uint8
        The element bit patterns (for MXINT8 the two's complement byte of ``k``),
        the input's shape.
    elements : numpy.ndarray of float64
        The element values ``x / X`` after rounding (for MXINT8 ``k / 64``).
    elem : str
        The element format, a key of :data:`MX_ELEMENTS`.
    block_size : int
        Values per scale.
    axis : int
        The axis along which the blocks were formed (non-negative).

    Examples
    --------
    >>> q = mx_quantize(np.linspace(-1, 1, 32), "float4_e2m1fn")
    >>> q.scale_codes, q.elements[:3]
    (array([125], dtype=uint8), array([-4., -4., -3.]))
    """

    scale_codes: np.ndarray
    element_codes: np.ndarray
    elements: np.ndarray
    elem: str
    block_size: int
    axis: int

    def __post_init__(self) -> None:
        """Check that the fields fit together (one scale per block, codes of the elements' shape)."""
        check_fields(self, scale_codes="codes", element_codes="codes", elements="array",
                     elem=tuple(MX_ELEMENTS), block_size="positive", axis="int")
        _check_block_layout(self, "scale_codes")

    @property
    def scales(self) -> np.ndarray:
        """The block scales as float64 (``2**(code - 127)``, NaN for code 255)."""
        return formats.decode(self.scale_codes, "float8_e8m0fnu")

    def dequantize(self) -> np.ndarray:
        """``elements * scale`` per block, as float64 (exact); a NaN-scale block is all NaN."""
        return self.elements * _expand(self.scales, self.block_size, self.axis)

    @property
    def bits_per_value(self) -> float:
        """Element bits plus the 8-bit scale shared by a block, e.g. 4 + 8/32 = 4.25."""
        return MX_ELEMENTS[self.elem][0] + 8 / self.block_size


def _e8m0_scale_codes(amax: np.ndarray, emax_elem: int) -> np.ndarray:
    """``floor(log2(amax)) - emax_elem`` read from the float32 exponent field, biased, clamped.

    The exponent field of a float32 is ``floor(log2(|v|)) + 127`` for normal numbers,
    exactly (float32 ``log2`` can round up just below a power of two).  A subnormal or
    zero ``amax`` has field 0, i.e. ``-127``, below the clamp anyway.
    """
    field = (amax.view(np.uint32) >> np.uint32(23)) & np.uint32(0xFF)
    unbiased = field.astype(np.int64) - 127 - emax_elem
    codes = np.clip(unbiased, -E8M0_BIAS, E8M0_BIAS) + E8M0_BIAS
    return np.where(np.isfinite(amax), codes, E8M0_NAN).astype(np.uint8)


def _mx_elements(scaled: np.ndarray, elem: str) -> tuple[np.ndarray, np.ndarray]:
    """Round ``x / X`` to the element format (RNE, clamped): (codes, values)."""
    if elem == "int8":
        # |x / X| < 2 except in NaN-scale blocks, whose NaN and inf are tamed here.
        bounded = np.clip(np.nan_to_num(scaled, nan=0.0), -2.0, 2.0)
        k = np.clip(np.rint(bounded / MXINT8_STEP), -MXINT8_MAX_CODE, MXINT8_MAX_CODE)
        k = k.astype(np.int8)
        return k.view(np.uint8), k * MXINT8_STEP
    codes = formats.encode(scaled, elem, saturate=True)
    return codes.astype(np.uint8), formats.decode(codes, elem)


def mx_quantize(
    x: np.ndarray, elem: str = "float8_e4m3fn", block_size: int = 32, axis: int = -1
) -> MXQuantized:
    """Quantize to an OCP MX format: E8M0 power-of-two scale per block, narrow elements.

    For each block of ``block_size`` consecutive values along ``axis``:

    1. ``amax = max |x|``; the scale is ``X = 2**(floor(log2(amax)) - emax_elem)``
       with ``floor(log2(amax))`` read from the exponent field of the float32
       ``amax`` (exact, unlike float32 ``log2`` near powers of two), the exponent
       clamped to ``[-127, 127]``;
    2. the elements are ``x / X`` rounded half to even to the element format and
       clamped to its largest value (MX elements never overflow).

    Special blocks: an all-zero block gets the smallest scale, code 0
    (``2**-127``), and zero elements; a block containing NaN *or an infinity* gets
    the NaN scale (code 255), as in the spec's reference code, and dequantizes to
    NaN (its elements carry no information).

    Parameters
    ----------
    x : array_like
        Real values; converted to float32 first (MX quantizers read float32 or
        bfloat16 data, so a float64 input is rounded once more).
    elem : str
        ``"float8_e4m3fn"``, ``"float8_e5m2"``, ``"float6_e2m3fn"``,
        ``"float6_e3m2fn"``, ``"float4_e2m1fn"`` or ``"int8"``.
    block_size : int
        Values per scale (32 in the spec).  The length of ``axis`` must be a
        multiple of it; there is no implicit padding.
    axis : int
        The axis along which blocks are formed.

    Returns
    -------
    MXQuantized

    Notes
    -----
    Equal bit for bit (scale codes and element codes) to torchao 0.18's
    ``torchao.prototype.mx_formats.mx_tensor.to_mx`` (FLOOR mode) for the five float
    element types, except in two corners where torchao departs from the spec:
    (a) a block with an infinity but no NaN gets a finite scale from torchao
    (``2**(128 - emax_elem)``, the infinity saturating to the element max);
    (b) for a non-zero block whose scale clamps to code 0 (``amax < 2**(emax_elem -
    126)``), torchao divides by ``2**-126`` instead of the ``2**-127`` it stores,
    so its elements are half of ours.  torchao has no MXINT8.

    Examples
    --------
    >>> q = mx_quantize(np.array([1.0, -3.0, 0.3, 5.0] * 8), "float4_e2m1fn")
    >>> int(q.scale_codes[0]) - 127  # floor(log2(5)) - 2 = 0: X = 1
    0
    >>> q.dequantize()[:4]
    array([ 1. , -3. ,  0.5,  4. ])
    >>> q.bits_per_value
    4.25
    """
    elem = one_of(elem, "elem", tuple(MX_ELEMENTS))
    block_size = positive_int(block_size, "block_size")
    blocks, axis = _to_blocks(_as_float32(x), block_size, axis)

    with np.errstate(invalid="ignore"):
        amax = np.max(np.abs(blocks), axis=-1)
    scale_codes = _e8m0_scale_codes(amax, MX_ELEMENTS[elem][1])
    # 2**(code - 127) exactly, in float64 (2**-127 is a float32 subnormal); a NaN
    # block is divided by 1, so that its elements are defined.
    exponent = np.where(scale_codes == E8M0_NAN, 0, scale_codes.astype(np.int64) - E8M0_BIAS)
    scaled = blocks.astype(np.float64) / np.ldexp(1.0, exponent)[..., None]
    codes, values = _mx_elements(scaled, elem)
    return MXQuantized(
        scale_codes=_per_block(scale_codes, axis),
        element_codes=_from_blocks(codes, axis),
        elements=_from_blocks(values, axis),
        elem=elem,
        block_size=block_size,
        axis=axis,
    )


# --------------------------------------------------------------------------- NVFP4


@dataclass(frozen=True)
class NVFP4Quantized:
    """An array in NVFP4 (see :func:`nvfp4_quantize`).

    Attributes
    ----------
    tensor_scale : float
        The float32 per-tensor scale.
    block_scale_codes : numpy.ndarray of uint8
        E4M3 codes of the block scales, one per block (the input's shape with
        ``axis`` divided by ``block_size``).
    element_codes : numpy.ndarray of uint8
        E2M1 codes (4 bits, unpacked: see :func:`pack_fp4`), the input's shape.
    elements : numpy.ndarray of float64
        The E2M1 element values.
    block_size : int
        Values per block scale.
    axis : int
        The axis along which the blocks were formed (non-negative).

    Examples
    --------
    >>> q = nvfp4_quantize(np.linspace(-1, 1, 16))
    >>> q.block_scale_codes, q.elements[:3]
    (array([126], dtype=uint8), array([-6., -6., -4.]))
    """

    tensor_scale: float
    block_scale_codes: np.ndarray
    element_codes: np.ndarray
    elements: np.ndarray
    block_size: int
    axis: int

    def __post_init__(self) -> None:
        """Check that the fields fit together (one scale per block, codes of the elements' shape)."""
        check_fields(self, tensor_scale="number", block_scale_codes="codes", element_codes="codes",
                     elements="finite", block_size="positive", axis="int")
        if not 0 < self.tensor_scale < np.inf:
            raise ValueError(f"tensor_scale must be positive, got {self.tensor_scale}")
        _check_block_layout(self, "block_scale_codes")

    @property
    def block_scales(self) -> np.ndarray:
        """The E4M3 block scales as float64."""
        return formats.decode(self.block_scale_codes, "float8_e4m3fn")

    def dequantize(self) -> np.ndarray:
        """``element * block_scale * tensor_scale`` as float64 (exact: 2 + 4 + 24 bits)."""
        scales = _expand(self.block_scales, self.block_size, self.axis) * self.tensor_scale
        return self.elements * scales

    @property
    def bits_per_value(self) -> float:
        """4 element bits, 8 bits of block scale per block, 32 bits of tensor scale overall."""
        return 4 + 8 / self.block_size + 32 / self.elements.size


def _check_tensor_scale(tensor_scale: object) -> np.float32:
    if isinstance(tensor_scale, bool) or not isinstance(tensor_scale, numbers.Real):
        raise TypeError(f"tensor_scale must be None or a positive number, got {tensor_scale!r}")
    value = np.float32(tensor_scale)
    if not (np.isfinite(value) and value >= FLOAT32_MIN_NORMAL):
        raise ValueError(
            f"tensor_scale must be a finite float32 of at least 2**-126, got {tensor_scale!r}"
        )
    return value


def nvfp4_quantize(
    x: np.ndarray, block_size: int = 16, axis: int = -1, *, tensor_scale: float | None = None
) -> NVFP4Quantized:
    """Quantize to NVFP4: E2M1 elements, an E4M3 scale per block, a float32 tensor scale.

    In float32 arithmetic, as torchao's ``nvfp4_quantize`` with a per-tensor scale:

    1. ``tensor_scale = amax / (448 * 6)`` over the whole array;
    2. per block, ``block_scale = clamp((amax_b / 6) / tensor_scale, 2**-6, 448)``
       rounded to E4M3 (half to even);
    3. ``elements = x * ((1 / tensor_scale) / block_scale)`` (torchao multiplies by
       this reciprocal, like NVIDIA's kernels, instead of dividing), clamped to
       ``[-6, 6]`` and rounded half to even to E2M1.

    Parameters
    ----------
    x : array_like
        Finite real values; converted to float32 first.
    block_size : int
        Values per block scale (16 in NVFP4; torchao accepts only 16).
    axis : int
        The axis along which blocks are formed; its length must be a multiple of
        ``block_size``.
    tensor_scale : float, optional
        A calibrated per-tensor scale (rounded to float32, at least 2**-126)
        instead of ``amax / 2688``.  ``1.0`` gives torchao's single-level scaling
        (no per-tensor scale).

    Returns
    -------
    NVFP4Quantized

    Notes
    -----
    An all-zero array gets ``tensor_scale = 1`` (torchao divides 0 by 0 and returns
    NaN scales).  An ``amax`` so small that ``amax / 2688`` is not a normal float32
    (below about 3e-35) raises, because ``1 / tensor_scale`` would overflow.

    Examples
    --------
    >>> x = np.linspace(-1.0, 1.0, 32)
    >>> q = nvfp4_quantize(x)
    >>> bool(q.tensor_scale == np.float32(1.0) / np.float32(2688.0)), q.block_scales.tolist()
    (True, [448.0, 448.0])
    >>> q.bits_per_value
    5.5
    """
    x32 = _as_float32(x)
    if not np.all(np.isfinite(x32)):
        raise ValueError("x must be finite: NVFP4 has no encoding for NaN or infinity")
    block_size = positive_int(block_size, "block_size")
    blocks, axis = _to_blocks(x32, block_size, axis)

    if tensor_scale is None:
        amax = np.max(np.abs(x32)) if x32.size else np.float32(0.0)
        ts = np.float32(1.0) if amax == 0 else amax / np.float32(E4M3_MAX * FP4_MAX)
        if not ts >= FLOAT32_MIN_NORMAL:
            raise ValueError(
                f"amax {float(amax):.3g} is too small for NVFP4's float32 tensor scale "
                "(amax / 2688 must be at least 2**-126); pass tensor_scale explicitly"
            )
    else:
        ts = _check_tensor_scale(tensor_scale)

    block_amax = np.max(np.abs(blocks), axis=-1)
    block_scale = (block_amax / np.float32(FP4_MAX)) / ts
    block_scale = np.clip(block_scale, np.float32(E4M3_MIN_NORMAL), np.float32(E4M3_MAX))
    scale_codes = formats.encode(block_scale, "float8_e4m3fn", saturate=True).astype(np.uint8)
    scale_values = formats.decode(scale_codes, "float8_e4m3fn").astype(np.float32)

    reciprocal = (np.float32(1.0) / ts) / scale_values
    scaled = np.clip(blocks * reciprocal[..., None], -np.float32(FP4_MAX), np.float32(FP4_MAX))
    codes = formats.encode(scaled, "float4_e2m1fn").astype(np.uint8)
    return NVFP4Quantized(
        tensor_scale=float(ts),
        block_scale_codes=_per_block(scale_codes, axis),
        element_codes=_from_blocks(codes, axis),
        elements=_from_blocks(formats.decode(codes, "float4_e2m1fn"), axis),
        block_size=block_size,
        axis=axis,
    )


# --------------------------------------------------------------------------- packing


def pack_fp4(codes: np.ndarray, *, first: str = "low") -> np.ndarray:
    """Pack 4-bit codes two per byte along the last axis.

    ``first="low"`` puts the first element in the low nibble, as torchao's
    ``pack_uint4`` (and PyTorch's ``float4_e2m1fn_x2``) do; ``first="high"`` is
    bitsandbytes' order.  An odd count is padded with a zero code.  This is
    :func:`support.numbers.integers.pack` with ``bits=4``.

    Examples
    --------
    >>> [hex(b) for b in pack_fp4(np.array([0x1, 0xA, 0x7]))]
    ['0xa1', '0x7']
    >>> [hex(b) for b in pack_fp4(np.array([0x1, 0xA]), first="high")]
    ['0x1a']
    """
    return integers.pack(codes, 4, first=first)


def unpack_fp4(packed: np.ndarray, count: int | None = None, *, first: str = "low") -> np.ndarray:
    """Unpack bytes into 4-bit codes (uint8); the inverse of :func:`pack_fp4`.

    ``count`` is the number of codes per row (default: two per byte).

    Examples
    --------
    >>> unpack_fp4(np.array([0xA1, 0x07], dtype=np.uint8), count=3)
    array([ 1, 10,  7], dtype=uint8)
    """
    return integers.unpack(packed, 4, count, first=first)
