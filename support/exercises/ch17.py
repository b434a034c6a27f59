"""Exercises for chapter 17, "A practical guide, tested on a real model".

Reference answers are computed here from the model's architecture and the course's formulas;
the answers that need the real model (which block is most sensitive) are measured by the solution
notebook, which asserts that its measurement gives the letter stored here.
"""

from __future__ import annotations

import numpy as np

from support.exercises import Array, Choice, Explain, Function, Number, Question

# --------------------------------------------------------------------------- all-MiniLM-L6-v2
# BERT encoder: vocabulary 30522, 512 positions, 2 token types, hidden 384, 6 blocks, FFN 1536,
# plus the (unused) pooler.  Parameter counts follow from these sizes.
_VOCAB, _POS, _TYPES, _H, _BLOCKS, _FFN = 30522, 512, 2, 384, 6, 1536
_EMBEDDINGS = (_VOCAB + _POS + _TYPES) * _H + 2 * _H                     # + LayerNorm
_BLOCK_LINEAR = 4 * _H * _H + 2 * _H * _FFN                              # weights only
_BLOCK = _BLOCK_LINEAR + 4 * _H + _FFN + _H + 2 * 2 * _H                 # + biases, 2 LayerNorms
_POOLER = _H * _H + _H
N_PARAMS = _EMBEDDINGS + _BLOCKS * _BLOCK + _POOLER
N_LINEAR = _BLOCKS * _BLOCK_LINEAR

# Q1: bits per weight of asymmetric INT4 with groups of 64
_Q1 = 4 + (16 + 4) / 64

# Q2: model size with only the linear weights in INT4-g128
_INT4_BITS = 4 + 16 / 128
_Q2_MB = ((N_PARAMS - N_LINEAR) * 32 + N_LINEAR * _INT4_BITS) / 8 / 1e6
_Q2_ALL = N_PARAMS * _INT4_BITS / 8 / 1e6          # every parameter in 4 bits
_Q2_LINEAR_ONLY = N_LINEAR * _INT4_BITS / 8 / 1e6   # the linear weights alone
_Q2_NO_SCALES = ((N_PARAMS - N_LINEAR) * 32 + N_LINEAR * 4) / 8 / 1e6


# Q3: recall@1 and MRR from a score matrix
def _top1_and_mrr(scores):
    s = np.asarray(scores, dtype=float)
    right = np.diag(s)
    ranks = (s >= right[:, None]).sum(axis=1)          # ties count against the answer
    return [float(np.mean(ranks == 1)), float(np.mean(1.0 / ranks))]


def _ties_in_favour(scores):
    s = np.asarray(scores, dtype=float)
    ranks = 1 + (s > np.diag(s)[:, None]).sum(axis=1)
    return [float(np.mean(ranks == 1)), float(np.mean(1.0 / ranks))]


def _by_column(scores):                                 # ranks queries for each document
    return _top1_and_mrr(np.asarray(scores, dtype=float).T)


def _mean_rank(scores):                                 # 1 / mean rank instead of mean of 1 / rank
    s = np.asarray(scores, dtype=float)
    ranks = (s >= np.diag(s)[:, None]).sum(axis=1)
    return [float(np.mean(ranks == 1)), float(1.0 / np.mean(ranks))]


_SCORES = [
    np.array([[0.9, 0.1, 0.2], [0.3, 0.8, 0.1], [0.5, 0.4, 0.45]]),
    np.array([[0.5, 0.5], [0.2, 0.7]]),                 # a tie in the first row
    np.array([[0.1, 0.3, 0.2, 0.9], [0.8, 0.7, 0.6, 0.5], [0.0, 0.1, 0.2, 0.3], [0.4, 0.3, 0.2, 0.1]]),
    np.eye(5),
]
_CASES3 = [((s,), _top1_and_mrr(s)) for s in _SCORES]


# Q5: the Pareto front of (bits, damage)
def _pareto(bits, damage):
    b, d = np.asarray(bits, dtype=float), np.asarray(damage, dtype=float)
    dominated = ((b[None, :] <= b[:, None]) & (d[None, :] <= d[:, None])
                 & ((b[None, :] < b[:, None]) | (d[None, :] < d[:, None]))).any(axis=1)
    return ~dominated


def _pareto_strict_both(bits, damage):                  # misses points dominated with a tie in one
    b, d = np.asarray(bits, dtype=float), np.asarray(damage, dtype=float)
    return ~((b[None, :] < b[:, None]) & (d[None, :] < d[:, None])).any(axis=1)


def _pareto_best_only(bits, damage):                    # only the least damage
    d = np.asarray(damage, dtype=float)
    return d == d.min()


def _pareto_sweep_no_ties(bits, damage):                # sorts by bits, ignores equal bits
    b, d = np.asarray(bits, dtype=float), np.asarray(damage, dtype=float)
    keep = np.zeros(len(b), dtype=bool)
    best = np.inf
    for i in np.argsort(b, kind="stable"):
        if d[i] < best:
            keep[i], best = True, d[i]
    return keep


_FRONT_CASES = [
    (([4.125, 4.5, 8.0, 4.25, 32.0], [0.06, 0.03, 4e-4, 0.04, 0.0]), None),
    (([4.0, 4.0, 8.0], [0.05, 0.02, 0.01]), None),       # same bits: only the better one
    (([8.0, 4.0, 8.0], [0.01, 0.02, 0.01]), None),       # two identical points: both kept
    (([5.0, 4.0, 6.0, 4.5], [0.02, 0.05, 0.02, 0.01]), None),
]
_FRONT_CASES = [(args, _pareto(*args).tolist()) for args, _ in _FRONT_CASES]

# Q6: a SmoothQuant factor
_AMAX_X, _AMAX_W, _ALPHA = 28.5, 0.12, 0.8
_Q6 = _AMAX_X**_ALPHA / _AMAX_W ** (1 - _ALPHA)

# Q7: the fraction of weights that can stay in INT8 under a budget
_BUDGET, _HIGH_BITS = 5.0, 8.0 + 16 / 384
_Q7 = (_BUDGET - _INT4_BITS) / (_HIGH_BITS - _INT4_BITS)

# Q4: which block, quantized on its own, damages the embeddings most (measured in the solutions)
MOST_SENSITIVE_BLOCK = "f"

QUESTIONS = [
    Question(
        title="Bits per weight of asymmetric INT4 with groups of 64",
        checker=Number(_Q1, rtol=1e-12),
        hints=[
            "Each group of 64 weights stores 64 codes of 4 bits, one float16 scale and one zero-point.",
            "An asymmetric grid's zero-point is an integer code, stored in as many bits as the codes.",
        ],
        solution_text=(
            f"$4 + (16 + 4)/64 = {_Q1:g}$ bits per weight: the scale and the zero-point are shared by the 64 "
            "weights of a group.\n\n"
            "```python\nimport numpy as np\nfrom support.quant.uniform import quantize\n"
            "w = np.random.default_rng(0).normal(size=(8, 256))\n"
            "print(quantize(w, 4, symmetric=False, group_size=64).bits_per_value)\n```"
        ),
        reference=_Q1,
        wrong=[4 + 16 / 64, 4.0, 4 + 32 / 64, 4 + 20 / 128],
    ),
    Question(
        title="The size of the model with INT4-g128 linear layers",
        checker=Number(_Q2_MB, rtol=0.005),
        hints=[
            "Only the weights of the linear layers are quantized; every other parameter stays FP32 (32 bits).",
            "INT4 with a float16 scale per group of 128 costs 4 + 16/128 bits per weight.",
        ],
        solution_text=(
            f"$({N_PARAMS:,} - {N_LINEAR:,}) \\times 32 + {N_LINEAR:,} \\times 4.125$ bits "
            f"$= {_Q2_MB:.2f}$ MB. The FP32 model takes {N_PARAMS * 4 / 1e6:.2f} MB, so 4-bit weights shrink it "
            f"only by a factor {N_PARAMS * 4 / 1e6 / _Q2_MB:.2f}: the word embeddings are the larger half and "
            "stay in FP32.\n\n"
            "```python\nn_params, n_linear = 22_713_216, 10_616_832\n"
            "print(((n_params - n_linear) * 32 + n_linear * (4 + 16 / 128)) / 8 / 1e6)\n```"
        ),
        reference=_Q2_MB,
        wrong=[_Q2_ALL, _Q2_LINEAR_ONLY, N_PARAMS * 4 / 8 / 1e6],
    ),
    Question(
        title="Recall@1 and MRR from a matrix of scores",
        checker=Function(_CASES3, compare=lambda expected: Array(expected, rtol=1e-12)),
        hints=[
            "The answer to query i is document i: its score is scores[i, i].",
            "The rank of the answer is the number of documents scoring at least as high as it (itself included): "
            "a tie counts against it.",
            "Recall@1 is the fraction of ranks equal to 1; MRR the mean of 1 / rank.",
        ],
        solution_text=(
            "```python\nimport numpy as np\n\n"
            "def top1_and_mrr(scores):\n"
            "    s = np.asarray(scores, dtype=float)\n"
            "    ranks = (s >= np.diag(s)[:, None]).sum(axis=1)   # ties count against the answer\n"
            "    return [float(np.mean(ranks == 1)), float(np.mean(1 / ranks))]\n```\n\n"
            "`support.inference.retrieval.answer_ranks` computes the same ranks from the embeddings."
        ),
        reference=_top1_and_mrr,
        wrong=[_ties_in_favour, _by_column, _mean_rank],
    ),
    Question(
        title="Are the first and last layers the most sensitive? Measure it",
        checker=Choice(
            MOST_SENSITIVE_BLOCK,
            options={
                "a": "Block 0, the first.",
                "b": "Block 1.",
                "c": "Block 2.",
                "d": "Block 3.",
                "e": "Block 4.",
                "f": "Block 5, the last.",
            },
            feedback={
                "a": "Measure it: quantize the six linear layers of each block in turn and compare the damage.",
            },
        ),
        hints=[
            "Use the chapter's harness: `quantize_layers(layers, int4, names=[n for n in layers if "
            "n.startswith(f'layer.{b}.')])` for b in 0..5.",
            "Measure 1 − mean cosine similarity of the probe sentences' embeddings to FP32's inside the `with` block.",
        ],
        solution_text=(
            "Quantize one block at a time to INT4-g128 and measure the damage; the solution notebook runs the "
            "experiment and prints the six damages. The last block is the most sensitive, the first is not: "
            "the rule 'first and last layers' is half right for this model."
        ),
        reference=MOST_SENSITIVE_BLOCK,
        wrong=[k for k in "abcdef" if k != MOST_SENSITIVE_BLOCK],
    ),
    Question(
        title="Write the Pareto front of (bits, damage)",
        checker=Function(_FRONT_CASES, compare=lambda expected: Array(expected)),
        hints=[
            "A method is dominated if another one costs no more bits AND does no more damage, and is strictly "
            "better in at least one of the two.",
            "Compare every pair at once with broadcasting: b[None, :] <= b[:, None] is 'j costs no more than i'.",
        ],
        solution_text=(
            "```python\nimport numpy as np\n\n"
            "def pareto_front(bits, damage):\n"
            "    b, d = np.asarray(bits, float), np.asarray(damage, float)\n"
            "    no_worse = (b[None, :] <= b[:, None]) & (d[None, :] <= d[:, None])\n"
            "    better = (b[None, :] < b[:, None]) | (d[None, :] < d[:, None])\n"
            "    return ~(no_worse & better).any(axis=1)\n```"
        ),
        reference=_pareto,
        wrong=[_pareto_strict_both, _pareto_best_only, _pareto_sweep_no_ties],
    ),
    Question(
        title="A SmoothQuant smoothing factor",
        checker=Number(_Q6, rtol=1e-9),
        hints=[
            "$s_j = \\max|X_j|^{\\alpha} / \\max|W_j|^{1-\\alpha}$.",
            "A larger α moves more of the activation's range into the weights.",
        ],
        solution_text=(
            f"$s = {_AMAX_X}^{{{_ALPHA}}} / {_AMAX_W}^{{{1 - _ALPHA:.1f}}} = {_Q6:.4g}$. The channel's activations "
            f"are divided by it (their maximum becomes {_AMAX_X / _Q6:.3g}) and its weights multiplied by it.\n\n"
            "```python\nimport numpy as np\nfrom support.quant.outliers import smoothquant_scales\n"
            f"print(smoothquant_scales(np.array([{_AMAX_X}]), np.array([{_AMAX_W}]), alpha={_ALPHA}))\n```"
        ),
        reference=_Q6,
        wrong=[_AMAX_X ** (1 - _ALPHA) / _AMAX_W**_ALPHA, _AMAX_X / _AMAX_W, (_AMAX_X / _AMAX_W) ** 0.5,
               _AMAX_X**_ALPHA * _AMAX_W ** (1 - _ALPHA)],
    ),
    Question(
        title="How many weights can keep INT8 within a 5-bit budget?",
        checker=Number(_Q7, rtol=1e-6),
        hints=[
            "If a fraction f of the weights is in INT8 and the rest in INT4-g128, the average is "
            "f·b₈ + (1 − f)·b₄ bits per weight.",
            "Use b₄ = 4 + 16/128 and b₈ = 8 + 16/384 (a float16 scale per row of 384 inputs).",
        ],
        solution_text=(
            f"$f = (5 - 4.125) / (8.0417 - 4.125) = {_Q7:.4f}$: about a fifth of the weights.\n\n"
            "```python\nprint((5 - (4 + 16 / 128)) / ((8 + 16 / 384) - (4 + 16 / 128)))\n```"
        ),
        reference=_Q7,
        wrong=[(5 - 4) / (8 - 4), 5 / 8, (5 - _INT4_BITS) / 8],
    ),
    Question(
        title="Why smooth only the layers that follow a LayerNorm?",
        checker=Choice(
            "a",
            options={
                "a": "Their input comes from a LayerNorm, whose per-channel weight and bias can absorb the division "
                     "by s; the other layers' inputs (the attention context, the GELU output) have no such place.",
                "b": "They are the largest layers of the model.",
                "c": "SmoothQuant only works for square weight matrices.",
                "d": "Their inputs have no outlier channels, so smoothing cannot hurt them.",
            },
            feedback={
                "b": "intermediate.dense is large, but query, key and value are as small as attention.output.dense.",
                "c": "intermediate.dense (1536 × 384) is smoothed; the shape does not matter.",
                "d": "The opposite: the LayerNorm outputs carry the largest outlier channels of the model.",
            },
        ),
        hints=[
            "Dividing x by s costs a multiplication per activation unless something before the layer can do it "
            "for free.",
            "What operation produces the input of query, key, value and intermediate.dense?",
        ],
        solution_text=(
            "SmoothQuant rewrites $XW^T = (X\\,\\mathrm{diag}(s)^{-1})(W\\,\\mathrm{diag}(s))^T$. The division must "
            "cost nothing at run time: it is folded into the LayerNorm that produces $X$ (its weight and bias are "
            "per channel). In a BERT block those LayerNorms feed query, key, value and intermediate.dense. The "
            "chapter also measured that smoothing output.dense (whose input is the GELU output) makes its INT8 "
            "error worse: its large channels change from sentence to sentence, so factors calibrated on other "
            "sentences do not fit."
        ),
        reference="a",
        wrong=["b", "c", "d"],
    ),
    Question(
        title="Why does recall barely move when the cosine similarity drops?",
        checker=Explain(
            model_answer=(
                "Retrieval only needs the right document to stay ahead of the others: a ranking survives any "
                "perturbation smaller than the margin between the best and the second-best score. Quantization "
                "noise moves every embedding by a similar small angle, and query and document are encoded by the "
                "same quantized model, so much of the change is common to both and cancels in their similarity. "
                "The cosine to FP32 measures the perturbation itself, so it moves first; recall moves only when "
                "perturbations exceed the margins, for queries whose right document was barely ahead. With 64 "
                "queries, recall changes in steps of 1/64, and a gain on one query can hide a loss on another; a "
                "larger corpus with closer neighbours would show the loss earlier."
            ),
            key_points=[
                "a ranking changes only when a perturbation exceeds the score margin",
                "queries and documents go through the same quantized model: correlated errors",
                "cosine similarity to FP32 measures the perturbation directly",
                "a small task gives coarse, noisy recall (steps of 1/n)",
            ],
        ),
        hints=[
            "What has to happen for the rank of the right document to change?",
            "How many queries does the task have, and what is the smallest change in recall@1?",
        ],
        solution_text=(
            "Recall changes only when quantization pushes the right document behind another one, i.e. when the "
            "perturbation of the score exceeds its margin. The cosine to FP32 measures the perturbation itself. "
            "Both query and document are encoded by the same quantized model, so part of the error is shared. "
            "And 64 queries give recall in steps of 1/64."
        ),
        reference=(
            "A ranking changes only when the perturbation exceeds the margin between the right document and the "
            "next; queries and documents share the quantized model's errors; the cosine measures the perturbation "
            "directly; 64 queries give steps of 1/64."
        ),
    ),
]
