"""Exercises for chapter 16, "Quantized inference and the KV cache".

Cache sizes are computed with :mod:`support.inference.kvcache` from the published configurations
the chapter cites, so that a question cannot disagree with the chapter.
"""

from __future__ import annotations

import numpy as np

from support.exercises import Array, Choice, Explain, Function, Number, Question
from support.inference.kvcache import kv_cache_bytes, kv_values_per_token

GiB = 2**30

# Q1: practice question 8: 32 layers, 32 heads (MHA), d = 128, 32K tokens, BF16
_MHA = kv_values_per_token(32, 32, 128)
_Q1 = kv_cache_bytes(_MHA, 32 * 1024, 16) / GiB
_Q1_NO_TWO = _Q1 / 2                                     # keys only
_Q1_FP32 = 2 * _Q1                                       # 4 bytes per value
_Q1_GB = kv_cache_bytes(_MHA, 32 * 1024, 16) / 1e9       # GB, not GiB
_Q1_32000 = kv_cache_bytes(_MHA, 32_000, 16) / GiB      # "32K" read as 32 000

# Q2: Llama-3 8B (32 layers, 8 KV heads, d = 128), FP8, 128K tokens, 4 sequences
_L8 = kv_values_per_token(32, 8, 128)
_Q2 = kv_cache_bytes(_L8, 128 * 1024, 8, batch=4) / GiB
_Q2_QUERY_HEADS = kv_cache_bytes(kv_values_per_token(32, 32, 128), 128 * 1024, 8, batch=4) / GiB
_Q2_BF16 = kv_cache_bytes(_L8, 128 * 1024, 16, batch=4) / GiB
_Q2_ONE_SEQ = kv_cache_bytes(_L8, 128 * 1024, 8) / GiB

# Q3: DeepSeek-V3 (MLA): bytes per token, all 61 layers, BF16
_Q3 = kv_cache_bytes(kv_values_per_token(61, latent_dim=512 + 64), 1, 16)
_Q3_NO_ROPE = kv_cache_bytes(kv_values_per_token(61, latent_dim=512), 1, 16)
_Q3_TWICE = 2 * _Q3                                                     # a latent for K and one for V
_Q3_MHA = 61 * 128 * (128 + 64 + 128) * 2                               # plain MHA with the same heads

# Q4: tokens of Llama-3 8B cache in 40 GiB at INT8
_Q4 = int(40 * GiB // kv_cache_bytes(_L8, 1, 8))
_Q4_BF16 = int(40 * GiB // kv_cache_bytes(_L8, 1, 16))
_Q4_MHA = int(40 * GiB // kv_cache_bytes(kv_values_per_token(32, 32, 128), 1, 8))


# Q8: the longest context that fits a budget
def _max_context(budget_gib, layers, kv_heads, head_dim, bits):
    per_token_bits = 2 * layers * kv_heads * head_dim * bits
    return int(budget_gib * GiB * 8 // per_token_bits)


def _max_context_no_two(budget_gib, layers, kv_heads, head_dim, bits):
    return int(budget_gib * GiB * 8 // (layers * kv_heads * head_dim * bits))


def _max_context_gb(budget_gib, layers, kv_heads, head_dim, bits):
    return int(budget_gib * 1e9 * 8 // (2 * layers * kv_heads * head_dim * bits))


def _max_context_rounded(budget_gib, layers, kv_heads, head_dim, bits):
    return round(budget_gib * GiB * 8 / (2 * layers * kv_heads * head_dim * bits))


_CASES8 = [
    ((40, 32, 8, 128, 8), _max_context(40, 32, 8, 128, 8)),
    ((16, 32, 32, 128, 16), _max_context(16, 32, 32, 128, 16)),
    ((80, 80, 8, 128, 4), _max_context(80, 80, 8, 128, 4)),
    ((1.5, 28, 4, 128, 16), _max_context(1.5, 28, 4, 128, 16)),
    ((0.001, 61, 1, 576, 16), _max_context(0.001, 61, 1, 576, 16)),
]


# Q9: KIVI's asymmetric per-channel key quantization, written out
def _kivi_keys(k, bits):
    k = np.asarray(k, dtype=np.float64)
    lo, hi = k.min(axis=0), k.max(axis=0)
    scale = np.where(hi > lo, (hi - lo) / (2**bits - 1), 1.0)
    zero = np.round(-lo / scale)
    codes = np.clip(np.round(k / scale) + zero, 0, 2**bits - 1)
    return (codes - zero) * scale


def _kivi_per_token(k, bits):          # scales along the wrong axis
    return _kivi_keys(np.asarray(k, dtype=np.float64).T, bits).T


def _kivi_symmetric(k, bits):          # symmetric grid: no zero-point
    k = np.asarray(k, dtype=np.float64)
    amax = np.abs(k).max(axis=0)
    scale = np.where(amax > 0, amax / (2 ** (bits - 1) - 1), 1.0)
    return np.clip(np.round(k / scale), -(2 ** (bits - 1) - 1), 2 ** (bits - 1) - 1) * scale


def _kivi_floor(k, bits):              # truncation instead of rounding
    k = np.asarray(k, dtype=np.float64)
    lo, hi = k.min(axis=0), k.max(axis=0)
    scale = np.where(hi > lo, (hi - lo) / (2**bits - 1), 1.0)
    zero = np.round(-lo / scale)
    return (np.clip(np.floor(k / scale) + zero, 0, 2**bits - 1) - zero) * scale


_RNG = np.random.default_rng(16)
_K1 = _RNG.normal(size=(6, 4)) * np.array([8.0, 0.5, 0.5, 1.0])      # an outlier channel
_K2 = np.array([[1.0, 3.0], [1.0, -1.0], [1.0, 0.5]])                 # a constant channel
_K3 = _RNG.normal(size=(16, 8)) + 2.0
_CASES9 = [((_K1, 4), _kivi_keys(_K1, 4)), ((_K1, 2), _kivi_keys(_K1, 2)), ((_K2, 4), _kivi_keys(_K2, 4)),
           ((_K3, 8), _kivi_keys(_K3, 8)), ((_K3, 3), _kivi_keys(_K3, 3))]

QUESTIONS = [
    Question(
        title="The KV cache of a 32-layer, 32-head, d = 128 model at 32K tokens",
        checker=Number(_Q1, rtol=1e-3),
        hints=[
            "Per token and layer, each of the 32 heads caches a key and a value of 128 numbers.",
            "Multiply by 32 layers, 32 × 1024 tokens and 2 bytes per BF16 value; 1 GiB = 2³⁰ bytes.",
        ],
        solution_text=(
            "$2 \\times 32 \\times 32 \\times 128 = 262\\,144$ values per token; $\\times\\ 32\\,768$ tokens "
            "$\\times\\ 2$ bytes $= 2^{34}$ bytes $= 16$ GiB.\n\n"
            "```python\nfrom support.inference.kvcache import kv_cache_bytes, kv_values_per_token\n"
            "print(kv_cache_bytes(kv_values_per_token(32, 32, 128), 32 * 1024, 16) / 2**30)\n```"
        ),
        reference=_Q1,
        wrong=[_Q1_NO_TWO, _Q1_FP32, _Q1_GB, _Q1_32000],
    ),
    Question(
        title="Llama-3 8B in FP8 at 128K tokens, 4 sequences",
        checker=Number(_Q2, rtol=1e-3),
        hints=[
            "Llama-3 8B: 32 layers, 32 query heads, 8 key/value heads, head dimension 128. Which count sizes the cache?",
            "FP8 is one byte per value; four sequences need four caches.",
        ],
        solution_text=(
            "$2 \\times 32 \\times 8 \\times 128 = 65\\,536$ values per token, one byte each; "
            "$\\times\\ 131\\,072$ tokens $\\times\\ 4$ sequences $= 2^{35}$ bytes $= 32$ GiB.\n\n"
            "```python\nfrom support.inference.kvcache import kv_cache_bytes, kv_values_per_token\n"
            "print(kv_cache_bytes(kv_values_per_token(32, 8, 128), 128 * 1024, 8, batch=4) / 2**30)\n```"
        ),
        reference=_Q2,
        wrong=[_Q2_QUERY_HEADS, _Q2_BF16, _Q2_ONE_SEQ],
    ),
    Question(
        title="DeepSeek-V3's cache per token",
        checker=Number(_Q3, rtol=1e-6),
        hints=[
            "With multi-head latent attention each layer caches one latent of kv_lora_rank = 512 numbers, shared "
            "by the keys and values of all heads, and one rotary key of qk_rope_head_dim = 64 numbers.",
            "61 layers, 2 bytes per BF16 number.",
        ],
        solution_text=(
            "$61 \\times (512 + 64) \\times 2 = 70\\,272$ bytes per token. Plain MHA with the same 128 heads "
            "would cache $61 \\times 128 \\times (128 + 64 + 128) \\times 2 \\approx 5.0$ MB per token, "
            "71 times more.\n\n"
            "```python\nfrom support.inference.kvcache import kv_cache_bytes, kv_values_per_token\n"
            "print(kv_cache_bytes(kv_values_per_token(61, latent_dim=512 + 64), 1, 16))\n```"
        ),
        reference=_Q3,
        wrong=[_Q3_NO_ROPE, _Q3_TWICE, _Q3_MHA],
    ),
    Question(
        title="How many tokens of Llama-3 8B cache fit in 40 GiB at INT8?",
        checker=Number(_Q4),
        hints=[
            "Compute the bytes per token first: 2 × layers × KV heads × head dimension × 1 byte.",
            "Divide the budget by it and round down: a partial token does not fit.",
        ],
        solution_text=(
            "65 536 bytes per token; $40 \\times 2^{30} / 65\\,536 = 655\\,360$ tokens (five sequences of 128K, "
            "or one of 640K).\n\n"
            "```python\nprint(40 * 2**30 // (2 * 32 * 8 * 128 * 1))\n```"
        ),
        reference=_Q4,
        wrong=[_Q4_BF16, _Q4_MHA, _Q4 + 1],
    ),
    Question(
        title="Why do keys have outlier channels?",
        checker=Choice("b", {
            "a": "Because the softmax amplifies the largest keys during training.",
            "b": "Because a key is W_K x + b_K: a channel with a large row of W_K or a large bias is large "
                 "for every token, so the outliers sit in fixed channels.",
            "c": "Because keys are stored in lower precision than values.",
            "d": "Because each token has one large channel, different for every token.",
        }),
        hints=["Look at the heatmap of the chapter: are the large values in fixed columns or fixed rows?"],
        solution_text=(
            "**b**. The key projection is the same for every token, so a channel that the projection (or its "
            "bias) makes large is large in every row: the outliers are columns. One scale per channel gives that "
            "column its own range and leaves the small channels their resolution; one scale per token would be "
            "set by the outlier channel and flatten the rest. Values are averaged by the attention weights per "
            "output, and have no such columns, so per-token scales suit them."
        ),
        reference="b",
        wrong=["a", "c", "d"],
    ),
    Question(
        title="Why does FP8 care less than INT4 about per-channel keys?",
        checker=Choice("c", {
            "a": "Because FP8 has more bits than INT4, and more bits hide any layout choice.",
            "b": "Because E4M3 saturates at 448, which clips the outlier channels.",
            "c": "Because a float's rounding error is relative to each value: a small channel under a large "
                 "shared scale keeps about 3 significant bits, where an integer grid would round it to a few "
                 "steps or to zero.",
            "d": "Because FP8 quantization is always per channel.",
        }),
        hints=["How does the spacing of E4M3 values near 0.1 compare with the spacing near 100?"],
        solution_text=(
            "**c**. E4M3's spacing is proportional to the magnitude (3 mantissa bits per binade), so until the "
            "subnormals a small value has the same relative error under any scale. A uniform integer grid has one "
            "spacing for the whole group: the small channels of a token whose scale is set by an outlier get few "
            "levels. (a) is false as a reason: INT8 has as many bits as FP8 and still prefers per-channel keys in "
            "the chapter's table."
        ),
        reference="c",
        wrong=["a", "b", "d"],
    ),
    Question(
        title="Which method needs calibration data?",
        checker=Choice("b", {
            "a": "bitsandbytes NF4 (Linear4bit)",
            "b": "GPTQ",
            "c": "torchao Int8WeightOnlyConfig",
            "d": "FP8 W8A8 with dynamic per-token activation scales",
        }),
        hints=["Which of these uses the inputs of a layer to decide how to round its weights?"],
        solution_text=(
            "**b**. GPTQ rounds the weights one column at a time and corrects the remaining columns with the "
            "inverse Hessian $X X^\\top$ of the layer's inputs, so it needs real inputs (typically 128 "
            "sequences). NF4 and torchao's int8 use only the weights; dynamic FP8 computes activation scales at "
            "run time."
        ),
        reference="b",
        wrong=["a", "c", "d"],
    ),
    Question(
        title="Write max_context(budget_gib, layers, kv_heads, head_dim, bits)",
        checker=Function(_CASES8),
        hints=[
            "Bits per token: 2 × layers × kv_heads × head_dim × bits. The budget in bits: budget_gib × 2³⁰ × 8.",
            "Round down: `//` on the bits, then `int(...)`.",
        ],
        solution_text=(
            "```python\ndef max_context(budget_gib, layers, kv_heads, head_dim, bits):\n"
            "    per_token_bits = 2 * layers * kv_heads * head_dim * bits\n"
            "    return int(budget_gib * 2**30 * 8 // per_token_bits)\n```\n\n"
            "Counting in bits keeps INT4 exact. For an MLA model, call it with `kv_heads=1` and "
            "`head_dim = latent / 2`, or drop the factor 2."
        ),
        reference=_max_context,
        wrong=[_max_context_no_two, _max_context_gb, _max_context_rounded],
    ),
    Question(
        title="Write KIVI's per-channel key quantizer",
        checker=Function(_CASES9, compare=lambda expected: Array(expected, rtol=1e-12, atol=1e-12)),
        hints=[
            "Per channel = per column of the (tokens, channels) matrix: reduce with axis=0.",
            "scale = (max − min) / (2^bits − 1) (1 for a constant channel), zero = round(−min / scale), "
            "codes = clip(round(k / scale) + zero, 0, 2^bits − 1), and return (codes − zero) × scale.",
        ],
        solution_text=(
            "```python\nimport numpy as np\n\n"
            "def kivi_keys(k, bits):\n"
            "    k = np.asarray(k, dtype=np.float64)\n"
            "    lo, hi = k.min(axis=0), k.max(axis=0)\n"
            "    scale = np.where(hi > lo, (hi - lo) / (2**bits - 1), 1.0)\n"
            "    zero = np.round(-lo / scale)\n"
            "    codes = np.clip(np.round(k / scale) + zero, 0, 2**bits - 1)\n"
            "    return (codes - zero) * scale\n```\n\n"
            "`support.inference.kvcache.quantize_kv(k, 'int4', 'channel')` does the same with its scales "
            "rounded to float16, as a cache would store them, so its values differ in the last digits."
        ),
        reference=_kivi_keys,
        wrong=[_kivi_per_token, _kivi_symmetric, _kivi_floor],
    ),
    Question(
        title="Why judge a quantized cache by the attention output?",
        checker=Explain(
            model_answer=(
                "The next layer sees the attention output, not the cache. A key error matters only through the "
                "scores q·k it changes, and the softmax weighs those changes: an error in a channel the queries "
                "ignore, or on a key whose weight is negligible, costs nothing, while a small error on the key "
                "that wins the softmax moves the output. Value errors are averaged by the attention weights, so "
                "independent errors partly cancel. The cache's own error therefore ranks methods differently from "
                "their effect, and the output error with real queries is the cheapest measurement that includes "
                "the softmax."
            ),
            key_points=[
                "the next layer consumes the attention output",
                "key errors act through q·k and the softmax: their effect depends on the queries",
                "value errors are averaged by the attention weights",
                "cache error and output error can rank methods differently",
            ],
        ),
        hints=["Follow a key error through q·kᵀ/√d and the softmax. What happens to a value error?"],
        solution_text=(
            "The output is what the model uses; key errors are filtered by the queries and the softmax, value "
            "errors averaged by the attention weights, so the tensor's error is not the model's error."
        ),
        reference=(
            "The next layer sees the attention output; key errors act through the scores and the softmax, value "
            "errors are averaged by the weights, so the cache error ranks methods differently from their effect."
        ),
    ),
]
