"""Mean and variance in the working precision: the naive, two-pass and Welford algorithms.

The *textbook* formula ``var = E[x²] − E[x]²`` subtracts two nearly equal numbers
when the mean is large compared with the spread, and loses every significant
digit (catastrophic cancellation).  Two stable alternatives:

- :func:`two_pass_variance`: compute the mean first, then ``E[(x − mean)²]``;
- Welford's online algorithm (Welford 1962): one pass, one sample at a time,
  :func:`welford_update` on a :class:`WelfordState`; two partial states combine
  exactly with :func:`welford_merge` (Chan, Golub & LeVeque 1983), which is how a
  parallel reduction (a LayerNorm kernel, a distributed batch) splits the work.

Every function computes in the dtype of its input (float16, float32, float64, or
an ml_dtypes type such as bfloat16), so that the rounding errors of that
precision are what you see; integers are converted to float64 first.  The sums
of the two formulas use numpy's pairwise summation along the samples, whatever
the memory layout, so a result does not depend on how the array is stored.  The
Welford loop runs over the samples along ``axis`` and is vectorised over every
other axis, so a batch of many independent sequences costs one Python loop.

>>> import numpy as np
>>> x = np.float32(1e4) + np.arange(4, dtype=np.float32)   # variance 1.25
>>> float(two_pass_variance(x)), float(welford_variance(x))
(1.25, 1.25)
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from support._validate import as_numpy, integer_array, normalize_axis

__all__ = [
    "naive_variance",
    "two_pass_variance",
    "WelfordState",
    "welford_init",
    "welford_update",
    "welford_merge",
    "welford_variance",
]

#: Most running means and variances one Welford state holds.
MAX_STATE_SIZE = 1 << 30


# --------------------------------------------------------------------------- checks


def _is_float_dtype(dtype: np.dtype) -> bool:
    """float16/32/64, or an ml_dtypes floating type (bfloat16, float8_*, ...)."""
    if dtype.kind == "f":
        return True
    if dtype.kind == "V":  # ml_dtypes registers its types as kind "V"
        try:
            import ml_dtypes
        except ImportError:  # pragma: no cover - ml_dtypes is installed in the course env
            return False
        try:
            ml_dtypes.finfo(dtype)
        except (TypeError, ValueError):
            return False
        return True
    return False


def _as_float(x: ArrayLike, name: str) -> np.ndarray:
    """``x`` as an array of a floating dtype (integers become float64; ml_dtypes floats are kept:
    the input's dtype is the working precision)."""
    arr = as_numpy(x, name, keep_ml_dtypes=True)
    if arr.dtype.kind in "iu":
        return arr.astype(np.float64)
    if not _is_float_dtype(arr.dtype):
        raise TypeError(
            f"{name} must hold real numbers (a float dtype such as float32, or integers), "
            f"got dtype {arr.dtype}"
        )
    return arr


def _check_axis(arr: np.ndarray, axis: int, name: str) -> int:
    if arr.ndim == 0:
        raise ValueError(f"{name} is a scalar; a variance needs at least one sample along an axis")
    axis = normalize_axis(axis, arr.ndim)
    if arr.shape[axis] == 0:
        raise ValueError(f"{name} has no samples along axis {axis}")
    return axis


def _check_ddof(ddof: int, n: int) -> None:
    if not isinstance(ddof, (int, np.integer)) or isinstance(ddof, bool) or ddof < 0:
        raise ValueError(f"ddof must be a non-negative int, got {ddof!r}")
    if ddof >= n:
        raise ValueError(f"ddof={ddof} needs more than {ddof} samples, got {n}")


# --------------------------------------------------------------------------- one-shot formulas


def _samples_last(arr: np.ndarray, axis: int) -> np.ndarray:
    """The samples along the last, contiguous axis, so that ``np.sum(..., axis=-1)``
    uses numpy's pairwise summation whatever the input's memory layout (summing
    along a non-contiguous axis would add the samples one by one)."""
    return np.ascontiguousarray(np.moveaxis(arr, axis, -1))


def naive_variance(x: ArrayLike, axis: int = 0) -> np.ndarray:
    """The textbook formula ``mean(x²) − mean(x)²``, in the dtype of ``x``.

    Unstable: when ``|mean| ≫ std`` the two terms agree in almost all their
    digits and their difference is mostly rounding error (it can even be
    negative).  Shown for teaching; use :func:`two_pass_variance` or
    :func:`welford_variance`.

    Parameters
    ----------
    x : array_like
        Samples along ``axis``.
    axis : int
        The axis holding the samples.

    Returns
    -------
    numpy.ndarray
        The population variance (divisor ``n``), in the dtype of ``x``, with
        ``axis`` removed.

    Examples
    --------
    >>> x = np.float32(1e4) + np.arange(4, dtype=np.float32)
    >>> float(naive_variance(x))        # true value 1.25
    0.0
    """
    arr = _as_float(x, "x")
    axis = _check_axis(arr, axis, "x")
    arr = _samples_last(arr, axis)
    n = arr.shape[-1]
    mean = np.sum(arr, axis=-1) / arr.dtype.type(n)
    mean_sq = np.sum(arr * arr, axis=-1) / arr.dtype.type(n)
    return np.asarray(mean_sq - mean * mean)


def two_pass_variance(x: ArrayLike, axis: int = 0, ddof: int = 0) -> np.ndarray:
    """``sum((x − mean)²) / (n − ddof)`` with the mean computed first, in the dtype of ``x``.

    Parameters
    ----------
    x : array_like
        Samples along ``axis``.
    axis : int
        The axis holding the samples.
    ddof : int
        Delta degrees of freedom: 0 for the population variance, 1 for the
        unbiased sample variance.

    Returns
    -------
    numpy.ndarray
        The variance, in the dtype of ``x``, with ``axis`` removed.

    Examples
    --------
    >>> float(two_pass_variance([1.0, 2.0, 3.0, 4.0], ddof=1))
    1.6666666666666667
    """
    arr = _as_float(x, "x")
    axis = _check_axis(arr, axis, "x")
    arr = _samples_last(arr, axis)
    n = arr.shape[-1]
    _check_ddof(ddof, n)
    mean = np.sum(arr, axis=-1, keepdims=True) / arr.dtype.type(n)
    dev = arr - mean
    return np.asarray(np.sum(dev * dev, axis=-1) / arr.dtype.type(n - ddof))


# --------------------------------------------------------------------------- Welford


class _WelfordFields(NamedTuple):
    count: np.ndarray
    mean: np.ndarray
    m2: np.ndarray


class WelfordState(_WelfordFields):
    """The running summary of Welford's algorithm, for a batch of independent sequences.

    Attributes
    ----------
    count : numpy.ndarray
        Samples seen so far (int64), one per sequence.
    mean : numpy.ndarray
        Running mean, in the working dtype.
    m2 : numpy.ndarray
        Running sum of squared deviations from the current mean, ``Σ (x_i − mean)²``.

    Examples
    --------
    >>> state = welford_update(welford_update(welford_init(), np.array(1.0)), np.array(3.0))
    >>> int(state.count), float(state.mean), float(state.m2), float(state.variance())
    (2, 2.0, 2.0, 1.0)
    """

    __slots__ = ()

    def __new__(cls, count: ArrayLike, mean: ArrayLike, m2: ArrayLike) -> WelfordState:
        """Check the fields: counts >= 0, and mean and m2 of one float dtype and the counts' shape."""
        count = integer_array(count, "count")
        mean, m2 = as_numpy(mean, "mean", keep_ml_dtypes=True), as_numpy(m2, "m2", keep_ml_dtypes=True)
        for name, arr in (("mean", mean), ("m2", m2)):
            if not _is_float_dtype(arr.dtype):
                raise TypeError(f"{name} must be a float array (the working dtype), got dtype {arr.dtype}")
            if arr.shape != count.shape:
                raise ValueError(f"{name} has shape {arr.shape}, but count has {count.shape}; they must be equal")
        if mean.dtype != m2.dtype:
            raise TypeError(f"mean and m2 must have the same dtype, got {mean.dtype} and {m2.dtype}")
        if (count < 0).any():
            raise ValueError("count must be >= 0 everywhere (samples seen)")
        return super().__new__(cls, count, mean, m2)

    def variance(self, ddof: int = 0) -> np.ndarray:
        """``m2 / (count − ddof)``; raises if any sequence has ``count <= ddof``."""
        if not isinstance(ddof, (int, np.integer)) or isinstance(ddof, bool) or ddof < 0:
            raise ValueError(f"ddof must be a non-negative int, got {ddof!r}")
        if np.any(self.count <= ddof):
            raise ValueError(
                f"every sequence needs more than ddof={ddof} samples; "
                f"the smallest count is {int(np.min(self.count))}"
            )
        return np.asarray(self.m2 / (self.count - ddof).astype(self.m2.dtype))


def welford_init(shape: int | tuple[int, ...] = (), dtype: object = np.float64) -> WelfordState:
    """An empty state (no samples yet) for a batch of the given shape.

    Parameters
    ----------
    shape : int or tuple of int
        One running mean and variance per element of this shape.
    dtype : dtype-like
        The working precision (float16, float32, float64, bfloat16, ...).

    Examples
    --------
    >>> welford_init(3, np.float32).mean
    array([0., 0., 0.], dtype=float32)
    """
    try:
        if dtype is None:  # np.dtype(None) is float64
            raise TypeError
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype must be a floating type (float16/32/64, bfloat16, ...), got {dtype!r}") from None
    if not _is_float_dtype(dt):
        raise TypeError(f"dtype must be a floating type (float16/32/64, bfloat16, ...), got {dt}")
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
        shape = (int(shape),)
    if not (isinstance(shape, tuple) and all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) for s in shape)):
        raise TypeError(f"shape must be an int or a tuple of ints, got {shape!r}")
    shape = tuple(int(s) for s in shape)
    if any(s < 0 for s in shape) or math.prod(shape) > MAX_STATE_SIZE:
        raise ValueError(f"shape must have sizes >= 0 and at most {MAX_STATE_SIZE} elements in all, got {shape}")
    return WelfordState(np.zeros(shape, np.int64), np.zeros(shape, dt), np.zeros(shape, dt))


def welford_update(state: WelfordState, x: ArrayLike) -> WelfordState:
    """Add one sample per sequence to a Welford state.

    With ``k`` the new count: ``δ = x − mean``, ``mean += δ / k``,
    ``m2 += δ · (x − mean_new)``.  Every operation is in the state's dtype.

    Parameters
    ----------
    state : WelfordState
        The current state (from :func:`welford_init` or a previous update).
    x : array_like
        One new sample for each sequence: same shape as ``state.mean`` (or
        broadcastable to it).

    Returns
    -------
    WelfordState
        A new state; ``state`` is not modified.

    Examples
    --------
    >>> s = welford_init((), np.float64)
    >>> for v in [1.0, 2.0, 3.0, 4.0]:
    ...     s = welford_update(s, v)
    >>> float(s.mean), float(s.variance())
    (2.5, 1.25)
    """
    if not isinstance(state, WelfordState):
        raise TypeError(f"state must be a WelfordState (from welford_init), got {type(state).__name__}")
    dt = state.mean.dtype
    xs = as_numpy(x, "x", keep_ml_dtypes=True)
    if xs.dtype.kind not in "iuf" and not _is_float_dtype(xs.dtype):
        raise TypeError(f"x must hold real numbers, got dtype {xs.dtype}")
    try:
        xs = np.broadcast_to(xs.astype(dt), state.mean.shape)
    except ValueError as exc:
        raise ValueError(
            f"x has shape {np.shape(x)}, which does not broadcast to the state's shape {state.mean.shape}"
        ) from exc
    count = state.count + 1
    delta = xs - state.mean
    mean = state.mean + delta / count.astype(dt)
    m2 = state.m2 + delta * (xs - mean)
    return WelfordState(count, np.asarray(mean, dt), np.asarray(m2, dt))


def welford_merge(a: WelfordState, b: WelfordState) -> WelfordState:
    """Combine the states of two disjoint chunks of the same sequences (Chan et al. 1983).

    With ``n = n_a + n_b`` and ``δ = mean_b − mean_a``:
    ``mean = mean_a + δ · n_b / n`` and ``m2 = m2_a + m2_b + δ² · n_a · n_b / n``.
    An empty side (count 0) leaves the other unchanged.

    Examples
    --------
    >>> x = np.array([1.0, 2.0, 3.0, 4.0, 10.0])
    >>> left, right = welford_init(), welford_init()
    >>> for v in x[:2]:
    ...     left = welford_update(left, v)
    >>> for v in x[2:]:
    ...     right = welford_update(right, v)
    >>> float(welford_merge(left, right).variance()) == float(np.var(x))
    True
    """
    for name, s in (("a", a), ("b", b)):
        if not isinstance(s, WelfordState):
            raise TypeError(f"{name} must be a WelfordState, got {type(s).__name__}")
    if a.mean.dtype != b.mean.dtype:
        raise TypeError(f"cannot merge states of different dtypes: {a.mean.dtype} and {b.mean.dtype}")
    if a.mean.shape != b.mean.shape:
        raise ValueError(f"cannot merge states of shapes {a.mean.shape} and {b.mean.shape}")
    dt = a.mean.dtype
    count = a.count + b.count
    safe = np.where(count == 0, 1, count).astype(dt)
    na, nb = a.count.astype(dt), b.count.astype(dt)
    delta = b.mean - a.mean
    mean = a.mean + delta * (nb / safe)
    m2 = a.m2 + b.m2 + delta * delta * (na * (nb / safe))
    # Exactly the other state when one side is empty.
    mean = np.where(a.count == 0, b.mean, np.where(b.count == 0, a.mean, mean))
    m2 = np.where(a.count == 0, b.m2, np.where(b.count == 0, a.m2, m2))
    return WelfordState(count, np.asarray(mean, dt), np.asarray(m2, dt))


def welford_variance(x: ArrayLike, axis: int = 0, ddof: int = 0) -> np.ndarray:
    """Variance by Welford's one-pass algorithm, in the dtype of ``x``.

    Loops over the samples along ``axis`` (keep that axis to a few thousand)
    and is vectorised over all the other axes.

    Parameters
    ----------
    x : array_like
        Samples along ``axis``.
    axis : int
        The axis holding the samples.
    ddof : int
        Delta degrees of freedom (0: population, 1: unbiased sample variance).

    Returns
    -------
    numpy.ndarray
        The variance, in the dtype of ``x``, with ``axis`` removed.

    Examples
    --------
    >>> x = np.float32(1e4) + np.arange(4, dtype=np.float32)
    >>> float(welford_variance(x))
    1.25
    """
    arr = _as_float(x, "x")
    axis = _check_axis(arr, axis, "x")
    _check_ddof(ddof, arr.shape[axis])
    samples = np.moveaxis(arr, axis, 0)
    state = welford_init(samples.shape[1:], arr.dtype)
    for row in samples:
        state = welford_update(state, row)
    return state.variance(ddof)
