"""Real English text that ships with Python: the help pages of the language reference.

Chapters that need real sentences (to feed the real model of :mod:`support.models`, to
calibrate a quantizer on real activations, or to train a small language model) take
them from here.  The text is ``pydoc_data.topics``, the module behind ``help("assert")``:
the Python language reference as plain text, written by the CPython documentation
authors, installed with every Python, so it needs no download and no licence beyond
Python's own.  It is deterministic for a given Python version (a newer Python ships a
slightly revised reference, so counts can differ between, say, 3.11 and 3.12).

- :func:`documentation_text`: all of the text, topic after topic.
- :func:`documentation_passages`: the prose paragraphs (code, grammar and headings
  left out), whitespace normalised, with the topic each came from.
- :func:`calibration_sentences`: a seeded sample of whole prose sentences.

>>> passages = documentation_passages()
>>> passages[0].topic
'assert'
>>> all(40 <= len(p.text.split()) <= 200 for p in passages)
True
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple

import numpy as np

from support._validate import integer_in_range, positive_int

__all__ = ["Passage", "documentation_text", "documentation_passages", "calibration_sentences"]

# A sentence for calibration: a whole prose sentence of this many words.
SENTENCE_WORDS = (8, 60)

_HEADING_RULE = re.compile(r"[*=\-^~]{3,}")
# A sentence ends at . ! or ? (optionally inside a closing quote or bracket) followed by
# whitespace and a capital letter or an opening quote; "e.g. " and "i.e. " do not end one.
_SENTENCE_END = re.compile(r"(?<!\be\.g\.)(?<!\bi\.e\.)(?<=[.!?])[\"')]?\s+(?=[A-Z\"])")


class _PassageFields(NamedTuple):
    topic: str  #: the ``help()`` topic it comes from, e.g. ``'assert'``
    text: str  #: the paragraph, on one line, words separated by single spaces


class Passage(_PassageFields):
    """One prose paragraph of the Python language reference.

    Examples
    --------
    >>> p = documentation_passages()[0]
    >>> p.topic, len(p.text.split()) >= 40
    ('assert', True)
    >>> Passage("assert", "Assert statements are a convenient way to insert checks.").topic
    'assert'
    """

    __slots__ = ()

    def __new__(cls, topic: str, text: str) -> "Passage":
        for name, value in (("topic", topic), ("text", text)):
            if not isinstance(value, str) or not value.strip():
                raise TypeError(f"{name} must be a non-blank string, got {value!r}")
        return super().__new__(cls, topic, text)


@lru_cache(maxsize=1)
def _topics() -> tuple[tuple[str, str], ...]:
    """``(topic, help text)`` pairs in sorted topic order."""
    from pydoc_data.topics import topics

    return tuple((name, topics[name]) for name in sorted(topics))


@lru_cache(maxsize=1)
def _prose_paragraphs() -> tuple[Passage, ...]:
    """Every prose paragraph of every topic (any length), whitespace normalised.

    A paragraph is a run of lines between blank lines.  Code examples, grammar rules and
    notes are indented in the help text and headings are underlined with ``***`` or
    ``===``; both are left out, so what remains is running prose.
    """
    paragraphs = []
    for topic, text in _topics():
        for block in re.split(r"\n\s*\n", text):
            lines = [line for line in block.split("\n") if line.strip()]
            if not lines or any(line[0].isspace() for line in lines):
                continue
            if _HEADING_RULE.fullmatch(lines[-1].strip()):
                continue
            paragraphs.append(Passage(topic, " ".join(block.split())))
    return tuple(paragraphs)


def documentation_text() -> str:
    """All help texts of the Python language reference, in sorted topic order.

    The topics are separated by a blank line; within a topic the text is as
    ``help()`` prints it (headings, indented code and grammar included), with
    trailing whitespace removed.  Suitable for training a small character- or
    word-level language model.

    Returns
    -------
    str

    Examples
    --------
    >>> text = documentation_text()
    >>> text.startswith('The "assert" statement')
    True
    >>> len(text) > 100_000
    True
    """
    return "\n\n".join(text.strip() for _, text in _topics()) + "\n"


def documentation_passages(min_words: int = 40, max_words: int = 200) -> list[Passage]:
    """Prose paragraphs of the Python language reference with ``min_words`` to ``max_words`` words.

    Parameters
    ----------
    min_words, max_words : int
        The allowed length of a paragraph in words (both included); ``1 <= min_words <= max_words``.

    Returns
    -------
    list of Passage
        ``(topic, text)`` in the order of the reference (topics sorted by name,
        paragraphs in reading order); the text is on one line.

    Raises
    ------
    TypeError
        If a bound is not an integer.
    ValueError
        If a bound is below 1 or ``min_words > max_words``.

    Examples
    --------
    >>> short = documentation_passages(min_words=10, max_words=13)
    >>> short[0]
    Passage(topic='assert', text='Assert statements are a convenient way to insert debugging assertions into a program:')
    >>> documentation_passages(50, 40)
    Traceback (most recent call last):
    ...
    ValueError: min_words must be at most max_words, got min_words=50 and max_words=40
    """
    min_words = positive_int(min_words, "min_words")
    max_words = positive_int(max_words, "max_words")
    if min_words > max_words:
        raise ValueError(
            f"min_words must be at most max_words, got min_words={min_words} and max_words={max_words}"
        )
    return [p for p in _prose_paragraphs() if min_words <= len(p.text.split()) <= max_words]


@lru_cache(maxsize=1)
def _all_sentences() -> tuple[str, ...]:
    """Whole prose sentences of 8 to 60 words, each once, in reading order."""
    low, high = SENTENCE_WORDS
    seen: dict[str, None] = {}
    for passage in _prose_paragraphs():
        for sentence in _SENTENCE_END.split(passage.text):
            sentence = sentence.strip()
            if (low <= len(sentence.split()) <= high and sentence[0].isupper()
                    and sentence[-1] in ".!?\"'"):
                seen.setdefault(sentence, None)
    return tuple(seen)


def calibration_sentences(n: int = 64, seed: int = 0) -> list[str]:
    """``n`` different real sentences drawn at random (seeded) from the language reference.

    Each is a whole prose sentence of 8 to 60 words that starts with a capital
    letter and ends with a full stop, question or exclamation mark; they are
    drawn without replacement, so none repeats.

    Parameters
    ----------
    n : int
        How many sentences, from 1 to the number available (about 1100).
    seed : int
        Seed of the ``numpy.random.default_rng`` that draws them (>= 0).

    Returns
    -------
    list of str

    Raises
    ------
    TypeError
        If ``n`` or ``seed`` is not an integer.
    ValueError
        If ``n`` is outside ``1..available`` or ``seed`` is negative.

    Examples
    --------
    >>> sentences = calibration_sentences(3, seed=0)
    >>> len(sentences), len(set(sentences))
    (3, 3)
    >>> sentences == calibration_sentences(3, seed=0)
    True
    """
    pool = _all_sentences()
    n = integer_in_range(n, "n", 1, len(pool), why="the number of distinct sentences available")
    seed = integer_in_range(seed, "seed", 0, 2**63 - 1)
    picks = np.random.default_rng(seed).choice(len(pool), size=n, replace=False)
    return [pool[i] for i in picks]
