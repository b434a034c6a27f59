"""Argument checks shared by the quantization modules (private).

Every public function of :mod:`support` validates its arguments and raises a
``TypeError`` (wrong kind of value) or ``ValueError`` (right kind, wrong value)
whose message says what was wrong and what is allowed.  The checks that several
modules need live here, so that ``bits=2.5`` or a NaN in ``x`` is refused with
the same words everywhere.

Booleans are never accepted as integers (``True`` is an ``int`` in Python, but
``bits=True`` is a bug), and integral floats such as ``4.0`` are not integers.
Conversely, a boolean flag must be ``True`` or ``False``: ``bool("no")`` is
``True``, so ``symmetric="no"`` would silently mean the opposite of what it says.

>>> positive_int(64, "block_size")
64
>>> integer_in_range(17, "bits", 1, 16)
Traceback (most recent call last):
...
ValueError: bits must be an integer from 1 to 16, got 17
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["flag", "positive_int", "integer_in_range", "positive_number", "normalize_axis", "real_array"]


def _is_int(value: object) -> bool:
    """An integer (Python or numpy), but not a boolean."""
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def flag(value: object, name: str) -> bool:
    """``value`` as a Python bool; only ``True`` and ``False`` (or numpy's) are accepted.

    Parameters
    ----------
    value : object
        The argument to check: a ``bool`` or a ``numpy.bool_``.
    name : str
        Its name, for the error message.

    Raises
    ------
    TypeError
        For anything else: strings (``bool("no")`` is ``True``), numbers such as
        ``0`` or ``1``, ``None``, arrays.

    Examples
    --------
    >>> flag(True, "symmetric"), flag(np.False_, "symmetric")
    (True, False)
    >>> flag("no", "symmetric")
    Traceback (most recent call last):
    ...
    TypeError: symmetric must be True or False, got 'no'
    """
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise TypeError(f"{name} must be True or False, got {value!r}")


def positive_int(value: object, name: str, *, allow_none: bool = False) -> int | None:
    """``value`` as a Python int >= 1 (or None, where ``allow_none``).

    Parameters
    ----------
    value : object
        The argument to check.
    name : str
        Its name, for the error message.
    allow_none : bool
        Accept ``None`` (returned unchanged), e.g. for an optional ``group_size``.

    Raises
    ------
    TypeError
        If ``value`` is not an integer (floats and booleans are not).
    ValueError
        If it is smaller than 1.

    Examples
    --------
    >>> positive_int(32, "group_size"), positive_int(None, "group_size", allow_none=True)
    (32, None)
    >>> positive_int(0, "block_size")
    Traceback (most recent call last):
    ...
    ValueError: block_size must be a positive integer, got 0
    """
    if value is None and allow_none:
        return None
    allowed = "a positive integer or None" if allow_none else "a positive integer"
    if not _is_int(value):
        raise TypeError(f"{name} must be {allowed}, got {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be {allowed}, got {int(value)}")
    return int(value)


def integer_in_range(value: object, name: str, low: int, high: int, *, why: str = "") -> int:
    """``value`` as a Python int in ``low..high`` (both included).

    Parameters
    ----------
    value : object
        The argument to check.
    name : str
        Its name, for the error message.
    low, high : int
        The allowed range, inclusive.
    why : str
        Optional reason for the range, added to the message in parentheses.

    Raises
    ------
    TypeError
        If ``value`` is not an integer (floats and booleans are not).
    ValueError
        If it lies outside ``[low, high]``.

    Examples
    --------
    >>> integer_in_range(4, "bits", 2, 8)
    4
    >>> integer_in_range(2.5, "bits", 2, 8)
    Traceback (most recent call last):
    ...
    TypeError: bits must be an integer from 2 to 8, got 2.5
    """
    reason = f" ({why})" if why else ""
    if not _is_int(value):
        raise TypeError(f"{name} must be an integer from {low} to {high}{reason}, got {value!r}")
    if not low <= value <= high:
        raise ValueError(f"{name} must be an integer from {low} to {high}{reason}, got {int(value)}")
    return int(value)


def positive_number(value: object, name: str, *, allow_zero: bool = False, hint: str = "") -> float:
    """``value`` as a finite Python float > 0 (>= 0 with ``allow_zero``).

    Parameters
    ----------
    value : object
        The argument to check: a real number (Python or numpy), not a boolean.
    name : str
        Its name, for the error message.
    allow_zero : bool
        Accept 0.
    hint : str
        Optional advice added to the message in parentheses, e.g. ``"typically 0.01"``.

    Raises
    ------
    TypeError
        If ``value`` is not a real number.
    ValueError
        If it is NaN, infinite, negative, or 0 without ``allow_zero``.

    Examples
    --------
    >>> positive_number(0.01, "damp", allow_zero=True)
    0.01
    >>> positive_number(float("inf"), "tol")
    Traceback (most recent call last):
    ...
    ValueError: tol must be a positive finite number, got inf
    """
    allowed = "a finite number >= 0" if allow_zero else "a positive finite number"
    allowed += f" ({hint})" if hint else ""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be {allowed}, got {value!r}")
    number = float(value)
    if not (np.isfinite(number) and (number >= 0 if allow_zero else number > 0)):
        raise ValueError(f"{name} must be {allowed}, got {value!r}")
    return number


def normalize_axis(axis: object, ndim: int, name: str = "axis", *, allow_none: bool = False) -> int | None:
    """``axis`` of an array with ``ndim`` dimensions as an index in ``0..ndim-1``.

    Negative axes count from the end, as in numpy: ``-1`` is the last axis.

    Parameters
    ----------
    axis : object
        The argument to check.
    ndim : int
        The number of dimensions of the array it indexes.
    name : str
        Its name, for the error message.
    allow_none : bool
        Accept ``None`` (returned unchanged), e.g. for "the whole tensor".

    Raises
    ------
    TypeError
        If ``axis`` is not an integer (floats and booleans are not).
    ValueError
        If it is out of range, i.e. not in ``-ndim..ndim-1``.

    Examples
    --------
    >>> normalize_axis(-1, 3), normalize_axis(None, 3, allow_none=True)
    (2, None)
    >>> normalize_axis(2, 2)
    Traceback (most recent call last):
    ...
    ValueError: axis 2 is out of range for an array with 2 dimension(s) (allowed: -2 to 1)
    """
    if axis is None and allow_none:
        return None
    if not _is_int(axis):
        allowed = "an integer or None" if allow_none else "an integer"
        raise TypeError(f"{name} must be {allowed}, got {axis!r}")
    if ndim == 0:
        raise ValueError(f"{name} {int(axis)} is out of range: a 0-d array (a scalar) has no axes")
    if not -ndim <= axis < ndim:
        raise ValueError(
            f"{name} {int(axis)} is out of range for an array with {ndim} dimension(s) "
            f"(allowed: {-ndim} to {ndim - 1})"
        )
    return int(axis) % ndim


def real_array(
    x: object,
    name: str = "x",
    *,
    allow_empty: bool = False,
    allow_inf: bool = False,
    allow_bool: bool = False,
    as_float: bool = False,
    why: str = "",
) -> np.ndarray:
    """``x`` as a numpy array of real numbers (integers or floats), by default finite and non-empty.

    The array keeps its dtype (no copy when ``x`` is already an array), unless
    ``as_float``: then integers and booleans become float64 and float dtypes are kept.
    The ml_dtypes float types (bfloat16, float8_*) are not accepted.

    Parameters
    ----------
    x : array_like
        The argument to check.
    name : str
        Its name, for the error messages.
    allow_empty : bool
        Accept an array with no elements.
    allow_inf : bool
        Accept infinities (NaN is always refused).
    allow_bool : bool
        Accept booleans as the numbers 0 and 1.
    as_float : bool
        Convert integer and boolean arrays to float64.
    why : str
        Optional reason why NaN (and infinities) are refused, added to that
        message in parentheses.

    Raises
    ------
    TypeError
        If ``x`` cannot be made into an array (ragged lists) or does not hold
        real numbers (complex, strings, objects; booleans unless ``allow_bool``).
    ValueError
        If it is empty (unless ``allow_empty``) or holds NaN or infinite values
        (infinities are accepted with ``allow_inf``).

    Examples
    --------
    >>> real_array([1, 2, 3])
    array([1, 2, 3])
    >>> real_array([1, 2], as_float=True)
    array([1., 2.])
    >>> real_array([1.0, float("nan")], "w")
    Traceback (most recent call last):
    ...
    ValueError: w contains 1 NaN value(s); only finite values are allowed
    """
    try:
        arr = np.asarray(x)
    except (TypeError, ValueError) as exc:  # ragged nested lists and the like
        raise TypeError(
            f"{name} must be an array of real numbers; could not make an array of "
            f"{type(x).__name__}: {exc}"
        ) from None
    kinds = "iufb" if allow_bool else "iuf"
    if arr.dtype.kind not in kinds:
        allowed = "integers, floats or booleans" if allow_bool else "integers or floats"
        raise TypeError(f"{name} must hold real numbers ({allowed}), got dtype {arr.dtype}")
    if arr.size == 0 and not allow_empty:
        raise ValueError(f"{name} is empty (shape {arr.shape}); at least one value is needed")
    if arr.dtype.kind == "f":
        clean = not np.isnan(arr).any() if allow_inf else bool(np.isfinite(arr).all())
        if not clean:
            counts = [(int(np.count_nonzero(np.isnan(arr))), "NaN")]
            if not allow_inf:
                counts.append((int(np.count_nonzero(np.isinf(arr))), "infinite"))
            found = " and ".join(f"{count} {what}" for count, what in counts if count)
            allowed = "NaN-free" if allow_inf else "finite"
            reason = f" ({why})" if why else ""
            raise ValueError(f"{name} contains {found} value(s); only {allowed} values are allowed{reason}")
    if as_float and arr.dtype.kind != "f":
        arr = arr.astype(np.float64)
    return arr
