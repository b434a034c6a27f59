"""The exercise API: questions that check an answer, give hints and show a solution.

In the spirit of Kaggle's *learntools*, with the answer passed explicitly::

    from support.exercises import load, ___
    ex = load("01")
    ex.q1.check(___)      # not attempted yet
    ex.q1.hint()          # first hint; ex.q1.hint(2) for the second
    ex.q1.check(42)       # correct / incorrect, with a specific message
    ex.q1.solution()      # the worked answer

A check never raises at the student: whatever goes wrong while checking becomes an
"incorrect" result that says what happened.  A question loaded with
``strict=True`` (the solution notebooks) raises :class:`AnswerError` for any
answer that is not correct, so that a solution that drifts from its question
fails the test suite.

In the student edition (``make student``) each question's checker is a
:class:`~support.exercises.checkers.Form`: ``check`` says whether the answer is the right
kind of thing, records it in :data:`RECORD` for the grader (``python -m support.grade``),
and says so; ``solution()`` is not available.
"""

from __future__ import annotations

import copy
import dataclasses
import enum
from dataclasses import dataclass
from typing import Any, Sequence

__all__ = ["___", "Status", "Result", "Checker", "Question", "AnswerError", "is_placeholder", "RECORD"]

#: The answers checked in the student edition, by ``"chapter/qN"`` (the last one wins);
#: the grader reads them after each cell and judges them in its own process.
RECORD: dict[str, Any] = {}


class _Placeholder:
    """The blank a student replaces with an answer (``___``)."""

    _instance: "_Placeholder | None" = None

    def __new__(cls) -> "_Placeholder":
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "___"

    def __bool__(self) -> bool:
        return False


#: Placeholder for an answer not yet given.
___ = _Placeholder()


def is_placeholder(answer: object) -> bool:
    """True for ``___``, ``None``, ``...`` and empty strings: answers not yet given.

    Examples
    --------
    >>> is_placeholder(___), is_placeholder("  "), is_placeholder(0)
    (True, True, False)
    """
    if answer is ___ or answer is None or answer is Ellipsis:
        return True
    return isinstance(answer, str) and answer.strip() in ("", "___")


class Status(str, enum.Enum):
    """Outcome of a check.

    Examples
    --------
    >>> from support.exercises import load
    >>> load("01").q1.evaluate(45).status is Status.CORRECT
    True
    >>> Status("self-check")
    <Status.SELF_CHECK: 'self-check'>
    """

    CORRECT = "correct"
    INCORRECT = "incorrect"
    NOT_ATTEMPTED = "not attempted"
    SELF_CHECK = "self-check"
    RECORDED = "recorded"


_BADGES = {
    Status.CORRECT: "✅ **Correct.**",
    Status.INCORRECT: "❌ **Not quite.**",
    Status.NOT_ATTEMPTED: "✏️ **Not attempted yet.**",
    Status.SELF_CHECK: "📝 **Self-check.**",
    Status.RECORDED: "📥 **Recorded.**",
}


@dataclass(frozen=True)
class Result:
    """What a check found: a status and a message written for the student (Markdown).

    Examples
    --------
    >>> result = Result(Status.INCORRECT, "Too small.", label="Question 1")
    >>> bool(result), result.markdown()
    (False, 'Question 1: ❌ **Not quite.** Too small.')
    >>> print(result)
    Question 1: ❌ Not quite. Too small.
    """

    status: Status
    message: str = ""
    label: str = ""

    def __bool__(self) -> bool:
        return self.status is Status.CORRECT

    def markdown(self) -> str:
        head = f"{self.label}: " if self.label else ""
        return f"{head}{_BADGES[self.status]} {self.message}".strip()

    def __str__(self) -> str:
        return self.markdown().replace("**", "")

    def _ipython_display_(self) -> None:
        # check() has already shown the result; echoing it as a cell's value
        # would show it twice.  Use print(result) to show it again.
        return None


class AnswerError(AssertionError):
    """Raised in strict mode (solution notebooks) when an answer is not correct.

    Examples
    --------
    >>> from support.exercises import load
    >>> load("01", strict=True).q1.check(44)
    Traceback (most recent call last):
        ...
    support.exercises.core.AnswerError: Question 1 (Binary to decimal: 0b101101): Question 1: ❌ Not quite. ...
    """


class Checker:
    """Base class: decide whether an answer is right, and say why not.

    Subclasses implement ``evaluate(answer)``, returning a :class:`Result` without a label.
    Placeholders are handled before ``evaluate`` is called.

    Examples
    --------
    >>> class Even(Checker):
    ...     def evaluate(self, answer):
    ...         if answer % 2 == 0:
    ...             return Result(Status.CORRECT)
    ...         return Result(Status.INCORRECT, "That number is odd.")
    >>> q = Question("An even number", Even(), hints=(), solution_text="Any multiple of 2.", reference=2)
    >>> q.evaluate(3).message, q.evaluate(___).status.value
    ('That number is odd.', 'not attempted')
    """

    def evaluate(self, answer: Any) -> Result:  # pragma: no cover - abstract
        raise NotImplementedError

    def describe_expected(self) -> str:
        """A short description of the expected answer, for the solution display."""
        return ""


def _show(markdown_text: str) -> None:
    try:
        from IPython import get_ipython
        from IPython.display import Markdown, display
    except ImportError:  # plain Python
        print(markdown_text.replace("**", ""))
        return
    if get_ipython() is None:
        print(markdown_text.replace("**", ""))
    else:
        display(Markdown(markdown_text))


@dataclass(frozen=True)
class Question:
    """One exercise question.

    Parameters
    ----------
    title : str
        One line saying what is asked (the full prompt is in the notebook).
    checker : Checker
        Decides whether an answer is correct.
    hints : sequence of str
        Progressive hints (Markdown), first the gentlest.
    solution : str
        The worked solution (Markdown, code in fenced blocks).
    reference : object
        An answer that must be judged correct; the test suite checks it.
    wrong : sequence of object
        Plausible wrong answers (an off-by-one bias, truncation instead of
        rounding, ...) that must be judged incorrect; the test suite checks them.
    name : str
        ``"q1"``, ``"q2"``, ... (set by the exercise set).
    strict : bool
        Raise :class:`AnswerError` on any answer that is not correct.
    chapter : str
        ``"01"``, ``"02"``, ... (set by :func:`~support.exercises.load`).
    mistakes : sequence of (answer, message)
        Plausible wrong answers with what each one reveals about the mistake (Markdown,
        without the right answer): an answer equal to one of them, by the question's own
        checker, gets that message instead of the generic one.

    Examples
    --------
    >>> from support.exercises import Number
    >>> q = Question("0b11 in decimal", Number(3), hints=("Add 2 and 1.",), solution_text="2 + 1 = 3",
    ...              reference=3, name="q1", mistakes=[(11, "You read the bits as a decimal number.")])
    >>> print(q.evaluate(3))
    Question 1: ✅ Correct.
    >>> print(q.evaluate(11))
    Question 1: ❌ Not quite. You read the bits as a decimal number.
    """

    title: str
    checker: Checker
    hints: Sequence[str]
    solution_text: str
    reference: Any
    wrong: Sequence[Any] = ()
    name: str = ""
    strict: bool = False
    chapter: str = ""
    mistakes: Sequence[tuple[Any, str]] = ()

    @property
    def student_edition(self) -> bool:
        """True when this question only knows the form of its answer (the student edition)."""
        from support.exercises.checkers import Form

        return isinstance(self.checker, Form)

    @property
    def label(self) -> str:
        return f"Question {self.name[1:]}" if self.name.startswith("q") else self.name

    def evaluate(self, answer: Any = ___) -> Result:
        """Judge ``answer`` without showing anything (used by tests and :meth:`check`)."""
        if is_placeholder(answer):
            result = Result(Status.NOT_ATTEMPTED, "Replace `___` with your answer, then run the cell again.")
        else:
            try:
                result = self.checker.evaluate(answer)
            except BaseException as exc:  # a check never raises at the student (SystemExit included)
                result = Result(
                    Status.INCORRECT,
                    f"Your answer could not be checked ({type(exc).__name__}: {exc}).",
                )
        if result.status is Status.INCORRECT:
            result = self._explain_mistake(answer, result)
        return dataclasses.replace(result, label=self.label)

    def _explain_mistake(self, answer: Any, result: Result) -> Result:
        """The message of the listed mistake that ``answer`` equals, if any."""
        fields = {f.name for f in dataclasses.fields(self.checker)} if dataclasses.is_dataclass(self.checker) else set()
        if "expected" not in fields:
            return result
        for value, message in self.mistakes:
            try:
                same = dataclasses.replace(self.checker, expected=value).evaluate(answer).status is Status.CORRECT
            except BaseException:
                same = False
            if same:
                return Result(Status.INCORRECT, message)
        return result

    def check(self, answer: Any = ___) -> Result:
        """Check ``answer``, show the verdict, and return it."""
        result = self.evaluate(answer)
        if result.status is Status.RECORDED:
            try:
                kept = copy.deepcopy(answer)  # later changes to the student's object do not count
            except Exception:
                kept = answer
            RECORD[f"{self.chapter}/{self.name}"] = kept
        _show(result.markdown())
        if self.strict and result.status not in (Status.CORRECT, Status.SELF_CHECK, Status.RECORDED):
            raise AnswerError(f"{self.label} ({self.title}): {result}")
        return result

    def hint(self, n: int = 1) -> None:
        """Show hint number ``n`` (1-based)."""
        if not self.hints:
            _show(f"{self.label}: there is no hint for this one. Try `.solution()` if you are stuck.")
            return
        if not isinstance(n, int) or not 1 <= n <= len(self.hints):
            _show(f"{self.label} has hints 1 to {len(self.hints)}; you asked for {n!r}.")
            return
        more = f" (hint {n} of {len(self.hints)})" if len(self.hints) > 1 else ""
        _show(f"💡 **{self.label}, hint{more}:** {self.hints[n - 1]}")

    def solution(self) -> None:
        """Show the worked solution."""
        if self.student_edition:
            _show(f"{self.label}: the solution is not available in this edition; your instructor "
                  "will publish it after the deadline.")
            return
        _show(f"**{self.label}, solution:**\n\n{self.solution_text}")


def questions_from(items: Sequence[Question]) -> dict[str, Question]:
    """Name a chapter's questions q1, q2, ... in order.

    Examples
    --------
    >>> from support.exercises import Number
    >>> named = questions_from([Question("1 + 1", Number(2), (), "2", 2), Question("2 + 2", Number(4), (), "4", 4)])
    >>> [(name, q.name, q.title) for name, q in named.items()]
    [('q1', 'q1', '1 + 1'), ('q2', 'q2', '2 + 2')]
    """
    return {f"q{i}": dataclasses.replace(q, name=f"q{i}") for i, q in enumerate(items, start=1)}

