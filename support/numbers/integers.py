"""Positional notation, two's complement, fixed point, bit packing and byte order.

This module backs chapter 01 ("Positional systems and integers") and the bit
packing used by the quantization modules.  It is organised in the order of the
chapter:

1. **Positional notation**: :func:`to_base`, :func:`from_base`,
   :func:`positional_breakdown`.
2. **Two's complement** for any width from 1 to 64 bits: :func:`int_range`,
   :func:`to_twos_complement`, :func:`from_twos_complement`,
   :func:`twos_complement_steps`, and the vectorised :func:`encode_twos`,
   :func:`decode_twos`, :func:`sign_extend`.
3. **Fixed-width arithmetic**: :func:`wrap` (what C's fixed-width integers and
   numpy's ``int8`` do on overflow), :func:`saturate` (clamp), and
   :func:`add`, :func:`mul`, :func:`accumulate` with
   ``overflow="wrap" | "saturate" | "raise"``.
4. **Fixed point** ``Q(m.n)``: :class:`QFormat`, :func:`quantize_fixed`,
   :func:`dequantize_fixed`.
5. **Bit packing** of 1-, 2- and 4-bit codes into bytes: :func:`pack`,
   :func:`unpack`.
6. **Byte order**: :func:`to_bytes`, :func:`hexdump`.

Conventions
-----------
*Dtypes.*  The array functions return the smallest numpy integer type that holds
the width: ``int8``/``uint8`` up to 8 bits, then 16, 32 and 64 bits.  So
``encode_twos(x, 8)`` equals ``x.astype(np.int8).view(np.uint8)`` and
``wrap(x, 16)`` has the dtype numpy's own ``int16`` arithmetic would give.
A scalar argument gives a numpy scalar, an array gives an array.

*Integers only.*  Functions that take integers refuse floating-point input,
even ``3.0``: round explicitly first (``np.rint(x).astype(np.int64)``), so that
the rounding is visible in the notebook.

*Errors.*  ``TypeError`` for an argument of the wrong kind, ``ValueError`` for an
argument outside what is allowed (a base outside 2..36, a value that does not
fit the width, a malformed digit string), and ``OverflowError`` when an
operation asked for ``overflow="raise"`` overflows.

Fixed point: which ``Qm.n``?
----------------------------
Two conventions share the notation.  Here ``m`` counts the integer bits **not
including the sign bit** (Texas Instruments' convention), so a signed
``Q(m.n)`` number has ``1 + m + n`` bits, range ``[-2**m, 2**m - 2**-n]`` and
resolution ``2**-n``.  The chapter's example ``Q3.4`` is an 8-bit format with
range ``[-8, 7.9375]`` and resolution ``1/16``; ARM's convention, which counts the
sign bit in ``m``, calls the same format ``Q4.4``.  An unsigned format
(``signed=False``, written ``UQ3.4``) has ``m + n`` bits.

Bit packing: which element goes in the low bits?
------------------------------------------------
A byte holds ``8 // bits`` codes of 1, 2 or 4 bits.  Libraries disagree on the
order, and both are supported:

``first="low"`` (the default)
    Element ``i`` of a group sits at bits ``bits * i`` and up: codes ``[1, 2]``
    of 4 bits pack to ``0x21``.  This is PyTorch's ``quint4x2`` and torchao's
    ``uint4`` packing, and what most GPU kernels do: on a little-endian machine
    element ``i`` is recovered by shifting right by ``bits * i`` and masking, the
    same recipe whether the group is read as one byte or as a wider word.
``first="high"``
    The first element sits in the high bits: ``[1, 2]`` packs to ``0x12``.  This is
    bitsandbytes' NF4/FP4 packing; it reads left to right as hex digits in a
    memory dump.

The last byte is padded with zero codes; :func:`unpack` takes the number of codes
to drop the padding.

Examples
--------
>>> to_base(42, 2)
'101010'
>>> to_twos_complement(-6, 8)
'11111010'
>>> str(QFormat(3, 4)), QFormat(3, 4).bits, QFormat(3, 4).min, QFormat(3, 4).max
('Q3.4', 8, -8.0, 7.9375)
>>> hex(int(pack([1, 2], 4)[0])), hex(int(pack([1, 2], 4, first="high")[0]))
('0x21', '0x12')
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from support._validate import as_numpy, check_fields

__all__ = [
    "to_base",
    "from_base",
    "fraction_digits",
    "PositionalTerm",
    "PositionalBreakdown",
    "positional_breakdown",
    "int_range",
    "to_twos_complement",
    "from_twos_complement",
    "TwosComplementSteps",
    "twos_complement_steps",
    "encode_twos",
    "decode_twos",
    "sign_extend",
    "wrap",
    "saturate",
    "add",
    "mul",
    "accumulate",
    "QFormat",
    "quantize_fixed",
    "dequantize_fixed",
    "pack",
    "unpack",
    "to_bytes",
    "hexdump",
]

#: Most digits :func:`fraction_digits` writes (a float64 needs at most 1074 in base 2).
MAX_FRACTION_DIGITS = 100_000

DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
"""The digits of bases 2 to 36, in order of value."""

MAX_BITS = 64
"""The widest integer this module handles (numpy's widest integer type)."""

MAX_ARITHMETIC_BITS = 32
"""The widest width for :func:`add`, :func:`mul`, :func:`accumulate`: the exact
result of two 32-bit operands still fits in 64 bits, so overflow can be detected."""

MAX_FIXED_BITS = 53
"""The widest fixed-point format, in bits.  Every value of a format up to 53 bits
is exactly a float64, so quantizing and dequantizing are exact."""

_ARITHMETIC_WHY = " (the exact result must fit in 64 bits, so that overflow can be detected)"
_PREFIXES = {"0b": 2, "0o": 8, "0x": 16}
_OVERFLOW_MODES = ("wrap", "saturate", "raise")
_FIXED_OVERFLOW_MODES = ("saturate", "wrap", "raise")
_ROUNDING_MODES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "nearest_even": np.rint,
    "toward_zero": np.trunc,
    "floor": np.floor,
}
_PACK_BITS = (1, 2, 4, 8)


# ---------------------------------------------------------------------------
# Argument checks shared by the public functions
# ---------------------------------------------------------------------------


def _check_int(value: Any, name: str) -> int:
    """Return ``value`` as a Python int, or raise TypeError if it is not an integer."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    return int(value)


def _check_bits(
    bits: Any, *, low: int = 1, high: int = MAX_BITS, name: str = "bits", why: str = ""
) -> int:
    """Return ``bits`` as an int in ``low..high``, or raise with the allowed range."""
    bits = _check_int(bits, name)
    if not low <= bits <= high:
        raise ValueError(f"{name} must be between {low} and {high}{why}, got {bits}")
    return bits


def _check_base(base: Any) -> int:
    base = _check_int(base, "base")
    if not 2 <= base <= len(DIGITS):
        raise ValueError(
            f"base must be between 2 and {len(DIGITS)} (digits 0-9 then A-Z), got {base}"
        )
    return base


def _check_choice(value: Any, name: str, allowed: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in allowed:
        choices = ", ".join(repr(a) for a in allowed)
        raise ValueError(f"{name} must be one of {choices}; got {value!r}")
    return value


def _check_signed(signed: Any) -> bool:
    if not isinstance(signed, (bool, np.bool_)):
        raise TypeError(f"signed must be True or False, got {type(signed).__name__} {signed!r}")
    return bool(signed)


def _describe(bits: int, signed: bool) -> str:
    return f"{bits}-bit {'signed' if signed else 'unsigned'} integers"


def _as_int_array(values: ArrayLike, name: str) -> np.ndarray:
    """Return integer input as an int64 array (uint64 where the values need it).

    Floats, booleans and anything else that is not an integer raise TypeError;
    Python ints beyond the 64-bit types raise ValueError.
    """
    array = as_numpy(values, name)  # the input policy: ragged lists refused, torch tensors shared
    kind = array.dtype.kind
    if kind == "i":
        return array.astype(np.int64)
    if kind == "u":
        return array.astype(np.uint64)
    # numpy turns lists of large Python ints into float64 or object arrays.
    if kind == "O" or (kind == "f" and not isinstance(values, (np.ndarray, np.generic))):
        return _python_ints_as_array(values, name)
    hint = _integer_hint(got_float=kind == "f")
    raise TypeError(f"{name} must be integers, got {array.dtype} values; {hint}")


def _integer_hint(got_float: bool) -> str:
    """What to do instead, for the TypeError of a non-integer input."""
    if got_float:
        return "round floats explicitly first, e.g. np.rint(x).astype(np.int64)"
    return "pass Python ints or a numpy integer array (booleans do not count as integers)"


def _python_ints_as_array(values: Any, name: str) -> np.ndarray:
    objects = np.asarray(values, dtype=object)
    for item in objects.flat:
        if isinstance(item, (bool, np.bool_)) or not isinstance(item, (int, np.integer)):
            hint = _integer_hint(got_float=isinstance(item, (float, np.floating)))
            raise TypeError(f"{name} must be integers, got {type(item).__name__} {item!r}; {hint}")
    for dtype in (np.int64, np.uint64):
        try:
            return np.array(objects, dtype=dtype)
        except OverflowError:
            continue
    raise ValueError(
        f"{name} must fit in 64 bits: all in [-2**63, 2**63 - 1] or all in [0, 2**64 - 1]"
    )


def _as_float_array(values: ArrayLike, name: str) -> np.ndarray:
    """Return real numbers (floats or integers) as a float64 array."""
    array = as_numpy(values, name)  # the input policy: ml_dtypes arrays become float32 exactly
    kind = array.dtype.kind
    if kind not in "iuf" and not _is_custom_float(array.dtype):
        raise TypeError(f"{name} must be real numbers (float or int), got {array.dtype} values")
    return array.astype(np.float64)


def _is_custom_float(dtype: np.dtype) -> bool:
    """True for the float types of ml_dtypes (bfloat16, float8_*), which numpy sees as 'V'."""
    if dtype.kind != "V" or dtype.names is not None:
        return False
    try:
        import ml_dtypes  # optional: only a custom dtype can come from it

        ml_dtypes.finfo(dtype)
    except (ImportError, ValueError, TypeError):
        return False
    return True


def _outside(x: np.ndarray, low: int, high: int) -> np.ndarray:
    """Mask of the elements of an int64 or uint64 array outside ``[low, high]``.

    The bounds are compared in the array's own type, so that no comparison goes
    through float64 (which would blur values near 2**63).
    """
    info = np.iinfo(x.dtype)
    too_low = x < x.dtype.type(low) if low > info.min else np.zeros(x.shape, dtype=bool)
    too_high = x > x.dtype.type(high) if high < info.max else np.zeros(x.shape, dtype=bool)
    return too_low | too_high


def _require_in_range(x: np.ndarray, low: int, high: int, what: str, where: str) -> None:
    """Raise ValueError naming the first element of ``x`` outside ``[low, high]``."""
    bad = _outside(x, low, high)
    if bad.any():
        first = x[bad].flat[0]
        count = int(bad.sum())
        raise ValueError(
            f"{where}: {count} value(s) outside [{low}, {high}], the range of {what}; "
            f"the first is {int(first)}"
        )


def _unsigned_dtype(bits: int) -> type[np.unsignedinteger]:
    for dtype in (np.uint8, np.uint16, np.uint32, np.uint64):
        if bits <= np.iinfo(dtype).bits:
            return dtype
    raise AssertionError(bits)  # unreachable: bits was checked to be <= 64


def _signed_dtype(bits: int) -> type[np.signedinteger]:
    for dtype in (np.int8, np.int16, np.int32, np.int64):
        if bits <= np.iinfo(dtype).bits:
            return dtype
    raise AssertionError(bits)


def _storage_dtype(bits: int, signed: bool) -> type[np.integer]:
    return _signed_dtype(bits) if signed else _unsigned_dtype(bits)


def _finish(array: np.ndarray) -> Any:
    """A 0-d result becomes a numpy scalar, like numpy's own ufuncs."""
    return array[()] if array.ndim == 0 else array


# ---------------------------------------------------------------------------
# 1. Positional notation
# ---------------------------------------------------------------------------


def to_base(n: int, base: int) -> str:
    """Write an integer in a base from 2 to 36.

    Digits are ``0-9`` then ``A-Z``; a negative number gets a leading ``-``.  No
    prefix is added (``to_base(255, 16)`` is ``'FF'``, not ``'0xFF'``).

    Parameters
    ----------
    n : int
        The integer (Python int or numpy integer; any size).
    base : int
        The base, 2 to 36.

    Returns
    -------
    str
        The digits, most significant first.

    Examples
    --------
    >>> to_base(42, 2), to_base(255, 16), to_base(-35, 36), to_base(0, 7)
    ('101010', 'FF', '-Z', '0')
    """
    n = _check_int(n, "n")
    base = _check_base(base)
    if n < 0:
        return "-" + to_base(-n, base)
    digits = []
    while True:
        n, digit = divmod(n, base)
        digits.append(DIGITS[digit])
        if n == 0:
            return "".join(reversed(digits))


def fraction_digits(q: "Fraction | float | int", n: int, base: int = 2) -> str:
    """The first ``n`` digits after the radix point of ``0 <= q < 1`` in ``base``.

    Positional notation works to the right of the point too: the digits are
    d_k = floor(base · r_k), where r_1 = q and r_{k+1} = base · r_k − d_k (long
    division by repeated multiplication).  Exact for a :class:`fractions.Fraction`
    or a float (whose value is a dyadic fraction); digits past the end of a
    terminating expansion are zeros.

    Examples
    --------
    >>> from fractions import Fraction
    >>> fraction_digits(Fraction(1, 10), 12)
    '000110011001'
    >>> fraction_digits(0.625, 4)
    '1010'
    """
    from fractions import Fraction

    if isinstance(q, bool) or not isinstance(q, (int, float, Fraction)):
        raise TypeError(f"fraction_digits: q must be a Fraction, float or int, got {type(q).__name__}")
    if isinstance(q, float) and not math.isfinite(q):
        raise ValueError(f"fraction_digits: q must satisfy 0 <= q < 1, got {q!r}")
    r = Fraction(q)
    if not 0 <= r < 1:
        raise ValueError(f"fraction_digits: q must satisfy 0 <= q < 1, got {q!r}; split off the integer part first")
    n = _check_int(n, "n")
    if not 0 <= n <= MAX_FRACTION_DIGITS:
        raise ValueError(f"fraction_digits: n must be from 0 to {MAX_FRACTION_DIGITS} (digits to write), got {n}")
    base = _check_base(base)
    digits = []
    numerator, denominator = r.numerator, r.denominator
    for _ in range(n):
        digit, numerator = divmod(numerator * base, denominator)  # the next digit of r, exactly
        digits.append(DIGITS[digit])
    return "".join(digits)


def from_base(s: str, base: int) -> int:
    """Read an integer written in a base from 2 to 36.

    Digits are ``0-9`` then ``A-Z`` in either case.  Accepted around them: a
    leading ``+`` or ``-``, the prefix that matches the base (``0b`` for 2,
    ``0o`` for 8, ``0x`` for 16), and underscores or spaces between digits
    (``'1111 0110'``, ``'0xDEAD_BEEF'``).

    Parameters
    ----------
    s : str
        The digits.
    base : int
        The base, 2 to 36.

    Returns
    -------
    int

    Raises
    ------
    ValueError
        For an empty string, a digit not valid in the base, or a prefix of
        another base (``'0x1F'`` read in base 2).

    Examples
    --------
    >>> from_base("101010", 2), from_base("0xff", 16), from_base("-1111_0110", 2)
    (42, 255, -246)
    """
    if not isinstance(s, str):
        raise TypeError(f"s must be a str, got {type(s).__name__} {s!r}")
    base = _check_base(base)
    text = s.strip()
    sign = 1
    if text and text[0] in "+-":
        sign = -1 if text[0] == "-" else 1
        text = text[1:].lstrip()
    prefix = text[:2].lower()
    if prefix in _PREFIXES:
        prefix_base = _PREFIXES[prefix]
        if prefix_base == base:
            text = text[2:]
        elif not _is_digit(text[1], base):  # e.g. '0b1' in base 16 is the number 0xB1
            raise ValueError(
                f"{s!r}: prefix {text[:2]!r} means base {prefix_base}, but base={base}; "
                f"drop the prefix or pass base={prefix_base}"
            )
    digits = text.replace("_", "").replace(" ", "")
    if not digits:
        raise ValueError(f"s={s!r} has no digits to read in base {base}")
    for char in digits:
        if not _is_digit(char, base):
            raise ValueError(
                f"s={s!r}: {char!r} is not a digit in base {base} "
                f"(allowed: {_digit_range(base)}, with underscores or spaces between digits)"
            )
    return sign * int(digits, base)


def _is_digit(char: str, base: int) -> bool:
    return char.upper() in DIGITS[:base]


def _digit_range(base: int) -> str:
    if base <= 10:
        return f"0-{DIGITS[base - 1]}"
    last = DIGITS[base - 1]
    return "0-9, A" if last == "A" else f"0-9, A-{last}"


@dataclass(frozen=True)
class PositionalTerm:
    """One digit of a positional numeral and what it contributes.

    Attributes
    ----------
    digit : int
        The digit's value, ``0 <= digit < base``.
    position : int
        Its position, 0 for the rightmost (least significant) digit.
    weight : int
        ``base ** position``.

    Examples
    --------
    >>> positional_breakdown(2026, 10).terms[0]
    PositionalTerm(digit=2, position=3, weight=1000)
    """

    digit: int
    position: int
    weight: int

    def __post_init__(self) -> None:
        """Check the fields: integers, ``digit >= 0``, ``position >= 0``, ``weight >= 1``."""
        check_fields(self, digit="count", position="count", weight="positive")

    @property
    def contribution(self) -> int:
        """``digit * weight``, what this digit adds to the number."""
        return self.digit * self.weight


@dataclass(frozen=True)
class PositionalBreakdown:
    """A non-negative integer written as a sum of digits times powers of the base.

    Iterating gives the :class:`PositionalTerm` s, most significant first.
    ``str()`` shows every digit in the first sum and only the nonzero
    contributions in the second::

        42 = 1×2^5 + 0×2^4 + 1×2^3 + 0×2^2 + 1×2^1 + 0×2^0 = 32 + 8 + 2

    Digits are shown by their value in decimal (``15×16^1``, not ``F×16^1``), so
    that every term reads as arithmetic.

    Examples
    --------
    >>> b = positional_breakdown(2026, 10)
    >>> [t.digit for t in b.terms], sum(t.digit * t.weight for t in b.terms)
    ([2, 0, 2, 6], 2026)
    """

    value: int
    base: int
    terms: tuple[PositionalTerm, ...]

    def __post_init__(self) -> None:
        """Check that the terms are the digits of ``value`` in ``base``, most significant first."""
        check_fields(self, value="count", base="positive")
        _check_base(self.base)
        if not isinstance(self.terms, tuple) or not all(isinstance(t, PositionalTerm) for t in self.terms):
            raise TypeError(f"terms must be a tuple of PositionalTerm, got {self.terms!r}")
        top = len(self.terms) - 1
        fits = all(t.position == top - i and t.weight == self.base**t.position and t.digit < self.base
                   for i, t in enumerate(self.terms))
        if not (fits and self.terms and sum(t.contribution for t in self.terms) == self.value):
            raise ValueError(f"terms must be the digits of value={self.value} in base {self.base}, most significant first")

    @property
    def digits(self) -> str:
        """The numeral itself, as :func:`to_base` writes it."""
        return to_base(self.value, self.base)

    def __iter__(self) -> Iterator[PositionalTerm]:
        return iter(self.terms)

    def __len__(self) -> int:
        return len(self.terms)

    def __getitem__(self, index: int) -> PositionalTerm:
        return self.terms[index]

    def __str__(self) -> str:
        all_terms = " + ".join(f"{t.digit}×{self.base}^{t.position}" for t in self.terms)
        nonzero = [str(t.contribution) for t in self.terms if t.digit != 0] or ["0"]
        return f"{self.value} = {all_terms} = {' + '.join(nonzero)}"


def positional_breakdown(n: int, base: int) -> PositionalBreakdown:
    """Break a non-negative integer into digit × base^position terms.

    Parameters
    ----------
    n : int
        The integer, ``n >= 0`` (write the sign of a negative number separately).
    base : int
        The base, 2 to 36.

    Returns
    -------
    PositionalBreakdown
        The terms, most significant first, with a readable ``str()``.

    Examples
    --------
    >>> print(positional_breakdown(42, 2))
    42 = 1×2^5 + 0×2^4 + 1×2^3 + 0×2^2 + 1×2^1 + 0×2^0 = 32 + 8 + 2
    >>> [t.contribution for t in positional_breakdown(305, 10)]
    [300, 0, 5]
    """
    n = _check_int(n, "n")
    base = _check_base(base)
    if n < 0:
        raise ValueError(
            f"positional_breakdown takes n >= 0, got {n}; break down {-n} and put the sign in front"
        )
    digits = to_base(n, base)
    top = len(digits) - 1
    terms = tuple(
        PositionalTerm(digit=DIGITS.index(char), position=top - i, weight=base ** (top - i))
        for i, char in enumerate(digits)
    )
    return PositionalBreakdown(value=n, base=base, terms=terms)


# ---------------------------------------------------------------------------
# 2. Two's complement
# ---------------------------------------------------------------------------


def int_range(bits: int, signed: bool = True) -> tuple[int, int]:
    """The smallest and largest integer of a width.

    Parameters
    ----------
    bits : int
        The width, 1 to 64.
    signed : bool
        Two's complement (``[-2**(bits-1), 2**(bits-1) - 1]``) or unsigned
        (``[0, 2**bits - 1]``).

    Returns
    -------
    (int, int)
        ``(min, max)`` as Python ints.

    Examples
    --------
    >>> int_range(8), int_range(8, signed=False), int_range(1)
    ((-128, 127), (0, 255), (-1, 0))
    """
    bits = _check_bits(bits)
    if _check_signed(signed):
        return -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return 0, (1 << bits) - 1


def to_twos_complement(n: int, bits: int) -> str:
    """The two's complement bit string of an integer, most significant bit first.

    Parameters
    ----------
    n : int
        The integer, within :func:`int_range` ``(bits)``.
    bits : int
        The width, 1 to 64.

    Returns
    -------
    str
        Exactly ``bits`` characters ``'0'``/``'1'``.

    Raises
    ------
    ValueError
        If ``n`` does not fit in ``bits`` signed bits (no silent wrapping: use
        :func:`wrap` for that).

    Examples
    --------
    >>> to_twos_complement(5, 8), to_twos_complement(-1, 8), to_twos_complement(-128, 8)
    ('00000101', '11111111', '10000000')
    """
    n = _check_int(n, "n")
    low, high = int_range(bits)
    if not low <= n <= high:
        raise ValueError(
            f"n={n} does not fit in {bits}-bit two's complement, whose range is [{low}, {high}]"
        )
    return format(n % (1 << bits), f"0{bits}b")


def from_twos_complement(bits_str: str) -> int:
    """Read a two's complement bit string; its length is the width.

    Spaces and underscores between bits are ignored, and a ``0b`` prefix is
    accepted.  The leftmost bit is the sign bit, worth ``-2**(width-1)``.

    Parameters
    ----------
    bits_str : str
        1 to 64 characters ``'0'``/``'1'`` (not counting separators).

    Returns
    -------
    int

    Examples
    --------
    >>> from_twos_complement("11111010"), from_twos_complement("0111 1111")
    (-6, 127)
    >>> from_twos_complement("1"), from_twos_complement("01")
    (-1, 1)
    """
    if not isinstance(bits_str, str):
        raise TypeError(f"bits_str must be a str of 0s and 1s, got {type(bits_str).__name__}")
    text = bits_str.strip()
    if text[:2].lower() == "0b":
        text = text[2:]
    digits = text.replace("_", "").replace(" ", "")
    if not digits or set(digits) - {"0", "1"}:
        raise ValueError(
            f"bits_str={bits_str!r} is not a bit string: use only 0 and 1 (spaces, underscores "
            "and a 0b prefix are allowed)"
        )
    if len(digits) > MAX_BITS:
        raise ValueError(f"{bits_str!r} has {len(digits)} bits; at most {MAX_BITS} are allowed")
    unsigned = int(digits, 2)
    if digits[0] == "1":
        return unsigned - (1 << len(digits))
    return unsigned


@dataclass(frozen=True)
class TwosComplementSteps:
    """The flip-and-add-one recipe that writes a negative number in two's complement.

    Attributes
    ----------
    value : int
        The negative number.
    bits : int
        The width.
    magnitude : str
        ``|value|`` in binary, ``bits`` digits.
    flipped : str
        ``magnitude`` with every bit inverted (one's complement).
    result : str
        ``flipped + 1``, the two's complement code of ``value``.

    Examples
    --------
    >>> s = twos_complement_steps(-6, 8)
    >>> s.magnitude, s.flipped, s.result
    ('00000110', '11111001', '11111010')
    """

    value: int
    bits: int
    magnitude: str
    flipped: str
    result: str

    def __post_init__(self) -> None:
        """Check that the three bit strings are the recipe's steps for ``value`` in ``bits`` bits."""
        check_fields(self, value="int", magnitude="text", flipped="text", result="text")
        object.__setattr__(self, "bits", _check_bits(self.bits))
        if not -(2 ** (self.bits - 1)) <= self.value < 0:
            raise ValueError(f"value must be a negative number that fits {self.bits} bits, got {self.value}")
        magnitude = format(-self.value, f"0{self.bits}b")
        steps = {"magnitude": magnitude, "flipped": magnitude.translate(str.maketrans("01", "10")),
                 "result": format(2**self.bits + self.value, f"0{self.bits}b")}
        for name, expected in steps.items():
            if getattr(self, name) != expected:
                raise ValueError(f"{name} must be {expected!r} for value={self.value} in {self.bits} bits, "
                                 f"got {getattr(self, name)!r}")

    def __str__(self) -> str:
        label = f"|{self.value}| = {-self.value}"
        width = max(len(label), len("add 1"))
        return "\n".join(
            [
                f"{self.value} in {self.bits}-bit two's complement:",
                f"  {label:<{width}}  {self.magnitude}",
                f"  {'flip':<{width}}  {self.flipped}",
                f"  {'add 1':<{width}}  {self.result}",
            ]
        )


def twos_complement_steps(n: int, bits: int) -> TwosComplementSteps:
    """The steps that encode a negative number: write ``|n|``, flip every bit, add one.

    For ``n = -2**(bits-1)`` (e.g. -128 in 8 bits) ``|n|`` is written as the
    unsigned ``bits``-bit pattern ``100…0``; flipping and adding one gives the
    same pattern back, which is why that number is its own negation.

    Parameters
    ----------
    n : int
        A negative integer within :func:`int_range` ``(bits)``.
    bits : int
        The width, 1 to 64.

    Returns
    -------
    TwosComplementSteps
        The three bit strings, with a readable ``str()``.

    Raises
    ------
    ValueError
        If ``n >= 0`` (its code is its plain binary, :func:`to_twos_complement`)
        or ``n`` does not fit the width.

    Examples
    --------
    >>> print(twos_complement_steps(-6, 8))
    -6 in 8-bit two's complement:
      |-6| = 6  00000110
      flip      11111001
      add 1     11111010
    """
    n = _check_int(n, "n")
    low, _ = int_range(bits)
    if n >= 0:
        raise ValueError(
            f"twos_complement_steps shows how a negative number is encoded, got n={n}; "
            "a non-negative number is its plain binary: to_twos_complement(n, bits)"
        )
    if n < low:
        raise ValueError(
            f"n={n} does not fit in {bits}-bit two's complement, whose smallest value is {low}"
        )
    mask = (1 << bits) - 1
    flipped = ~(-n) & mask
    result = (flipped + 1) & mask
    return TwosComplementSteps(
        value=n,
        bits=bits,
        magnitude=format(-n, f"0{bits}b"),
        flipped=format(flipped, f"0{bits}b"),
        result=format(result, f"0{bits}b"),
    )


def _to_signed(codes: np.ndarray, bits: int) -> np.ndarray:
    """Read ``bits``-bit unsigned codes (a uint64 array) as two's complement int64.

    A negative number's code has its sign bit set; copying that bit into all the
    upper bits of the 64-bit word (sign extension) gives the same number in int64.
    """
    mask = np.uint64((1 << bits) - 1)
    negative = ((codes >> np.uint64(bits - 1)) & np.uint64(1)) == 1
    extended = np.where(negative, codes | ~mask, codes)
    return extended.astype(np.uint64).view(np.int64)


def _wrap64(x: np.ndarray, bits: int, signed: bool) -> np.ndarray:
    """Reduce an int64/uint64 array modulo 2**bits into the range of the width."""
    codes = x.astype(np.uint64) & np.uint64((1 << bits) - 1)
    if signed:
        return _to_signed(codes, bits).astype(_signed_dtype(bits))
    return codes.astype(_unsigned_dtype(bits))


def encode_twos(values: ArrayLike, bits: int) -> Any:
    """Two's complement codes of signed integers, as unsigned integers.

    The code of ``v`` is ``v mod 2**bits``: ``v`` itself when ``v >= 0`` and
    ``v + 2**bits`` when negative.

    Parameters
    ----------
    values : array_like of int
        Within :func:`int_range` ``(bits)``.
    bits : int
        The width, 1 to 64.

    Returns
    -------
    numpy.ndarray or numpy scalar
        Codes in ``[0, 2**bits - 1]``, in the smallest unsigned dtype that holds
        ``bits`` (``uint8`` up to 8 bits): equal to
        ``values.astype(np.int8).view(np.uint8)`` for 8 bits.

    Raises
    ------
    ValueError
        If a value does not fit (use :func:`wrap` to wrap on purpose).

    Examples
    --------
    >>> encode_twos([-1, -128, 5], 8)
    array([255, 128,   5], dtype=uint8)
    >>> encode_twos([-1, 1], 4)
    array([15,  1], dtype=uint8)
    """
    x = _as_int_array(values, "values")
    low, high = int_range(bits)
    _require_in_range(x, low, high, _describe(bits, True), "encode_twos")
    return _finish(_wrap64(x, bits, signed=False))


def decode_twos(codes: ArrayLike, bits: int) -> Any:
    """Signed integers from their two's complement codes.

    Parameters
    ----------
    codes : array_like of int
        Unsigned codes in ``[0, 2**bits - 1]``.
    bits : int
        The width, 1 to 64.

    Returns
    -------
    numpy.ndarray or numpy scalar
        Values in :func:`int_range` ``(bits)``, in the smallest signed dtype that
        holds ``bits`` (``int8`` up to 8 bits).

    Examples
    --------
    >>> decode_twos([255, 128, 5], 8)
    array([  -1, -128,    5], dtype=int8)
    >>> decode_twos(0b1010, 4)
    np.int8(-6)
    """
    x = _as_int_array(codes, "codes")
    low, high = int_range(bits, signed=False)
    _require_in_range(x, low, high, f"{bits}-bit codes", "decode_twos")
    return _finish(_wrap64(x, bits, signed=True))


def sign_extend(code: ArrayLike, from_bits: int, to_bits: int) -> Any:
    """Widen two's complement codes by copying the sign bit into the new high bits.

    The value is unchanged: ``decode_twos(sign_extend(c, f, t), t) ==
    decode_twos(c, f)``.

    Parameters
    ----------
    code : array_like of int
        Unsigned ``from_bits``-bit codes, in ``[0, 2**from_bits - 1]``.
    from_bits, to_bits : int
        The widths, ``1 <= from_bits <= to_bits <= 64``.

    Returns
    -------
    numpy.ndarray or numpy scalar
        Unsigned ``to_bits``-bit codes, in the smallest unsigned dtype that holds
        ``to_bits``.

    Examples
    --------
    >>> bin(sign_extend(0b1010, 4, 8)), bin(sign_extend(0b0101, 4, 8))
    ('0b11111010', '0b101')
    """
    from_bits = _check_bits(from_bits, name="from_bits")
    to_bits = _check_bits(to_bits, name="to_bits")
    if to_bits < from_bits:
        raise ValueError(
            f"sign_extend widens: to_bits must be >= from_bits, got from_bits={from_bits}, "
            f"to_bits={to_bits}; use wrap() to drop high bits"
        )
    codes = _as_int_array(code, "code")
    _require_in_range(codes, 0, 2**from_bits - 1, f"{from_bits}-bit codes", "sign_extend: code")
    values = decode_twos(codes, from_bits)
    return encode_twos(values, to_bits)


# ---------------------------------------------------------------------------
# 3. Fixed-width arithmetic: wrap, saturate, add, mul, accumulate
# ---------------------------------------------------------------------------


def wrap(values: ArrayLike, bits: int, signed: bool = True) -> Any:
    """Reduce integers modulo ``2**bits`` into the range of the width.

    This is what a fixed-width integer does on overflow (C's ``int8_t``
    arithmetic on every common machine, numpy's ``int8`` arrays): only the low
    ``bits`` bits are kept, and read as two's complement when ``signed``.

    Parameters
    ----------
    values : array_like of int
        Any integers that fit in int64 or uint64.
    bits : int
        The width, 1 to 64.
    signed : bool
        Wrap into ``[-2**(bits-1), 2**(bits-1) - 1]`` or into ``[0, 2**bits - 1]``.

    Returns
    -------
    numpy.ndarray or numpy scalar
        In the smallest dtype that holds the width (``int8``/``uint8`` up to 8 bits).

    Examples
    --------
    >>> wrap([127 + 1, 200, -129], 8)
    array([-128,  -56,  127], dtype=int8)
    >>> wrap(300, 8, signed=False)
    np.uint8(44)
    """
    x = _as_int_array(values, "values")
    bits = _check_bits(bits)
    return _finish(_wrap64(x, bits, _check_signed(signed)))


def saturate(values: ArrayLike, bits: int, signed: bool = True) -> Any:
    """Clamp integers into the range of the width.

    Parameters
    ----------
    values : array_like of int
        Any integers that fit in int64 or uint64.
    bits : int
        The width, 1 to 64.
    signed : bool
        Clamp into :func:`int_range` ``(bits, signed)``.

    Returns
    -------
    numpy.ndarray or numpy scalar
        In the smallest dtype that holds the width.

    Examples
    --------
    >>> saturate([200, -300, 5], 8)
    array([ 127, -128,    5], dtype=int8)
    >>> saturate(-3, 8, signed=False)
    np.uint8(0)
    """
    x = _as_int_array(values, "values")
    signed = _check_signed(signed)
    low, high = int_range(bits, signed)
    info = np.iinfo(x.dtype)
    # Bounds beyond the array's own type cannot be crossed; leave them out.
    clamped = np.clip(x, x.dtype.type(max(low, info.min)), x.dtype.type(min(high, info.max)))
    return _finish(clamped.astype(_storage_dtype(bits, signed)))


def _apply_overflow(
    exact: np.ndarray, bits: int, signed: bool, overflow: str, explain: Callable[[int], str]
) -> np.ndarray:
    """Bring exact int64/uint64 results into the width, as ``overflow`` says."""
    low, high = int_range(bits, signed)
    if overflow == "raise":
        bad = _outside(exact, low, high)
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            raise OverflowError(
                f"{explain(first)} is outside [{low}, {high}], the range of "
                f"{_describe(bits, signed)} ({int(bad.sum())} of {bad.size} results overflow); "
                "use overflow='wrap' or 'saturate', or a wider type"
            )
        return exact.astype(_storage_dtype(bits, signed))
    if overflow == "saturate":
        return np.asarray(saturate(exact, bits, signed))
    return _wrap64(exact, bits, signed)


def _binary_op(
    name: str, symbol: str, a: ArrayLike, b: ArrayLike, bits: int, signed: bool, overflow: str
) -> Any:
    bits = _check_bits(bits, high=MAX_ARITHMETIC_BITS, why=_ARITHMETIC_WHY)
    signed = _check_signed(signed)
    overflow = _check_choice(overflow, "overflow", _OVERFLOW_MODES)
    x = _as_int_array(a, "a")
    y = _as_int_array(b, "b")
    low, high = int_range(bits, signed)
    _require_in_range(x, low, high, _describe(bits, signed), f"{name}: operand a")
    _require_in_range(y, low, high, _describe(bits, signed), f"{name}: operand b")
    # Exact in 64 bits: the operands have at most 32 bits.
    wide = np.int64 if signed else np.uint64
    try:
        x, y = np.broadcast_arrays(x.astype(wide), y.astype(wide))
    except ValueError:
        raise ValueError(f"{name}: a of shape {x.shape} and b of shape {y.shape} do not broadcast together") from None
    exact = np.add(x, y) if name == "add" else np.multiply(x, y)

    def explain(i: int) -> str:
        return f"{name}: {x.flat[i]} {symbol} {y.flat[i]} = {exact.flat[i]}"

    return _finish(_apply_overflow(exact, bits, signed, overflow, explain))


def add(
    a: ArrayLike, b: ArrayLike, bits: int, *, signed: bool = True, overflow: str = "wrap"
) -> Any:
    """Add integers of a fixed width, choosing what happens on overflow.

    Parameters
    ----------
    a, b : array_like of int
        Operands within :func:`int_range` ``(bits, signed)``; they broadcast.
    bits : int
        The width, 1 to 32 (so that the exact sum fits in 64 bits).
    signed : bool
        Two's complement or unsigned.
    overflow : {"wrap", "saturate", "raise"}
        Wrap modulo ``2**bits`` (C and numpy), clamp to the range, or raise
        ``OverflowError``.

    Returns
    -------
    numpy.ndarray or numpy scalar
        In the smallest dtype that holds the width.

    Examples
    --------
    >>> add(100, 100, 8), add(100, 100, 8, overflow="saturate"), add(100, 100, 16)
    (np.int8(-56), np.int8(127), np.int16(200))
    """
    return _binary_op("add", "+", a, b, bits, signed, overflow)


def mul(
    a: ArrayLike, b: ArrayLike, bits: int, *, signed: bool = True, overflow: str = "wrap"
) -> Any:
    """Multiply integers of a fixed width, choosing what happens on overflow.

    Parameters
    ----------
    a, b : array_like of int
        Operands within :func:`int_range` ``(bits, signed)``; they broadcast.
    bits : int
        The width, 1 to 32 (so that the exact product fits in 64 bits).
    signed : bool
        Two's complement or unsigned.
    overflow : {"wrap", "saturate", "raise"}
        Wrap modulo ``2**bits`` (C and numpy), clamp to the range, or raise
        ``OverflowError``.

    Returns
    -------
    numpy.ndarray or numpy scalar
        In the smallest dtype that holds the width.

    Examples
    --------
    An INT8 × INT8 product needs 16 bits: in 8 bits it wraps.

    >>> mul(127, 127, 8), mul(127, 127, 16), mul(-128, -128, 16)
    (np.int8(1), np.int16(16129), np.int16(16384))
    """
    return _binary_op("mul", "×", a, b, bits, signed, overflow)


def accumulate(values: ArrayLike, bits: int, *, signed: bool = True, overflow: str = "wrap") -> Any:
    """Running sums along the last axis in an accumulator of a fixed width.

    This is the inner loop of an integer dot product: ``accumulate(products, 16)``
    shows when a 16-bit accumulator of INT8 × INT8 products overflows (three
    products of 127 × 127 already do), and ``accumulate(products, 32)`` that a
    32-bit one does not.

    With ``overflow="saturate"`` every partial sum is clamped before the next
    addition (saturating addition is not associative, so this differs from
    clamping the exact sums); that mode loops over the last axis in Python, which
    is fine for the lengths a notebook shows.

    Parameters
    ----------
    values : array_like of int
        At least 1-D; each value within :func:`int_range` ``(bits, signed)``.
    bits : int
        The accumulator width, 1 to 32.
    signed : bool
        Two's complement or unsigned accumulator.
    overflow : {"wrap", "saturate", "raise"}
        What each addition does on overflow; "raise" raises ``OverflowError`` at
        the first partial sum that does not fit.

    Returns
    -------
    numpy.ndarray
        The partial sums, same shape as ``values``, in the smallest dtype that
        holds the width.

    Examples
    --------
    >>> products = mul([127, 127, 127], [127, 127, 127], 16)
    >>> accumulate(products, 16)
    array([ 16129,  32258, -17149], dtype=int16)
    >>> accumulate(products, 32)
    array([16129, 32258, 48387], dtype=int32)
    """
    bits = _check_bits(bits, high=MAX_ARITHMETIC_BITS, why=_ARITHMETIC_WHY)
    signed = _check_signed(signed)
    overflow = _check_choice(overflow, "overflow", _OVERFLOW_MODES)
    x = _as_int_array(values, "values")
    if x.ndim == 0:
        raise ValueError("accumulate needs at least a 1-D array of values to sum, got a scalar")
    low, high = int_range(bits, signed)
    _require_in_range(x, low, high, _describe(bits, signed), "accumulate")
    wide = np.int64 if signed else np.uint64
    x = x.astype(wide)
    if overflow == "saturate":
        sums = np.empty_like(x)
        running = np.zeros(x.shape[:-1], dtype=wide)
        for j in range(x.shape[-1]):
            running = np.clip(running + x[..., j], wide(low), wide(high))
            sums[..., j] = running
        return sums.astype(_storage_dtype(bits, signed))
    exact = np.cumsum(x, axis=-1, dtype=wide)

    def explain(i: int) -> str:
        return f"accumulate: partial sum {exact.flat[i]}"

    return _apply_overflow(exact, bits, signed, overflow, explain)


# ---------------------------------------------------------------------------
# 4. Fixed point Q(m.n)
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class QFormat:
    """A binary fixed-point format ``Q(m.n)``.

    ``m`` counts the integer bits **not including the sign bit** (Texas
    Instruments' convention), ``n`` the fraction bits.  A value is an integer
    code times ``2**-n``; the code is a ``bits``-bit two's complement integer when
    ``signed``, unsigned otherwise.

    ====================  ==========================  ===================
    property              signed ``Q(m.n)``           unsigned ``UQ(m.n)``
    ====================  ==========================  ===================
    ``bits``              ``1 + m + n``               ``m + n``
    ``resolution``        ``2**-n``                   ``2**-n``
    ``min``               ``-2**m``                   ``0``
    ``max``               ``2**m - 2**-n``            ``2**m - 2**-n``
    ====================  ==========================  ===================

    ARM's convention counts the sign bit in ``m``: its ``Q4.4`` is this ``Q3.4``,
    its ``Q1.15`` this ``Q0.15``.

    Parameters
    ----------
    m : int
        Integer bits (not counting the sign), ``m >= 0``.
    n : int
        Fraction bits, ``n >= 0``.
    signed : bool
        Two's complement (default) or unsigned.

    Raises
    ------
    ValueError
        If ``m`` or ``n`` is negative, or the total width is not 1 to 53 bits
        (53 keeps every value exactly representable in float64).

    Examples
    --------
    >>> q = QFormat(3, 4)
    >>> str(q), q.bits, q.resolution, q.min, q.max, q.code_range
    ('Q3.4', 8, 0.0625, -8.0, 7.9375, (-128, 127))
    >>> str(QFormat(0, 8, signed=False)), QFormat(0, 8, signed=False).max
    ('UQ0.8', 0.99609375)
    """

    m: int
    n: int
    signed: bool = True

    def __post_init__(self) -> None:
        m = _check_int(self.m, "m")
        n = _check_int(self.n, "n")
        signed = _check_signed(self.signed)
        if m < 0 or n < 0:
            raise ValueError(
                f"Q format needs m >= 0 integer bits and n >= 0 fraction bits, got m={m}, n={n}"
            )
        bits = int(signed) + m + n
        if not 1 <= bits <= MAX_FIXED_BITS:
            raise ValueError(
                f"Q{m}.{n} ({'signed' if signed else 'unsigned'}) has {bits} bits; the total "
                f"width (sign bit + m + n) must be between 1 and {MAX_FIXED_BITS}"
            )
        # Store plain Python values even when numpy integers were passed.
        object.__setattr__(self, "m", m)
        object.__setattr__(self, "n", n)
        object.__setattr__(self, "signed", signed)

    @property
    def bits(self) -> int:
        """The total width, sign bit (if signed) + ``m`` + ``n``."""
        return int(self.signed) + self.m + self.n

    @property
    def resolution(self) -> float:
        """The step between neighbouring values, ``2**-n``."""
        return math.ldexp(1.0, -self.n)

    @property
    def code_range(self) -> tuple[int, int]:
        """The smallest and largest integer code, :func:`int_range` ``(bits, signed)``."""
        return int_range(self.bits, self.signed)

    @property
    def min(self) -> float:
        """The most negative value, ``-2**m`` (signed) or 0 (unsigned)."""
        return math.ldexp(float(self.code_range[0]), -self.n)

    @property
    def max(self) -> float:
        """The largest value, ``2**m - 2**-n``."""
        return math.ldexp(float(self.code_range[1]), -self.n)

    def __str__(self) -> str:
        return f"{'' if self.signed else 'U'}Q{self.m}.{self.n}"


def _check_qformat(q: Any) -> QFormat:
    if not isinstance(q, QFormat):
        raise TypeError(f"q must be a QFormat, e.g. QFormat(3, 4), got {type(q).__name__} {q!r}")
    return q


def quantize_fixed(
    x: ArrayLike, q: QFormat, *, rounding: str = "nearest_even", overflow: str = "saturate"
) -> Any:
    """Round real numbers to the integer codes of a fixed-point format.

    The code of ``x`` is ``round(x * 2**n)``, the integer that the register
    holds, read as a signed integer for a signed format (``-3.5`` in ``Q3.4`` is
    code ``-56``; its bit pattern is ``encode_twos(-56, 8) == 200``).

    Parameters
    ----------
    x : array_like of float
        The numbers; NaN is refused.
    q : QFormat
        The format.
    rounding : {"nearest_even", "toward_zero", "floor"}
        Round to nearest with ties to even (IEEE default), truncate toward zero
        (C's float-to-int cast), or round toward minus infinity (an arithmetic
        right shift).
    overflow : {"saturate", "wrap", "raise"}
        For a rounded code outside :attr:`QFormat.code_range`: clamp to the
        range (±inf saturates too), keep the low ``bits`` bits as C's integer
        conversion does (infinities raise ValueError), or raise
        ``OverflowError``.

    Returns
    -------
    numpy.ndarray or numpy scalar
        Integer codes, in the smallest dtype that holds ``q.bits`` (``int8`` for
        ``Q3.4``).  Error reporting is up to the caller: compare
        ``dequantize_fixed(codes, q)`` with ``x``.

    Examples
    --------
    >>> q = QFormat(3, 4)
    >>> quantize_fixed([2.75, -3.5, 0.1, 3.14159, 100.0], q)
    array([ 44, -56,   2,  50, 127], dtype=int8)
    >>> quantize_fixed(0.1, q, rounding="floor"), quantize_fixed(8.0, q, overflow="wrap")
    (np.int8(1), np.int8(-128))
    """
    q = _check_qformat(q)
    rounding = _check_choice(rounding, "rounding", tuple(_ROUNDING_MODES))
    overflow = _check_choice(overflow, "overflow", _FIXED_OVERFLOW_MODES)
    values = _as_float_array(x, "x")
    if np.isnan(values).any():
        raise ValueError("quantize_fixed: x contains NaN, which has no fixed-point code")
    scaled = np.ldexp(values, q.n)  # exact: multiplying by a power of two
    rounded = _ROUNDING_MODES[rounding](scaled)
    low, high = q.code_range
    if overflow == "saturate":
        codes = np.clip(rounded, low, high)
    elif overflow == "raise":
        bad = (rounded < low) | (rounded > high)
        if bad.any():
            first = values[bad].flat[0]
            raise OverflowError(
                f"quantize_fixed: {int(bad.sum())} value(s) outside {q}'s range "
                f"[{q.min}, {q.max}] after rounding, the first is {first}; "
                "use overflow='saturate' or 'wrap', or a format with more integer bits"
            )
        codes = rounded
    else:  # wrap
        if np.isinf(rounded).any():
            raise ValueError(
                "quantize_fixed: x contains inf, which cannot wrap; use overflow='saturate'"
            )
        # fmod-based remainder of an integer-valued float is exact.
        codes = np.mod(rounded, math.ldexp(1.0, q.bits))
        codes = _wrap64(codes.astype(np.int64), q.bits, q.signed)
    return _finish(np.asarray(codes).astype(_storage_dtype(q.bits, q.signed)))


def dequantize_fixed(codes: ArrayLike, q: QFormat) -> Any:
    """The real values of fixed-point codes: ``code * 2**-n``.

    Parameters
    ----------
    codes : array_like of int
        Codes within :attr:`QFormat.code_range` (signed integers for a signed
        format, as :func:`quantize_fixed` returns them).
    q : QFormat
        The format.

    Returns
    -------
    numpy.ndarray or numpy scalar
        float64 values, exact (every value of a format up to 53 bits is a float64).

    Examples
    --------
    >>> dequantize_fixed([44, -56, 2, 50, 127, -128], QFormat(3, 4))
    array([ 2.75  , -3.5   ,  0.125 ,  3.125 ,  7.9375, -8.    ])
    """
    q = _check_qformat(q)
    x = _as_int_array(codes, "codes")
    low, high = q.code_range
    _require_in_range(x, low, high, f"{q} codes", "dequantize_fixed")
    return _finish(np.ldexp(x.astype(np.float64), -q.n))


# ---------------------------------------------------------------------------
# 5. Bit packing
# ---------------------------------------------------------------------------


def _check_pack_args(bits: Any, first: Any) -> tuple[int, str]:
    bits = _check_int(bits, "bits")
    if bits not in _PACK_BITS:
        raise ValueError(
            f"bits must be 1, 2, 4 or 8 (a divisor of 8, so codes never straddle bytes), got {bits}"
        )
    return bits, _check_choice(first, "first", ("low", "high"))


def _shifts(bits: int, first: str) -> np.ndarray:
    """Where each element of a byte's group starts: ``bits * i``, or reversed for 'high'."""
    shifts = bits * np.arange(8 // bits, dtype=np.uint8)
    return shifts if first == "low" else shifts[::-1].copy()


def pack(codes: ArrayLike, bits: int, *, first: str = "low") -> np.ndarray:
    """Pack unsigned codes of 1, 2 or 4 bits into bytes, ``8 // bits`` per byte.

    Packing runs along the last axis; each row's last byte is padded with zero
    codes.

    Parameters
    ----------
    codes : array_like of int
        At least 1-D, each in ``[0, 2**bits - 1]`` (encode signed values first,
        e.g. with :func:`encode_twos`).
    bits : {1, 2, 4, 8}
        The width of a code (8 packs one code per byte, i.e. just converts).
    first : {"low", "high"}
        Where the first code of each byte goes: the low bits (PyTorch
        ``quint4x2``, torchao, most GPU kernels) or the high bits (bitsandbytes).
        See the module docstring.

    Returns
    -------
    numpy.ndarray of uint8
        Shape ``(..., ceil(k * bits / 8))`` for ``k`` codes per row.

    Examples
    --------
    >>> pack([1, 2], 4), pack([1, 2], 4, first="high")
    (array([33], dtype=uint8), array([18], dtype=uint8))
    >>> [hex(b) for b in pack([1, 2, 3], 4)]
    ['0x21', '0x3']
    """
    bits, first = _check_pack_args(bits, first)
    x = _as_int_array(codes, "codes")
    if x.ndim == 0:
        raise ValueError("pack needs at least a 1-D array of codes, got a scalar")
    _require_in_range(x, 0, (1 << bits) - 1, f"{bits}-bit unsigned codes", "pack")
    per_byte = 8 // bits
    count = x.shape[-1]
    n_bytes = -(-count // per_byte)
    padding = [(0, 0)] * (x.ndim - 1) + [(0, n_bytes * per_byte - count)]
    groups = np.pad(x.astype(np.uint8), padding).reshape(*x.shape[:-1], n_bytes, per_byte)
    return np.bitwise_or.reduce(groups << _shifts(bits, first), axis=-1).astype(np.uint8)


def unpack(
    packed: ArrayLike, bits: int, count: int | None = None, *, first: str = "low"
) -> np.ndarray:
    """Unpack bytes into unsigned codes of 1, 2 or 4 bits; the inverse of :func:`pack`.

    Parameters
    ----------
    packed : array_like of int
        At least 1-D bytes (values 0 to 255), unpacked along the last axis.
    bits : {1, 2, 4, 8}
        The width of a code.
    count : int, optional
        Codes per row, to drop the padding of the last byte.  It must need
        exactly the bytes given: ``ceil(count * bits / 8) == packed.shape[-1]``.
        Default: every code the bytes hold, ``packed.shape[-1] * 8 // bits``.
    first : {"low", "high"}
        The order used to pack (see :func:`pack`).

    Returns
    -------
    numpy.ndarray of uint8
        Shape ``(..., count)``.

    Examples
    --------
    >>> unpack([0x21, 0x03], 4, count=3)
    array([1, 2, 3], dtype=uint8)
    >>> unpack([0x12], 4, first="high")
    array([1, 2], dtype=uint8)
    """
    bits, first = _check_pack_args(bits, first)
    p = _as_int_array(packed, "packed")
    if p.ndim == 0:
        raise ValueError("unpack needs at least a 1-D array of bytes, got a scalar")
    _require_in_range(p, 0, 255, "bytes", "unpack")
    per_byte = 8 // bits
    n_bytes = p.shape[-1]
    capacity = n_bytes * per_byte
    if count is None:
        count = capacity
    count = _check_int(count, "count")
    if count < 0:
        raise ValueError(f"count must be >= 0 codes per row, got {count}")
    if not (count <= capacity and -(-count // per_byte) == n_bytes):
        raise ValueError(
            f"count={count} codes of {bits} bits fill {-(-count // per_byte)} byte(s), "
            f"but packed has {n_bytes} byte(s) per row (they hold {capacity - per_byte + 1} to "
            f"{capacity} codes)"
        )
    mask = np.uint8((1 << bits) - 1)
    codes = (p.astype(np.uint8)[..., None] >> _shifts(bits, first)) & mask
    return codes.reshape(*p.shape[:-1], capacity)[..., :count]


# ---------------------------------------------------------------------------
# 6. Byte order
# ---------------------------------------------------------------------------


def to_bytes(x: ArrayLike, dtype: DTypeLike, byteorder: str = "little") -> bytes:
    """The bytes of a value (or array) stored as ``dtype``, in a chosen byte order.

    Shows byte order without ``byteswap``: float32 ``1.0`` is ``3f 80 00 00`` as a
    number but is stored ``00 00 80 3f`` on a little-endian machine (x86, ARM, every
    GPU).  For an array the elements follow one another, each in the chosen order.

    Parameters
    ----------
    x : scalar or array_like
        The value(s).  Floats are rounded to a float ``dtype`` (that is what
        storing does); an integer ``dtype`` needs integers that fit.
    dtype : numpy dtype
        An integer or float type in native order (``np.int16``, ``np.float32``,
        ``ml_dtypes.bfloat16``, ...); choose the order with ``byteorder``.
    byteorder : {"little", "big"}
        Least significant byte first (little) or most significant first (big).

    Returns
    -------
    bytes
        Show them with ``.hex(" ")`` or :func:`hexdump`.

    Examples
    --------
    >>> to_bytes(1.0, np.float32).hex(" "), to_bytes(1.0, np.float32, "big").hex(" ")
    ('00 00 80 3f', '3f 80 00 00')
    >>> to_bytes(-2, np.int16).hex(" "), to_bytes([1, 2], np.uint16, "big").hex(" ")
    ('fe ff', '00 01 00 02')
    """
    try:
        if dtype is None:  # np.dtype(None) is float64
            raise TypeError
        dt = np.dtype(dtype)
    except TypeError as error:
        raise TypeError(f"dtype must be a numpy dtype such as np.float32, got {dtype!r}") from error
    if dt.kind not in "iuf" and not _is_custom_float(dt):
        raise TypeError(f"to_bytes supports integer and floating-point dtypes, got {dt}")
    if dt.byteorder not in ("=", "|"):
        raise ValueError(
            f"dtype {dt.str} has an explicit byte order; pass the native type "
            "(e.g. np.float32) and choose the order with byteorder='little' or 'big'"
        )
    byteorder = _check_choice(byteorder, "byteorder", ("little", "big"))
    if dt.kind in "iu":
        values = _as_int_array(x, "x")
        info = np.iinfo(dt)
        _require_in_range(values, int(info.min), int(info.max), f"{dt}", "to_bytes")
        stored = values.astype(dt)
    else:
        stored = _as_float_array(x, "x").astype(dt)
    raw = np.ascontiguousarray(stored).reshape(-1).view(np.uint8).reshape(-1, dt.itemsize)
    if byteorder != sys.byteorder:
        raw = raw[:, ::-1]
    return raw.tobytes()


def _raw_bytes(data: Any) -> bytes:
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)
    if isinstance(data, (np.ndarray, np.generic)):
        if data.dtype.kind == "O":
            raise TypeError("hexdump cannot show an object array: its memory holds pointers")
        return np.ascontiguousarray(data).tobytes()
    raise TypeError(
        f"hexdump: data must be a numpy array or bytes, got {type(data).__name__}; "
        "for a Python number choose its type first, e.g. hexdump(np.float32(1.0)) "
        "or to_bytes(1.0, np.float32)"
    )


def hexdump(
    data: bytes | bytearray | memoryview | np.ndarray | np.generic, *, width: int = 16
) -> str:
    """Show raw bytes as ``xxd -g1`` does: offset, hex bytes, printable ASCII.

    A numpy array is shown as it lies in memory (C order, in the machine's byte
    order, so little-endian on x86, ARM and GPUs).

    Parameters
    ----------
    data : bytes, bytearray, memoryview, numpy array or numpy scalar
        What to show.
    width : int
        Bytes per line, at least 1.

    Returns
    -------
    str
        One line per ``width`` bytes (no trailing newline; empty for no bytes):
        an 8-digit hex offset, the bytes in hex, and the bytes as ASCII with
        ``.`` for non-printable ones.

    Examples
    --------
    >>> print(hexdump(np.array([1.0, 2.0], dtype=np.float32)))
    00000000: 00 00 80 3f 00 00 00 40                          ...?...@
    >>> print(hexdump(b"Hi!", width=2))
    00000000: 48 69  Hi
    00000002: 21     !
    """
    width = _check_int(width, "width")
    if not 1 <= width <= 1024:
        raise ValueError(f"width must be from 1 to 1024 bytes per line, got {width}")
    raw = _raw_bytes(data)
    lines = []
    for offset in range(0, len(raw), width):
        chunk = raw[offset : offset + width]
        hex_part = " ".join(f"{byte:02x}" for byte in chunk)
        text = "".join(chr(byte) if 32 <= byte < 127 else "." for byte in chunk)
        lines.append(f"{offset:08x}: {hex_part:<{3 * width - 1}}  {text}")
    return "\n".join(lines)
