"""support.inference.retrieval: the task builder, ranks, recall@k and MRR, against brute force."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import arrays

from support.inference.retrieval import (answer_ranks, first_sentence_task, mean_reciprocal_rank,
                                         recall_at_k, split_sentences)

PASSAGES = [
    f"Topic {i} is about something specific. It has a second sentence with words number {i}. "
    f"And a third one, e.g. with an abbreviation, that goes on for a while about item {i}."
    for i in range(20)
]


def test_task_pairs_first_sentence_with_the_rest():
    task = first_sentence_task(PASSAGES, 5, min_query_words=3, min_document_words=5, seed=3)
    assert len(task.queries) == len(task.documents) == 5
    assert task.answers.tolist() == list(range(5))
    for q, d in zip(task.queries, task.documents):
        source = next(p for p in PASSAGES if p.startswith(q))
        assert source == f"{q} {d}"
        assert q not in d


def test_task_is_seeded_and_ordered():
    a = first_sentence_task(PASSAGES, 6, min_query_words=3, min_document_words=5, seed=1)
    b = first_sentence_task(PASSAGES, 6, min_query_words=3, min_document_words=5, seed=1)
    c = first_sentence_task(PASSAGES, 6, min_query_words=3, min_document_words=5, seed=2)
    assert a.queries == b.queries and a.queries != c.queries
    order = [int(q.split()[1]) for q in a.queries]
    assert order == sorted(order)


def test_task_filters_and_refuses_too_many():
    with pytest.raises(ValueError, match="at most 0"):
        first_sentence_task(["Too short. Really."], 1)
    with pytest.raises(TypeError):
        first_sentence_task("one string", 1)
    with pytest.raises(TypeError):
        first_sentence_task([1, 2], 1)
    with pytest.raises(ValueError):
        first_sentence_task(PASSAGES, 0)


def test_split_sentences_keeps_abbreviations_and_code():
    assert split_sentences("Call x.append(1) here. Then e.g. stop. Done!") == [
        "Call x.append(1) here.", "Then e.g. stop.", "Done!"]
    with pytest.raises(TypeError):
        split_sentences(3)


def test_ranks_simple_and_ties_count_against():
    q = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    d = np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 0.0]])   # documents 0 and 2 tie
    ranks = answer_ranks(q, d, [0, 1, 2])
    assert ranks.tolist() == [2, 1, 3]   # query 0 ties with document 2; query 2 ties with all three


def _brute_force_ranks(q, d, answers):
    qn = q / np.linalg.norm(q, axis=1, keepdims=True)
    dn = d / np.linalg.norm(d, axis=1, keepdims=True)
    out = []
    for i, a in enumerate(answers):
        scores = [float(qn[i] @ dn[j]) for j in range(len(d))]
        out.append(1 + sum(1 for j, s in enumerate(scores) if j != a and s >= scores[a]))
    return np.array(out)


@settings(max_examples=40, deadline=None)
@given(arrays(np.float64, (6, 4), elements=st.floats(-3, 3, allow_nan=False).filter(lambda v: abs(v) > 1e-3)),
       arrays(np.float64, (9, 4), elements=st.floats(-3, 3, allow_nan=False).filter(lambda v: abs(v) > 1e-3)),
       st.lists(st.integers(0, 8), min_size=6, max_size=6))
def test_ranks_match_brute_force(q, d, answers):
    np.testing.assert_array_equal(answer_ranks(q, d, answers), _brute_force_ranks(q, d, answers))


@pytest.mark.parametrize("ranks, k, expected", [([1, 2, 3, 11], 1, 0.25), ([1, 2, 3, 11], 10, 0.75),
                                                 ([5, 5], 4, 0.0), ([1], 1, 1.0)])
def test_recall(ranks, k, expected):
    assert recall_at_k(np.array(ranks), k) == expected


@pytest.mark.parametrize("ranks, expected", [([1, 1], 1.0), ([2, 4], 0.375), ([1, 2, 4], 7 / 12)])
def test_mrr(ranks, expected):
    assert mean_reciprocal_rank(np.array(ranks)) == pytest.approx(expected)


@pytest.mark.parametrize("bad", [[], [0, 1], [1.5], [[1, 2]]])
def test_metrics_reject_bad_ranks(bad):
    with pytest.raises(ValueError):
        mean_reciprocal_rank(np.array(bad))
    with pytest.raises(ValueError):
        recall_at_k(np.array(bad), 1)


def test_recall_rejects_bad_k():
    with pytest.raises(ValueError):
        recall_at_k(np.array([1]), 0)
    with pytest.raises(TypeError):
        recall_at_k(np.array([1]), 1.5)


@pytest.mark.parametrize("q, d, answers", [
    (np.ones((2, 3)), np.ones((3, 4)), [0, 1]),            # widths differ
    (np.ones((2, 3)), np.ones((3, 3)), [0]),               # one answer missing
    (np.ones((2, 3)), np.ones((3, 3)), [0, 3]),            # answer out of range
    (np.zeros((2, 3)), np.ones((3, 3)), [0, 1]),           # zero-norm query
    (np.ones((2, 3)), np.ones((3, 3)), [0.0, 1.0]),        # float answers
])
def test_answer_ranks_rejects(q, d, answers):
    with pytest.raises(ValueError):
        answer_ranks(q, d, answers)
