"""The exercise API itself: each checker's verdicts and messages, strict mode, never raising."""

from __future__ import annotations

import math

import numpy as np
import pytest

from support.exercises import (AnswerError, Array, Bits, Choice, Explain, Function, Number, Question, Status, ___,
                               load)
from support.exercises.core import questions_from


def _q(checker, reference=None, wrong=(), strict=False):
    (q,) = questions_from([Question("t", checker, ["h1", "h2"], "sol", reference, wrong)]).values()
    return q if not strict else q.__class__(**{**q.__dict__, "strict": True})


@pytest.mark.parametrize("blank", [___, None, ..., "", "  ___ "])
def test_blanks_are_not_attempted(blank):
    assert _q(Number(1.0)).evaluate(blank).status is Status.NOT_ATTEMPTED


def test_number_exact_and_tolerances():
    assert Number(3).evaluate(3).status is Status.CORRECT
    assert Number(3).evaluate(np.int64(3)).status is Status.CORRECT
    assert Number(0.1, rtol=1e-6).evaluate(np.float32(0.1)).status is Status.CORRECT
    assert Number(0.1).evaluate(np.float32(0.1)).status is Status.INCORRECT
    assert Number(1.0, atol=0.01).evaluate(1.02).status is Status.INCORRECT
    assert Number(math.nan).evaluate(float("nan")).status is Status.CORRECT
    assert Number(math.inf).evaluate(-math.inf).status is Status.INCORRECT


def test_number_messages_say_how_far_off():
    msg = Number(10.0).evaluate(12.5).message
    assert "off by 2.5" in msg and "25.00%" in msg
    assert "sign" in Number(2.0).evaluate(-2.0).message
    assert "4 times" in Number(2.0).evaluate(8.0).message
    assert "Expected a number" in Number(2.0).evaluate("two").message
    assert "relative error of 7.6e-06" in Number(131071).evaluate(131072).message


def test_number_signed_zero():
    assert Number(-0.0, signed_zero=True).evaluate(0.0).status is Status.INCORRECT
    assert Number(-0.0).evaluate(0.0).status is Status.CORRECT


def test_number_rejects_half_specified_ulps():
    with pytest.raises(ValueError, match="both `ulps` and `fmt`"):
        Number(1.0, ulps=1)


def test_array_names_the_wrong_element():
    r = Array([[1, 2], [3, 4]]).evaluate(np.array([[1, 2], [3, 5]]))
    assert r.status is Status.INCORRECT and "[1, 1]" in r.message and "1 of 4" in r.message
    assert "Shape" in Array([1, 2]).evaluate([1, 2, 3]).message
    assert Array([0.5, 0.25], rtol=1e-9).evaluate(np.array([0.5, 0.25], dtype=np.float32)).status is Status.CORRECT
    assert "dtype" in Array([1, 2], check_dtype="int").evaluate(np.array([1.0, 2.0])).message


FIELDS = (("sign", 1), ("exponent", 8), ("mantissa", 23))


def test_bits_ignores_separators_and_names_the_field():
    chk = Bits("1 10000010 10110100000000000000000", FIELDS)
    assert chk.evaluate("0b1_10000010_10110100000000000000000").status is Status.CORRECT
    assert chk.evaluate("1|10000010|10110100000000000000000").status is Status.CORRECT
    r = chk.evaluate("0 10000010 10110100000000000000000")
    assert r.status is Status.INCORRECT and "sign field" in r.message
    r = chk.evaluate("1 10000011 10110100000000000000001")
    assert "exponent and mantissa fields" in r.message
    assert "32 bits" in chk.evaluate("101").message
    assert "Only 0 and 1" in chk.evaluate("1 2").message


def test_bits_rejects_bad_reference():
    with pytest.raises(ValueError):
        Bits("012")
    with pytest.raises(ValueError):
        Bits("0101", (("a", 3),))


def test_choice():
    chk = Choice("b", {"a": "FP16", "b": "BF16"}, feedback={"a": "70000 > 65504."})
    assert chk.evaluate("B").status is Status.CORRECT
    assert chk.evaluate("a").message == "70000 > 65504."
    assert "one of the letters" in chk.evaluate("c").message


def test_function_runs_cases_and_catches_exceptions():
    chk = Function([((2,), 4), ((3,), 9)])
    assert chk.evaluate(lambda x: x * x).status is Status.CORRECT
    r = chk.evaluate(lambda x: 2 * x)
    assert r.status is Status.INCORRECT and "f(3)" in r.message
    assert "ZeroDivisionError" in chk.evaluate(lambda x: 1 / 0).message

    def stub(x):
        raise NotImplementedError

    assert chk.evaluate(stub).status is Status.NOT_ATTEMPTED
    assert chk.evaluate(lambda x: ___).status is Status.NOT_ATTEMPTED
    assert "Expected a function" in chk.evaluate(4).message


def test_function_cases_can_require_an_exception():
    def checked_sqrt(x):
        if x < 0:
            raise ValueError("negative")
        return x**0.5

    chk = Function([((4,), 2.0), ((-1,), ValueError)])
    assert chk.evaluate(checked_sqrt).status is Status.CORRECT
    r = chk.evaluate(lambda x: abs(x) ** 0.5)
    assert r.status is Status.INCORRECT and "should raise ValueError" in r.message
    r = chk.evaluate(lambda x: 1 / 0)
    assert r.status is Status.INCORRECT and "ZeroDivisionError" in r.message


def test_explain_is_self_checked():
    chk = Explain("Because of rounding.", ["rounding"])
    assert chk.evaluate("it is because the sum is rounded each time").status is Status.SELF_CHECK
    assert chk.evaluate("rounding").status is Status.NOT_ATTEMPTED


def test_check_never_raises_at_the_student():
    class Broken(Number):
        def evaluate(self, answer):
            raise RuntimeError("boom")

    r = _q(Broken(1.0)).check(1.0)
    assert r.status is Status.INCORRECT and "boom" in r.message


def test_strict_mode_raises_on_anything_not_correct():
    q = _q(Number(1.0), strict=True)
    assert q.check(1.0)
    with pytest.raises(AnswerError, match="Question 1"):
        q.check(2.0)
    with pytest.raises(AnswerError):
        q.check(___)


def test_hints_and_solution_show_text(capsys):
    q = _q(Number(1.0))
    q.hint()
    q.hint(2)
    q.hint(3)
    q.solution()
    out = capsys.readouterr().out
    assert "h1" in out and "h2" in out and "hints 1 to 2" in out and "sol" in out


def test_load_validates_its_argument():
    with pytest.raises(ValueError, match="chapter must look like"):
        load("chapter one")
    with pytest.raises(ValueError, match="no exercises for chapter 99"):
        load("99")
