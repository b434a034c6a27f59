"""Tests for support.corpus: real prose from Python's own language reference."""

from __future__ import annotations

import doctest

import pytest
from pydoc_data.topics import topics

import support.corpus as corpus
from support.corpus import Passage, calibration_sentences, documentation_passages, documentation_text


def test_text_holds_every_topic_in_sorted_order():
    text = documentation_text()
    position = 0
    for name in sorted(topics):  # each topic's text, whole, after the previous one
        position = text.index(topics[name].strip(), position) + 1
    assert len(text) < sum(len(t) for t in topics.values()) + 2 * len(topics) + 1
    assert text.endswith("\n")


def test_passages_are_prose_paragraphs_of_the_reference():
    passages = documentation_passages()
    assert len(passages) > 200
    for p in passages:
        assert isinstance(p, Passage) and p.topic in topics
        assert 40 <= len(p.text.split()) <= 200
        assert p.text == " ".join(p.text.split())  # one line, single spaces
        assert not p.text.startswith(("***", "==="))
        # the words appear in that order in the topic's help text
        assert " ".join(topics[p.topic].split()).find(p.text) >= 0


def test_passages_leave_out_code_and_headings():
    texts = [p.text for p in documentation_passages(1, 10_000)]
    assert 'The "assert" statement' not in texts  # a heading
    assert not any(t.startswith("assert_stmt ::=") for t in texts)  # grammar (indented)


@pytest.mark.parametrize("low, high", [(1, 5), (40, 200), (100, 400)])
def test_passage_bounds_are_inclusive_and_nested(low, high):
    lengths = [len(p.text.split()) for p in documentation_passages(low, high)]
    assert lengths and min(lengths) >= low and max(lengths) <= high
    everything = documentation_passages(1, 10_000)
    assert len(documentation_passages(low, high)) == sum(low <= len(p.text.split()) <= high for p in everything)


@pytest.mark.parametrize(
    "args, error",
    [((0, 10), ValueError), ((50, 40), ValueError), ((4.0, 10), TypeError), ((4, True), TypeError)],
)
def test_passages_reject_bad_bounds(args, error):
    with pytest.raises(error, match="words"):
        documentation_passages(*args)


def test_sentences_are_distinct_whole_sentences():
    sentences = calibration_sentences(200, seed=1)
    assert len(set(sentences)) == 200
    prose = " ".join(p.text for p in documentation_passages(1, 10_000))
    for s in sentences:
        assert 8 <= len(s.split()) <= 60
        assert s[0].isupper() and s[-1] in ".!?\"'"
        assert s in prose


@pytest.mark.parametrize("seed", [0, 1, 7])
def test_sentences_are_deterministic_and_seeded(seed):
    assert calibration_sentences(16, seed) == calibration_sentences(16, seed)
    assert calibration_sentences(16, seed) != calibration_sentences(16, seed + 100)


def test_sentence_pool_is_large_and_no_split_after_eg():
    pool = corpus._all_sentences()
    assert len(pool) > 1000
    assert calibration_sentences(len(pool), seed=0) != list(pool)  # shuffled, all of them
    assert sorted(calibration_sentences(len(pool), seed=0)) == sorted(pool)
    assert not any(s.endswith((" e.g.", " i.e.")) for s in pool)


@pytest.mark.parametrize(
    "n, seed, error",
    [(0, 0, ValueError), (10**6, 0, ValueError), (2.0, 0, TypeError), (4, -1, ValueError), (4, 0.5, TypeError)],
)
def test_sentences_reject_bad_arguments(n, seed, error):
    with pytest.raises(error):
        calibration_sentences(n, seed)


def test_doctests():
    result = doctest.testmod(corpus, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0
