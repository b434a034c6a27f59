"""Checkers: each decides whether one kind of answer is correct, and says why not.

- :class:`Number`   a number, exact or within a tolerance (relative, absolute, or N ulps of a format);
- :class:`Array`    an array: shape, dtype, values (names the first wrong element);
- :class:`Bits`     a bit string, ignoring spaces, ``_``, ``|`` and ``0b`` (names the wrong field);
- :class:`Choice`   multiple choice (one letter);
- :class:`Function` a function the student writes, run on test cases;
- :class:`Explain`  a free-text explanation: shows the model answer and key points.

Every checker returns a :class:`~support.exercises.core.Result`; none raises at the student.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from support.exercises.core import Checker, Result, Status, is_placeholder

__all__ = ["Number", "Array", "Bits", "Choice", "Function", "Explain"]


def _ok(message: str = "") -> Result:
    return Result(Status.CORRECT, message)


def _wrong(message: str) -> Result:
    return Result(Status.INCORRECT, message)


def _as_real(answer: Any) -> float | int | None:
    """A Python int or float from a numeric answer (numpy scalars, 0-d arrays, torch scalars)."""
    if isinstance(answer, bool):
        return None
    if isinstance(answer, numbers.Integral):
        return int(answer)
    if isinstance(answer, numbers.Real):
        return float(answer)
    if isinstance(answer, np.ndarray) and answer.shape == () and answer.dtype.kind in "iuf":
        return answer.item()
    if hasattr(answer, "item") and callable(answer.item) and getattr(answer, "numel", lambda: 0)() == 1:
        value = answer.item()  # a one-element torch tensor
        return value if isinstance(value, (int, float)) else None
    return None


def _fmt(x: float | int) -> str:
    return str(x) if isinstance(x, int) else f"{x:.10g}"


@dataclass(frozen=True)
class Number(Checker):
    """A single number.

    Exact comparison by default; give ``rtol`` and/or ``atol`` for a tolerance, or
    ``ulps`` and ``fmt`` to accept anything within ``ulps`` units in the last place
    of ``expected`` in the named format.  NaN matches NaN; the sign of zero is
    checked only when ``signed_zero=True``.

    Examples
    --------
    >>> Number(0.1, rtol=1e-6).evaluate(0.1000000001).status.value
    'correct'
    """

    expected: float
    rtol: float = 0.0
    atol: float = 0.0
    ulps: float | None = None
    fmt: str | None = None
    signed_zero: bool = False

    def __post_init__(self) -> None:
        if (self.ulps is None) != (self.fmt is None):
            raise ValueError("Number: give both `ulps` and `fmt` (a format name), or neither")
        if self.rtol < 0 or self.atol < 0:
            raise ValueError("Number: rtol and atol must be >= 0")

    def _tolerance(self) -> float:
        tol = max(self.atol, self.rtol * abs(self.expected))
        if self.ulps is not None:
            from support.numbers.formats import ulp

            tol = max(tol, self.ulps * float(ulp(self.expected, self.fmt)))
        return tol

    def evaluate(self, answer: Any) -> Result:
        value = _as_real(answer)
        if value is None:
            return _wrong(f"Expected a number, got {type(answer).__name__} `{answer!r}`.")
        exp = self.expected
        if isinstance(exp, float) and math.isnan(exp):
            return _ok() if isinstance(value, float) and math.isnan(value) else _wrong(f"Expected NaN, got {_fmt(value)}.")
        if isinstance(value, float) and math.isnan(value):
            return _wrong("Your answer is NaN; the expected value is a finite number or an infinity.")
        if math.isinf(exp) or math.isinf(value):
            return _ok() if value == exp else _wrong(f"Expected {_fmt(exp)}, got {_fmt(value)}.")
        if self.signed_zero and exp == 0 and value == 0 and math.copysign(1, value) != math.copysign(1, exp):
            return _wrong("Right magnitude, wrong sign of zero.")
        diff = abs(value - exp)
        tol = self._tolerance()
        if diff <= tol:
            return _ok()
        msg = f"Your answer {_fmt(value)} is off by {diff:.3g}"
        if exp != 0:
            rel = diff / abs(exp)
            msg += f" ({rel:.2%} of the expected magnitude)" if rel >= 1e-3 else f" (a relative error of {rel:.1e})"
        if self.ulps is not None:
            from support.numbers.formats import ulp

            msg += f", that is {diff / float(ulp(exp, self.fmt)):.3g} ulps of {self.fmt}"
        ratio = value / exp if exp != 0 else 0.0
        if ratio == -1:
            msg += ". Check the sign"
        elif ratio > 0 and ratio != 1 and math.log2(ratio).is_integer():
            msg += f". It is {ratio:g} times the expected value: check the exponent"
        return _wrong(msg + ".")

    def describe_expected(self) -> str:
        return _fmt(self.expected)


@dataclass(frozen=True)
class Array(Checker):
    """An array: same shape, optionally same dtype kind, values equal within a tolerance.

    Examples
    --------
    >>> Array([1, 2, 3]).evaluate([1, 2, 4]).message
    'Element [2] is 4, expected 3 (1 of 3 elements differ).'
    """

    expected: Any
    rtol: float = 0.0
    atol: float = 0.0
    check_dtype: str | None = None  # e.g. "int", "float", "uint8"

    def evaluate(self, answer: Any) -> Result:
        exp = np.asarray(self.expected)
        if hasattr(answer, "detach"):  # a torch tensor
            answer = answer.detach().cpu().numpy()
        try:
            got = np.asarray(answer)
        except Exception:
            return _wrong(f"Expected an array, got {type(answer).__name__}.")
        if got.dtype == object or got.dtype.kind not in "biuf":
            return _wrong(f"Expected an array of numbers, got dtype `{got.dtype}`.")
        if got.shape != exp.shape:
            return _wrong(f"Shape {got.shape}, expected {exp.shape}.")
        if self.check_dtype is not None:
            want = self.check_dtype
            ok = {"int": got.dtype.kind in "iu", "float": got.dtype.kind == "f"}.get(want, got.dtype == np.dtype(want) if want not in ("int", "float") else False)
            if not ok:
                return _wrong(f"dtype is `{got.dtype}`, expected {want}.")
        close = np.isclose(got.astype(float), exp.astype(float), rtol=self.rtol, atol=self.atol, equal_nan=True)
        if close.all():
            return _ok()
        bad = np.argwhere(~close)
        first = tuple(int(i) for i in bad[0])
        idx = "[" + ", ".join(map(str, first)) + "]"
        return _wrong(
            f"Element {idx} is {_fmt(got[first].item())}, expected {_fmt(exp[first].item())} "
            f"({len(bad)} of {exp.size} elements differ)."
        )

    def describe_expected(self) -> str:
        return np.array2string(np.asarray(self.expected), separator=", ")


def _clean_bits(text: str) -> str:
    s = text.strip().lower()
    if s.startswith("0b"):
        s = s[2:]
    for ch in " _|\n\t":
        s = s.replace(ch, "")
    return s


@dataclass(frozen=True)
class Bits(Checker):
    """A bit string, split into named fields (e.g. sign / exponent / mantissa).

    Spaces, underscores, ``|`` and a leading ``0b`` are ignored.

    Examples
    --------
    >>> chk = Bits("0 10000001 01000000000000000000000", fields=(("sign", 1), ("exponent", 8), ("mantissa", 23)))
    >>> chk.evaluate("0 10000000 01000000000000000000000").message
    'The exponent field (8 bits) is wrong: you wrote 10000000.'
    """

    expected: str
    fields: Sequence[tuple[str, int]] = ()

    def __post_init__(self) -> None:
        bits = _clean_bits(self.expected)
        if set(bits) - {"0", "1"}:
            raise ValueError(f"Bits: expected answer {self.expected!r} is not a bit string")
        if self.fields and sum(w for _, w in self.fields) != len(bits):
            raise ValueError("Bits: field widths do not add up to the length of the expected bit string")

    def evaluate(self, answer: Any) -> Result:
        if not isinstance(answer, str):
            return _wrong(f"Expected a string of 0s and 1s, got {type(answer).__name__}.")
        got, exp = _clean_bits(answer), _clean_bits(self.expected)
        other = set(got) - {"0", "1"}
        if other:
            return _wrong(f"Only 0 and 1 (and spaces or `_`) are allowed; found {sorted(other)}.")
        if len(got) != len(exp):
            return _wrong(f"Your bit string has {len(got)} bits; the answer has {len(exp)} bits.")
        if got == exp:
            return _ok()
        if not self.fields:
            first = next(i for i, (a, b) in enumerate(zip(got, exp)) if a != b)
            return _wrong(f"Bit {first} (counting from the left, from 0) is wrong.")
        wrong, start = [], 0
        for name, width in self.fields:
            if got[start : start + width] != exp[start : start + width]:
                wrong.append((name, got[start : start + width], width))
            start += width
        if len(wrong) == 1:
            name, part, width = wrong[0]
            return _wrong(f"The {name} field ({width} bits) is wrong: you wrote {part}.")
        names = ", ".join(n for n, _, _ in wrong[:-1]) + f" and {wrong[-1][0]}"
        return _wrong(f"The {names} fields are wrong.")

    def describe_expected(self) -> str:
        bits, parts, start = _clean_bits(self.expected), [], 0
        for _, width in self.fields or (("bits", len(bits)),):
            parts.append(bits[start : start + width])
            start += width
        return " ".join(parts)


@dataclass(frozen=True)
class Choice(Checker):
    """Multiple choice: the answer is the letter of one option (case-insensitive).

    ``feedback`` may give a specific message for a wrong option.
    """

    correct: str
    options: Mapping[str, str]
    feedback: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.correct.lower() not in {k.lower() for k in self.options}:
            raise ValueError("Choice: the correct letter must be one of the options")

    def evaluate(self, answer: Any) -> Result:
        keys = {k.lower(): k for k in self.options}
        if not isinstance(answer, str) or answer.strip().lower() not in keys:
            return _wrong(f"Answer with one of the letters {', '.join(repr(k) for k in self.options)}.")
        key = keys[answer.strip().lower()]
        if key.lower() == self.correct.lower():
            return _ok()
        return _wrong(self.feedback.get(key, f"({key}) is not the best answer."))

    def describe_expected(self) -> str:
        return f"({self.correct}) {self.options[self.correct]}"


class _NotAttempted(Exception):
    pass


@dataclass(frozen=True)
class Function(Checker):
    """A function the student writes, run on test cases.

    Parameters
    ----------
    cases : sequence of (args, expected)
        ``args`` is a tuple of positional arguments; ``expected`` is the
        return value, or an exception class that the call must raise
        (e.g. ``((300, 8), ValueError)`` for an out-of-range input).
    compare : callable, optional
        ``compare(expected) -> Checker`` building the checker for one output;
        default: exact :class:`Number` for numbers, :class:`Array` for arrays,
        equality otherwise.
    """

    cases: Sequence[tuple[tuple, Any]]
    compare: Callable[[Any], Checker] | None = None

    def _checker_for(self, expected: Any) -> Checker | None:
        if self.compare is not None:
            return self.compare(expected)
        if isinstance(expected, (np.ndarray, list)) and not isinstance(expected, str):
            return Array(expected)
        if _as_real(expected) is not None and not isinstance(expected, bool):
            return Number(expected)
        return None

    def evaluate(self, answer: Any) -> Result:
        if not callable(answer):
            return _wrong(f"Expected a function, got {type(answer).__name__}.")
        for args, expected in self.cases:
            shown = ", ".join(repr(a) for a in args)
            must_raise = isinstance(expected, type) and issubclass(expected, Exception)
            try:
                out = answer(*args)
            except NotImplementedError:
                return Result(Status.NOT_ATTEMPTED, "Your function still raises `NotImplementedError`: write its body.")
            except Exception as exc:
                if must_raise and isinstance(exc, expected):
                    continue
                return _wrong(f"`f({shown})` raised {type(exc).__name__}: {exc}.")
            if is_placeholder(out):
                return Result(Status.NOT_ATTEMPTED, "Your function returns `___`: write its body.")
            if must_raise:
                return _wrong(f"`f({shown})` returned {out!r}; it should raise {expected.__name__}.")
            checker = self._checker_for(expected)
            if checker is None:
                if out != expected:
                    return _wrong(f"`f({shown})` returned {out!r}, expected {expected!r}.")
                continue
            result = checker.evaluate(out)
            if result.status is not Status.CORRECT:
                return _wrong(f"`f({shown})`: {result.message}")
        return _ok(f"All {len(self.cases)} test cases pass.")


@dataclass(frozen=True)
class Explain(Checker):
    """A free-text explanation: the student compares with the model answer.

    Any non-empty answer gets a self-check result showing the model answer and the
    key points a good answer mentions.
    """

    model_answer: str
    key_points: Sequence[str] = ()
    min_words: int = 5

    def evaluate(self, answer: Any) -> Result:
        if not isinstance(answer, str):
            return _wrong("Write your explanation as a string.")
        if len(answer.split()) < self.min_words:
            return Result(Status.NOT_ATTEMPTED, f"Write at least {self.min_words} words, then compare with the model answer.")
        points = "".join(f"\n- {p}" for p in self.key_points)
        return Result(
            Status.SELF_CHECK,
            f"Compare your answer with this one.\n\n> {self.model_answer}\n\nA good answer mentions:{points}",
        )
