"""Exercises for every chapter: ``ex = load("01")`` then ``ex.q1.check(answer)``.

Each chapter's questions live in ``support/exercises/chNN.py`` as a list
``QUESTIONS``; :func:`load` names them ``q1``, ``q2``, ... and returns them as
attributes of an :class:`ExerciseSet`.

Examples
--------
>>> from support.exercises import load, ___
>>> ex = load("01")
>>> ex.q1.evaluate(___).status.value
'not attempted'
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
import re

from support.exercises.checkers import Array, Bits, Choice, Explain, Form, Function, Number, form_of
from support.exercises.core import ___, AnswerError, Question, Result, Status, is_placeholder, questions_from

__all__ = [
    "___", "load", "chapters", "ExerciseSet", "Question", "Result", "Status", "AnswerError",
    "Number", "Array", "Bits", "Choice", "Function", "Explain", "Form", "form_of", "is_placeholder",
]


class ExerciseSet:
    """The questions of one chapter, as attributes ``q1``, ``q2``, ...

    Examples
    --------
    >>> ex = load("01")
    >>> len(ex), ex.q1.name
    (14, 'q1')
    >>> print(ex.q1.evaluate(0b101101))
    Question 1: ✅ Correct.
    """

    def __init__(self, chapter: str, questions: dict[str, Question]):
        self.chapter = chapter
        self.questions = questions
        for name, question in questions.items():
            setattr(self, name, question)

    def __iter__(self):
        return iter(self.questions.values())

    def __len__(self) -> int:
        return len(self.questions)

    def __repr__(self) -> str:
        lines = [f"Exercises for chapter {self.chapter}:"]
        lines += [f"  {name}: {q.title}" for name, q in self.questions.items()]
        return "\n".join(lines)


def chapters() -> list[str]:
    """The chapter numbers that have exercises, e.g. ``['01', '02']``.

    Examples
    --------
    >>> chapters()[:3]
    ['01', '02', '03']
    """
    import support.exercises as pkg

    found = [m.name[2:] for m in pkgutil.iter_modules(pkg.__path__) if re.fullmatch(r"ch\d\d", m.name)]
    return sorted(found)


def load(chapter: str | int, *, strict: bool = False) -> ExerciseSet:
    """Load the questions of a chapter.

    Parameters
    ----------
    chapter : str or int
        ``"01"``, ``1`` or a notebook name such as ``"01-positional-integers"``.
    strict : bool
        Raise :class:`~support.exercises.core.AnswerError` when a checked answer is not correct
        (solution notebooks use this so that the test suite catches drift).

    Examples
    --------
    >>> ex = load("01-positional-integers")
    >>> ex.chapter, ex.q1.title
    ('01', 'Binary to decimal: 0b101101')
    >>> load(1).q1.evaluate(44).status.value
    'incorrect'
    """
    match = re.match(r"^(\d{1,2})(?:-[a-z0-9-]+)?$", str(chapter))
    if not match:
        raise ValueError(f"load: chapter must look like '01', 1 or '01-slug'; got {chapter!r}")
    number = f"{int(match.group(1)):02d}"
    if number not in chapters():
        raise ValueError(f"load: no exercises for chapter {number}; available: {', '.join(chapters())}")
    module = importlib.import_module(f"support.exercises.ch{number}")
    named = {k: dataclasses.replace(q, chapter=number) for k, q in questions_from(module.QUESTIONS).items()}
    if strict:
        named = {k: dataclasses.replace(q, strict=True) for k, q in named.items()}
    return ExerciseSet(number, named)
