"""Odd answers thrown at every question of every chapter (found automatically, so a new
chapter's questions are covered without anyone adding them here).

For each answer the check must: return a verdict (never raise at the student), not accept it
(only the right letter of a multiple-choice question, however it is written, is correct),
return within a time bound, and leave the question's stored data (its cases, its reference
answer) as it was: the reference answer is still judged correct afterwards.
"""

from __future__ import annotations

import copy
import math
import sys
import time

import numpy as np
import pytest

from support.exercises import Choice, Explain, Status, chapters, form_of, load
from support.exercises import checkers

QUESTIONS = [(ch, name, q) for ch in chapters() for name, q in load(ch).questions.items()]
IDS = [f"ch{ch}-{name}" for ch, name, _ in QUESTIONS]

#: Seconds one check may take, with the function time limit lowered to FUNCTION_TIMEOUT.
FUNCTION_TIMEOUT = 0.3
TIME_BOUND = 5.0


def _loops(*args):
    while True:
        pass


def _raises(*args):
    raise RuntimeError("student bug")


def _exits(*args):
    sys.exit(3)


def _interrupts(*args):
    raise KeyboardInterrupt


def _returns_none(*args):
    return None


def _no_arguments():
    return 1


def _mutates(*args):
    """Clobber every array, list and dict it is given, then return garbage."""
    for a in args:
        if isinstance(a, np.ndarray) and a.flags.writeable:
            a[...] = 12345
        elif isinstance(a, list):
            a.clear()
        elif isinstance(a, dict):
            a.clear()
    return -987654.321


class _Evil:
    """An object whose every operation raises."""

    def __repr__(self):
        raise RuntimeError("repr")

    def __eq__(self, other):
        raise RuntimeError("eq")

    def __float__(self):
        raise RuntimeError("float")

    __hash__ = object.__hash__


ODD_ANSWERS = [
    float("nan"), float("inf"), -float("inf"), 10**400, -(10**400), 1e308 * 10, -0.0, 0, 1, -1, 2**64,
    True, 1 + 2j, "", "   ", "abc", "0b", "0b2", "1.5", "(z)", "((a))", "a b", "\x00", "0" * 10_000,
    [], [1, 2], [[1], [2, 3]], (), {}, {"status": "correct"}, np.array([]), np.zeros((3, 7)),
    np.array([np.nan]), np.array(["a", "b"]), np.array([1, 2], dtype=object), np.full(5, np.inf),
    np.float32("nan"), np.int8(-128), object(), _Evil(), print, type, Status.CORRECT,
    _loops, _raises, _exits, _interrupts, _returns_none, _no_arguments, _mutates, lambda *a: a,
]


def _snapshot(q):
    """A deep copy of what a check could damage: the checker's data and the reference answer."""
    return copy.deepcopy((q.checker, q.reference, list(q.wrong), list(q.mistakes)))


def _same(a, b) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape and \
            a.dtype == b.dtype and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if hasattr(a, "__dataclass_fields__") and type(a) is type(b):
        return all(_same(getattr(a, f), getattr(b, f)) for f in a.__dataclass_fields__)
    if callable(a) or callable(b):
        return a is b or getattr(a, "__code__", None) is getattr(b, "__code__", None)
    try:
        return bool(a == b)
    except Exception:
        return a is b


def _is_the_reference(q, answer) -> bool:
    """True for odd answers that happen to be right (-128 for "127 + 1 in int8", NaN for a NaN)."""
    ref, got = checkers._as_real(q.reference), checkers._as_real(answer)
    if ref is None or got is None:
        return False
    return ref == got or (isinstance(ref, float) and isinstance(got, float) and math.isnan(ref) and math.isnan(got))


@pytest.fixture(autouse=True)
def short_function_timeout(monkeypatch):
    monkeypatch.setattr(checkers, "DEFAULT_TIMEOUT", FUNCTION_TIMEOUT)


def _choice_variants(q):
    """Every option letter written the ways students write it, with whether it is correct."""
    for key in q.checker.options:
        right = key.lower() == q.checker.correct.lower()
        for written in (key, key.upper(), f" {key} ", f"({key})", f"{key})", f"{key}.", f"({key.upper()})"):
            yield written, right


@pytest.mark.parametrize("chapter,name,q", QUESTIONS, ids=IDS)
def test_odd_answers_are_judged_not_accepted_in_time_and_harmlessly(chapter, name, q):
    before = _snapshot(q)
    answers = [(a, False) for a in ODD_ANSWERS]
    if isinstance(q.checker, Choice):
        answers += list(_choice_variants(q))
    for answer, right in answers:
        start = time.monotonic()
        result = q.evaluate(answer)  # must not raise
        took = time.monotonic() - start
        assert took < TIME_BOUND, f"ch{chapter} {name}: {answer!r:.40} took {took:.1f} s"
        assert result.message or result.status is Status.CORRECT, f"ch{chapter} {name}: no message for {answer!r:.40}"
        if right:
            assert result.status is Status.CORRECT, f"ch{chapter} {name}: {answer!r} refused: {result}"
        elif not _is_the_reference(q, answer):
            assert result.status is not Status.CORRECT, f"ch{chapter} {name}: accepted {answer!r:.40}"
    assert _same(before, _snapshot(q)), f"ch{chapter} {name}: the question's data changed"
    want = Status.SELF_CHECK if isinstance(q.checker, Explain) else Status.CORRECT
    assert q.evaluate(q.reference).status is want, f"ch{chapter} {name}: reference no longer correct"


@pytest.mark.parametrize("chapter,name,q", QUESTIONS, ids=IDS)
def test_reference_wrapped_or_perturbed_is_not_accepted(chapter, name, q):
    """The right answer in the wrong container, or slightly changed, is not correct."""
    ref = q.reference
    if callable(ref) or isinstance(q.checker, (Explain, Choice)):
        pytest.skip("functions, explanations and letters are covered above")
    if isinstance(ref, str):
        variants = [ref + "0", ref[:-1], [ref], ref.replace("0", "2", 1) if "0" in ref else ref + "2"]
    elif np.ndim(ref) == 0:
        variants = [[ref, ref], np.array([ref, ref]), str(ref)]
    else:
        arr = np.asarray(ref)
        variants = [arr.ravel()[:-1], np.stack([arr, arr]), arr.tolist() + [0] if arr.ndim == 1 else arr.T[:0]]
    for v in variants:
        assert q.evaluate(v).status is not Status.CORRECT, f"ch{chapter} {name}: accepted {v!r:.60}"


@pytest.mark.parametrize("chapter,name,q", QUESTIONS, ids=IDS)
def test_student_edition_form_takes_any_answer_without_raising(chapter, name, q):
    form = form_of(q.checker)
    for answer in [*ODD_ANSWERS, q.reference]:
        result = form.evaluate(answer)
        assert result.status is Status.RECORDED and result.message
    assert "not the right kind" not in form.evaluate(q.reference).message, f"ch{chapter} {name}: reference has the wrong form"
