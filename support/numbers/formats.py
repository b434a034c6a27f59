"""Binary floating-point formats: description, bit-exact rounding, encoding and decoding.

A :class:`FloatFormat` describes a format by its parameters (exponent and mantissa
widths, bias, sign, and its conventions for infinities, NaN, zero and subnormals), in
the style of Graphcore's gfloat ``FormatInfo``.  Every format the course uses is
registered in :data:`FORMATS` under its ml_dtypes/torch name; any other format is one
constructor call away.

The functions round, encode and decode numpy arrays with integer operations on the bit
patterns of the inputs, vectorised:

- :func:`round_to`  the nearest representable values (six rounding modes), as floats;
- :func:`encode`    the codes (unsigned integers) of those values;
- :func:`decode`    the values of codes;
- :func:`all_values`, :func:`ulp`, :func:`fields` for tables, error bounds and exercises.

With ``saturate=False`` and round-to-nearest-even, :func:`round_to` and :func:`encode`
reproduce ml_dtypes' cast ``x.astype(dtype)`` bit for bit for float16 and float32 inputs,
quirks included (listed in :func:`round_to`); with ``saturate=True`` they reproduce
torch's ``x.to(torch.float8_e4m3fn)``.  A float64 input is rounded once, directly; ml_dtypes
and torch round it twice (through float32), which can differ in the last place.

Examples
--------
>>> from support.numbers.formats import get_format, round_to, encode, decode
>>> fmt = get_format("float8_e4m3fn")
>>> fmt.max, fmt.min_subnormal, fmt.eps
(448.0, 0.001953125, 0.125)
>>> round_to([1.0625, 1000.0], fmt).tolist(), round_to(1000.0, fmt, saturate=True)
([1.0, nan], 448.0)
>>> encode(1.5, fmt), decode(0x3C, fmt)
(60, 1.5)

How the rounding works
----------------------
The input's bit pattern (float32 or float64) is read as an unsigned integer.  Within a
binade the target's values are equally spaced, so rounding is an integer addition at a
fixed bit position followed by a truncation: add an increment (``half - 1 + lsb`` for
ties-to-even, ``half`` for ties-away, a random integer for stochastic rounding, ...) and
clear the bits below the target's last mantissa bit.  A carry out of the mantissa
increments the exponent field, which is exactly the next binade.  Below the target's
smallest normal number the spacing is fixed, so the position moves up by one bit per
binade: there the integer significand (with its implicit bit) is shifted per element.
Overflow, infinities and NaN are rare: they are found with one comparison and fixed on
the few elements concerned.  Arrays are processed in blocks that fit in the CPU cache.
"""

from __future__ import annotations

import functools
import math
import numbers
import struct
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from support._validate import as_numpy, flag, integer_in_range, one_of

__all__ = [
    "FloatFormat",
    "FieldInfo",
    "FORMATS",
    "ROUNDING_MODES",
    "format_names",
    "get_format",
    "round_to",
    "encode",
    "decode",
    "all_values",
    "ulp",
    "fields",
]

NanStyle = Literal["ieee", "fn", "fnuz", "none"]
NAN_STYLES = ("ieee", "fn", "fnuz", "none")

#: The rounding modes of :func:`round_to` and :func:`encode`.
ROUNDING_MODES = ("nearest_even", "nearest_away", "toward_zero", "up", "down", "stochastic")


# --------------------------------------------------------------------------------------
# The format description
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FloatFormat:
    """A binary floating-point format, described by its parameters.

    A finite value is ``(-1)**s * 2**(E - bias) * (1 + M / 2**man_bits)`` for an exponent
    field ``E >= 1`` (normal numbers) and ``(-1)**s * 2**(1 - bias) * (M / 2**man_bits)``
    for ``E == 0`` (zero and subnormals), except where the special-value conventions
    below take codes away.  Without subnormals (E8M0) every exponent field is a normal
    binade, ``2**(E - bias) * (1 + M / 2**man_bits)``.  Impossible combinations raise
    ValueError saying what is allowed.

    Parameters
    ----------
    name : str
        A short name, e.g. ``"float8_e4m3fn"``.
    exp_bits, man_bits : int
        Widths of the exponent field (1 to 11) and of the stored mantissa (0 to 51; 52
        only for float64 itself): every value must be a float64.
    bias : int, optional
        The exponent bias; default ``2**(exp_bits - 1) - 1`` (IEEE).
    signed : bool
        Whether there is a sign bit (``False`` only for scale formats such as E8M0).
    nan : {"ieee", "fn", "fnuz", "none"}
        Where the NaN codes are:

        - ``"ieee"``: exponent field all ones with a nonzero mantissa (all ones with a
          zero mantissa is ±inf);
        - ``"fn"``: only the all-ones code ``S.11…1.11…1`` ("finite, NaN"), no infinity;
        - ``"fnuz"``: only the negative-zero code ``1.00…0.00…0`` (0x80 for 8 bits), so
          there is no −0 ("finite, NaN, unsigned zero");
        - ``"none"``: no NaN at all (the OCP FP6 and FP4 formats).
    has_inf : bool, optional
        Whether ±inf exist; default ``True`` for ``nan="ieee"`` (where it must be True),
        ``False`` otherwise.  With ``nan="fnuz"`` it puts ±inf on the two all-ones codes,
        as the IEEE P3109 formats do.
    has_zero : bool
        ``False`` only for formats whose exponent field 0 is a normal binade (E8M0).
    has_subnormals : bool
        Whether exponent field 0 holds zero and subnormals (``True``) or normal numbers
        (``False``, only together with ``has_zero=False``).

    Examples
    --------
    The IEEE P3109 8-bit format with precision 3 (binary8p3): 5 exponent bits, bias 16,
    NaN on 0x80 and ±inf on 0x7F/0xFF:

    >>> p3 = FloatFormat("binary8p3", exp_bits=5, man_bits=2, bias=16, nan="fnuz", has_inf=True)
    >>> p3.max, p3.min_normal, p3.min_subnormal
    (49152.0, 3.0517578125e-05, 7.62939453125e-06)
    >>> p3.specials
    'NaN = 0x80 (the −0 code), ±inf = 0x7F/0xFF; one zero (no −0)'
    """

    name: str
    exp_bits: int
    man_bits: int
    bias: int | None = None
    signed: bool = True
    nan: NanStyle = "ieee"
    has_inf: bool | None = None
    has_zero: bool = True
    has_subnormals: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise TypeError(f"FloatFormat: name must be a non-empty string, got {self.name!r}")
        for field_name, low, high in (("exp_bits", 1, 11), ("man_bits", 0, 52)):
            value = getattr(self, field_name)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                raise TypeError(f"FloatFormat {self.name}: {field_name} must be an int, got {value!r}")
            if not low <= value <= high:
                raise ValueError(
                    f"FloatFormat {self.name}: {field_name}={value} is not allowed; "
                    f"it must be between {low} and {high} (every value must fit in float64)"
                )
        if self.bias is None:
            object.__setattr__(self, "bias", 2 ** (self.exp_bits - 1) - 1)
        if isinstance(self.bias, bool) or not isinstance(self.bias, numbers.Integral):
            raise TypeError(f"FloatFormat {self.name}: bias must be an int, got {self.bias!r}")
        for name in ("signed", "has_zero", "has_subnormals"):
            object.__setattr__(self, name, flag(getattr(self, name), name))
        one_of(self.nan, "nan", NAN_STYLES)
        if self.has_inf is None:
            object.__setattr__(self, "has_inf", self.nan == "ieee")
        object.__setattr__(self, "has_inf", flag(self.has_inf, "has_inf"))
        self._check_conventions()
        self._check_range()

    def _check_conventions(self) -> None:
        bad = f"FloatFormat {self.name}: "
        if self.nan == "ieee":
            if not self.has_inf:
                raise ValueError(bad + "nan='ieee' puts ±inf on the all-ones exponent, so has_inf must be True; "
                                 "for a format without inf use nan='fn', 'fnuz' or 'none'")
            if self.man_bits < 1 or self.exp_bits < 2:
                raise ValueError(bad + "nan='ieee' needs man_bits >= 1 (to tell inf from NaN) and exp_bits >= 2")
        elif self.has_inf and self.nan != "fnuz":
            raise ValueError(bad + "has_inf=True is allowed only with nan='ieee' (inf on the all-ones exponent) "
                             "or nan='fnuz' (inf on the all-ones codes, as in IEEE P3109)")
        if self.nan == "fnuz" and not (self.signed and self.has_zero):
            raise ValueError(bad + "nan='fnuz' uses the negative-zero code for NaN, so it needs signed=True and has_zero=True")
        if not self.signed and self.nan not in ("ieee", "fn"):
            raise ValueError(bad + "an unsigned format maps negative inputs to NaN, so it needs nan='ieee' or 'fn'")
        if not self.has_zero and (self.signed or self.has_subnormals):
            raise ValueError(bad + "has_zero=False is allowed only for unsigned formats without subnormals "
                             "(exponent field 0 is then a normal binade, as in float8_e8m0fnu)")
        if not self.has_subnormals and self.has_zero:
            raise ValueError(bad + "has_subnormals=False requires has_zero=False: exponent field 0 then holds "
                             "normal numbers (as in float8_e8m0fnu); flush-to-zero formats are not supported")
        if self.bits > 64:
            raise ValueError(bad + f"{self.bits} bits is too wide; at most 64 bits are allowed")

    def _check_range(self) -> None:
        if self._max_code >> self.man_bits < self._emin_field:
            raise ValueError(f"FloatFormat {self.name}: these conventions leave no positive finite normal value")
        if not (-1022 <= self.emin and self.emax <= 1023):
            raise ValueError(
                f"FloatFormat {self.name}: exponent range [{self.emin}, {self.emax}] is not allowed; "
                "every value must be a float64 number, so -1022 <= emin and emax <= 1023 (adjust bias)"
            )
        if self.man_bits == 52 and _ieee_width(self) != 64:
            raise ValueError(f"FloatFormat {self.name}: man_bits=52 is allowed only for float64 itself")

    # -- sizes -------------------------------------------------------------------------
    @property
    def bits(self) -> int:
        """Total width in bits (sign + exponent + mantissa)."""
        return int(self.signed) + self.exp_bits + self.man_bits

    @property
    def num_codes(self) -> int:
        """Number of bit patterns, ``2**bits`` (NaN codes and both zeros included)."""
        return 2**self.bits

    # -- internal code layout ----------------------------------------------------------
    @property
    def _emin_field(self) -> int:
        """Exponent field of the smallest normal binade: 1, or 0 without subnormals."""
        return 1 if self.has_subnormals else 0

    @property
    def _top_code(self) -> int:
        """Largest magnitude code (all exponent and mantissa bits set)."""
        return 2 ** (self.exp_bits + self.man_bits) - 1

    @property
    def _max_code(self) -> int:
        """Magnitude code of the largest finite value."""
        if self.nan == "ieee":
            return self._top_code - 2**self.man_bits  # the all-ones exponent is inf/NaN
        if self.nan == "fn":
            return self._top_code - 1
        return self._top_code - int(bool(self.has_inf))  # fnuz (P3109 inf on top) or none

    @property
    def _sign_bit(self) -> int:
        return 2 ** (self.bits - 1) if self.signed else 0

    # -- values ------------------------------------------------------------------------
    @property
    def emin(self) -> int:
        """Exponent of the smallest normal number (``min_normal == 2**emin``)."""
        return self._emin_field - self.bias

    @property
    def emax(self) -> int:
        """Exponent of the largest finite number (``2**emax <= max < 2**(emax+1)``)."""
        return (self._max_code >> self.man_bits) - self.bias

    @property
    def max(self) -> float:
        """Largest finite value."""
        mantissa = self._max_code & (2**self.man_bits - 1)
        return math.ldexp(1 + mantissa / 2**self.man_bits, self.emax)

    @property
    def min_normal(self) -> float:
        """Smallest positive normal value, ``2**emin``."""
        return math.ldexp(1.0, self.emin)

    @property
    def min_subnormal(self) -> float:
        """Smallest positive value (``min_normal`` when there are no subnormals)."""
        if not self.has_subnormals:
            return self.min_normal
        return math.ldexp(1.0, self.emin - self.man_bits)

    @property
    def eps(self) -> float:
        """Gap between 1 and the next larger value, ``2**-man_bits``."""
        return math.ldexp(1.0, -self.man_bits)

    @property
    def specials(self) -> str:
        """A short description of the special values and zeros."""
        ones = f"{self.exp_bits * '1'}.{self.man_bits * '1'}".rstrip(".")
        zero = "±0" if self.signed else "+0"
        if self.nan == "ieee":
            inf = "±inf" if self.signed else "+inf"
            return f"IEEE: {inf}, NaN (exponent all ones), {zero}"
        if self.nan == "fn":
            sign = "S." if self.signed else ""
            tail = f"; {zero}" if self.has_zero else "; no zero"
            unsigned = "" if self.signed else "; unsigned"
            return f"NaN = {sign}{ones} only, no inf{tail}{unsigned}"
        if self.nan == "fnuz":
            nan_code = f"0x{self._sign_bit:0{(self.bits + 3) // 4}X}"
            if self.has_inf:
                top = f"0x{self._top_code:X}/0x{self._top_code | self._sign_bit:X}"
                return f"NaN = {nan_code} (the −0 code), ±inf = {top}; one zero (no −0)"
            return f"NaN = {nan_code} (the −0 code), no inf; one zero (no −0)"
        return f"no inf, no NaN; {zero}"

    # -- reference implementations -----------------------------------------------------
    @property
    def numpy_dtype(self) -> np.dtype | None:
        """The numpy/ml_dtypes dtype of this name, or None (ml_dtypes imported lazily)."""
        if self.name in ("float16", "float32", "float64"):
            return np.dtype(self.name)
        try:
            import ml_dtypes
        except ImportError:  # pragma: no cover - optional dependency
            return None
        dtype = getattr(ml_dtypes, self.name, None)
        return None if dtype is None else np.dtype(dtype)

    @property
    def torch_dtype(self) -> Any:
        """The torch dtype of this name, or None (torch imported lazily)."""
        try:
            import torch
        except ImportError:  # pragma: no cover - optional dependency
            return None
        dtype = getattr(torch, self.name, None)
        return dtype if isinstance(dtype, torch.dtype) else None


@functools.lru_cache(maxsize=None)
def _ieee_width(fmt: FloatFormat) -> int | None:
    """16, 32 or 64 when ``fmt`` is IEEE binary16/32/64, else None."""
    for width, (e, m) in {16: (5, 10), 32: (8, 23), 64: (11, 52)}.items():
        if (fmt.exp_bits, fmt.man_bits, fmt.bias, fmt.nan, fmt.signed) == (e, m, 2 ** (e - 1) - 1, "ieee", True):
            return width
    return None


def _register(*formats: FloatFormat) -> dict[str, FloatFormat]:
    return {f.name: f for f in formats}


#: Every named format, keyed by its ml_dtypes/torch name.
FORMATS: dict[str, FloatFormat] = _register(
    FloatFormat("float64", 11, 52),
    FloatFormat("float32", 8, 23),
    FloatFormat("tfloat32", 8, 10),
    FloatFormat("bfloat16", 8, 7),
    FloatFormat("float16", 5, 10),
    FloatFormat("float8_e4m3fn", 4, 3, nan="fn"),
    FloatFormat("float8_e4m3", 4, 3),
    FloatFormat("float8_e4m3fnuz", 4, 3, bias=8, nan="fnuz"),
    FloatFormat("float8_e4m3b11fnuz", 4, 3, bias=11, nan="fnuz"),
    FloatFormat("float8_e5m2", 5, 2),
    FloatFormat("float8_e5m2fnuz", 5, 2, bias=16, nan="fnuz"),
    FloatFormat("float8_e3m4", 3, 4),
    FloatFormat("float8_e8m0fnu", 8, 0, signed=False, nan="fn", has_zero=False, has_subnormals=False),
    FloatFormat("float6_e2m3fn", 2, 3, nan="none"),
    FloatFormat("float6_e3m2fn", 3, 2, nan="none"),
    FloatFormat("float4_e2m1fn", 2, 1, nan="none"),
)


def format_names() -> list[str]:
    """Names of the registered formats, widest first (the order of :data:`FORMATS`).

    Examples
    --------
    >>> format_names()[:4]
    ['float64', 'float32', 'tfloat32', 'bfloat16']
    """
    return list(FORMATS)


def get_format(fmt: str | FloatFormat) -> FloatFormat:
    """Return the registered format of this name; a :class:`FloatFormat` passes through.

    Every function that takes a format calls this, so its errors name the argument ``fmt``.

    Examples
    --------
    >>> get_format("bfloat16").man_bits
    7
    """
    if isinstance(fmt, FloatFormat):
        return fmt
    if isinstance(fmt, str):
        try:
            return FORMATS[fmt]
        except KeyError:
            raise ValueError(
                f"fmt {fmt!r} is not a registered format; the registered formats are {', '.join(FORMATS)} "
                "(or pass a FloatFormat)"
            ) from None
    raise TypeError(f"fmt must be a format name (str) or a FloatFormat, got {type(fmt).__name__}")


# --------------------------------------------------------------------------------------
# Bit layouts of the input floats, and the per-(format, layout) constants
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Layout:
    """The IEEE layout in which inputs are rounded (float32 or float64 bits)."""

    float: type
    uint: type
    width: int
    man_bits: int
    bias: int

    @property
    def abs_mask(self) -> int:
        return 2 ** (self.width - 1) - 1

    @property
    def inf_bits(self) -> int:
        return (2 ** (self.width - self.man_bits - 1) - 1) << self.man_bits


_L32 = _Layout(np.float32, np.uint32, 32, 23, 127)
_L64 = _Layout(np.float64, np.uint64, 64, 52, 1023)
_F64 = np.dtype(np.float64)

#: Bytes per block of input: a block and its scratch arrays stay in the CPU cache.
_BLOCK_BYTES = 262144
_BLOCK = _BLOCK_BYTES // 4  # elements of the largest block (float32 inputs)


@functools.lru_cache(maxsize=None)
def _constant(value: int, dtype: type) -> np.ndarray:
    """A read-only block of ``value``: numpy's min/max run much faster against arrays."""
    block = np.full(_BLOCK, value, dtype)
    block.flags.writeable = False
    return block


@functools.lru_cache(maxsize=None)
def _fits_float32(fmt: FloatFormat) -> bool:
    """Whether every value of ``fmt`` is exactly a float32."""
    return fmt.man_bits <= 23 and fmt.emax <= 127 and fmt.emin - (fmt.man_bits if fmt.has_subnormals else 0) >= -149


@dataclass(frozen=True)
class _Plan:
    """Constants for rounding into ``fmt`` from inputs in layout ``lay``."""

    fmt: FloatFormat
    lay: _Layout
    s0: int  # rounding position in the normal range (input mantissa bits - target's)
    et: int  # input exponent field of the target's smallest normal binade
    uniform: bool  # the target's smallest normal binade is the input's: one rounding position
    x_max: int  # bits of the largest finite target value
    code_offset: int  # code = (X >> s0) - code_offset
    min_bits: int  # bits of 2**emin (smallest normal)
    two_min_bits: int  # bits of 2**(emin + 1)
    ties_away: bool  # 'nearest_even' breaks ties away from zero (E8M0, as ml_dtypes/torch)


@functools.lru_cache(maxsize=None)
def _plan(fmt: FloatFormat, lay: _Layout) -> _Plan:
    et = fmt.emin + lay.bias
    return _Plan(
        fmt=fmt,
        lay=lay,
        s0=lay.man_bits - fmt.man_bits,
        et=et,
        uniform=et == 1,
        x_max=int(np.array(fmt.max, lay.float).view(lay.uint)),
        code_offset=(lay.bias - fmt.bias) << fmt.man_bits,
        min_bits=et << lay.man_bits,
        two_min_bits=(et + 1) << lay.man_bits,
        ties_away=fmt.man_bits == 0 and not fmt.has_zero,
    )


# --------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------


def _as_float_array(x: Any, what: str = "x") -> tuple[np.ndarray, bool]:
    """Return ``(array, is_scalar)`` with a float32 or float64 array holding ``x`` exactly.

    float16 (and ml_dtypes float types) become float32, integers float64 (they must be
    exact there); anything else is a TypeError naming the allowed types.
    """
    if isinstance(x, (bool, np.bool_)):
        raise TypeError(f"{what}: booleans are not numbers here; pass floats or integers")
    arr = as_numpy(x, what)  # the input policy: CPU torch tensors too; ragged lists refused
    is_scalar = arr.ndim == 0 and not isinstance(x, np.ndarray)
    dtype = arr.dtype
    if dtype in (np.float32, np.float64):
        return arr, is_scalar
    if dtype == np.float16 or dtype.name in FORMATS:
        return arr.astype(np.float32), is_scalar
    if dtype.kind in "iu":
        out = arr.astype(np.float64)
        if out.size and np.max(np.abs(out)) > 2.0**53:
            raise ValueError(f"{what}: integers beyond 2**53 are not exact in float64; convert them yourself")
        return out, is_scalar
    raise TypeError(
        f"{what}: arrays of dtype {dtype} are not allowed; pass Python numbers, lists, or arrays "
        "of float16, float32, float64 (or integers, or an ml_dtypes float type)"
    )


def _check_mode(mode: str, rng: Any) -> None:
    if mode not in ROUNDING_MODES:
        raise ValueError(f"unknown rounding mode {mode!r}; use one of {', '.join(ROUNDING_MODES)}")
    if mode == "stochastic":
        if not isinstance(rng, np.random.Generator):
            raise ValueError(
                "mode='stochastic' needs rng, a seeded numpy Generator: rng=np.random.default_rng(0)"
            )
    elif rng is not None:
        raise ValueError(f"rng is used only with mode='stochastic', not with mode={mode!r}")


# --------------------------------------------------------------------------------------
# The rounding kernel: one block of input bits -> rounded magnitudes
# --------------------------------------------------------------------------------------


class _Scratch:
    """Work arrays for one block, allocated once per call (``n`` elements of ``dtype``).

    Writing every step into these with ``out=`` keeps the blocks large (few Python
    calls) without a fresh allocation per step.
    """

    def __init__(self, n: int, dtype: type):
        self.exponent, self.sig, self.k, self.s, self.tmp, self.tmp2 = np.empty((6, n), dtype)
        self.flag = np.empty(n, bool)

    def take(self, n: int) -> "_Scratch":
        """The same arrays cut to the first ``n`` elements (for the last, shorter block)."""
        if n == self.flag.size:
            return self
        cut = object.__new__(_Scratch)
        cut.__dict__.update({name: array[:n] for name, array in self.__dict__.items()})
        return cut


def _increment(sig: np.ndarray, s: Any, b: np.ndarray, mode: str, plan: _Plan, rng: Any,
               out: np.ndarray, tmp: np.ndarray, parity: np.ndarray | None = None) -> None:
    """Write into ``out`` the integer added to ``sig`` before its bits below ``s`` are cleared.

    ``s`` (the rounding position, >= 1) is a scalar or one position per element; ``b`` are
    the input bits (for the sign in the directed modes); ``tmp`` is a scratch array.
    ``parity``, if given, is added to ``sig >> s`` to get the parity of the code (needed
    when the format has no mantissa bits: the last kept bit is then the exponent's).
    """
    lay = plan.lay
    one = lay.uint(1)
    if mode == "stochastic":  # a uniform random integer in [0, 2**s), s <= 62
        random = rng.integers(0, 2**62, size=sig.shape, dtype=np.uint64)
        np.right_shift(random, np.uint64(62) - s, out=out)
        return
    # half = 2**(s-1): one scalar, or one per element
    half = (one << s) >> one if np.ndim(s) == 0 else np.right_shift(np.left_shift(one, s, out=tmp), one, out=tmp)
    if mode == "nearest_even" and not plan.ties_away:
        np.right_shift(sig, s, out=out)  # the last kept bit: ties go to the even neighbour
        if parity is not None:
            out += parity
        out &= one
        if np.ndim(s) == 0:
            out += half - one  # half - 1 + that bit
        else:
            out += half
            out -= one
    elif mode in ("nearest_even", "nearest_away"):
        out[...] = half  # ties away from zero
    elif mode == "toward_zero":
        out[...] = 0
    else:  # up, down: 2**s - 1 where the magnitude rounds up, else 0
        np.right_shift(b, lay.uint(lay.width - 1), out=out)  # 1 for negative inputs
        if mode == "up":
            out ^= one
        out *= half
        out += out  # 2 * half = 2**s
        out -= out != 0  # 2**s - 1, or 0


def _round_block(b: np.ndarray, plan: _Plan, mode: str, rng: Any, out: np.ndarray, w: _Scratch) -> None:
    """Round the magnitudes of the inputs with bits ``b`` onto the target's grid, into ``out``.

    The result ``X`` is the rounded magnitude as *code-aligned bits*: at or above the
    target's smallest normal number ``2**emin`` these are the float bits of the result;
    below it, ``X = ((et - 1) << M) + (r << s0)`` where ``r`` is the result in units of
    the smallest subnormal (so ``X`` is linear in the target's code everywhere).
    Overflow, inf and NaN are not treated here: they give ``X > plan.x_max``.
    """
    lay, s0, n = plan.lay, plan.s0, b.size
    one, man_bits = lay.uint(1), lay.uint(lay.man_bits)
    np.bitwise_and(b, lay.uint(lay.abs_mask), out=out)  # |x|
    if plan.uniform:
        # The target's smallest normal binade is the input's: one rounding position for
        # every input, subnormal inputs included (their bits are fixed point already).
        _increment(b, lay.uint(s0), b, mode, plan, rng, w.tmp, w.tmp2)  # b and |x| share the low bits
        out += w.tmp
        out &= ~lay.uint(2**s0 - 1)
        return
    # Below 2**emin the target's spacing is fixed: the position moves up one bit per binade.
    # (np.maximum and np.minimum are much faster against arrays than against scalars.)
    exponent, sig, k, s = w.exponent, w.sig, w.k, w.s
    np.right_shift(out, man_bits, out=exponent)
    np.maximum(exponent, _constant(1, lay.uint)[:n], out=exponent)  # 1 for subnormal inputs
    np.subtract(exponent, one, out=sig)
    sig <<= man_bits
    np.subtract(out, sig, out=sig)  # the significand, with its implicit bit
    np.maximum(exponent, _constant(plan.et, lay.uint)[:n], out=k)  # the binade whose spacing applies
    np.subtract(k, exponent, out=s)
    s += lay.uint(s0)  # the rounding position
    if mode == "stochastic":
        # Keep the position <= 62: for tinier values drop the significand's low bits
        # first (the probability of rounding up then errs by less than 2**-62).
        pre = np.minimum(s, lay.uint(62 + 63)) - np.minimum(s, lay.uint(62))
        sig >>= pre
        s -= pre
    else:
        # Below half the smallest subnormal every position gives the same result.
        np.minimum(s, _constant(lay.man_bits + 2, lay.uint)[:n], out=s)
    parity = None
    if plan.fmt.man_bits == 0:  # the code's last bit is the exponent's: count binades too
        parity = np.subtract(k, lay.uint(plan.et), out=exponent)
    _increment(sig, s, b, mode, plan, rng, w.tmp, w.tmp2, parity)
    sig += w.tmp
    sig >>= s  # r: the result in units of the spacing of binade k
    np.subtract(k, one, out=out)
    out <<= man_bits
    sig <<= lay.uint(s0)
    out += sig


def _round_values_uniform(b: np.ndarray, plan: _Plan, mode: str, out: np.ndarray, spare: np.ndarray,
                          truncate: bool = True) -> bool:
    """The fast path of ``_round_block`` for values (bfloat16 from float32, ...): round the
    signed bits ``b`` in one go into ``out``, which then holds the result's float bits
    (with ``truncate=False`` the bits below the rounding position are left set, for a
    caller that shifts them out).

    Returns whether some inputs may need fixing (NaN, and magnitudes above the format's
    max: ±inf, overflow), found on the input by two cheap reductions, since a NaN's
    carry can reach the sign bit here.
    """
    lay = plan.lay
    s0 = lay.uint(plan.s0)
    _increment(b, s0, b, mode, plan, None, spare, spare)
    np.add(b, spare, out=out)
    if truncate:
        out &= ~lay.uint(2**plan.s0 - 1)
    # Positive inputs above max are the largest signed integers, negative ones the
    # largest unsigned integers: two integer reductions (faster than float ones).
    signed = b.view(np.int32 if lay.width == 32 else np.int64)
    return bool(signed.max(initial=0) > plan.x_max or b.max(initial=0) > lay.uint(plan.x_max | (lay.abs_mask + 1)))


def _needs_fixing(x_bits: np.ndarray, b: np.ndarray, plan: _Plan, mode: str) -> np.ndarray | None:
    """Indices of the elements whose result is not the plain rounding, or None.

    These are overflow, inf and NaN (``X > x_max``), negative inputs to unsigned formats,
    and small inputs to formats without zero.
    """
    fmt, lay = plan.fmt, plan.lay
    if fmt.signed and fmt.has_zero:
        if x_bits.max(initial=0) <= plan.x_max:  # the usual case: one cheap reduction
            return None
        return np.flatnonzero(x_bits > lay.uint(plan.x_max))
    special = x_bits > lay.uint(plan.x_max)
    a = b & lay.uint(lay.abs_mask)
    if not fmt.signed:
        negative = (b >> lay.uint(lay.width - 1)).astype(bool)
        special |= negative & ((a != 0) | (not fmt.has_zero))
    if not fmt.has_zero:
        limit = plan.two_min_bits if mode in ("nearest_even", "nearest_away") else plan.min_bits
        special |= a < lay.uint(limit)
    return np.flatnonzero(special) if special.any() else None


def _nan_codes(b: np.ndarray, fmt: FloatFormat, lay: _Layout) -> np.ndarray:
    """Codes (uint64) that the format gives to NaN inputs with bits ``b``."""
    b = b.astype(np.uint64)
    sign = (b >> np.uint64(lay.width - 1)) * np.uint64(fmt._sign_bit)
    if fmt.nan == "fnuz":
        return np.full(b.shape, fmt._sign_bit, np.uint64)
    if fmt.nan == "none":  # ml_dtypes: +NaN -> the -0 code, -NaN -> the +0 code
        return np.uint64(fmt._sign_bit) - sign
    if fmt.nan == "fn":
        return sign | np.uint64(fmt._top_code)
    exp_ones = np.uint64((2**fmt.exp_bits - 1) << fmt.man_bits)
    width = _ieee_width(fmt)
    payload = (b & np.uint64(2**lay.man_bits - 1)) >> np.uint64(lay.man_bits - fmt.man_bits)
    if width == 16:  # numpy's conversion keeps the top payload bits, never making inf
        payload = np.where(payload == 0, np.uint64(1), payload)
    elif width in (32, 64):  # hardware conversion keeps the top bits and sets the quiet bit
        payload |= np.uint64(2 ** (fmt.man_bits - 1))
    else:  # ml_dtypes: the canonical quiet NaN
        payload = np.uint64(2 ** (fmt.man_bits - 1))
    return sign | exp_ones | payload


def _special_codes(b: np.ndarray, x_bits: np.ndarray, plan: _Plan, mode: str, saturate: bool) -> np.ndarray:
    """Codes (uint64) of the special elements (a few): input bits ``b``, rounded ``x_bits``."""
    fmt, lay = plan.fmt, plan.lay
    a = (b & lay.uint(lay.abs_mask)).astype(np.uint64)
    negative = (b >> lay.uint(lay.width - 1)).astype(bool)
    sign = negative * np.uint64(fmt._sign_bit)
    nan = _nan_codes(b, fmt, lay)
    max_code = sign | np.uint64(fmt._max_code)
    if fmt.nan == "ieee":
        inf_code = sign | np.uint64(fmt._top_code - 2**fmt.man_bits + 1)
    elif fmt.has_inf:
        inf_code = sign | np.uint64(fmt._top_code)
    else:
        inf_code = nan
    is_nan = a > np.uint64(lay.inf_bits)
    is_inf = a == np.uint64(lay.inf_bits)
    # An overflow goes to ±max when saturating, for formats without NaN, and in the
    # modes that round this element's magnitude toward zero (IEEE 754 7.4).
    toward_zero = {"toward_zero": True, "up": negative, "down": ~negative}.get(mode, False)
    overflow_code = np.where(saturate or fmt.nan == "none" or toward_zero, max_code, inf_code)
    inf_result = np.where(fmt.has_inf and not saturate, inf_code,
                          max_code if (saturate or fmt.nan == "none") else nan)
    conditions = [is_nan, negative & (not fmt.signed), is_inf]
    choices = [nan, nan, inf_result]
    if not fmt.has_zero:  # E8M0: no zero; small inputs go to the two smallest codes
        low = np.where(a > np.uint64(plan.min_bits), np.uint64(1), np.uint64(0))
        if mode not in ("nearest_even", "nearest_away"):
            # directed/stochastic: only inputs below 2**emin are special here
            low = np.where(
                {"toward_zero": True, "down": True, "up": False, "stochastic": False}[mode], nan, np.uint64(0)
            )
        conditions += [a == 0, a < np.uint64(plan.two_min_bits)]
        choices += [nan, low]
    x_bits = x_bits.astype(np.uint64)
    conditions.append(x_bits > np.uint64(plan.x_max))
    choices.append(overflow_code)
    # Elements flagged as candidates only (e.g. rounded down to max) keep their code.
    magnitude = (x_bits >> np.uint64(plan.s0)) - np.uint64(plan.code_offset)
    regular = magnitude | (sign * (magnitude != 0) if fmt.nan == "fnuz" else sign)
    return np.select(conditions, choices, default=regular).astype(np.uint64)


# --------------------------------------------------------------------------------------
# From rounded magnitudes to codes or values
# --------------------------------------------------------------------------------------


def _code_dtype(fmt: FloatFormat) -> type:
    for dtype in (np.uint8, np.uint16, np.uint32, np.uint64):
        if fmt.bits <= 8 * np.dtype(dtype).itemsize:
            return dtype
    raise AssertionError("formats have at most 64 bits")  # pragma: no cover


def _codes_from_bits(x_bits: np.ndarray, b: np.ndarray, plan: _Plan, out: np.ndarray) -> None:
    """Write into ``out`` the signed codes of the rounded magnitudes ``x_bits``."""
    fmt, lay = plan.fmt, plan.lay
    magnitude = (x_bits >> lay.uint(plan.s0)) - lay.uint(plan.code_offset)
    out[...] = magnitude
    if fmt.signed:
        sign = (b >> lay.uint(lay.width - 1)).astype(out.dtype) << out.dtype.type(fmt.bits - 1)
        if fmt.nan == "fnuz":  # no negative zero
            sign *= (magnitude != 0)
        out |= sign


def _values_from_bits(x_bits: np.ndarray, b: np.ndarray, plan: _Plan, w: _Scratch) -> None:
    """Turn rounded magnitudes (code-aligned bits) into signed float bits, in place."""
    fmt, lay = plan.fmt, plan.lay
    values = x_bits.view(lay.float)
    if not plan.uniform and fmt.has_subnormals:
        # Below 2**emin, X + 2**M are the bits of the float 2**emin + |result|, from
        # which 2**emin is subtracted exactly (mask arithmetic: no branches).
        below, offset = w.flag, w.tmp
        np.less(x_bits, lay.uint(plan.min_bits), out=below)
        np.copyto(offset, below)
        offset <<= lay.uint(lay.man_bits)
        x_bits += offset
        offset_value = w.tmp.view(lay.float)
        np.copyto(offset_value, below)
        offset_value *= lay.float(fmt.min_normal)
        values -= offset_value
    np.bitwise_and(b, ~lay.uint(lay.abs_mask), out=w.tmp)
    x_bits |= w.tmp  # the input's sign
    if fmt.nan == "fnuz" or not fmt.signed:
        values += lay.float(0.0)  # -0 + 0 = +0; nothing else changes


def _decode_values(codes: np.ndarray, fmt: FloatFormat, float_dtype: type) -> np.ndarray:
    """Values of ``codes`` (uint64, in range) as ``float_dtype``, NaN payloads included."""
    lay = _L32 if float_dtype == np.float32 else _L64
    width = _ieee_width(fmt)
    if width is not None and width >= lay.width:  # the layout itself (or wider)
        bits = codes.astype(np.uint32 if width == 32 else np.uint64)
        return bits.view(np.float32 if width == 32 else np.float64).astype(float_dtype)
    p = fmt.man_bits
    magnitude = codes & np.uint64(fmt._top_code)
    negative = (codes >> np.uint64(fmt.bits - 1)).astype(bool) if fmt.signed else np.zeros(codes.shape, bool)
    exponent = (magnitude >> np.uint64(p)).astype(np.int64)
    mantissa = (magnitude & np.uint64(2**p - 1)).astype(np.int64)
    normal = exponent >= fmt._emin_field
    significand = np.where(normal, mantissa + 2**p, mantissa).astype(np.float64)
    values = np.ldexp(significand, np.maximum(exponent, 1 if fmt.has_subnormals else 0) - fmt.bias - p)
    values = np.where(negative, -values, values).astype(float_dtype)
    is_nan, is_inf = _special_code_masks(codes, fmt)
    if is_inf.any():
        values[is_inf] = np.where(negative[is_inf], -np.inf, np.inf)
    if is_nan.any():
        # ieee: the payload moves up with the mantissa; others: the canonical quiet NaN
        if fmt.nan == "ieee":
            payload = mantissa[is_nan].astype(np.uint64) << np.uint64(lay.man_bits - p)
        else:
            payload = np.uint64(2 ** (lay.man_bits - 1))
        sign = negative[is_nan].astype(np.uint64) << np.uint64(lay.width - 1)
        nan_bits = sign | np.uint64(lay.inf_bits) | payload
        values.view(lay.uint)[is_nan] = nan_bits.astype(lay.uint)
    return values


def _special_code_masks(codes: np.ndarray, fmt: FloatFormat) -> tuple[np.ndarray, np.ndarray]:
    """Boolean masks (is_nan, is_inf) of the codes."""
    magnitude = codes & np.uint64(fmt._top_code)
    if fmt.nan == "ieee":
        exp_ones = np.uint64((2**fmt.exp_bits - 1) << fmt.man_bits)
        at_top = (magnitude & exp_ones) == exp_ones
        is_inf = at_top & (magnitude == exp_ones)
        return at_top & ~is_inf, is_inf
    if fmt.nan == "fn":
        return magnitude == np.uint64(fmt._top_code), np.zeros(codes.shape, bool)
    if fmt.nan == "fnuz":
        is_inf = (magnitude == np.uint64(fmt._top_code)) if fmt.has_inf else np.zeros(codes.shape, bool)
        return codes == np.uint64(fmt._sign_bit), is_inf
    return np.zeros(codes.shape, bool), np.zeros(codes.shape, bool)


# --------------------------------------------------------------------------------------
# The driver: blocks of a flat array
# --------------------------------------------------------------------------------------


def _convert(x: np.ndarray, fmt: FloatFormat, mode: str, saturate: bool, rng: Any, to_codes: bool) -> np.ndarray:
    """Round ``x`` (float32/float64 array) into ``fmt``; return codes or float values."""
    # Signalling NaN inputs and not-yet-patched special elements raise harmless warnings.
    with np.errstate(invalid="ignore", over="ignore"):
        return _convert_quietly(x, fmt, mode, saturate, rng, to_codes)


def _convert_quietly(x: np.ndarray, fmt: FloatFormat, mode: str, saturate: bool, rng: Any, to_codes: bool) -> np.ndarray:
    if _table_shift(fmt, x.dtype, mode) is not None:
        return _convert_by_table(x, fmt, mode, saturate, to_codes)
    if x.dtype == np.float64 and _through_float32(fmt, mode):
        return _convert_through_float32(x, fmt, mode, saturate, to_codes)
    return _convert_exactly(x, fmt, mode, saturate, rng, to_codes)


def _through_float32(fmt: FloatFormat, mode: str) -> bool:
    """Whether float64 inputs may be rounded to float32 by round-to-odd first.

    Rounding to odd onto a grid with at least two more bits, then to nearest onto the
    target, is one correct rounding (Boldo and Melquiond 2008): float32 has 24 bits, so
    targets of up to 21 mantissa bits whose values are float32 numbers (bfloat16,
    tfloat32), rounded to nearest.  Not float16, whose NaN keeps the input's payload
    bits (a float32 conversion would set the quiet bit).
    """
    return (fmt.bits > 8 and fmt.man_bits <= 21 and _fits_float32(fmt) and _ieee_width(fmt) is None
            and mode in ("nearest_even", "nearest_away"))


def _convert_through_float32(x: np.ndarray, fmt: FloatFormat, mode: str, saturate: bool, to_codes: bool) -> np.ndarray:
    """Round float64 ``x`` to float32 by round-to-odd, then into ``fmt`` from float32.

    Per block, in the float64 bits: set bit 29 (float32's last mantissa bit) when a bit
    below it is set, clear those bits, and convert to float32, which is then exact.
    Exact only where float32 is normal: below 2**-126 float32's own rounding would
    interfere, so an input that gives float32 subnormals (rare) takes the float64 kernel,
    unless the target's smallest subnormal is at least 2**-124 (everything below 2**-125
    rounds to zero then, either way); inputs that give a float32 zero round to zero in the
    target too, whose smallest subnormal is far above 2**-149.  Above float32's range the
    conversion gives inf, as rounding to nearest does.  Where the fast path applies
    (bfloat16, tfloat32), each float32 block is rounded at once, while in the cache.
    """
    bits = np.ascontiguousarray(x).reshape(-1).view(np.uint64)
    size = max(min(_BLOCK, bits.size), 1)
    plan = _plan(fmt, _L32)
    fast, nan_bits = _fast_path(plan, mode, saturate, to_codes)
    narrow = np.empty(size if fast else bits.size, np.float32)
    out = np.empty(bits.size, _code_dtype(fmt) if to_codes else np.float64) if fast else None
    low = np.uint64(2**29 - 1)
    check_tiny = fmt.min_subnormal < 2.0**-124
    work, narrow_work, scratch = np.empty(size, np.uint64), np.empty(size, np.uint32), _Scratch(size, np.uint32)
    for start in range(0, bits.size, size):
        b = bits[start:start + size]
        t, n = work[: b.size], narrow[: b.size] if fast else narrow[start:start + b.size]
        np.bitwise_and(b, low, out=t)
        t += low  # carries into bit 29 exactly when a bit below it is set
        t |= b
        t &= ~low
        np.copyto(n, t.view(np.float64), casting="same_kind")
        if check_tiny:  # a float32 subnormal (not zero) here?  (on float32: half the bytes)
            v = narrow_work[: b.size]
            np.bitwise_and(n.view(np.uint32), np.uint32(2**31 - 1), out=v)
            v -= np.uint32(1)  # |n| - 1 wraps zero to the top
            if v.min() < np.uint32(2**23 - 1):
                return _convert_exactly(x, fmt, mode, saturate, None, to_codes)
        if fast:  # codes into the output; values as float32 bits, then widened (exactly)
            rounded = narrow_work[: b.size]
            block = out[start:start + b.size] if to_codes else rounded
            _round_fast_block(n.view(np.uint32), plan, mode, saturate, nan_bits, block, rounded,
                              scratch.take(b.size), to_codes)
            if not to_codes:
                np.copyto(out[start:start + b.size], rounded.view(np.float32))
    if fast:
        return out.reshape(x.shape)
    result = _convert_exactly(narrow, fmt, mode, saturate, None, to_codes)
    return (result if to_codes else result.astype(np.float64)).reshape(x.shape)


def _fast_path(plan: _Plan, mode: str, saturate: bool, to_codes: bool) -> tuple[bool, Any]:
    """Whether :func:`_round_fast_block` applies, and the quiet NaN's bits it then blends in.

    It applies with one rounding position for all inputs, a signed format without the fnuz
    -0 or E8M0 conventions, and for codes a format whose codes are the top bits of the
    input's (bfloat16, tfloat32).  The NaN bits (or None) are for bfloat16 and tfloat32
    rounded to nearest without saturation, where overflow and inf come out right by
    themselves.
    """
    fmt, lay = plan.fmt, plan.lay
    fast = (plan.uniform and fmt.signed and fmt.has_zero and fmt.nan != "fnuz" and mode != "stochastic"
            and (not to_codes or (plan.code_offset == 0 and fmt.bits + plan.s0 == lay.width)))
    nan_bits = None
    if fast and fmt.nan == "ieee" and _ieee_width(fmt) is None and fmt.emax == lay.bias \
            and not saturate and mode in ("nearest_even", "nearest_away"):  # bfloat16, tfloat32
        nan_code = _nan_codes(np.array([lay.inf_bits | 1], lay.uint), fmt, lay)
        nan_bits = lay.uint(_decode_values(nan_code, fmt, lay.float).view(lay.uint)[0])
    return fast, nan_bits


def _round_fast_block(b: np.ndarray, plan: _Plan, mode: str, saturate: bool, nan_bits: Any,
                      block: np.ndarray, work: np.ndarray, w: _Scratch, to_codes: bool) -> None:
    """Round one block of input bits ``b`` by the fast path into ``block`` (codes or float bits).

    ``work`` is a scratch block for codes (values are rounded in ``block`` itself).
    """
    fmt, lay = plan.fmt, plan.lay
    if not to_codes:
        work = block
    special = _round_values_uniform(b, plan, mode, work, w.tmp, truncate=not to_codes)
    if special and nan_bits is not None:
        # Overflow and inf came out right (the carry reaches the all-ones exponent); NaN
        # inputs get the quiet NaN, blended in without branches: work ^= (work ^ nan) & mask,
        # with mask all ones where x is NaN.
        np.isnan(b.view(lay.float), out=w.flag)
        np.copyto(w.tmp2, w.flag)
        np.negative(w.tmp2, out=w.tmp2)
        np.bitwise_and(b, lay.uint(lay.abs_mask + 1), out=w.tmp)
        w.tmp |= nan_bits
        w.tmp ^= work
        w.tmp &= w.tmp2
        work ^= w.tmp
    elif special:
        index = np.flatnonzero(~(np.abs(b.view(lay.float)) <= lay.float(fmt.max)))
        magnitudes = work[index] & lay.uint(lay.abs_mask & ~(2**plan.s0 - 1))
        special_codes = _special_codes(b[index], magnitudes, plan, mode, saturate)
        work.view(lay.float)[index] = _decode_values(special_codes, fmt, lay.float)
    if to_codes:  # the codes are the top bits: shift, then narrow (two same-type
        work >>= lay.uint(plan.s0)  # steps are faster than one mixed-type shift)
        np.copyto(block, work, casting="unsafe")


def _convert_exactly(x: np.ndarray, fmt: FloatFormat, mode: str, saturate: bool, rng: Any, to_codes: bool) -> np.ndarray:
    """The rounding kernel applied block by block (every format, mode and input)."""
    out_float = np.float32 if (x.dtype == np.float32 and _fits_float32(fmt)) else np.float64
    width = _ieee_width(fmt)
    if width is not None and width >= 8 * x.dtype.itemsize:
        # The input's own format (or a wider one): every value is exact.
        values = x.astype(np.float64 if width == 64 else np.float32)
        if to_codes:
            return values.view(np.uint64 if width == 64 else np.uint32).copy()
        return values.astype(out_float, copy=True)
    use_float32 = (x.dtype == np.float32 and _fits_float32(fmt) and fmt.man_bits <= 22
                   and fmt.emin >= -126 and mode != "stochastic")
    lay = _L32 if use_float32 else _L64
    plan = _plan(fmt, lay)
    bits = np.ascontiguousarray(x, dtype=lay.float).reshape(-1).view(lay.uint)
    out = np.empty(bits.shape, _code_dtype(fmt) if to_codes else lay.uint)
    size = max(min(_BLOCK_BYTES // bits.itemsize, bits.size), 1)
    fast, nan_bits = _fast_path(plan, mode, saturate, to_codes)
    x_bits, scratch = np.empty(size, lay.uint), _Scratch(size, lay.uint)
    for start in range(0, bits.size, size):
        b = bits[start:start + size]
        block = out[start:start + size]
        w = scratch.take(b.size)
        if fast:
            _round_fast_block(b, plan, mode, saturate, nan_bits, block, x_bits[: b.size], w, to_codes)
            continue
        # Values are rounded in the output block itself; codes in a scratch block.
        work = x_bits[: b.size] if to_codes else block
        _round_block(b, plan, mode, rng, work, w)
        index = _needs_fixing(work, b, plan, mode)
        if index is not None:
            special_codes = _special_codes(b[index], work[index], plan, mode, saturate)
        if to_codes:
            _codes_from_bits(work, b, plan, block)
            if index is not None:
                block[index] = special_codes.astype(block.dtype)
        else:
            _values_from_bits(work, b, plan, w)
            if index is not None:
                block.view(lay.float)[index] = _decode_values(special_codes, fmt, lay.float)
    if not to_codes:
        out = out.view(lay.float).astype(out_float, copy=False)
    return out.reshape(x.shape)


# --------------------------------------------------------------------------------------
# Formats of at most 8 bits: rounding by table look-up
# --------------------------------------------------------------------------------------

#: Largest table (entries) of :func:`_table`: 2**19 float64 values are 4 MiB.
_TABLE_MAX_ENTRIES = 2**19


def _table_shift(fmt: FloatFormat, dtype: np.dtype, mode: str) -> int | None:
    """The input bit that is the round bit in the target's normal range, or None.

    None when the table path does not apply: formats wider than 8 bits, stochastic
    rounding, inputs other than float32/float64, or a table larger than
    ``_TABLE_MAX_ENTRIES``.
    """
    if fmt.bits > 8 or mode == "stochastic" or dtype not in (np.float32, np.float64):
        return None
    lay = _L32 if dtype == np.float32 else _L64
    shift = lay.man_bits - fmt.man_bits - 1
    if shift < 2 or 2 ** (lay.width - shift + 1) > _TABLE_MAX_ENTRIES:
        return None
    return shift


@functools.lru_cache(maxsize=32)
def _table(fmt: FloatFormat, dtype: np.dtype, mode: str, saturate: bool, to_codes: bool) -> np.ndarray:
    """The result of every class of inputs, for rounding by look-up (read-only).

    In the target's normal range the round bit (the first bit below the last kept
    mantissa bit) is bit ``shift`` of the input; below that range the rounding position
    only moves up.  The bits below ``shift`` therefore matter only through whether any
    of them is set (the sticky bit), in every mode but stochastic rounding, and the
    result is a function of ``index = (bits >> shift) << 1 | sticky``: 2**14 classes for
    float32 to E4M3, 2**17 for float64.  The table holds the exact result (from the
    general kernel) of one member of each class: its top bits and a sticky bit 1.
    """
    lay = _L32 if dtype == np.float32 else _L64
    shift = _table_shift(fmt, np.dtype(dtype), mode)
    index = np.arange(2 ** (lay.width - shift + 1), dtype=np.uint64)
    members = ((index >> np.uint64(1)) << np.uint64(shift)) | (index & np.uint64(1))
    with np.errstate(invalid="ignore", over="ignore"):
        table = _convert_exactly(members.astype(lay.uint).view(lay.float), fmt, mode, saturate, None, to_codes)
    table.flags.writeable = False
    return table


def _convert_by_table(x: np.ndarray, fmt: FloatFormat, mode: str, saturate: bool, to_codes: bool) -> np.ndarray:
    """Round ``x`` (float32/float64) into a format of at most 8 bits by table look-up.

    Per block of the input: the class index ``(bits >> shift) << 1 | sticky`` in four
    integer operations (``t = bits & m; t += m; t |= bits; t >>= shift - 1`` with
    ``m = 2**(shift - 1) - 1``: the addition carries into bit ``shift - 1`` exactly when
    a bit below it is set), then one ``take``.  The cost does not depend on the values:
    saturating, NaN-heavy or subnormal inputs run as fast as well-scaled ones.
    """
    lay = _L32 if x.dtype == np.float32 else _L64
    shift = _table_shift(fmt, x.dtype, mode)
    table = _table(fmt, x.dtype.type, mode, saturate, to_codes)
    bits = np.ascontiguousarray(x).reshape(-1).view(lay.uint)
    out = np.empty(bits.size, table.dtype)
    size = max(min(_BLOCK, bits.size), 1)
    low_mask, down = lay.uint(2 ** (shift - 1) - 1), lay.uint(shift - 1)
    work, index = np.empty(size, lay.uint), np.empty(size, np.intp)
    for start in range(0, bits.size, size):
        b = bits[start:start + size]
        t, i = work[: b.size], index[: b.size]
        if b[0] == b.min() == b.max():  # one repeated value (zeros, padding): look it up once
            t[:1] = b[:1]
            t[:1] &= low_mask
            t[:1] += low_mask
            t[:1] |= b[:1]
            out[start:start + b.size] = table[int(t[0] >> down)]
            continue
        np.bitwise_and(b, low_mask, out=t)
        t += low_mask
        t |= b
        np.right_shift(t, down, out=i, casting="unsafe")  # < 2**19: exact in intp
        np.take(table, i, out=out[start:start + b.size], mode="clip")
    return out.reshape(x.shape)


# --------------------------------------------------------------------------------------
# One Python number: the same results without the array machinery
# --------------------------------------------------------------------------------------

#: Scalar types whose value is exactly a Python float.
_EXACT_FLOAT_TYPES = (float, np.float64, np.float32, np.float16)


def _scalar_value(x: Any) -> float | None:
    """``x`` as a Python float when it is one plain number, else None (the array path)."""
    kind = type(x)
    if kind in _EXACT_FLOAT_TYPES:
        return float(x)
    if kind is int and -(2**53) <= x <= 2**53:
        return float(x)
    return None


def _round_scalar(value: float, fmt: FloatFormat, mode: str, saturate: bool, to_codes: bool) -> float | int | None:
    """:func:`round_to` (or :func:`encode`) of one float, or None where the array kernel decides.

    Formats of at most 8 bits read the float64 look-up table.  Wider formats round a
    finite, nonzero value whose result is finite and nonzero with Python's exact float
    operations (the scaled magnitude ``q`` is below 2**53, so ``q - int(q)`` is exact);
    zeros, overflow, inf, NaN, stochastic rounding and unusual formats (unsigned, no
    zero) are left to the kernel, which knows their conventions.
    """
    shift = _table_shift(fmt, _F64, mode)
    if shift is not None:
        bits = struct.unpack("<Q", struct.pack("<d", value))[0]
        index = (bits >> shift) << 1 | (bits & ((1 << shift) - 1) != 0)
        return _table(fmt, np.float64, mode, saturate, to_codes).item(index)
    magnitude = abs(value)
    if (mode == "stochastic" or not fmt.signed or not fmt.has_zero or magnitude == 0
            or not math.isfinite(value) or fmt.man_bits > 51):
        return None
    scale = max(math.frexp(magnitude)[1] - 1, fmt.emin) - fmt.man_bits  # log2 of the spacing
    q = math.ldexp(magnitude, -scale)  # exact, below 2**(man_bits + 1)
    n = int(q)
    rest, negative = q - n, value < 0
    if mode == "nearest_even":
        n += rest > 0.5 or (rest == 0.5 and n % 2 == 1)
    elif mode == "nearest_away":
        n += rest >= 0.5
    elif mode in ("up", "down"):
        n += rest > 0 and negative == (mode == "down")
    if n == 0 or math.ldexp(n, scale) > fmt.max:
        return None
    result = math.ldexp(n, scale)
    if not to_codes:
        return -result if negative else result
    exponent = max(math.frexp(result)[1] - 1, fmt.emin)
    field = exponent + fmt.bias if result >= fmt.min_normal else 0
    mantissa = int(math.ldexp(result, fmt.man_bits - exponent)) & (2**fmt.man_bits - 1)
    return (fmt._sign_bit if negative else 0) | field << fmt.man_bits | mantissa


def _decode_scalar(code: int, fmt: FloatFormat) -> float | None:
    """:func:`decode` of one code in range, or None for the kernel (NaN and inf codes)."""
    magnitude = code & fmt._top_code
    field, mantissa = magnitude >> fmt.man_bits, magnitude & (2**fmt.man_bits - 1)
    if fmt.nan == "ieee" and field == 2**fmt.exp_bits - 1:
        return None
    if (fmt.nan == "fn" and magnitude == fmt._top_code) or (fmt.nan == "fnuz" and (
            code == fmt._sign_bit or (fmt.has_inf and magnitude == fmt._top_code))):
        return None
    normal = field >= fmt._emin_field
    significand = mantissa + 2**fmt.man_bits if normal else mantissa
    value = math.ldexp(significand, max(field, fmt._emin_field) - fmt.bias - fmt.man_bits)
    return -value if fmt.signed and code >> (fmt.bits - 1) else value


# --------------------------------------------------------------------------------------
# Public functions
# --------------------------------------------------------------------------------------


def round_to(
    x: Any,
    fmt: str | FloatFormat,
    *,
    mode: str = "nearest_even",
    saturate: bool = False,
    rng: np.random.Generator | None = None,
) -> Any:
    """Round ``x`` to the values of a format.

    Parameters
    ----------
    x : float, list or ndarray
        Python numbers, lists, or arrays of float16, float32 or float64 (integers and
        ml_dtypes float arrays are accepted too).  A float64 input is rounded once,
        directly.
    fmt : str or FloatFormat
        The target format, e.g. ``"float8_e4m3fn"``.
    mode : str
        ``"nearest_even"`` (IEEE default), ``"nearest_away"`` (ties away from zero),
        ``"toward_zero"``, ``"up"`` (toward +inf), ``"down"`` (toward −inf), or
        ``"stochastic"`` (round up with probability equal to the distance from the lower
        neighbour in units of the spacing: unbiased in expectation).
    saturate : bool
        Clamp finite overflow and ±inf to ±max.  Without it, overflow follows IEEE 754:
        ±inf where the format has infinities (±max in the modes that round that value's
        magnitude toward zero), NaN where it has NaN but no inf, ±max where it has
        neither (FP6, FP4 always saturate).
    rng : numpy.random.Generator, optional
        Required for ``mode="stochastic"`` (and refused otherwise); the result is
        reproducible for a given seed.

    Returns
    -------
    float or ndarray
        A Python float for a scalar input; otherwise an array of the input's shape:
        float32 for float16/float32 input when every value of the format is a float32
        (all registered formats but float64), float64 otherwise.

    Notes
    -----
    With ``mode="nearest_even"`` and ``saturate=False`` the result equals ml_dtypes'
    ``x.astype(dtype).astype(np.float32)`` bit for bit for float16/float32 inputs (and
    ``saturate=True`` the saturating ``x.to(torch.float8_e4m3fn)`` of torch 2.13; torch 2.11
    did not saturate), including these conventions:

    - ``float8_e4m3fn``: overflow is NaN, except that up to 464 ties down to 448;
    - fnuz formats: −0 and negative values that round to zero give +0;
    - FP6/FP4 (no NaN): a NaN input gives the *opposite-signed* zero (+NaN → −0.0,
      −NaN → +0.0), as ml_dtypes does;
    - ``float8_e8m0fnu`` (powers of two, no zero): ties round up (3 → 4), 0 and negative
      inputs give NaN, inputs up to 2**-127 give 2**-127 and inputs in
      (2**-127, 2**-126) give 2**-126 (ml_dtypes and torch treat the smallest code as
      zero when rounding); in the modes toward zero an input below 2**-127 gives NaN;
    - NaN inputs give the canonical quiet NaN of the format (float16 keeps the top
      payload bits as numpy does).

    Stochastic rounding adds one random integer per element below the rounding position
    (62 random bits): the probability of rounding up is exact to within 2**-62.

    Examples
    --------
    >>> round_to(1 + 2**-4 + 2**-40, "float8_e4m3fn")   # one rounding; ml_dtypes gives 1.0
    1.125
    >>> round_to(np.float32([0.1, 1e6, -3e-3]), "float8_e5m2").tolist()
    [0.09375, inf, -0.0029296875]
    >>> r = round_to(np.full(100_000, 1.1), "float4_e2m1fn", mode="stochastic", rng=np.random.default_rng(0))
    >>> sorted(set(r.tolist())), round(float(r.mean()), 2)   # 1.0 or 1.5, unbiased on average
    ([1.0, 1.5], 1.1)
    """
    return _round_or_encode(x, fmt, mode, saturate, rng, to_codes=False)


def _round_or_encode(x: Any, fmt: str | FloatFormat, mode: str, saturate: bool,
                     rng: np.random.Generator | None, *, to_codes: bool) -> Any:
    """The body of :func:`round_to` (values) and :func:`encode` (``to_codes``)."""
    fmt = get_format(fmt)
    _check_mode(mode, rng)
    saturate = flag(saturate, "saturate")  # bool("no") is True
    value = _scalar_value(x)
    if value is not None:  # one number: a few microseconds instead of the array kernel
        result = _round_scalar(value, fmt, mode, saturate, to_codes=to_codes)
        if result is not None:
            return result
    arr, is_scalar = _as_float_array(x)
    result = _convert(arr, fmt, mode, saturate, rng, to_codes=to_codes)
    if is_scalar:
        return int(result.reshape(())) if to_codes else float(result.reshape(()))
    return result


def encode(
    x: Any,
    fmt: str | FloatFormat,
    *,
    mode: str = "nearest_even",
    saturate: bool = False,
    rng: np.random.Generator | None = None,
) -> Any:
    """The codes of ``x`` rounded to ``fmt``: unsigned integers (uint8/16/32/64 as fits).

    Arguments as for :func:`round_to`.  For float16/float32 inputs the codes equal
    ml_dtypes' ``x.astype(dtype).view(uint)`` (NaN codes included: e.g. 0x7E/0xFE for
    float8_e5m2, where torch uses 0x7F/0xFF).  A scalar input gives a Python int.

    Examples
    --------
    >>> [hex(c) for c in encode([1.0, -2.0, np.nan], "float8_e4m3fn")]
    ['0x38', '0xc0', '0x7f']
    """
    return _round_or_encode(x, fmt, mode, saturate, rng, to_codes=True)


def decode(codes: Any, fmt: str | FloatFormat) -> Any:
    """The values (float64) of codes of ``fmt``; a scalar code gives a Python float.

    NaN codes decode to NaN: IEEE-style formats keep the payload (as numpy and ml_dtypes
    do for float16 and bfloat16), the others give the canonical quiet NaN with the
    code's sign bit (as ml_dtypes does).

    Examples
    --------
    >>> decode([0x38, 0x7E, 0x7F], "float8_e4m3fn").tolist()
    [1.0, 448.0, nan]
    """
    fmt = get_format(fmt)
    if type(codes) is int and 0 <= codes < fmt.num_codes:  # one code: no array machinery
        value = _decode_scalar(codes, fmt)
        if value is not None:
            return value
    arr = as_numpy(codes, "codes")
    is_scalar = arr.ndim == 0 and not isinstance(codes, np.ndarray)
    if arr.dtype.kind not in "iu" or arr.dtype == np.bool_:
        raise TypeError(f"decode: codes must be integers (any int or uint dtype), got dtype {arr.dtype}")
    # An unsigned dtype no wider than the format (uint16 codes of bfloat16, uint8 codes of an
    # 8-bit format) holds only valid codes: checking them would cost a pass over the array.
    can_hold_others = arr.dtype.kind == "i" or 8 * arr.dtype.itemsize > fmt.bits
    if can_hold_others and arr.size and (arr.min() < 0 or int(arr.max()) >= fmt.num_codes):
        raise ValueError(
            f"decode: codes of {fmt.name} are integers in [0, {fmt.num_codes - 1}] ({fmt.bits} bits); "
            f"got values from {arr.min()} to {arr.max()}"
        )
    if _codes_are_top_bits(fmt):  # bfloat16: the codes are the top bits of float32 values
        values = _decode_by_shift(arr, fmt)
    elif fmt.bits <= 16:  # every value in a table: one look-up per code
        values = _decode_by_table(arr, _decode_table(fmt))
    else:
        with np.errstate(invalid="ignore", over="ignore"):
            values = _decode_values(arr.astype(np.uint64), fmt, np.float64)
    return float(values.reshape(())) if is_scalar else values


@functools.lru_cache(maxsize=None)
def _codes_are_top_bits(fmt: FloatFormat) -> bool:
    """Whether ``code << (32 - bits)`` are the float32 bits of the code's value (bfloat16)."""
    if not (_fits_float32(fmt) and fmt.signed and fmt.nan == "ieee" and fmt.emax == _L32.bias):
        return False
    plan = _plan(fmt, _L32)
    return plan.uniform and plan.code_offset == 0 and fmt.bits + plan.s0 == 32


def _decode_by_shift(codes: np.ndarray, fmt: FloatFormat) -> np.ndarray:
    """Values (float64) of codes that are the top bits of float32 numbers, block by block.

    Per block, the codes are widened and shifted into float32 bits, which numpy converts
    to float64 in the output.  That conversion quietens signalling NaNs (it sets their
    quiet bit) and signals "invalid" when it meets one (IEEE 754, section 7.2), which
    numpy reports: only then are the block's NaN codes decoded again, keeping their
    payload, so that no pass over the codes looks for them.
    """
    flat = np.ascontiguousarray(codes).reshape(-1)
    out = np.empty(flat.size, np.float64)
    size = max(min(_BLOCK, flat.size), 1)
    work = np.empty(size, np.uint32)
    shift = np.uint32(32 - fmt.bits)
    for start in range(0, flat.size, size):
        c = flat[start:start + size]
        w, o = work[: c.size], out[start:start + c.size]
        np.copyto(w, c, casting="unsafe")  # codes are in range; then a same-type shift
        w <<= shift  # (faster than one shift that also widens)
        try:
            with np.errstate(invalid="raise"):
                np.copyto(o, w.view(np.float32))
        except FloatingPointError:  # a signalling NaN: decode the NaN codes exactly
            with np.errstate(invalid="ignore"):
                np.copyto(o, w.view(np.float32))
                index = np.flatnonzero(np.isnan(o))
                o[index] = _decode_values(c[index].astype(np.uint64), fmt, np.float64)
    return out.reshape(codes.shape)


def _decode_by_table(codes: np.ndarray, table: np.ndarray) -> np.ndarray:
    """``table[codes]`` block by block; a block of one repeated code is filled."""
    flat = np.ascontiguousarray(codes).reshape(-1)
    if flat.size and flat[0] == flat.min() == flat.max():  # one code throughout: one fill
        return np.full(codes.shape, table[flat[0]])
    out = np.empty(flat.size, table.dtype)
    size = max(min(_BLOCK, flat.size), 1)
    index = np.empty(size, np.intp)
    for start in range(0, flat.size, size):
        c, o = flat[start:start + size], out[start:start + size]
        if c[0] == c.min() == c.max():  # a fill writes at about twice the speed of a look-up
            o.fill(table[c[0]])
            continue
        i = index[: c.size]
        np.copyto(i, c, casting="unsafe")  # codes are in range
        np.take(table, i, out=o, mode="wrap")  # (wrap: a little faster than clip; nothing wraps)
    return out.reshape(codes.shape)


@functools.lru_cache(maxsize=32)
def _decode_table(fmt: FloatFormat) -> np.ndarray:
    """The float64 value of every code of a format of at most 16 bits (read-only)."""
    with np.errstate(invalid="ignore", over="ignore"):
        table = _decode_values(np.arange(fmt.num_codes, dtype=np.uint64), fmt, np.float64)
    table.flags.writeable = False
    return table


def all_values(fmt: str | FloatFormat) -> np.ndarray:
    """Every finite value of ``fmt``, sorted and unique (one zero), as float64.

    Available for formats of at most 20 bits.

    Examples
    --------
    >>> all_values("float4_e2m1fn").tolist()
    [-6.0, -4.0, -3.0, -2.0, -1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0]
    """
    fmt = get_format(fmt)
    if fmt.bits > 20:
        raise ValueError(f"all_values: {fmt.name} has 2**{fmt.bits} codes; formats of at most 20 bits are allowed")
    values = decode(np.arange(fmt.num_codes, dtype=np.uint64), fmt)
    return np.unique(values[np.isfinite(values)]) + 0.0  # +0.0 turns the -0 into +0


def ulp(x: Any, fmt: str | FloatFormat) -> Any:
    """Spacing of ``fmt`` at ``x``: ``2**(e - man_bits)`` with ``e = max(floor(log2|x|), emin)``.

    This is the gap between the two representable numbers around ``|x|`` (Goldberg,
    Higham): for ``2**e <= |x| < 2**(e+1)`` it is the spacing of that binade, and in the
    subnormal range the spacing of subnormals.  At a power of two it is the spacing
    *above* it.  Conventions: ``ulp(0) = min_subnormal`` spacing ``2**(emin - man_bits)``;
    beyond ``max`` the same formula continues (unbounded exponent); ``ulp(±inf) = inf``;
    ``ulp(nan) = nan``.  Returns float64 (a Python float for a scalar input).

    Examples
    --------
    >>> ulp([1.0, 1.9, 2.0, 0.0], "float8_e4m3fn").tolist()
    [0.125, 0.125, 0.25, 0.001953125]
    """
    fmt = get_format(fmt)
    arr, is_scalar = _as_float_array(x)
    arr = np.abs(arr.astype(np.float64))
    _, exponent = np.frexp(arr)  # arr = m * 2**exponent with 0.5 <= m < 1
    exponent = np.where(arr > 0, exponent - 1, fmt.emin)
    result = np.ldexp(1.0, np.maximum(exponent, fmt.emin) - fmt.man_bits)
    result = np.where(np.isfinite(arr), result, arr)  # inf -> inf, nan -> nan
    return float(result) if is_scalar else result


@dataclass(frozen=True)
class FieldInfo:
    """The fields of one encoded value (see :func:`fields`).

    Examples
    --------
    >>> f = fields(-1.5, "float8_e4m3fn")
    >>> f.sign, f.exponent_bits, f.mantissa_bits, f.kind
    (1, '0111', '100', 'normal')
    """

    value: float
    code: int
    sign: int
    exponent: int  # biased exponent field
    mantissa: int  # stored mantissa field
    sign_bits: str
    exponent_bits: str
    mantissa_bits: str
    bits: str
    unbiased_exponent: int | None  # E - bias, emin for subnormals and zero, None for inf/NaN
    kind: str  # "normal", "subnormal", "zero", "inf" or "nan"
    format: str

    def __post_init__(self) -> None:
        """Check that the fields fit together: the bit strings spell ``code`` and its fields."""
        if isinstance(self.value, (bool, np.bool_)) or not isinstance(self.value, numbers.Real):
            raise TypeError(f"value must be a real number, got {self.value!r}")
        texts = {"sign_bits": self.sign_bits, "exponent_bits": self.exponent_bits,
                 "mantissa_bits": self.mantissa_bits, "bits": self.bits, "format": self.format}
        for name, text in texts.items():
            if not isinstance(text, str) or (name != "format" and set(text) - {"0", "1"}):
                raise TypeError(f"{name} must be a string{'' if name == 'format' else ' of 0s and 1s'}, got {text!r}")
        one_of(self.kind, "kind", ("normal", "subnormal", "zero", "inf", "nan"))
        if self.bits != self.sign_bits + self.exponent_bits + self.mantissa_bits or not self.bits:
            raise ValueError(f"bits {self.bits!r} must be sign_bits + exponent_bits + mantissa_bits")
        parts = {"code": self.bits, "sign": self.sign_bits or "0", "exponent": self.exponent_bits or "0",
                 "mantissa": self.mantissa_bits or "0"}
        for name, text in parts.items():
            if integer_in_range(getattr(self, name), name, 0, 2 ** len(text) - 1) != int(text, 2):
                raise ValueError(f"{name} {getattr(self, name)} does not match its bits {text!r}")
        if (self.unbiased_exponent is None) != (self.kind in ("inf", "nan")):
            raise ValueError(f"unbiased_exponent must be None exactly for inf and NaN, got {self.unbiased_exponent!r}")
        if self.unbiased_exponent is not None:
            integer_in_range(self.unbiased_exponent, "unbiased_exponent", -(2**12), 2**12)

    def __str__(self) -> str:
        return " | ".join(part for part in (self.sign_bits, self.exponent_bits, self.mantissa_bits) if part)


def fields(
    x: Any, fmt: str | FloatFormat, *, mode: str = "nearest_even", saturate: bool = False
) -> FieldInfo | list[FieldInfo]:
    """Split values into sign, exponent and mantissa fields, with their bit strings.

    ``x`` is rounded first, as :func:`encode` does.  Returns a :class:`FieldInfo` for a
    scalar, else a list of them (in C order).

    Examples
    --------
    >>> f = fields(13.5, "float32")
    >>> print(f)
    0 | 10000010 | 10110000000000000000000
    >>> f.exponent, f.unbiased_exponent, f.mantissa, f.kind
    (130, 3, 5767168, 'normal')
    """
    fmt = get_format(fmt)
    arr, is_scalar = _as_float_array(x)
    codes = np.asarray(encode(arr, fmt, mode=mode, saturate=saturate), dtype=np.uint64).reshape(-1)
    values = decode(codes, fmt)
    is_nan, is_inf = _special_code_masks(codes, fmt)
    p, e = fmt.man_bits, fmt.exp_bits
    infos = []
    for code, value, nan, inf in zip(codes.tolist(), values.tolist(), is_nan.tolist(), is_inf.tolist()):
        sign = code >> (fmt.bits - 1) if fmt.signed else 0
        exponent = (code >> p) & (2**e - 1)
        mantissa = code & (2**p - 1)
        if nan or inf:
            kind, unbiased = ("nan" if nan else "inf"), None
        elif exponent < fmt._emin_field or (exponent == 0 and fmt.has_subnormals):
            kind, unbiased = ("zero" if mantissa == 0 else "subnormal"), fmt.emin
        else:
            kind, unbiased = "normal", exponent - fmt.bias
        bit_string = format(code, f"0{fmt.bits}b")
        infos.append(FieldInfo(
            value=value, code=code, sign=sign, exponent=exponent, mantissa=mantissa,
            sign_bits=bit_string[: int(fmt.signed)],
            exponent_bits=bit_string[int(fmt.signed): int(fmt.signed) + e],
            mantissa_bits=bit_string[int(fmt.signed) + e:],
            bits=bit_string, unbiased_exponent=unbiased, kind=kind, format=fmt.name,
        ))
    return infos[0] if is_scalar else infos
