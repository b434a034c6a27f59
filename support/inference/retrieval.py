"""A retrieval task with a known answer, built from real passages, and its metrics.

Embedding models are judged by what their users do with them: find, for a query,
the passage that answers it.  :func:`first_sentence_task` turns passages of real
text into such a task: the **query** is a passage's first sentence and the
**document** is the rest of the passage, so the answer is known and the query's
words are never copied into its document.  :func:`answer_ranks` ranks the
documents by cosine similarity for every query; :func:`recall_at_k` and
:func:`mean_reciprocal_rank` summarise the ranks.

>>> import numpy as np
>>> q = np.array([[1.0, 0.0], [0.0, 1.0]]); d = np.array([[0.6, 0.8], [1.0, 0.0]])
>>> ranks = answer_ranks(q, d, answers=[0, 0])
>>> ranks.tolist(), recall_at_k(ranks, 1), mean_reciprocal_rank(ranks)
([2, 1], 0.5, 0.75)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from support._validate import integer_in_range, positive_int, real_array

__all__ = ["RetrievalTask", "split_sentences", "first_sentence_task", "answer_ranks", "recall_at_k",
           "mean_reciprocal_rank"]

# A sentence ends with . ! or ? followed by white space and a capital letter (or an
# opening quote/bracket); "e.g. the" and "x.y" do not end one.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[]?[A-Z])")


def _strings(value: object, name: str) -> list[str]:
    if isinstance(value, str) or not isinstance(value, Sequence) or not all(isinstance(v, str) for v in value):
        raise TypeError(f"{name} must be a list of strings, got {type(value).__name__}")
    return list(value)


def _indices(answers: object, name: str = "answers") -> np.ndarray:
    try:
        a = np.asarray(answers)
    except ValueError:
        raise ValueError(f"{name} must be a 1-D array of integers, got {answers!r}") from None
    if a.ndim != 1 or not (np.issubdtype(a.dtype, np.integer) and a.dtype != np.bool_):
        raise ValueError(f"{name} must be a 1-D array of integers, got {answers!r}")
    return a


@dataclass(frozen=True)
class RetrievalTask:
    """Queries, documents, and the index of each query's document.

    Examples
    --------
    >>> RetrievalTask(["a query"], ["its document"], np.array([0])).answers
    array([0])
    """

    queries: list[str]
    documents: list[str]
    answers: np.ndarray

    def __post_init__(self) -> None:
        _strings(self.queries, "queries")
        _strings(self.documents, "documents")
        a = _indices(self.answers)
        if len(a) != len(self.queries) or (a.size and (a.min() < 0 or a.max() >= len(self.documents))):
            raise ValueError(f"answers must give, for each of the {len(self.queries)} queries, the index of "
                             f"one of the {len(self.documents)} documents")


def split_sentences(text: str) -> list[str]:
    """Split prose into sentences at ``.``, ``!`` or ``?`` followed by a capitalised word.

    Examples
    --------
    >>> split_sentences("A list is mutable. Use e.g. append() to grow it! Why? Because.")
    ['A list is mutable.', 'Use e.g. append() to grow it!', 'Why?', 'Because.']
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    return [s.strip() for s in _SENTENCE_END.split(text.strip()) if s.strip()]


def first_sentence_task(passages: Sequence[str], n: int, *, min_query_words: int = 6,
                        min_document_words: int = 20, seed: int = 0) -> RetrievalTask:
    """``n`` queries (first sentences) and their documents (the rest of each passage).

    Only passages whose first sentence has at least ``min_query_words`` words and whose
    remainder has at least ``min_document_words`` are eligible; ``n`` of them are drawn
    at random (``numpy.random.default_rng(seed)``) and kept in their original order.

    Parameters
    ----------
    passages : sequence of str
    n : int
        Number of query-document pairs; at most the number of eligible passages.
    min_query_words, min_document_words : int
    seed : int

    Returns
    -------
    RetrievalTask
        ``answers[i] == i``: query ``i`` came from document ``i``.

    Examples
    --------
    >>> p = ["Lists are mutable sequences of objects. They grow with append and shrink with pop, "
    ...      "and they can be sorted in place by their sort method."]
    >>> task = first_sentence_task(p, 1, min_query_words=3, min_document_words=5)
    >>> task.queries, task.answers.tolist()
    (['Lists are mutable sequences of objects.'], [0])
    """
    if isinstance(passages, str) or not isinstance(passages, Sequence):
        raise TypeError("passages must be a sequence of strings (one per passage)")
    n = positive_int(n, "n")
    min_query_words = integer_in_range(min_query_words, "min_query_words", 1, 10_000)
    min_document_words = integer_in_range(min_document_words, "min_document_words", 1, 10_000)
    seed = integer_in_range(seed, "seed", 0, 2**63 - 1)
    pairs = []
    for passage in passages:
        if not isinstance(passage, str):
            raise TypeError(f"passages must hold strings (one per passage), found a {type(passage).__name__}")
        sentences = split_sentences(passage)
        if len(sentences) < 2:
            continue
        query, document = sentences[0], " ".join(sentences[1:])
        if len(query.split()) >= min_query_words and len(document.split()) >= min_document_words:
            pairs.append((query, document))
    if n > len(pairs):
        raise ValueError(f"n = {n} but only {len(pairs)} passages are eligible; ask for at most {len(pairs)}")
    keep = np.sort(np.random.default_rng(seed).choice(len(pairs), size=n, replace=False))
    return RetrievalTask(queries=[pairs[i][0] for i in keep], documents=[pairs[i][1] for i in keep],
                         answers=np.arange(n))


def answer_ranks(queries: np.ndarray, documents: np.ndarray, answers: Sequence[int]) -> np.ndarray:
    """Rank (1 = best) of each query's answer among the documents, by cosine similarity.

    A tie counts against the answer: its rank is 1 + the number of documents scoring
    at least as high, other than itself.

    Parameters
    ----------
    queries : array_like, shape (n_queries, dim)
    documents : array_like, shape (n_documents, dim)
        Embeddings (any norm: they are normalised here).
    answers : sequence of int, length n_queries

    Returns
    -------
    numpy.ndarray of int64

    Examples
    --------
    >>> queries = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> documents = np.array([[1.0, 0.1], [0.9, 0.5], [0.0, 1.0]])
    >>> answer_ranks(queries, documents, [0, 1])  # the second query's answer comes second
    array([1, 2])
    """
    q = real_array(queries, "queries", as_float=True)
    d = real_array(documents, "documents", as_float=True)
    if q.ndim != 2 or d.ndim != 2 or q.shape[1] != d.shape[1]:
        raise ValueError(f"queries and documents must be 2-D with the same width, got {q.shape} and {d.shape}")
    a = _indices(answers)
    if a.shape != (q.shape[0],):
        raise ValueError(f"answers must be {q.shape[0]} integers (one per query), got {a!r}")
    if a.min() < 0 or a.max() >= d.shape[0]:
        raise ValueError(f"answers must index the {d.shape[0]} documents (0 to {d.shape[0] - 1})")
    qn = np.linalg.norm(q, axis=1, keepdims=True)
    dn = np.linalg.norm(d, axis=1, keepdims=True)
    if np.any(qn == 0) or np.any(dn == 0):
        raise ValueError("an embedding of zero norm has no direction; cosine similarity is undefined")
    scores = (q / qn) @ (d / dn).T
    right = scores[np.arange(len(a)), a]
    return (scores >= right[:, None]).sum(axis=1).astype(np.int64)


def _ranks(ranks: object) -> np.ndarray:
    r = _indices(ranks, "ranks")
    if r.size == 0 or r.min() < 1:
        raise ValueError("ranks must be a non-empty 1-D array of integers >= 1 (from answer_ranks)")
    return r


def recall_at_k(ranks: np.ndarray, k: int) -> float:
    """Fraction of queries whose answer is among the ``k`` best documents.

    Examples
    --------
    >>> recall_at_k(np.array([1, 3, 12]), 10)
    0.6666666666666666
    """
    return float(np.mean(_ranks(ranks) <= positive_int(k, "k")))


def mean_reciprocal_rank(ranks: np.ndarray) -> float:
    """Mean of ``1 / rank`` over the queries (1 when every answer comes first).

    Examples
    --------
    >>> mean_reciprocal_rank(np.array([1, 2, 4]))
    0.5833333333333334
    """
    return float(np.mean(1.0 / _ranks(ranks)))
