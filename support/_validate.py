"""Argument checks shared by every module of :mod:`support` (private), and its one input policy.

Every public function of :mod:`support` validates its arguments and raises a
``TypeError`` (wrong kind of value) or ``ValueError`` (right kind, wrong value)
whose message names the argument, says what was wrong and what is allowed.  The
checks live here, so that ``bits=2.5`` or a NaN in ``x`` is refused with the same
words everywhere.

The input policy (the same in every module)
-------------------------------------------
Numeric arguments (``x``, ``w``, ``ref``, ``codes``, ...) accept, through
:func:`real_array`:

- Python scalars (``int``, ``float``) and (nested) lists or tuples of them;
- numpy arrays of any integer or float dtype, including the ml_dtypes ones
  (``bfloat16``, ``float8_*``, ``float6_*``, ``float4_e2m1fn``, ``int4``, ...).
  These are converted exactly to float32 (to int8/uint8 for the small integer
  types): every one of their values is a float32, and numpy itself cannot
  compute with most of them.  Other arrays are used as they are, without a copy;
- CPU torch tensors (``torch.Tensor`` and ``torch.nn.Parameter``, with or without
  ``requires_grad``): viewed as numpy arrays without a copy, except ``bfloat16``
  and ``float8`` tensors, converted exactly to float32.  torch is never imported
  for this.  Tensors on another device are refused (call ``.cpu()`` first).

They refuse, with a ``TypeError`` naming the argument: booleans (except where a
function documents them as 0/1 masks), complex numbers (the imaginary part would
be silently dropped), strings, ``None``, objects and ragged lists.  NaN and
infinities are refused with a ``ValueError`` unless the function documents what
it does with them (the rounding functions of :mod:`support.numbers.formats` give
IEEE results for them, for example).

Outputs are numpy: an array for array input, a scalar (Python or numpy) for a
scalar input, a Python ``float`` for a reduction to one number, and records
(dataclasses) whose fields are numpy arrays.  A torch tensor in does not give a
tensor out.

Other arguments: a flag must be ``True`` or ``False`` (:func:`flag`: ``bool("no")``
is ``True``, so ``symmetric="no"`` would silently mean the opposite of what it
says); integers are never booleans (``bits=True`` is a bug) and integral floats
such as ``4.0`` are not integers; sizes are bounded (:func:`integer_in_range`), so
that ``levels=10**30`` is refused at once instead of running for ever; a name
(a format, a rounding mode) must be one of the allowed strings (:func:`one_of`).

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

__all__ = [
    "flag",
    "positive_int",
    "integer_in_range",
    "positive_number",
    "real_number",
    "one_of",
    "normalize_axis",
    "real_array",
    "integer_array",
    "shape_tuple",
    "as_numpy",
    "set_fields",
    "check_fields",
]


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


def normalize_axis(
    axis: object, ndim: int, name: str = "axis", *, allow_none: bool = False, array: str | None = None
) -> int | None:
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
    array : str, optional
        The name of the array argument, so that the message names it too.

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
        raise ValueError(f"{name} {int(axis)} is out of range for {f'{array}, ' if array else ''}a 0-d array "
                         "(a scalar has no axes; allowed: an array with at least one dimension)")
    the_array = f"{array}, an array" if array else "an array"
    if not -ndim <= axis < ndim:
        raise ValueError(
            f"{name} {int(axis)} is out of range for {the_array} with {ndim} dimension(s) "
            f"(allowed: {-ndim} to {ndim - 1})"
        )
    return int(axis) % ndim


def real_array(
    x: object,
    name: str = "x",
    *,
    allow_empty: bool = False,
    allow_inf: bool = False,
    allow_nan: bool = False,
    allow_bool: bool = False,
    as_float: bool = False,
    why: str = "",
) -> np.ndarray:
    """``x`` as a numpy array of real numbers (integers or floats), by default finite and non-empty.

    This is the module docstring's input policy: ``x`` is converted by :func:`as_numpy`
    (lists, numpy arrays of every dtype including ml_dtypes' bfloat16 and float8,
    CPU torch tensors).  The array keeps its dtype (no copy when ``x`` is already a
    numpy array), except the ml_dtypes ones (exactly float32, or int8/uint8), unless
    ``as_float``: then integers and booleans become float64 and float dtypes are kept.

    Parameters
    ----------
    x : array_like
        The argument to check.
    name : str
        Its name, for the error messages.
    allow_empty : bool
        Accept an array with no elements.
    allow_inf : bool
        Accept infinities.
    allow_nan : bool
        Accept NaN.
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
    arr = as_numpy(x, name)
    kinds = "iufb" if allow_bool else "iuf"
    if arr.dtype.kind not in kinds:
        allowed = "integers, floats or booleans" if allow_bool else "integers or floats"
        raise TypeError(f"{name} must hold real numbers ({allowed}), got dtype {arr.dtype}")
    if arr.size == 0 and not allow_empty:
        raise ValueError(f"{name} is empty (shape {arr.shape}); at least one value is needed")
    if arr.dtype.kind == "f" and not (allow_nan and allow_inf):
        if allow_nan:
            clean = not np.isinf(arr).any()
        else:
            clean = not np.isnan(arr).any() if allow_inf else bool(np.isfinite(arr).all())
        if not clean:
            counts = [] if allow_nan else [(int(np.count_nonzero(np.isnan(arr))), "NaN")]
            if not allow_inf:
                counts.append((int(np.count_nonzero(np.isinf(arr))), "infinite"))
            found = " and ".join(f"{count} {what}" for count, what in counts if count)
            allowed = "NaN-free" if allow_inf else "finite or NaN" if allow_nan else "finite"
            reason = f" ({why})" if why else ""
            raise ValueError(f"{name} contains {found} value(s); only {allowed} values are allowed{reason}")
    if as_float and arr.dtype.kind != "f":
        arr = arr.astype(np.float64)
    return arr


# ml_dtypes types are recognised by their module, so that ml_dtypes is never imported here.
def _ml_dtypes_kind(dtype: np.dtype) -> str:
    """"f" for an ml_dtypes float dtype, "i"/"u" for its small integers, "" otherwise."""
    if getattr(dtype.type, "__module__", "") != "ml_dtypes":  # kind "V", or "f" for float8_e5m2
        return ""
    import ml_dtypes  # already imported: the array has one of its dtypes

    try:
        ml_dtypes.finfo(dtype)
        return "f"
    except ValueError:
        return "i" if ml_dtypes.iinfo(dtype).min < 0 else "u"


def _torch_int_of_size(t: object) -> object:
    """The torch integer dtype as wide as tensor ``t``'s elements (to view its bits)."""
    import torch

    return {1: torch.uint8, 2: torch.int16}[t.element_size()]


def _is_torch_tensor(x: object) -> bool:
    return any(cls.__module__.startswith("torch") and cls.__name__ == "Tensor" for cls in type(x).__mro__)


def as_numpy(x: object, name: str = "x", *, keep_ml_dtypes: bool = False) -> np.ndarray:
    """``x`` as a numpy array, by the input policy of the module docstring; no value checks.

    Lists and scalars go through ``numpy.asarray``; numpy arrays come back as they
    are (no copy), except the ml_dtypes ones, converted exactly to float32 (floats)
    or int8/uint8 (integers); CPU torch tensors are shared with numpy (no copy),
    except bfloat16/float8 ones, converted exactly to float32.

    Parameters
    ----------
    x : array_like
        The argument to convert.
    name : str
        Its name, for the error messages.
    keep_ml_dtypes : bool
        Keep ml_dtypes arrays as they are, and view bfloat16/float8 torch tensors as the
        matching ml_dtypes arrays (same bits, no copy): for the functions whose working
        precision is the input's dtype (:mod:`support.numbers.statistics`).

    Raises
    ------
    TypeError
        For a torch tensor that is not on the CPU, for ``None``, and for what numpy
        cannot make an array of (ragged lists).

    Examples
    --------
    >>> import ml_dtypes
    >>> as_numpy(np.array([1.5, -3.0], dtype=ml_dtypes.bfloat16))
    array([ 1.5, -3. ], dtype=float32)
    >>> as_numpy([[1, 2], [3]], "w")
    Traceback (most recent call last):
    ...
    TypeError: w must be an array of real numbers; could not make an array of list: ...
    """
    if x is None:
        raise TypeError(f"{name} must be an array of real numbers (a list, numpy array or CPU torch tensor), got None")
    if _is_torch_tensor(x):
        if x.device.type != "cpu":
            raise TypeError(f"{name} is a torch tensor on {x.device}; move it to the CPU first with {name}.cpu()")
        if x.is_complex():
            raise TypeError(f"{name} must hold real numbers (integers or floats), got a tensor of {x.dtype}")
        t = x.detach().resolve_conj().resolve_neg()
        if t.is_floating_point() and t.element_size() < 2 or str(t.dtype) == "torch.bfloat16":
            if keep_ml_dtypes:
                import ml_dtypes

                same_bits = getattr(ml_dtypes, str(t.dtype).removeprefix("torch."), None)
                if same_bits is not None:
                    return t.view(_torch_int_of_size(t)).numpy().view(same_bits)
            t = t.float()  # numpy has no bfloat16/float8; float32 holds all their values exactly
        return t.numpy()
    try:
        arr = np.asarray(x)
    except (TypeError, ValueError) as exc:  # ragged nested lists and the like
        raise TypeError(
            f"{name} must be an array of real numbers; could not make an array of "
            f"{type(x).__name__}: {exc}"
        ) from None
    kind = "" if keep_ml_dtypes else _ml_dtypes_kind(arr.dtype)
    if kind == "f":
        return arr.astype(np.float32)
    if kind:
        return arr.astype(np.int8 if kind == "i" else np.uint8)
    return arr


def real_number(
    value: object, name: str, *, allow_nan: bool = False, allow_inf: bool = False, hint: str = ""
) -> float:
    """``value`` as a Python float: a real number (Python, numpy or a 1-element array/tensor).

    Parameters
    ----------
    value : object
        The argument to check; a 0-d or 1-element numpy array or torch tensor is accepted.
    name : str
        Its name, for the error message.
    allow_nan, allow_inf : bool
        Accept NaN or infinities.
    hint : str
        Optional advice added to the message in parentheses.

    Raises
    ------
    TypeError
        For booleans, complex numbers, strings, None and arrays of several values.
    ValueError
        For NaN or infinities unless allowed.

    Examples
    --------
    >>> real_number(2, "amax"), real_number(np.float32(0.5), "amax")
    (2.0, 0.5)
    >>> real_number(1 + 2j, "amax")
    Traceback (most recent call last):
    ...
    TypeError: amax must be a real number, got (1+2j)
    """
    reason = f" ({hint})" if hint else ""
    number = value
    if not isinstance(value, numbers.Real) and (isinstance(value, np.ndarray) or _is_torch_tensor(value)):
        arr = as_numpy(value, name)
        if arr.size == 1 and arr.dtype.kind in "iuf":
            number = arr.reshape(()).item()
    if isinstance(number, (bool, np.bool_)) or not isinstance(number, numbers.Real):
        raise TypeError(f"{name} must be a real number{reason}, got {value!r}")
    try:
        result = float(number)
    except OverflowError:  # a Python int beyond float64
        raise ValueError(f"{name} must be a finite number{reason}, got {value!r}, beyond float64") from None
    if (np.isnan(result) and not allow_nan) or (np.isinf(result) and not allow_inf):
        allowed = "a finite number" if not (allow_nan or allow_inf) else "a number that is not NaN" if allow_inf else "a finite number or NaN"
        raise ValueError(f"{name} must be {allowed}{reason}, got {value!r}")
    return result


def one_of(value: object, name: str, options) -> str:
    """``value`` if it is one of the strings ``options``; a clear error otherwise.

    Parameters
    ----------
    value : object
        The argument to check.
    name : str
        Its name, for the error message.
    options : iterable of str
        The allowed values.

    Raises
    ------
    TypeError
        If ``value`` is not a string (a list, ``None``, a number).
    ValueError
        If it is a string but not one of ``options``.

    Examples
    --------
    >>> one_of("max", "algo", ("max", "most_recent"))
    'max'
    >>> one_of("mean", "algo", ("max", "most_recent"))
    Traceback (most recent call last):
    ...
    ValueError: algo must be one of 'max', 'most_recent', got 'mean'
    """
    allowed = ", ".join(repr(o) for o in options)
    if not isinstance(value, str):
        raise TypeError(f"{name} must be one of {allowed}, got {value!r}")
    if value not in options:
        raise ValueError(f"{name} must be one of {allowed}, got {value!r}")
    return value


def integer_array(x: object, name: str = "codes", *, allow_empty: bool = True) -> np.ndarray:
    """``x`` as a numpy array of integers (the input policy of :func:`real_array`, integer dtypes only).

    Integer codes are stored in integer dtypes; a float array, even with integral
    values, is refused, so that codes and values are never confused.

    Examples
    --------
    >>> integer_array([1, -2], "codes")
    array([ 1, -2])
    >>> integer_array([1.0], "codes")
    Traceback (most recent call last):
    ...
    TypeError: codes must hold integers (integer codes), got dtype float64
    """
    arr = real_array(x, name, allow_empty=allow_empty)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{name} must hold integers (integer codes), got dtype {arr.dtype}")
    return arr


def shape_tuple(value: object, name: str = "shape") -> tuple[int, ...]:
    """``value`` as a tuple of non-negative Python ints (an array shape).

    Examples
    --------
    >>> shape_tuple([2, 3])
    (2, 3)
    >>> shape_tuple((2, -1))
    Traceback (most recent call last):
    ...
    ValueError: shape must be a tuple of non-negative integers, got (2, -1)
    """
    if not isinstance(value, (tuple, list)) or not all(_is_int(n) for n in value):
        raise TypeError(f"{name} must be a tuple of non-negative integers, got {value!r}")
    if any(n < 0 for n in value):
        raise ValueError(f"{name} must be a tuple of non-negative integers, got {tuple(value)!r}")
    return tuple(int(n) for n in value)


def set_fields(record: object, **values: object) -> None:
    """Store checked (normalised) values in the fields of a (possibly frozen) dataclass.

    For a record's ``__post_init__``: after checking its fields, it stores the
    normalised values (a list made an array, ``np.True_`` made ``True``).
    """
    for field, value in values.items():
        object.__setattr__(record, field, value)


_FIELD_KINDS = ("array", "finite", "codes", "flag", "count", "positive", "int", "number", "shape", "text")


def check_fields(record: object, **spec: object) -> None:
    """Check and normalise the fields of a result record (a dataclass), for its ``__post_init__``.

    A record that a user builds by hand (``UniformQuantized(codes=..., ...)``) must refuse
    fields of the wrong kind, with the field's name in the message; how the fields fit
    together (shapes, ranges) is checked by the record itself after this call.

    Parameters
    ----------
    record : dataclass instance
        The record; the normalised values are stored back (frozen records too).
    **spec : str or tuple of str
        For each field, what it must hold: ``"array"`` (real numbers, NaN and inf
        allowed), ``"finite"`` (real numbers, finite), ``"codes"`` (integers), ``"flag"``
        (True/False), ``"count"`` (int >= 0), ``"positive"`` (int >= 1), ``"int"``,
        ``"number"`` (a real number, NaN allowed), ``"shape"`` (tuple of ints >= 0),
        ``"text"`` (a str), or a tuple of the allowed strings.  A kind ending in ``"?"``
        also allows ``None``.

    Examples
    --------
    >>> from dataclasses import dataclass
    >>> @dataclass
    ... class Result:
    ...     codes: object
    ...     bits: int
    ...     def __post_init__(self):
    ...         check_fields(self, codes="codes", bits="positive")
    >>> Result([1, 2], 4).codes
    array([1, 2])
    >>> Result([1, 2], True)
    Traceback (most recent call last):
    ...
    TypeError: bits must be a positive integer, got True
    """
    values = {}
    for name, kind in spec.items():
        value = getattr(record, name)
        if isinstance(kind, str) and kind.endswith("?"):
            if value is None:
                continue
            kind = kind[:-1]
        if isinstance(kind, tuple):
            values[name] = one_of(value, name, kind)
        elif kind == "array":
            values[name] = real_array(value, name, allow_empty=True, allow_nan=True, allow_inf=True)
        elif kind == "finite":
            values[name] = real_array(value, name, allow_empty=True)
        elif kind == "codes":
            values[name] = integer_array(value, name)
        elif kind == "flag":
            values[name] = flag(value, name)
        elif kind == "positive":
            values[name] = positive_int(value, name)
        elif kind in ("count", "int"):
            if not _is_int(value):
                raise TypeError(f"{name} must be an integer, got {value!r}")
            if kind == "count" and value < 0:
                raise ValueError(f"{name} must be an integer >= 0, got {value!r}")
            values[name] = int(value)
        elif kind == "number":
            values[name] = real_number(value, name, allow_nan=True, allow_inf=True)
        elif kind == "shape":
            values[name] = shape_tuple(value, name)
        elif kind == "text":
            if not isinstance(value, str):
                raise TypeError(f"{name} must be a string, got {value!r}")
            values[name] = value
        else:
            raise ValueError(f"unknown field kind {kind!r}; allowed: {_FIELD_KINDS} or a tuple of strings")
    set_fields(record, **values)
