"""Uniform (affine) quantization: integer codes on an evenly spaced grid.

A real value ``x`` is stored as an integer code ``q`` and recovered as
``x_hat = (q - zero_point) * scale``.  This module gives one implementation of
every variant the course uses:

- **Symmetric** (``zero_point = 0``), for 2 to 16 bits: codes in the
  *restricted* range ``[-(2**(b-1) - 1), 2**(b-1) - 1]`` (as PyTorch's
  ``quint``/``qint`` symmetric weights, TensorRT, GPTQ and most libraries do:
  the grid is symmetric about 0, so ``-x`` quantizes to ``-q``).  With
  ``restricted=False`` the extra code ``-2**(b-1)`` is allowed too; the scale
  is still ``absmax / (2**(b-1) - 1)``, so the extra code is only reached by
  clipped negative values.
- **1-bit symmetric** (binary): codes ``{-1, +1}`` (the sign, with
  ``sign(0) = +1``) and ``scale = mean(|x|)``, the scale that minimises the MSE
  of sign quantization (the derivative of ``sum((|x| - s)**2)`` vanishes at the
  mean).  ``clip`` is not used: there is nothing to clip.
- **Asymmetric** (zero-point), for 1 to 16 bits: codes ``[0, 2**b - 1]`` and an
  integer ``zero_point`` in that range, so the real value 0 is represented
  exactly (the range ``[min, max]`` is first widened to include 0, as PyTorch
  does).

Granularity: per-tensor (``axis=None``), per-channel (``axis=k``: one scale per
index along axis ``k``) or per-group (``group_size=g``: consecutive runs of
``g`` elements along ``axis``, default the last axis, each get their own scale;
for a weight ``W`` of shape ``(out, in)`` that is one scale per row and per
group of ``g`` input columns, as in GPTQ and AWQ).

Rounding is round-half-to-even everywhere (``numpy.rint``), like PyTorch's
``nearbyint``.  PyTorch multiplies by the float32 reciprocal ``1/scale`` where
this module divides: the two agree exactly whenever ``1/scale`` is exact (a
power-of-two scale) and otherwise differ only for values within about one
float32 ulp of a rounding tie.

Scales are rounded to ``scale_dtype`` (float16 by default, as checkpoints store
them) *before* the codes are computed, so the codes are the best ones for the
scale that is actually stored.  Scale arrays are returned as float64 arrays
whose values are exactly representable in ``scale_dtype``.

Special cases: a group of all zeros gets ``scale = 1`` (and ``zero_point = 0``),
so dequantization gives exact zeros and never divides by zero (1-bit symmetric
quantization, which has no zero code and never divides, gives such a group
``scale = mean|x| = 0`` instead); NaN or infinite inputs raise ``ValueError``.

>>> import numpy as np
>>> x = np.array([-3.5, -1.2, 0.0, 1.25, 1.75])
>>> q = quantize(x, 4)  # scale = 3.5 / 7 = 0.5
>>> q.codes  # 1.25 / 0.5 = 2.5 rounds to even: 2; 1.75 / 0.5 = 3.5 -> 4
array([-7, -2,  0,  2,  4], dtype=int8)
>>> q.dequantize()
array([-3.5, -1. ,  0. ,  1. ,  2. ])
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from support._validate import (
    flag,
    integer_array,
    integer_in_range,
    normalize_axis,
    one_of,
    positive_int,
    real_array,
    set_fields,
    shape_tuple,
)

__all__ = [
    "ScaleRangeError",
    "UniformQuantized",
    "integer_range",
    "scale_zero_point",
    "quantize_with",
    "dequantize_with",
    "fake_quantize_with",
    "quantize",
    "fake_quantize",
    "quantize_multiplier",
    "int_matmul",
    "AccumulatorOverflow",
    "accumulator_overflow",
]

MIN_BITS, MAX_BITS = 1, 16
SCALE_DTYPES = {"float16": 16, "bfloat16": 16, "float32": 32, "float64": 64}
# Clipping ratios tried by clip="mse": 1.00, 0.99, ..., 0.20 (as GPTQ's grid search).
MSE_CLIP_RATIOS = np.round(np.arange(100, 19, -1) / 100.0, 2)
# clip="mse" evaluates several ratios at once; at most this many values per batch.
_MSE_BATCH_VALUES = 1 << 22


# --------------------------------------------------------------------------- checks


def _check_bits(bits: object) -> int:
    return integer_in_range(bits, "bits", MIN_BITS, MAX_BITS)


def _check_finite_array(x: ArrayLike, name: str = "x") -> np.ndarray:
    """Return ``x`` as a non-empty numpy array of real numbers, refusing NaN and infinities."""
    return real_array(x, name, why="a NaN or infinite value would make its whole group's scale NaN or inf")


def _check_clip(clip: object) -> str | float:
    if isinstance(clip, str):
        if clip not in ("absmax", "mse"):
            raise ValueError(f"clip must be 'absmax', 'mse' or a ratio in (0, 1], got {clip!r}")
        return clip
    if isinstance(clip, bool) or not isinstance(clip, numbers.Real):
        raise TypeError(f"clip must be 'absmax', 'mse' or a ratio in (0, 1], got {clip!r}")
    if not 0.0 < float(clip) <= 1.0:
        raise ValueError(f"a clip ratio must be in (0, 1], got {clip}")
    return float(clip)


def _check_scale_dtype(scale_dtype: object) -> str:
    return one_of(scale_dtype, "scale_dtype", tuple(SCALE_DTYPES))


def _output_dtype(x: np.ndarray) -> np.dtype:
    """Floating inputs keep their dtype; integer inputs give float64."""
    return x.dtype if np.issubdtype(x.dtype, np.floating) else np.dtype(np.float64)


# --------------------------------------------------------------------------- grid


def integer_range(bits: int, *, symmetric: bool = True, restricted: bool = True) -> tuple[int, int]:
    """Smallest and largest integer code of a ``bits``-bit uniform quantizer.

    Parameters
    ----------
    bits : int
        1 to 16.
    symmetric : bool
        ``True``: signed codes around 0; ``False``: unsigned codes ``[0, 2**bits - 1]``.
    restricted : bool
        Symmetric only: drop the code ``-2**(bits-1)`` so the range is symmetric.
        Ignored for 1 bit, whose codes are always ``{-1, +1}``.

    Returns
    -------
    (int, int)

    Examples
    --------
    >>> integer_range(8), integer_range(8, restricted=False), integer_range(8, symmetric=False)
    ((-127, 127), (-128, 127), (0, 255))
    >>> integer_range(1)
    (-1, 1)
    """
    bits = _check_bits(bits)
    symmetric, restricted = flag(symmetric, "symmetric"), flag(restricted, "restricted")
    if not symmetric:
        return 0, 2**bits - 1
    if bits == 1:
        return -1, 1
    qmax = 2 ** (bits - 1) - 1
    return (-qmax if restricted else -qmax - 1), qmax


def _code_dtype(bits: int, symmetric: bool) -> np.dtype:
    if symmetric:
        return np.dtype(np.int8 if bits <= 8 else np.int16)
    return np.dtype(np.uint8 if bits <= 8 else np.uint16)


def _round_to_bfloat16(values: np.ndarray) -> np.ndarray:
    """Round float values to the nearest bfloat16 (ties to even), returned as float64."""
    as_bits = values.astype(np.float32).view(np.uint32)
    lsb = (as_bits >> 16) & 1
    rounded = (as_bits + np.uint32(0x7FFF) + lsb) & np.uint32(0xFFFF0000)
    return rounded.view(np.float32).astype(np.float64)


def _round_scale(scale: np.ndarray, scale_dtype: str) -> np.ndarray:
    """Round scales to ``scale_dtype``; refuse scales that overflow or vanish there."""
    if scale_dtype == "bfloat16":
        rounded = _round_to_bfloat16(scale)
    else:
        with np.errstate(over="ignore"):
            rounded = scale.astype(scale_dtype).astype(np.float64)
    if not np.isfinite(rounded).all():
        raise ScaleRangeError(
            f"a scale ({scale.max():.3g}) overflows {scale_dtype}; use a wider scale_dtype "
            "(e.g. 'float32')", scale_dtype, float(scale.max()))
    if np.any(rounded <= 0):
        raise ScaleRangeError(
            f"a scale ({scale.min():.3g}) underflows to 0 in {scale_dtype}; use a wider "
            "scale_dtype (e.g. 'float32')", scale_dtype, float(scale.min()))
    return rounded


class ScaleRangeError(ValueError):
    """A scale that does not fit ``scale_dtype``: the values are too large or too small for it.

    A function that fixes ``scale_dtype`` itself (GPTQ, LLM.int8) catches it and says
    which of *its* arguments is out of range (see :meth:`reworded`).

    Examples
    --------
    >>> try:
    ...     quantize(np.array([1e9]), bits=8)
    ... except ScaleRangeError as error:
    ...     print(error.scale_dtype, f"{error.scale:.3g}")
    float16 7.87e+06
    """

    def __init__(self, message: str, scale_dtype: str, scale: float) -> None:
        super().__init__(message)
        self.scale_dtype, self.scale = scale_dtype, scale

    def reworded(self, name: str, values: np.ndarray, why: str) -> ValueError:
        """The error for a caller whose argument ``name`` holds ``values``; ``why`` says where
        the scale type comes from (e.g. "LLM.int8 stores its scales in float32")."""
        finite = np.abs(values[np.isfinite(values)])
        peak = float(finite.max()) if finite.size else 0.0
        return ValueError(
            f"{name} cannot be quantized: a scale ({self.scale:.3g}) does not fit {self.scale_dtype} "
            f"({why}); the largest |{name}| is {peak:.3g}; rescale {name} first"
        )


# --------------------------------------------------------------------------- rows


def _to_rows(x: np.ndarray, axis: int | None, group_size: int | None) -> np.ndarray:
    """Reshape ``x`` to a 2-D array with one row per scale (per tensor, channel or group)."""
    if axis is None:
        return x.reshape(1, -1)
    if group_size is None:
        return np.moveaxis(x, axis, 0).reshape(x.shape[axis], -1)
    return np.moveaxis(x, axis, -1).reshape(-1, group_size)


def _param_shape(shape: tuple[int, ...], axis: int | None, group_size: int | None) -> tuple[int, ...]:
    """Shape of the scale array: keepdims for per-tensor/per-channel, axis/g for groups."""
    if axis is None:
        return (1,) * len(shape)
    if group_size is None:
        return tuple(n if k == axis else 1 for k, n in enumerate(shape))
    return tuple(n // group_size if k == axis else n for k, n in enumerate(shape))


def _moved_shape(shape: tuple[int, ...], axis: int, to_front: bool) -> tuple[int, ...]:
    """The shape after ``np.moveaxis(x, axis, 0 if to_front else -1)``."""
    rest = shape[:axis] + shape[axis + 1:]
    return (shape[axis],) + rest if to_front else rest + (shape[axis],)


def _rows_to_params(values: np.ndarray, shape: tuple[int, ...], axis: int | None,
                    group_size: int | None) -> np.ndarray:
    """Inverse of :func:`_to_rows` for one value per row."""
    if axis is None or group_size is None:
        return values.reshape(_param_shape(shape, axis, group_size))
    moved = _moved_shape(shape, axis, to_front=False)
    grouped = values.reshape(moved[:-1] + (moved[-1] // group_size,))
    return np.moveaxis(grouped, -1, axis)


def _rows_to_codes(codes: np.ndarray, shape: tuple[int, ...], axis: int | None,
                   group_size: int | None) -> np.ndarray:
    """Inverse of :func:`_to_rows` for the full 2-D array of codes."""
    if axis is None:
        return codes.reshape(shape)
    per_channel = group_size is None  # channel rows came from moving the axis to the front
    moved = codes.reshape(_moved_shape(shape, axis, to_front=per_channel))
    return np.ascontiguousarray(np.moveaxis(moved, 0 if per_channel else -1, axis))


def _expand(param: np.ndarray, axis: int | None, group_size: int | None) -> np.ndarray:
    """Make a parameter array broadcast against the full tensor."""
    if axis is None or group_size is None:
        return param
    return np.repeat(param, group_size, axis=axis)


# --------------------------------------------------------------------------- parameters


def _params_from_range(lo: np.ndarray, hi: np.ndarray, bits: int, symmetric: bool,
                       scale_dtype: str) -> tuple[np.ndarray, np.ndarray]:
    """Scale and zero-point per row from the (clipped) range of each row.

    Symmetric: ``hi`` is the absmax.  Asymmetric: ``lo <= 0 <= hi``.
    """
    if symmetric:
        qmax = 2 ** (bits - 1) - 1
        empty = hi == 0
        scale = np.where(empty, 1.0, hi / qmax)
        scale = _round_scale(scale, scale_dtype)
        return scale, np.zeros(scale.shape, dtype=np.int64)
    qmax = 2**bits - 1
    empty = hi == lo
    scale = np.where(empty, 1.0, (hi - lo) / qmax)
    scale = _round_scale(scale, scale_dtype)
    zero_point = np.clip(np.rint(-lo / scale), 0, qmax).astype(np.int64)
    return scale, zero_point


def _row_range(rows: np.ndarray, symmetric: bool) -> tuple[np.ndarray, np.ndarray]:
    """Unclipped range per row: absmax (symmetric) or [min(min, 0), max(max, 0)]."""
    if symmetric:
        absmax = np.abs(rows).max(axis=1)
        return -absmax, absmax
    return np.minimum(rows.min(axis=1), 0.0), np.maximum(rows.max(axis=1), 0.0)


def _row_codes(rows: np.ndarray, scale: np.ndarray, zero_point: np.ndarray, bits: int,
               symmetric: bool, restricted: bool) -> np.ndarray:
    """Integer codes of 2-D ``rows`` with parameters broadcasting over rows (int64)."""
    qmin, qmax = integer_range(bits, symmetric=symmetric, restricted=restricted)
    if symmetric and bits == 1:
        return np.where(rows >= 0, 1, -1).astype(np.int64)
    return np.clip(np.rint(rows / scale) + zero_point, qmin, qmax).astype(np.int64)


def _mse_best_ratio(rows: np.ndarray, lo: np.ndarray, hi: np.ndarray, bits: int,
                    symmetric: bool, restricted: bool, scale_dtype: str) -> np.ndarray:
    """For each row, the clipping ratio in MSE_CLIP_RATIOS with the smallest squared error.

    The error is evaluated for a batch of ratios at once (a 3-D array
    ratios x rows x values); ties go to the larger ratio (less clipping).
    """
    best_err = np.full(rows.shape[0], np.inf)
    best_ratio = np.ones(rows.shape[0])
    batch = max(1, _MSE_BATCH_VALUES // rows.size)
    for start in range(0, len(MSE_CLIP_RATIOS), batch):
        ratios = MSE_CLIP_RATIOS[start:start + batch, None]  # (R, 1)
        scale, zp = _params_from_range(ratios * lo, ratios * hi, bits, symmetric, scale_dtype)
        scale, zp = scale[:, :, None], zp[:, :, None]  # (R, rows, 1)
        codes = _row_codes(rows[None], scale, zp, bits, symmetric, restricted)
        err = np.sum(((codes - zp) * scale - rows[None]) ** 2, axis=2)  # (R, rows)
        k = np.argmin(err, axis=0)
        err_k = err[k, np.arange(rows.shape[0])]
        better = err_k < best_err
        best_err = np.where(better, err_k, best_err)
        best_ratio = np.where(better, ratios[k, 0], best_ratio)
    return best_ratio


def _row_params(rows: np.ndarray, bits: int, symmetric: bool, restricted: bool,
                clip: str | float, scale_dtype: str) -> tuple[np.ndarray, np.ndarray]:
    """Scale and zero-point (1-D, one per row) for the chosen clipping rule."""
    if symmetric and bits == 1:
        if not isinstance(clip, str):
            raise ValueError(
                "1-bit symmetric quantization uses scale = mean|x| (the MSE-optimal sign "
                "scale); clip must be 'absmax' or 'mse', not a ratio"
            )
        mean_abs = np.abs(rows).mean(axis=1)
        # No code means 0 here, so an all-zero group needs scale 0 to come back as zeros.
        scale = _round_scale(np.where(mean_abs == 0, 1.0, mean_abs), scale_dtype)
        scale = np.where(mean_abs == 0, 0.0, scale)
        return scale, np.zeros(scale.shape, dtype=np.int64)
    lo, hi = _row_range(rows, symmetric)
    if clip == "absmax":
        ratio = np.ones(rows.shape[0])
    elif clip == "mse":
        ratio = _mse_best_ratio(rows, lo, hi, bits, symmetric, restricted, scale_dtype)
    else:
        ratio = np.full(rows.shape[0], float(clip))
    return _params_from_range(ratio * lo, ratio * hi, bits, symmetric, scale_dtype)


def scale_zero_point(
    x: ArrayLike,
    bits: int,
    *,
    symmetric: bool = True,
    axis: int | None = None,
    clip: str | float = "absmax",
    restricted: bool = True,
    scale_dtype: str = "float16",
) -> tuple[np.ndarray, np.ndarray]:
    """Scale and zero-point of a per-tensor or per-channel uniform quantizer.

    Reduces over all axes except ``axis`` (all axes when ``axis`` is None) and
    keeps the reduced dimensions, so the results broadcast against ``x``.

    Parameters
    ----------
    x : array_like
        Values to quantize; finite, not empty.
    bits : int
        1 to 16.
    symmetric : bool
        Symmetric (zero-point 0) or asymmetric (integer zero-point) grid.
    axis : int, optional
        The channel axis: one scale per index along it.
    clip : {'absmax', 'mse'} or float
        ``'absmax'``: the grid covers the whole range (min/max for asymmetric);
        a float ``r`` in (0, 1]: the range is shrunk to ``r`` times that;
        ``'mse'``: the ratio in ``MSE_CLIP_RATIOS`` with the smallest MSE,
        chosen separately for each channel.
    restricted : bool
        Symmetric only: codes ``[-(2**(b-1)-1), 2**(b-1)-1]`` (default) or with
        the extra code ``-2**(b-1)``.
    scale_dtype : {'float16', 'bfloat16', 'float32', 'float64'}
        The scales are rounded to this type.

    Returns
    -------
    scale : numpy.ndarray of float64
        Positive; 1 for an all-zero channel (0 for 1-bit symmetric).
    zero_point : numpy.ndarray of int64
        0 for symmetric quantization.

    Examples
    --------
    >>> w = np.array([[3.2, -7.0], [0.6, 1.75]])
    >>> scale, zp = scale_zero_point(w, 4, axis=0)  # one scale per row
    >>> scale
    array([[1.  ],
           [0.25]])
    >>> fake_quantize_with(w, scale, zp, 4)
    array([[ 3.  , -7.  ],
           [ 0.5 ,  1.75]])
    """
    arr = _check_finite_array(x)
    bits = _check_bits(bits)
    clip = _check_clip(clip)
    scale_dtype = _check_scale_dtype(scale_dtype)
    symmetric, restricted = flag(symmetric, "symmetric"), flag(restricted, "restricted")
    ax = normalize_axis(axis, arr.ndim, allow_none=True, array="x")
    rows = _to_rows(arr.astype(np.float64), ax, None)
    scale, zp = _row_params(rows, bits, symmetric, restricted, clip, scale_dtype)
    shape = _param_shape(arr.shape, ax, None)
    return scale.reshape(shape), zp.reshape(shape)


def _integer_zero_point(zero_point: ArrayLike) -> np.ndarray:
    """``zero_point`` as int64; integral floats such as ``3.0`` are accepted, ``3.5`` is not."""
    zero_point = real_array(zero_point, "zero_point", allow_empty=True)
    if not np.issubdtype(zero_point.dtype, np.integer):
        values = np.asarray(zero_point, dtype=np.float64)
        if not np.all(values % 1 == 0):
            bad = values[~(values % 1 == 0)].ravel()[0]
            raise ValueError(f"zero_point must hold integers, got {bad}")
    return zero_point.astype(np.int64)


def _check_params(x: np.ndarray, scale: ArrayLike, zero_point: ArrayLike, bits: int,
                  symmetric: bool) -> tuple[np.ndarray, np.ndarray]:
    """Validate scale/zero-point given by the caller and broadcast-check them against ``x``."""
    scale = real_array(scale, "scale", allow_empty=True, allow_nan=True, allow_inf=True).astype(np.float64)
    if symmetric and bits == 1:  # sign quantization never divides by the scale
        if not (np.isfinite(scale).all() and (scale >= 0).all()):
            raise ValueError("scale must be finite and non-negative everywhere")
    elif not (np.isfinite(scale).all() and (scale > 0).all()):
        raise ValueError("scale must be finite and positive everywhere")
    zero_point = _integer_zero_point(zero_point)
    qmin, qmax = integer_range(bits, symmetric=symmetric, restricted=False)
    if symmetric and np.any(zero_point != 0):
        raise ValueError("symmetric quantization has zero_point 0; pass symmetric=False for a zero-point")
    if not symmetric and (zero_point.min() < qmin or zero_point.max() > qmax):
        raise ValueError(f"zero_point must lie in the code range [{qmin}, {qmax}] for {bits} bits")
    try:
        np.broadcast_shapes(x.shape, scale.shape, zero_point.shape)
    except ValueError as exc:
        raise ValueError(
            f"scale {scale.shape} and zero_point {zero_point.shape} must broadcast against "
            f"x {x.shape}"
        ) from exc
    return scale, zero_point


def quantize_with(
    x: ArrayLike,
    scale: ArrayLike,
    zero_point: ArrayLike,
    bits: int,
    *,
    symmetric: bool = True,
    restricted: bool = True,
) -> np.ndarray:
    """Integer codes ``clamp(round_half_even(x / scale) + zero_point)`` for given parameters.

    Parameters
    ----------
    x : array_like
        Finite values.
    scale, zero_point : array_like
        Broadcast against ``x`` (e.g. from :func:`scale_zero_point`).
    bits : int
        1 to 16; 1-bit symmetric codes are ``sign(x)`` with ``sign(0) = +1``.
    symmetric, restricted : bool
        Select the code range, see :func:`integer_range`.

    Returns
    -------
    numpy.ndarray of int64

    Examples
    --------
    >>> quantize_with([0.5, 1.5, 2.5, -2.5, 99.0], 1.0, 0, 4)
    array([ 0,  2,  2, -2,  7])
    """
    arr = _check_finite_array(x)
    bits = _check_bits(bits)
    symmetric, restricted = flag(symmetric, "symmetric"), flag(restricted, "restricted")
    scale, zero_point = _check_params(arr, scale, zero_point, bits, symmetric)
    qmin, qmax = integer_range(bits, symmetric=symmetric, restricted=restricted)
    if symmetric and bits == 1:
        return np.where(arr >= 0, 1, -1).astype(np.int64)
    return _codes(arr.astype(np.float64), scale, zero_point, qmin, qmax).astype(np.int64)


def _codes(values: np.ndarray, scale: np.ndarray, zero_point: np.ndarray, qmin: int, qmax: int) -> np.ndarray:
    """The rounding rule of :func:`quantize_with` on checked arguments: codes as float64.

    GPTQ applies it column by column, where the checks would cost more than the arithmetic.
    """
    return np.clip(np.rint(values / scale) + zero_point, qmin, qmax)


def _values(codes: np.ndarray, scale: np.ndarray, zero_point: np.ndarray) -> np.ndarray:
    """The rule of :func:`dequantize_with` on checked arguments: ``(codes - zero_point) * scale``."""
    return (codes - zero_point) * scale


def dequantize_with(codes: ArrayLike, scale: ArrayLike, zero_point: ArrayLike = 0) -> np.ndarray:
    """Real values ``(codes - zero_point) * scale`` (float64).

    ``scale`` must be finite and non-negative, ``zero_point`` integer-valued; the
    three arrays must broadcast together.

    Examples
    --------
    >>> dequantize_with([0, 3, 15], 0.5, 3)
    array([-1.5,  0. ,  6. ])
    """
    codes = integer_array(codes, "codes")
    zero_point = _integer_zero_point(zero_point)
    scale = real_array(scale, "scale", allow_empty=True, allow_nan=True, allow_inf=True).astype(np.float64)
    if not (np.isfinite(scale).all() and (scale >= 0).all()):
        raise ValueError("scale must be finite and non-negative everywhere")
    try:
        np.broadcast_shapes(codes.shape, scale.shape, zero_point.shape)
    except ValueError as exc:
        raise ValueError(
            f"scale {scale.shape} and zero_point {zero_point.shape} must broadcast against "
            f"codes {codes.shape}"
        ) from exc
    return _values(codes.astype(np.int64), scale, zero_point)


def fake_quantize_with(
    x: ArrayLike,
    scale: ArrayLike,
    zero_point: ArrayLike,
    bits: int,
    *,
    symmetric: bool = True,
    restricted: bool = True,
) -> np.ndarray:
    """Quantize with the given parameters and dequantize at once (round half to even, clamp).

    The result has ``x``'s floating dtype (float64 for integer input).  This is
    the primitive that GPTQ calls column by column.

    Parameters
    ----------
    x : array_like
        Finite values.
    scale, zero_point : array_like
        Broadcast against ``x``.
    bits : int
        1 to 16.
    symmetric, restricted : bool
        Select the code range, see :func:`integer_range`.

    Returns
    -------
    numpy.ndarray

    Examples
    --------
    >>> fake_quantize_with(np.array([0.26, -3.0, 0.0]), 0.1, 2, 4, symmetric=False)
    array([ 0.3, -0.2,  0. ])
    """
    arr = _check_finite_array(x)
    codes = quantize_with(arr, scale, zero_point, bits, symmetric=symmetric, restricted=restricted)
    return dequantize_with(codes, scale, zero_point).astype(_output_dtype(arr))


# --------------------------------------------------------------------------- quantize


@dataclass(frozen=True)
class UniformQuantized:
    """A tensor stored as integer codes with per-tensor, per-channel or per-group parameters.

    Attributes
    ----------
    codes : numpy.ndarray
        Integer codes, same shape as the original tensor (int8/int16 when
        symmetric, uint8/uint16 when asymmetric).
    scale : numpy.ndarray of float64
        Per-tensor: shape ``(1, ..., 1)``; per-channel: the tensor's shape with
        1 everywhere except ``axis``; per-group: the tensor's shape with the
        length of ``axis`` divided by ``group_size``.
    zero_point : numpy.ndarray of int64
        Same shape as ``scale``; all zeros when symmetric.
    bits : int
        Bits per code.
    symmetric : bool
        Whether the codes are symmetric around zero (zero-points all 0).
    axis : int or None
        The axis with one scale per index, normalised to be non-negative; None for
        one scale per tensor.
    group_size : int or None
        Consecutive elements along ``axis`` that share a scale, or None (one scale
        per index of ``axis``).
    shape : tuple of int
        The shape of the quantized tensor.
    restricted : bool
        Whether symmetric codes exclude the most negative integer.
    scale_dtype : str
        The format the scales are stored in (their values are exact in it).
    dtype : str
        The dtype :meth:`dequantize` returns.

    Examples
    --------
    >>> q = quantize(np.array([0.5, -1.0, 0.25]), bits=8)
    >>> q.codes, q.dequantize()
    (array([  64, -127,   32], dtype=int8), array([ 0.50390625, -0.99993896,  0.25195312]))
    """

    codes: np.ndarray
    scale: np.ndarray
    zero_point: np.ndarray
    bits: int
    symmetric: bool
    axis: int | None
    group_size: int | None
    shape: tuple[int, ...]
    restricted: bool = True
    scale_dtype: str = "float16"
    dtype: str = "float64"

    def __post_init__(self) -> None:
        """Check that the fields fit together (codes of ``shape``, one scale per group, codes in range)."""
        bits = _check_bits(self.bits)
        symmetric, restricted = flag(self.symmetric, "symmetric"), flag(self.restricted, "restricted")
        shape = shape_tuple(self.shape, "shape")
        codes = integer_array(self.codes, "codes")
        if codes.shape != shape:
            raise ValueError(f"codes has shape {codes.shape}, but shape is {shape}; they must be equal")
        axis = normalize_axis(self.axis, len(shape), allow_none=True)
        group_size = positive_int(self.group_size, "group_size", allow_none=True)
        if group_size is not None and (axis is None or shape[axis] % group_size):
            raise ValueError(f"group_size {group_size} must divide the length of axis {axis} of shape {shape}")
        scale = real_array(self.scale, "scale", allow_empty=True).astype(np.float64)
        zero_point = _integer_zero_point(self.zero_point)
        expected = _param_shape(shape, axis, group_size)
        for name, param in (("scale", scale), ("zero_point", zero_point)):
            if param.shape != expected:
                raise ValueError(
                    f"{name} has shape {param.shape}; codes of shape {shape} with axis={axis} and "
                    f"group_size={group_size} need {expected}"
                )
        if not ((scale >= 0) if symmetric and bits == 1 else (scale > 0)).all():
            raise ValueError("scale must be positive everywhere")
        qmin, qmax = integer_range(bits, symmetric=symmetric, restricted=False)
        if codes.size and (int(codes.min()) < qmin or int(codes.max()) > qmax):
            raise ValueError(f"codes must lie in [{qmin}, {qmax}] for {bits}-bit {'' if symmetric else 'a'}symmetric codes")
        try:
            dtype = np.dtype(self.dtype)
        except TypeError:
            raise TypeError(f"dtype must name a float dtype such as 'float32', got {self.dtype!r}") from None
        if dtype.kind != "f" or self.dtype is None:
            raise TypeError(f"dtype must name a float dtype such as 'float32', got {self.dtype!r}")
        set_fields(self, codes=codes, scale=scale, zero_point=zero_point, bits=bits, symmetric=symmetric,
                   axis=axis, group_size=group_size, shape=shape, restricted=restricted,
                   scale_dtype=_check_scale_dtype(self.scale_dtype), dtype=str(dtype))

    def dequantize(self) -> np.ndarray:
        """Real values ``(codes - zero_point) * scale`` in the original dtype."""
        scale = _expand(self.scale, self.axis, self.group_size)
        zero_point = _expand(self.zero_point, self.axis, self.group_size)
        return dequantize_with(self.codes, scale, zero_point).astype(self.dtype)

    @property
    def n_params(self) -> int:
        """Number of scales (one per tensor, channel or group)."""
        return int(self.scale.size)

    @property
    def bits_per_value(self) -> float:
        """Storage per value, the code bits plus each scale (and zero-point) shared over its group.

        A scale costs ``scale_dtype``'s width (16 bits by default); an
        asymmetric zero-point costs ``bits`` more.

        Examples
        --------
        >>> w = np.random.default_rng(0).normal(size=(4, 256))
        >>> quantize(w, 4, group_size=128).bits_per_value  # 4 + 16/128
        4.125
        >>> quantize(w, 4, symmetric=False, group_size=128).bits_per_value  # 4 + (16+4)/128
        4.15625
        """
        per_param = SCALE_DTYPES[self.scale_dtype] + (0 if self.symmetric else self.bits)
        return self.bits + per_param * self.n_params / self.codes.size


def quantize(
    x: ArrayLike,
    bits: int,
    *,
    symmetric: bool = True,
    axis: int | None = None,
    group_size: int | None = None,
    clip: str | float = "absmax",
    scale_dtype: str = "float16",
    restricted: bool = True,
) -> UniformQuantized:
    """Uniform quantization per tensor, per channel or per group.

    Parameters
    ----------
    x : array_like
        Finite values, not empty.
    bits : int
        1 to 16.
    symmetric : bool
        Zero-point 0 and signed codes (default), or an integer zero-point with
        unsigned codes ``[0, 2**bits - 1]``.
    axis : int, optional
        Without ``group_size``: the channel axis (one scale per index along it);
        ``None`` means one scale for the whole tensor.  With ``group_size``: the
        axis along which groups are formed (default: the last axis).
    group_size : int, optional
        Consecutive runs of this many elements along ``axis`` share a scale;
        it must divide the length of that axis.
    clip : {'absmax', 'mse'} or float
        See :func:`scale_zero_point`; ``'mse'`` picks the best ratio per group.
    scale_dtype : {'float16', 'bfloat16', 'float32', 'float64'}
        Storage type of the scales (sets :attr:`UniformQuantized.bits_per_value`).
    restricted : bool
        Symmetric only, see :func:`integer_range`.

    Returns
    -------
    UniformQuantized

    Examples
    --------
    >>> w = np.arange(-4.0, 4.0).reshape(2, 4)
    >>> q = quantize(w, 3, group_size=2)
    >>> q.codes
    array([[-3, -2, -3, -2],
           [ 0,  3,  2,  3]], dtype=int8)
    >>> q.scale.shape, q.bits_per_value
    ((2, 2), 11.0)
    """
    arr = _check_finite_array(x)
    bits = _check_bits(bits)
    clip = _check_clip(clip)
    scale_dtype = _check_scale_dtype(scale_dtype)
    symmetric, restricted = flag(symmetric, "symmetric"), flag(restricted, "restricted")
    group_size = positive_int(group_size, "group_size", allow_none=True)
    if group_size is not None:
        if arr.ndim == 0:
            raise ValueError("group_size needs x to have at least one dimension, got a 0-d x (a scalar)")
        ax = normalize_axis(-1 if axis is None else axis, arr.ndim, array="x")
        if arr.shape[ax] % group_size != 0:
            raise ValueError(
                f"group_size {group_size} does not divide the length {arr.shape[ax]} of axis {ax} of x; "
                "allowed: a divisor of that length"
            )
    else:
        ax = normalize_axis(axis, arr.ndim, allow_none=True, array="x")

    rows = _to_rows(arr.astype(np.float64), ax, group_size)
    scale, zp = _row_params(rows, bits, symmetric, restricted, clip, scale_dtype)
    codes = _row_codes(rows, scale[:, None], zp[:, None], bits, symmetric, restricted)
    scale = _rows_to_params(scale, arr.shape, ax, group_size)
    zp = _rows_to_params(zp, arr.shape, ax, group_size)
    codes = _rows_to_codes(codes, arr.shape, ax, group_size).astype(_code_dtype(bits, symmetric))
    for array in (codes, scale, zp):
        array.flags.writeable = False
    return UniformQuantized(
        codes=codes, scale=scale, zero_point=zp, bits=bits, symmetric=symmetric, axis=ax,
        group_size=group_size, shape=tuple(arr.shape), restricted=restricted,
        scale_dtype=scale_dtype, dtype=str(_output_dtype(arr)),
    )


def fake_quantize(x: ArrayLike, bits: int, **kwargs) -> np.ndarray:
    """``quantize(x, bits, **kwargs).dequantize()``: the values the model actually sees.

    Examples
    --------
    >>> fake_quantize(np.array([0.1, 0.52, -1.0]), 2)
    array([ 0.,  1., -1.])
    """
    return quantize(x, bits, **kwargs).dequantize()


# --------------------------------------------------------------------------- integer matmul


def quantize_multiplier(multiplier: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Write each real multiplier ``M`` as ``m0 * 2**-shift`` with a 31-bit integer ``m0``.

    ``m0`` lies in ``[2**30, 2**31)`` (a Q0.31 fixed-point fraction in
    ``[0.5, 1)``), as integer-only inference engines store the requantization
    scale ``s_a * s_b / s_out`` (gemmlowp, TFLite).  Relative error: at most 2**-31.

    Parameters
    ----------
    multiplier : array_like
        Positive values in ``[2**-32, 2**30)``.

    Returns
    -------
    m0 : numpy.ndarray of int64
    shift : numpy.ndarray of int64
        Right shift, from 1 to 62.

    Examples
    --------
    >>> m0, shift = quantize_multiplier(0.75)
    >>> int(m0), int(shift), int(m0) / 2 ** int(shift)
    (1610612736, 31, 0.75)
    """
    m = real_array(multiplier, "multiplier", allow_empty=True, allow_inf=True).astype(np.float64)
    if not np.isfinite(m).all() or np.any(m < 2.0**-32) or np.any(m >= 2.0**30):
        raise ValueError("multiplier must be finite and in [2**-32, 2**30)")
    fraction, exponent = np.frexp(m)  # m = fraction * 2**exponent, fraction in [0.5, 1)
    m0 = np.rint(fraction * 2.0**31).astype(np.int64)
    carry = m0 == 2**31  # the fraction rounded up to 1.0
    m0 = np.where(carry, m0 // 2, m0)
    exponent = np.where(carry, exponent + 1, exponent)
    return m0, (31 - exponent).astype(np.int64)


def _shift_round_half_even(value: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """``round_half_even(value / 2**shift)`` in integer arithmetic (shift >= 1)."""
    floor = value >> shift  # arithmetic shift: floor division by 2**shift
    remainder = value - (floor << shift)  # in [0, 2**shift)
    half = np.left_shift(np.int64(1), shift - 1)
    round_up = (remainder > half) | ((remainder == half) & (floor % 2 == 1))
    return floor + round_up


def _check_int8_codes(codes: ArrayLike, name: str) -> np.ndarray:
    arr = real_array(codes, name, allow_empty=True)
    if not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"{name} must be integer codes (int8), got dtype {arr.dtype}")
    if arr.size and (arr.min() < -128 or arr.max() > 127):
        raise ValueError(f"{name} must be int8 codes in [-128, 127]")
    return arr.astype(np.int64)


def int_matmul(
    a_codes: ArrayLike,
    b_codes: ArrayLike,
    *,
    a_scale: ArrayLike,
    b_scale: ArrayLike,
    out_scale: ArrayLike,
    out_zero_point: int = 0,
    integer_only: bool = True,
    bias_codes: ArrayLike | None = None,
) -> np.ndarray:
    """Integer-only matmul of symmetric int8 codes, requantized to int8.

    ``a_codes @ b_codes`` is accumulated exactly in int32 (the sum of ``K``
    products of int8 fits for ``K < 2**17``; larger ``K`` raises).  The int32
    accumulator is then requantized with the multiplier
    ``M = a_scale * b_scale / out_scale`` written as ``m0 * 2**-shift``
    (:func:`quantize_multiplier`): ``out = clamp(round(acc * m0 / 2**shift) + out_zero_point)``
    using only integer multiplies and shifts, rounding half to even.
    ``bias_codes``, int32 values on the accumulator's scale ``a_scale * b_scale``
    (as TFLite and gemmlowp store a layer's bias), are added to the accumulator
    before requantization; an activation zero-point can be folded into them
    (``-z_a * b_codes.sum(axis=0)``), so asymmetric activations cost nothing extra.

    With ``integer_only=False`` the same output is computed the float way,
    ``clamp(rint(acc * M) + out_zero_point)`` in float64; the two agree except
    when ``acc * M`` lies within ``2**-31`` (relative) of a rounding tie.

    Parameters
    ----------
    a_codes : array_like of int, shape (M, K)
    b_codes : array_like of int, shape (K, N)
        Symmetric int8 codes (zero-point 0) in [-128, 127].
    a_scale, b_scale : array_like
        Broadcast to the output shape ``(M, N)``: a scalar (per tensor), shape
        ``(M, 1)`` (per row of ``a``) or ``(N,)`` (per output channel of ``b``).
    out_scale : array_like
        Scale of the int8 output, broadcast to ``(M, N)``.
    out_zero_point : int
        Zero-point of the output, in [-128, 127].
    integer_only : bool
        Requantize with integers (default) or in float64.
    bias_codes : array_like of int, shape (N,), optional
        Integers in the int32 range added to each output column's accumulator.

    Returns
    -------
    numpy.ndarray of int8, shape (M, N)

    Examples
    --------
    >>> a = np.array([[10, -20, 30]], dtype=np.int8)
    >>> b = np.array([[1], [2], [3]], dtype=np.int8)
    >>> int_matmul(a, b, a_scale=0.1, b_scale=0.5, out_scale=0.25)
    array([[12]], dtype=int8)
    >>> int_matmul(a, b, a_scale=0.1, b_scale=0.5, out_scale=0.25, bias_codes=[20])  # + 20 * 0.05
    array([[16]], dtype=int8)
    """
    a = _check_int8_codes(a_codes, "a_codes")
    b = _check_int8_codes(b_codes, "b_codes")
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0]:
        raise ValueError(f"a_codes must be (M, K) and b_codes (K, N), got shapes {a.shape} and {b.shape}")
    if a.shape[1] >= 2**17:
        raise ValueError(
            f"K = {a.shape[1]} could overflow an int32 accumulator; allowed: K < 2**17 = 131072"
        )
    out_zero_point = integer_in_range(out_zero_point, "out_zero_point", -128, 127)
    integer_only = flag(integer_only, "integer_only")
    acc = (a @ b).astype(np.int64)  # exact: |a @ b| <= K * 128 * 128 < 2**31
    if bias_codes is not None:
        bias = real_array(bias_codes, "bias_codes", allow_empty=True)
        if not np.issubdtype(bias.dtype, np.integer):
            raise TypeError(f"bias_codes must be integers (int32), got dtype {bias.dtype}")
        if bias.shape != (b.shape[1],):
            raise ValueError(f"bias_codes must have shape ({b.shape[1]},), one per output column, got {bias.shape}")
        acc = acc + bias.astype(np.int64)
    if acc.size and (acc.min() < -(2**31) or acc.max() > 2**31 - 1):
        raise ValueError("the accumulator plus bias_codes leaves the int32 range; allowed: int32 sums")
    acc = acc.astype(np.int32)
    names = ("a_scale", "b_scale", "out_scale")
    scales = [real_array(s, n).astype(np.float64) for s, n in zip((a_scale, b_scale, out_scale), names)]
    for s, name in zip(scales, names):
        if not (s > 0).all():
            raise ValueError(f"{name} must be positive everywhere, got {s[~(s > 0)].ravel()[0]}")
        try:
            np.broadcast_shapes(s.shape, acc.shape)
        except ValueError:
            raise ValueError(
                f"{name} of shape {s.shape} does not broadcast to the output shape {acc.shape}; allowed: "
                "a scalar, (M, 1) or (N,)"
            ) from None
    multiplier = np.broadcast_to(scales[0] * scales[1] / scales[2], acc.shape)
    if not ((multiplier >= 2.0**-32) & (multiplier < 2.0**30)).all():
        bad = multiplier[~((multiplier >= 2.0**-32) & (multiplier < 2.0**30))].ravel()[0]
        raise ValueError(
            f"the multiplier a_scale * b_scale / out_scale must lie in [2**-32, 2**30), got {bad:.3g}; "
            "check a_scale, b_scale and out_scale"
        )
    if integer_only:
        m0, shift = quantize_multiplier(multiplier)
        rounded = _shift_round_half_even(acc.astype(np.int64) * m0, shift)
    else:
        rounded = np.rint(acc.astype(np.float64) * multiplier)
    return np.clip(rounded + out_zero_point, -128, 127).astype(np.int8)


class _OverflowFields(NamedTuple):
    k: int
    row: int
    col: int
    partial_sum: int


class AccumulatorOverflow(_OverflowFields):
    """Where a running sum first left the accumulator's range (a named tuple ``(k, row, col, partial_sum)``).

    Attributes
    ----------
    k : int
        Number of products summed when the sum first left the range (1-based).
    row : int
        The row of ``a`` (0 for a vector).
    col : int
        The column of ``b`` (0 for a vector).
    partial_sum : int
        The exact partial sum at that point (a Python int: it may exceed int64).

    Examples
    --------
    >>> a = np.full(8, 127, dtype=np.int8)
    >>> accumulator_overflow(a, a, acc_bits=16).k  # the third product leaves int16
    3
    """

    __slots__ = ()

    def __new__(cls, k: int, row: int, col: int, partial_sum: int) -> AccumulatorOverflow:
        """Check the fields: ``k >= 1``, ``row, col >= 0``, all integers."""
        k = positive_int(k, "k")
        row = integer_in_range(row, "row", 0, 2**63 - 1)
        col = integer_in_range(col, "col", 0, 2**63 - 1)
        if isinstance(partial_sum, (bool, np.bool_)) or not isinstance(partial_sum, (int, np.integer)):
            raise TypeError(f"partial_sum must be an integer, got {partial_sum!r}")
        return super().__new__(cls, k, row, col, int(partial_sum))


def accumulator_overflow(a_codes: ArrayLike, b_codes: ArrayLike, acc_bits: int = 16,
                         ) -> AccumulatorOverflow | None:
    """First point at which a partial sum of ``a_codes @ b_codes`` leaves a signed accumulator.

    The products ``a[i, k] * b[k, j]`` are added in order of ``k``; the
    function reports the smallest ``k`` at which some running sum falls
    outside ``[-2**(acc_bits-1), 2**(acc_bits-1) - 1]`` (where a real
    accumulator of that width would wrap around), or ``None`` if none does.

    Parameters
    ----------
    a_codes : array_like of int, shape (K,) or (M, K)
    b_codes : array_like of int, shape (K,) or (K, N)
    acc_bits : int
        Accumulator width, 2 to 64.

    Returns
    -------
    AccumulatorOverflow or None

    Examples
    --------
    >>> a = np.full(8, 127, dtype=np.int8)
    >>> accumulator_overflow(a, a, acc_bits=16)  # 127*127 = 16129; twice that > 32767
    AccumulatorOverflow(k=3, row=0, col=0, partial_sum=48387)
    """
    acc_bits = integer_in_range(acc_bits, "acc_bits", 2, 64)
    a = integer_array(a_codes, "a_codes")
    b = integer_array(b_codes, "b_codes")
    a2 = a.reshape(1, -1) if a.ndim == 1 else a
    b2 = b.reshape(-1, 1) if b.ndim == 1 else b
    if a2.ndim != 2 or b2.ndim != 2 or a2.shape[1] != b2.shape[0]:
        raise ValueError(f"a_codes must be (M, K) or (K,) and b_codes (K, N) or (K,), got shapes {a.shape} and {b.shape}")
    low, high = -(2 ** (acc_bits - 1)), 2 ** (acc_bits - 1) - 1
    # Partial sums are exact: in int64 when they cannot leave it, else in Python ints (slower).
    bound = max((abs(int(v)) for arr in (a2, b2) if arr.size for v in (arr.min(), arr.max())), default=0)
    exact = np.int64 if bound * bound * max(1, a2.shape[1]) < 2**63 else object
    a2, b2 = a2.astype(exact), b2.astype(exact)
    running = np.zeros((a2.shape[0], b2.shape[1]), dtype=exact)
    chunk = max(1, (1 << 22) // max(1, running.size))
    for start in range(0, a2.shape[1], chunk):
        products = a2[:, start:start + chunk, None] * b2[None, start:start + chunk, :]
        partial = running[:, None, :] + np.cumsum(products, axis=1)  # (M, chunk, N)
        outside = (partial < low) | (partial > high)
        if outside.any():
            k = int(np.argmax(outside.any(axis=(0, 2))))
            row, col = np.argwhere(outside[:, k, :])[0]
            return AccumulatorOverflow(start + k + 1, int(row), int(col), int(partial[row, k, col]))
        running = partial[:, -1, :]
    return None
