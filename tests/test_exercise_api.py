"""The exercise API itself: each checker's verdicts and messages, strict mode, never raising."""

from __future__ import annotations

import math

import numpy as np
import pytest

from support.exercises import (AnswerError, Array, Bits, Choice, Explain, Function, Number, Question, Status, ___,
                               load)
from support.exercises.core import RECORD, questions_from


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


@pytest.mark.parametrize("expected,answer,says", [
    (10.0, 12.5, "too large, by 10 % to a factor of 2"),
    (30721, 30000, "too small, by 1 % to 10 %"),
    (131071, 131072, "too large, but close: by less than 0.1 %"),
    (1.0, 1.005, "too large, by 0.1 % to 1 %"),
    (2.0, -2.0, "right magnitude, wrong sign"),
    (2.0, 8.0, "too large by an exact power of two"),
    (2.0, 0.25, "too small by an exact power of two"),
    (3.0, 12.0 * 1.1, "too large, by a factor between 2 and 10"),
    (3.0, 3e7, "too large, by a factor of about 10^7"),
    (0.0, -1.0, "too small (it is negative)"),
    (1.0, 10**400, "too large, by a factor of about 10^400"),
    (1.0, -(10**400), "wrong sign"),
])
def test_number_messages_give_direction_and_size_not_the_answer(expected, answer, says):
    msg = Number(expected).evaluate(answer).message
    assert says in msg
    assert repr(expected) not in msg.replace(repr(answer), "") or expected in (1.0, 2.0, 3.0, 0.0)
    assert "off by" not in msg and "expected" not in msg


def test_number_feedback_does_not_hand_over_the_answer():
    """The issue's example: ch02 q12 answered 30000 must not learn the exact distance."""
    msg = Number(30721).evaluate(30000).message
    assert "721" not in msg and "2.35" not in msg


def test_number_accepts_one_element_arrays_and_huge_ints():
    assert Number(45).evaluate(np.array([45])).status is Status.CORRECT
    assert Number(45).evaluate(np.array(45)).status is Status.CORRECT
    assert Number(45).evaluate(np.array([[45.0]])).status is Status.CORRECT
    assert "single number" in Number(45).evaluate(np.array([45, 46])).message
    assert "Expected a number" in Number(2.0).evaluate("two").message
    r = Number(1.5).evaluate(10**400)
    assert r.status is Status.INCORRECT and "could not be checked" not in r.message and "400 digits" not in r.message
    assert Number(10**400).evaluate(10**400).status is Status.CORRECT
    assert Number(10**400).evaluate(10**400 + 1).status is Status.INCORRECT
    assert Number(1.0, rtol=0.5).evaluate(10**400).status is Status.INCORRECT


def test_number_signed_zero():
    assert Number(-0.0, signed_zero=True).evaluate(0.0).status is Status.INCORRECT
    assert Number(-0.0).evaluate(0.0).status is Status.CORRECT


def test_number_rejects_half_specified_ulps():
    with pytest.raises(ValueError, match="both `ulps` and `fmt`"):
        Number(1.0, ulps=1)


def test_array_names_the_wrong_element():
    r = Array([[1, 2], [3, 4]]).evaluate(np.array([[1, 2], [3, 5]]))
    assert r.status is Status.INCORRECT and "[1, 1]" in r.message and "1 of 4" in r.message
    assert "too large" in r.message and "expected 4" not in r.message
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


@pytest.mark.parametrize("written", ["b", "B", " b ", "(b)", "b)", "b.", "(B)", "( b )", "b:"])
def test_choice_reads_the_ways_a_letter_is_written(written):
    assert Choice("b", {"a": "FP16", "b": "BF16"}).evaluate(written).status is Status.CORRECT


@pytest.mark.parametrize("written", ["(a)", "a.", "ab", "(b", "", "b) BF16", 2])
def test_choice_other_writings_are_not_the_answer(written):
    assert Choice("b", {"a": "FP16", "b": "BF16"}).evaluate(written).status is not Status.CORRECT


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


def test_function_gets_copies_of_its_arguments():
    data = np.array([1.0, 2.0])
    chk = Function([((data,), 3.0)])

    def sums_then_clobbers(x):
        total = float(x.sum())
        x *= 0
        return total

    assert chk.evaluate(sums_then_clobbers).status is Status.CORRECT
    assert chk.evaluate(sums_then_clobbers).status is Status.CORRECT  # the case is intact
    assert (chk.cases[0][0][0] == [1.0, 2.0]).all()


def test_function_endless_loop_is_reported_not_hung():
    import time

    def forever(x):
        while True:
            pass

    def stubborn(x):  # swallows the alarms that land inside its bare `except`
        n = 0
        while True:
            try:
                n += 1
            except BaseException:
                pass

    chk = Function([((1,), 1)], timeout=0.2)
    for func in (forever, stubborn):
        start = time.monotonic()
        r = chk.evaluate(func)
        assert r.status is Status.INCORRECT and "did not return within 0.2 s" in r.message
        assert time.monotonic() - start < 5


def test_function_endless_loop_off_the_main_thread():
    import threading

    box = {}
    worker = threading.Thread(target=lambda: box.update(r=Function([((1,), 1)], timeout=0.2).evaluate(lambda x: time_loop())))

    def time_loop():
        while True:
            pass

    worker.start()
    worker.join(10)
    assert not worker.is_alive() and "did not return" in box["r"].message


@pytest.mark.parametrize("exc", [SystemExit, KeyboardInterrupt, GeneratorExit])
def test_function_base_exceptions_are_reported(exc):
    def quits(x):
        raise exc("bye")

    r = _q(Function([((1,), 1)])).check(quits)
    assert r.status is Status.INCORRECT and exc.__name__ in r.message


def test_function_returning_none_is_told_so():
    r = Function([((2,), 4)]).evaluate(lambda x: None)
    assert r.status is Status.INCORRECT and "forget `return`" in r.message


def test_function_bit_strings_follow_the_bits_rules():
    chk = Function([((5,), "00000101")])
    for written in ("00000101", "0b00000101", "0000 0101", "0000_0101"):
        assert chk.evaluate(lambda n, w=written: w).status is Status.CORRECT
    assert chk.evaluate(lambda n: "101").status is Status.INCORRECT


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


# ---------------------------------------------------------------------------
# The student edition's checker: the form of an answer
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("checker,good,bad,says", [
    (Number(1.5), np.array([2.0]), "1.5", "expected a number"),
    (Array([[1, 2], [3, 4]]), np.zeros((2, 2)), [1, 2, 3, 4], "shape (2, 2)"),
    (Bits("0101", (("a", 2), ("b", 2))), "0b11_11", "01", "expected 4 bits"),
    (Choice("b", {"a": "x", "b": "y"}), "(a)", "c", "one of the letters"),
    (Function([((1, 2), 3)]), lambda a, b: 0, lambda a: 0, "cannot be called with 2 arguments"),
    (Explain("m", ["p"]), "one two three four five", 5, "expected a string"),
])
def test_form_says_recorded_and_checks_only_the_kind(checker, good, bad, says):
    from support.exercises import form_of

    form = form_of(checker)
    ok, not_ok = form.evaluate(good), form.evaluate(bad)
    assert ok.status is Status.RECORDED and "recorded" in ok.message and "not the right kind" not in ok.message
    assert not_ok.status is Status.RECORDED and says in not_ok.message


def test_student_edition_question_records_and_hides_the_solution(capsys):
    from support.exercises import form_of

    (q,) = questions_from([Question("t", form_of(Number(3.0)), ["h"], "", None)]).values()
    q = q.__class__(**{**q.__dict__, "chapter": "99"})
    answer = np.array([1.0])
    assert q.check(answer).status is Status.RECORDED
    answer[0] = 7.0  # changing the object afterwards does not change what was recorded
    assert RECORD["99/q1"][0] == 1.0
    q.solution()
    assert "not available" in capsys.readouterr().out
    RECORD.pop("99/q1")


def test_a_listed_mistake_says_what_kind_of_mistake_it_is():
    (q,) = questions_from([Question("t", Number(0.5, rtol=1e-9), ["h"], "s", 0.5,
                                    mistakes=[(2.0, "Did you invert it?")])]).values()
    assert q.evaluate(2.0 + 1e-12).message == "Did you invert it?"
    assert "Did you invert" not in q.evaluate(3.0).message
    assert q.evaluate(0.5).status is Status.CORRECT
