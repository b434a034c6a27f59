"""Error metrics for comparing a tensor with its quantized approximation.

One definition of each metric, used by every chapter, so that "the SQNR of
NF4" means the same number everywhere in the course.  Every function takes
the reference first and the approximation second, checks that the two have
the same shape, and refuses NaN and infinities with a ``ValueError`` (a NaN
would silently turn every metric into NaN, and an infinity makes ``inf - inf``
a NaN or the error itself infinite, hiding the bug, often an overflow, that
produced it).  All sums are taken in float64.

>>> mse([1.0, -2.0], [1.0, -1.5])
0.125
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from support._validate import normalize_axis, real_array

__all__ = ["mse", "sqnr_db", "rel_error", "cosine_similarity"]


def _checked(x: ArrayLike, name: str) -> np.ndarray:
    """``x`` through the input policy (numeric, NaN- and inf-free), in its own dtype, not copied."""
    return real_array(
        x, name, allow_empty=True,
        why="a metric of NaN or infinite values is NaN or inf; find where they came from first, "
        "often an overflow",
    )


def _pair(ref: ArrayLike, approx: ArrayLike, names: tuple[str, str] = ("ref", "approx"), *,
          float64: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Validate a (reference, approximation) pair: numeric, finite, same shape.

    Returned as float64 copies, or (``float64=False``) in their own dtypes, uncopied, for a
    caller that converts while it computes and never writes to them."""
    a, b = _checked(ref, names[0]), _checked(approx, names[1])
    if a.shape != b.shape:
        raise ValueError(
            f"{names[0]} and {names[1]} must have the same shape, got {a.shape} and {b.shape} "
            "(no broadcasting: reshape explicitly)"
        )
    if a.size == 0:
        raise ValueError(f"{names[0]} and {names[1]} are empty; metrics need at least one value")
    if float64:
        a, b = a.astype(np.float64), b.astype(np.float64)
    return a, b


def _rescaled(*arrays: np.ndarray, axis: int | None = None) -> list[np.ndarray]:
    """The arrays multiplied by one power of two that brings their largest magnitude to
    [1/2, 1) (per slice along ``axis`` when given), so that sums of squares neither
    overflow (1e200) nor underflow (1e-200).  Exact: only the exponents change, and
    ratios such as SQNR and relative error do not depend on the common scale."""
    peak = np.max([np.max(np.abs(x), axis=axis, keepdims=axis is not None) for x in arrays], axis=0)
    _, exponent = np.frexp(np.where(peak == 0.0, 1.0, peak))
    return [np.ldexp(x, -exponent) for x in arrays]


def _peak(x: np.ndarray) -> float:
    """``max(abs(x))`` as a float, without the temporary array of ``abs(x)``."""
    return max(float(x.max()), -float(x.min()))  # floats first: -min(int64) would wrap


def _scaled(x: np.ndarray, *, overwrite: bool = False) -> tuple[np.ndarray, int]:
    """``x`` in float64 times a power of two that brings its largest magnitude to [1/2, 1),
    and that power's exponent ``e`` (``x == scaled * 2**e``).  Exact; an all-zero ``x`` has
    ``e = 0``.  ``overwrite=True`` scales a float64 ``x`` in place (the caller owns it)."""
    peak = _peak(x)
    _, exponent = np.frexp(peak if peak > 0 else 1.0)
    out = x if overwrite and x.dtype == np.float64 else np.empty_like(x, dtype=np.float64)
    return np.ldexp(x, -int(exponent), out=out, dtype=np.float64), int(exponent)


def _signal_and_error(ref: np.ndarray, approx: np.ndarray) -> tuple[np.ndarray, int, np.ndarray, int]:
    """``ref`` and ``ref - approx`` in float64, each scaled separately by :func:`_scaled`, with
    their exponents: their sums of squares can then be compared when one is 1e300 times the
    other (a common scale would underflow the smaller one to 0).  ``ref`` and ``approx`` may
    have any real dtype; they are converted while computing, not copied first.  The results
    are new float64 arrays (0-d for scalars) that the caller may overwrite."""
    error = np.empty_like(ref, dtype=np.float64)
    with np.errstate(over="ignore"):
        np.subtract(ref, approx, out=error, dtype=np.float64)
    shift = 0
    if not np.isfinite(_peak(error)):  # ref - approx overflowed (values near 1.8e308): halve both first
        np.subtract(np.ldexp(ref, -1, dtype=np.float64), np.ldexp(approx, -1, dtype=np.float64), out=error)
        shift = 1
    signal, e_signal = _scaled(ref)
    error, e_error = _scaled(error, overwrite=True)
    return signal, e_signal, error, e_error + shift


def _sum_of_squares(x: np.ndarray) -> float:
    """``sum(x**2)`` of a float64 array that the caller owns (squared in place)."""
    return float(np.square(x, out=x).sum())


def mse(ref: ArrayLike, approx: ArrayLike) -> float:
    """Mean squared error ``mean((ref - approx)**2)``.

    Parameters
    ----------
    ref, approx : array_like
        Reference values and their approximation, same shape, finite (no NaN or inf).

    Returns
    -------
    float
        ``inf`` when the mean square exceeds the float64 range (errors beyond about 1e154).

    Examples
    --------
    >>> mse([1.0, 2.0], [1.0, 2.5])
    0.125
    """
    a, b = _pair(ref, approx)
    with np.errstate(over="ignore"):
        return float(np.mean((a - b) ** 2))


def sqnr_db(ref: ArrayLike, approx: ArrayLike) -> float:
    """Signal-to-quantization-noise ratio in decibels.

    ``10 * log10(sum(ref**2) / sum((ref - approx)**2))``.  An exact
    approximation gives ``+inf``; an all-zero reference with a non-zero error
    gives ``-inf``; an all-zero reference reproduced exactly gives ``+inf``.
    Each extra bit of a uniform quantizer adds about 6.02 dB.

    Parameters
    ----------
    ref, approx : array_like
        Reference values and their approximation, same shape, finite (no NaN or inf).

    Returns
    -------
    float

    Examples
    --------
    >>> round(sqnr_db([1.0, 1.0], [1.1, 0.9]), 6)
    20.0
    """
    signal, e_signal, error, e_error = _signal_and_error(*_pair(ref, approx, float64=False))
    signal_power = _sum_of_squares(signal)
    noise_power = _sum_of_squares(error)
    if noise_power == 0.0:
        return float("inf")
    if signal_power == 0.0:
        return float("-inf")
    # log10(sum(ref**2) / sum(error**2)) with the two scales taken out: no overflow, no underflow
    return float(10.0 * np.log10(signal_power / noise_power) + 20.0 * np.log10(2.0) * (e_signal - e_error))


def rel_error(ref: ArrayLike, approx: ArrayLike) -> float:
    """Relative error ``||ref - approx||_2 / ||ref||_2`` (Frobenius norm for matrices).

    Raises ``ValueError`` when ``ref`` is all zeros (the ratio is undefined).

    Parameters
    ----------
    ref, approx : array_like
        Reference values and their approximation, same shape, finite (no NaN or inf).

    Returns
    -------
    float

    Examples
    --------
    >>> rel_error([3.0, 4.0], [3.0, 4.5])
    0.1
    """
    signal, e_signal, error, e_error = _signal_and_error(*_pair(ref, approx, float64=False))
    norm = float(np.linalg.norm(signal.ravel()))
    if norm == 0.0:
        raise ValueError("rel_error: ref is all zeros, so the relative error is undefined; use mse")
    with np.errstate(over="ignore"):  # a ratio beyond 1.8e308 is inf
        return float(np.ldexp(np.linalg.norm(error.ravel()) / norm, e_error - e_signal))


def cosine_similarity(a: ArrayLike, b: ArrayLike, axis: int | None = None) -> float | np.ndarray:
    """Cosine of the angle between ``a`` and ``b``: ``<a, b> / (||a|| ||b||)``.

    Parameters
    ----------
    a, b : array_like
        Same shape, finite (no NaN or inf).
    axis : int, optional
        ``None`` (default) flattens both arrays and returns one float.  An
        integer computes the similarity along that axis and returns an array
        with that axis removed (e.g. ``axis=-1``: one value per row).

    Returns
    -------
    float or numpy.ndarray

    Raises
    ------
    ValueError
        If a vector compared has zero norm (the angle is undefined).

    Examples
    --------
    >>> cosine_similarity([1.0, 0.0], [1.0, 1.0])  # doctest: +ELLIPSIS
    0.7071...
    >>> cosine_similarity([[1.0, 0.0], [0.0, 2.0]], [[2.0, 0.0], [0.0, -1.0]], axis=1)
    array([ 1., -1.])
    """
    x, y = _pair(a, b, names=("a", "b"))
    if axis is None:
        x, y, axis_used = x.ravel(), y.ravel(), 0
    else:
        axis_used = normalize_axis(axis, x.ndim, allow_none=True)  # the message mentions None
    (x,) = _rescaled(x, axis=axis_used)  # each vector's scale cancels in the cosine
    (y,) = _rescaled(y, axis=axis_used)
    dot = np.sum(x * y, axis=axis_used)
    norms = np.linalg.norm(x, axis=axis_used) * np.linalg.norm(y, axis=axis_used)
    if np.any(norms == 0.0):
        raise ValueError("cosine_similarity: a vector of zero norm has no direction (angle undefined)")
    result = np.clip(dot / norms, -1.0, 1.0)
    return float(result) if axis is None else result
