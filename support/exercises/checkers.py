"""Checkers: each decides whether one kind of answer is correct, and says why not.

- :class:`Number`   a number, exact or within a tolerance (relative, absolute, or N ulps of a format);
- :class:`Array`    an array: shape, dtype, values (names the first wrong element);
- :class:`Bits`     a bit string, ignoring spaces, ``_``, ``|`` and ``0b`` (names the wrong field);
- :class:`Choice`   multiple choice (one letter; ``"b"``, ``"(b)"``, ``"b)"``, ``"B."`` alike);
- :class:`Function` a function the student writes, run on copies of test cases with a time limit;
- :class:`Explain`  a free-text explanation: shows the model answer and key points;
- :class:`Form`     the student edition's checker: the *form* of an answer (a number, an array of
  a given shape, ...), derived from any of the above by :func:`form_of`, with no answer in it.

Every checker returns a :class:`~support.exercises.core.Result`; none raises at the student.
A wrong answer is told its direction and rough size, or the kind of mistake it looks like,
never the expected value: that is for ``solution()``.
"""

from __future__ import annotations

import copy
import ctypes
import inspect
import math
import numbers
import re
import signal
import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from support.exercises.core import ___, Checker, Result, Status

__all__ = ["Number", "Array", "Bits", "Choice", "Function", "Explain", "Form", "Outcome", "form_of",
           "DEFAULT_TIMEOUT"]

#: Seconds a student's function may run on one test case before it is stopped.
DEFAULT_TIMEOUT = 5.0


def _ok(message: str = "") -> Result:
    return Result(Status.CORRECT, message)


def _wrong(message: str) -> Result:
    return Result(Status.INCORRECT, message)


def _short(answer: Any, limit: int = 60) -> str:
    """``repr`` of an answer, cut to ``limit`` characters (a message must stay readable)."""
    try:
        text = repr(answer)
    except Exception:  # a student's object whose __repr__ raises
        text = f"<{type(answer).__name__}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _as_real(answer: Any) -> float | int | None:
    """A Python int or float from a numeric answer, or None if it is not one real number.

    Accepts ints of any size, floats, numpy and ml_dtypes scalars, ``Fraction``,
    ``Decimal``, arrays and torch tensors holding exactly one element.
    """
    if isinstance(answer, (bool, np.bool_)):
        return None
    if isinstance(answer, numbers.Integral):
        return int(answer)
    if isinstance(answer, (numbers.Real, Decimal)):
        try:
            return float(answer)
        except (OverflowError, ValueError):
            return None
    if hasattr(answer, "detach") and hasattr(answer, "numel"):  # a torch tensor
        try:
            if answer.numel() != 1:
                return None
            value = answer.detach().cpu().reshape(()).item()
        except Exception:
            return None
        return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    if isinstance(answer, (np.ndarray, np.generic)) and np.size(answer) == 1:
        arr = np.asarray(answer).reshape(())
        if arr.dtype.kind in "iu":
            return int(arr)
        if arr.dtype.kind == "f" or (arr.dtype.kind == "V" and "float" in arr.dtype.name):
            return float(arr.astype(np.float64))  # ml_dtypes (bfloat16, float8_*) are kind "V"
    return None


def _fmt(x: float | int) -> str:
    if isinstance(x, int):
        return str(x) if abs(x) < 10**15 else f"an integer of {len(str(abs(x)))} digits"
    return f"{x:.10g}"


def _log10(x: Fraction) -> float:
    """log10 of a positive Fraction, exact enough for any size (no float overflow)."""
    return math.log10(x.numerator) - math.log10(x.denominator)


def _how_far(value: float | int, expected: float | int) -> str:
    """Direction and rough size of a miss, without the expected value.

    >>> _how_far(30000, 30721)
    'too small, by 1 % to 10 %'
    >>> _how_far(8.0, 2.0)
    'too large by an exact power of two: check the exponent (or the bias)'
    """
    got, want = Fraction(value), Fraction(expected)
    direction = "too large" if got > want else "too small"
    if want == 0:
        return f"{direction} (it is {'positive' if got > 0 else 'negative'})"
    ratio = got / want
    if ratio == -1:
        return "right magnitude, wrong sign"
    if ratio < 0:
        return f"{direction}: it has the wrong sign"
    powers_of_two = ratio.numerator & (ratio.numerator - 1) == 0 and ratio.denominator & (ratio.denominator - 1) == 0
    if powers_of_two:
        return f"{direction} by an exact power of two: check the exponent (or the bias)"
    if ratio < 1:
        ratio = 1 / ratio
    rel = ratio - 1
    if rel < Fraction(1, 1000):
        return f"{direction}, but close: by less than 0.1 % (a rounding step, or a lost digit?)"
    if rel < Fraction(1, 100):
        return f"{direction}, by 0.1 % to 1 %"
    if rel < Fraction(1, 10):
        return f"{direction}, by 1 % to 10 %"
    if ratio < 2:
        return f"{direction}, by 10 % to a factor of 2"
    if ratio < 10:
        return f"{direction}, by a factor between 2 and 10"
    return f"{direction}, by a factor of about 10^{round(_log10(ratio))}"


@dataclass(frozen=True)
class Number(Checker):
    """A single number.

    Exact comparison by default; give ``rtol`` and/or ``atol`` for a tolerance, or
    ``ulps`` and ``fmt`` to accept anything within ``ulps`` units in the last place
    of ``expected`` in the named format.  NaN matches NaN; the sign of zero is
    checked only when ``signed_zero=True``.  A one-element array counts as a number;
    integers of any size are compared exactly.

    Examples
    --------
    >>> Number(0.1, rtol=1e-6).evaluate(0.1000000001).status.value
    'correct'
    >>> Number(30721).evaluate(30000).message
    'Your answer 30000 is too small, by 1 % to 10 %.'
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

    def _tolerance(self) -> Fraction:
        exp = _as_real(self.expected)
        tol = max(Fraction(self.atol), Fraction(self.rtol) * abs(Fraction(exp)))
        if self.ulps is not None:
            from support.numbers.formats import ulp

            tol = max(tol, Fraction(self.ulps) * Fraction(float(ulp(float(exp), self.fmt))))
        return tol

    def evaluate(self, answer: Any) -> Result:
        value = _as_real(answer)
        if value is None:
            if isinstance(answer, (np.ndarray, list, tuple)) and np.size(answer) != 1:
                return _wrong(f"Expected a single number, got {type(answer).__name__} with "
                              f"{np.size(answer)} elements.")
            return _wrong(f"Expected a number, got {type(answer).__name__} `{_short(answer)}`.")
        exp = _as_real(self.expected)
        if isinstance(exp, float) and math.isnan(exp):
            return _ok() if isinstance(value, float) and math.isnan(value) else _wrong(
                f"Your answer {_fmt(value)} is a number; think about what the operation gives here.")
        if isinstance(value, float) and math.isnan(value):
            return _wrong("Your answer is NaN; the expected value is a number or an infinity.")
        if isinstance(exp, float) and math.isinf(exp) or isinstance(value, float) and math.isinf(value):
            if value == exp:
                return _ok()
            if isinstance(value, float) and math.isinf(value) and isinstance(exp, float) and math.isinf(exp):
                return _wrong("Right kind of value, wrong sign.")
            if isinstance(value, float) and math.isinf(value):
                return _wrong("Your answer is infinite; the expected value is finite.")
            return _wrong(f"Your answer {_fmt(value)} is finite; that is not what happens here.")
        if self.signed_zero and exp == 0 and value == 0 and math.copysign(1, value) != math.copysign(1, exp):
            return _wrong("Right magnitude, wrong sign of zero.")
        if abs(Fraction(value) - Fraction(exp)) <= self._tolerance():
            return _ok()
        msg = f"Your answer {_fmt(value)} is {_how_far(value, exp)}"
        if self.ulps is not None:
            msg += f" (more than the {self.ulps:g} ulps of {self.fmt} allowed)"
        elif self.rtol or self.atol:
            msg += " (outside the tolerance)"
        return _wrong(msg + ".")

    def describe_expected(self) -> str:
        return _fmt(self.expected)


def _numeric_array(answer: Any) -> np.ndarray | None:
    """A float-convertible numpy array from an answer, or None (torch and ml_dtypes included)."""
    if hasattr(answer, "detach"):  # a torch tensor
        try:
            answer = answer.detach().cpu().float().numpy()
        except Exception:
            return None
    try:
        got = np.asarray(answer)
    except Exception:
        return None
    if got.dtype.kind == "V" and "float" in got.dtype.name:  # ml_dtypes
        return got.astype(np.float64)
    if got.dtype.kind not in "biuf":
        return None
    return got


@dataclass(frozen=True)
class Array(Checker):
    """An array: same shape, optionally same dtype kind, values equal within a tolerance.

    Examples
    --------
    >>> Array([1, 2, 3]).evaluate([1, 2, 4]).message
    'Element [2] is 4, too large (1 of 3 elements differ).'
    """

    expected: Any
    rtol: float = 0.0
    atol: float = 0.0
    check_dtype: str | None = None  # e.g. "int", "float", "uint8"

    def evaluate(self, answer: Any) -> Result:
        exp = np.asarray(self.expected)
        got = _numeric_array(answer)
        if got is None:
            return _wrong(f"Expected an array of numbers, got {type(answer).__name__} `{_short(answer)}`.")
        if got.shape != exp.shape:
            return _wrong(f"Shape {got.shape}, expected {exp.shape}.")
        if self.check_dtype is not None:
            want = self.check_dtype
            if want == "int":
                ok = got.dtype.kind in "iu"
            elif want == "float":
                ok = got.dtype.kind == "f"
            else:
                ok = got.dtype == np.dtype(want)
            if not ok:
                return _wrong(f"dtype is `{got.dtype}`, expected {want}.")
        with np.errstate(all="ignore"):
            close = np.isclose(got.astype(float), exp.astype(float), rtol=self.rtol, atol=self.atol, equal_nan=True)
        if close.all():
            return _ok()
        bad = np.argwhere(~close)
        first = tuple(int(i) for i in bad[0])
        idx = "[" + ", ".join(map(str, first)) + "]"
        g, e = float(got[first]), float(exp[first])
        if math.isnan(g) or math.isnan(e) or math.isinf(g) or math.isinf(e):
            how = "not the expected value"
        else:
            how = "too large" if g > e else "too small"
        return _wrong(f"Element {idx} is {_fmt(got[first].item())}, {how} ({len(bad)} of {exp.size} elements differ).")

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
            return _wrong(f"Only 0 and 1 (and spaces or `_`) are allowed; found {sorted(other)[:5]}.")
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


_LETTER = re.compile(r"\(\s*([A-Za-z0-9]+)\s*\)|([A-Za-z0-9]+)\s*[).:]?")


def _choice_key(answer: Any, keys: Sequence[str]) -> str | None:
    """The option key an answer names: ``"b"``, ``" B "``, ``"(b)"``, ``"b)"``, ``"b."`` all give ``"b"``."""
    if not isinstance(answer, str):
        return None
    match = _LETTER.fullmatch(answer.strip())
    if not match:
        return None
    wanted = (match.group(1) or match.group(2)).lower()
    return next((k for k in keys if k.lower() == wanted), None)


@dataclass(frozen=True)
class Choice(Checker):
    """Multiple choice: the answer is the letter of one option (case-insensitive;
    ``"(b)"``, ``"b)"`` and ``"b."`` are read as ``"b"``).

    ``feedback`` may give a specific message for a wrong option.

    Examples
    --------
    >>> Choice("b", {"a": "FP16", "b": "BF16"}).evaluate("(B)").status.value
    'correct'
    """

    correct: str
    options: Mapping[str, str]
    feedback: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.correct.lower() not in {k.lower() for k in self.options}:
            raise ValueError("Choice: the correct letter must be one of the options")

    def evaluate(self, answer: Any) -> Result:
        key = _choice_key(answer, list(self.options))
        if key is None:
            return _wrong(f"Answer with one of the letters {', '.join(repr(k) for k in self.options)}.")
        if key.lower() == self.correct.lower():
            return _ok()
        return _wrong(self.feedback.get(key, f"({key}) is not the best answer."))

    def describe_expected(self) -> str:
        return f"({self.correct}) {self.options[self.correct]}"


# ---------------------------------------------------------------------------
# Functions: run on copies of the cases, with a time limit, then judged
# ---------------------------------------------------------------------------


class _Timeout(BaseException):
    """Raised inside a student's function that ran past its time (a BaseException, so that
    ``except Exception`` in the student's code does not swallow it)."""


@dataclass(frozen=True)
class Outcome:
    """What one call of a student's function did.

    ``kind`` is ``"return"`` (``value`` holds the result), ``"raise"`` (``exception`` holds
    the names of the exception's classes, most derived first, and ``message`` its text),
    or ``"timeout"``.  Plain data, so that the grader can carry it between processes.

    Examples
    --------
    >>> Outcome("return", 2) == run_case(lambda x: 2 * x, (1,))
    True
    >>> run_case(int, ("ten",)).kind
    'raise'
    """

    kind: str
    value: Any = None
    exception: tuple[str, ...] = ()
    message: str = ""


def _call_with_signal(func: Callable, args: tuple, seconds: float) -> Any:
    """Call ``func(*args)`` with SIGALRM as the clock (main thread, Linux/macOS: Jupyter kernels)."""

    def on_alarm(signum, frame):
        raise _Timeout

    previous = signal.signal(signal.SIGALRM, on_alarm)
    # Re-fire every 50 ms: a loop that swallows one alarm with a bare `except:` gets the next.
    outer = signal.setitimer(signal.ITIMER_REAL, seconds, 0.05)
    start = time.monotonic()
    try:
        return func(*args)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if outer[0] > 0:  # someone else's timer was running: give it back what is left
            signal.setitimer(signal.ITIMER_REAL, max(outer[0] - (time.monotonic() - start), 1e-3), outer[1])


def _call_with_thread(func: Callable, args: tuple, seconds: float) -> Any:
    """Call ``func(*args)`` in a helper thread (Windows, or not on the main thread)."""
    box: dict[str, Any] = {}

    def target():
        try:
            box["value"] = func(*args)
        except BaseException as exc:  # carried to the caller
            box["error"] = exc

    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():  # ask the thread to stop (works for Python code, not inside C loops)
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(worker.ident), ctypes.py_object(_Timeout))
        raise _Timeout
    if "error" in box:
        raise box["error"]
    return box["value"]


def run_case(func: Callable, args: tuple, timeout: float = DEFAULT_TIMEOUT) -> Outcome:
    """Call ``func`` on a deep copy of ``args`` within ``timeout`` seconds; never raises.

    Examples
    --------
    >>> run_case(lambda x: x + 1, (1,))
    Outcome(kind='return', value=2, exception=(), message='')
    >>> run_case(lambda: 1 / 0, ()).exception[:2]
    ('ZeroDivisionError', 'ArithmeticError')
    """
    try:
        args = copy.deepcopy(tuple(args))  # a function that modifies its input must not change the cases
    except Exception:
        args = tuple(args)
    use_signal = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    call = _call_with_signal if use_signal else _call_with_thread
    try:
        return Outcome("return", call(func, args, timeout))
    except _Timeout:
        return Outcome("timeout", message=f"{timeout:g} s")
    except BaseException as exc:  # SystemExit and KeyboardInterrupt too: a check never stops the kernel
        names = tuple(c.__name__ for c in type(exc).__mro__ if c not in (object, BaseException))
        try:
            text = str(exc)
        except Exception:
            text = ""
        return Outcome("raise", exception=names or ("BaseException",), message=text[:300])


@dataclass(frozen=True)
class Function(Checker):
    """A function the student writes, run on test cases.

    Each case runs on a deep copy of its arguments (a function that modifies its input
    cannot change the cases) and within ``timeout`` seconds (default
    :data:`DEFAULT_TIMEOUT`; an endless loop is reported, not hung).  ``SystemExit``
    and ``KeyboardInterrupt`` raised by the function are reported like any exception.

    Parameters
    ----------
    cases : sequence of (args, expected)
        ``args`` is a tuple of positional arguments; ``expected`` is the
        return value, or an exception class that the call must raise
        (e.g. ``((300, 8), ValueError)`` for an out-of-range input).
    compare : callable, optional
        ``compare(expected) -> Checker`` building the checker for one output;
        default: exact :class:`Number` for numbers, :class:`Array` for arrays,
        :class:`Bits` for bit strings, equality otherwise.
    timeout : float, optional
        Seconds allowed per case.

    Examples
    --------
    >>> Function([((2,), 4)]).evaluate(lambda x: None).message
    '`f(2)` returned None: did you forget `return`?'
    """

    cases: Sequence[tuple[tuple, Any]]
    compare: Callable[[Any], Checker] | None = None
    timeout: float | None = None

    def _checker_for(self, expected: Any) -> Checker | None:
        if self.compare is not None:
            return self.compare(expected)
        if isinstance(expected, str) and expected and set(expected) <= {"0", "1"}:
            return Bits(expected)
        if isinstance(expected, (np.ndarray, list)):
            return Array(expected)
        if _as_real(expected) is not None:
            return Number(expected)
        return None

    def run(self, func: Callable) -> list[Outcome]:
        """Run ``func`` on every case (stopping at the first that does not return in time)."""
        limit = DEFAULT_TIMEOUT if self.timeout is None else self.timeout
        outcomes = []
        for args, _ in self.cases:
            outcomes.append(run_case(func, args, limit))
            if outcomes[-1].kind == "timeout":
                break
        return outcomes

    def judge(self, outcomes: Sequence[Outcome]) -> Result:
        """The verdict on the outcomes of :meth:`run` (the grader calls it in its own process)."""
        for (args, expected), outcome in zip(self.cases, outcomes):
            shown = ", ".join(_short(a, 40) for a in args)
            must_raise = isinstance(expected, type) and issubclass(expected, BaseException)
            if outcome.kind == "timeout":
                return _wrong(f"`f({shown})` did not return within {outcome.message}: an endless loop?")
            if outcome.kind == "raise":
                if "NotImplementedError" in outcome.exception:
                    return Result(Status.NOT_ATTEMPTED, "Your function still raises `NotImplementedError`: write its body.")
                if must_raise and expected.__name__ in outcome.exception:
                    continue
                name = outcome.exception[0]
                if name in ("SystemExit", "KeyboardInterrupt"):
                    return _wrong(f"`f({shown})` raised {name}: a function should return its result, not stop the program.")
                return _wrong(f"`f({shown})` raised {name}: {outcome.message}.")
            out = outcome.value
            if out is ___ or out is Ellipsis:
                return Result(Status.NOT_ATTEMPTED, "Your function returns `___`: write its body.")
            if must_raise:
                return _wrong(f"`f({shown})` returned {_short(out)}; it should raise {expected.__name__}.")
            if out is None and expected is not None:
                return _wrong(f"`f({shown})` returned None: did you forget `return`?")
            checker = self._checker_for(expected)
            if checker is None:
                try:
                    same = bool(out == expected)
                except Exception:
                    same = False
                if not same:
                    return _wrong(f"`f({shown})` returned {_short(out)}, not the expected value.")
                continue
            result = checker.evaluate(out)
            if result.status is not Status.CORRECT:
                return _wrong(f"`f({shown})`: {result.message}")
        if len(outcomes) < len(self.cases):
            return _wrong("Your function was not run on every test case.")
        return _ok(f"All {len(self.cases)} test cases pass.")

    def evaluate(self, answer: Any) -> Result:
        if not callable(answer):
            return _wrong(f"Expected a function, got {type(answer).__name__}.")
        return self.judge(self.run(answer))


@dataclass(frozen=True)
class Explain(Checker):
    """A free-text explanation: the student compares with the model answer.

    Any non-empty answer gets a self-check result showing the model answer and the
    key points a good answer mentions.

    Examples
    --------
    >>> check = Explain("One tenth needs the factor 5 in its denominator.", key_points=("the factor 5",))
    >>> check.evaluate("Because 1/10 = 1/(2*5) and 5 is not a power of two.").status.value
    'self-check'
    >>> check.evaluate("It rounds.").message
    'Write at least 5 words, then compare with the model answer.'
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


# ---------------------------------------------------------------------------
# The student edition: the form of an answer, with no answer in it
# ---------------------------------------------------------------------------

_KINDS = {
    "number": "a number",
    "array": "an array of numbers",
    "bits": "a string of 0s and 1s",
    "choice": "the letter of one option",
    "function": "a function",
    "text": "an explanation in words (a string)",
    "any": "an answer",
}


@dataclass(frozen=True)
class Form(Checker):
    """The form of an answer, for the student edition: says whether an answer is the right
    *kind* of thing, never whether it is right.

    Built by :func:`form_of` from a question's checker; holds only what the question itself
    tells the student (a number; an array of shape (2, 3); 16 bits; one of the letters a-d;
    a function of 2 arguments; an explanation).  Its results have the status ``recorded``.

    Examples
    --------
    >>> Form("bits", length=8).evaluate("0b1010_1010").status.value
    'recorded'
    >>> print(Form("number").evaluate("12").message)
    Recorded, but this is not the right kind of answer: expected a number, got str `'12'`. Fix it and run the cell again.
    """

    kind: str
    shape: tuple[int, ...] | None = None
    dtype: str | None = None
    length: int | None = None
    options: tuple[str, ...] = ()
    arity: tuple[int, int] | None = None
    min_words: int = 5

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise ValueError(f"Form: kind must be one of {sorted(_KINDS)}; got {self.kind!r}")

    def problem(self, answer: Any) -> str | None:
        """What is wrong with the form of ``answer``, or None if the form is right."""
        got = f"{type(answer).__name__} `{_short(answer)}`"
        if self.kind == "number":
            return None if _as_real(answer) is not None else f"expected a number, got {got}"
        if self.kind == "array":
            arr = _numeric_array(answer)
            if arr is None:
                return f"expected an array of numbers, got {got}"
            if self.shape is not None and arr.shape != tuple(self.shape):
                return f"expected an array of shape {tuple(self.shape)}, got shape {arr.shape}"
            return None
        if self.kind == "bits":
            if not isinstance(answer, str) or set(_clean_bits(answer)) - {"0", "1"}:
                return f"expected a string of 0s and 1s, got {got}"
            n = len(_clean_bits(answer))
            return None if self.length in (None, n) else f"expected {self.length} bits, got {n}"
        if self.kind == "choice":
            if _choice_key(answer, list(self.options)) is None:
                return f"expected one of the letters {', '.join(repr(k) for k in self.options)}, got {got}"
            return None
        if self.kind == "function":
            if not callable(answer):
                return f"expected a function, got {got}"
            try:
                signature = inspect.signature(answer)
            except (TypeError, ValueError):  # builtins without a signature
                return None
            low, high = self.arity or (0, 0)
            for n in range(low, high + 1):
                try:
                    signature.bind(*([None] * n))
                except TypeError:
                    calls = f"{low}" if low == high else f"{low} to {high}"
                    return f"your function cannot be called with {n} arguments (it is called with {calls})"
            return None
        if self.kind == "text":
            if not isinstance(answer, str):
                return f"expected a string, got {got}"
            if len(answer.split()) < self.min_words:
                return f"write at least {self.min_words} words"
            return None
        return None

    def evaluate(self, answer: Any) -> Result:
        problem = self.problem(answer)
        if problem is None:
            return Result(Status.RECORDED, f"Your answer ({_KINDS[self.kind]}) is recorded; it is graded "
                                            "after you hand in the notebook.")
        return Result(Status.RECORDED, f"Recorded, but this is not the right kind of answer: {problem}. "
                                       "Fix it and run the cell again.")

    def describe_expected(self) -> str:
        return _KINDS[self.kind]


def form_of(checker: Checker) -> Form:
    """The :class:`Form` of a question's answer, derived from its checker (no answer kept).

    Examples
    --------
    >>> form_of(Array([[1, 2, 3], [4, 5, 6]]))
    Form(kind='array', shape=(2, 3), dtype=None, length=None, options=(), arity=None, min_words=5)
    >>> form_of(Function([((1, 8), "00000001"), ((1, 8, True), "00000001")])).arity
    (2, 3)
    """
    if isinstance(checker, Form):
        return checker
    if isinstance(checker, Number):
        return Form("number")
    if isinstance(checker, Array):
        return Form("array", shape=tuple(int(n) for n in np.shape(checker.expected)), dtype=checker.check_dtype)
    if isinstance(checker, Bits):
        return Form("bits", length=len(_clean_bits(checker.expected)))
    if isinstance(checker, Choice):
        return Form("choice", options=tuple(str(k) for k in checker.options))
    if isinstance(checker, Function):
        counts = [len(args) for args, _ in checker.cases] or [0]
        return Form("function", arity=(min(counts), max(counts)))
    if isinstance(checker, Explain):
        return Form("text", min_words=checker.min_words)
    return Form("any")
