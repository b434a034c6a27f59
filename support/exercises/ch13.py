"""Exercises for chapter 13, "Mixed-precision training".

Reference answers are computed with :mod:`support.training.memory`, :mod:`support.numbers.formats`
and :class:`support.training.loss_scaling.DynamicLossScaler`, so that a question cannot disagree
with the chapter.
"""

from __future__ import annotations

import math

import numpy as np

from support.exercises import Choice, Explain, Function, Number, Question
from support.numbers.formats import get_format, round_to, ulp
from support.training.loss_scaling import DynamicLossScaler
from support.training.memory import TRAINING_MODES, inference_memory, training_memory

GB = 1e9

# Q1: the largest update a BF16 weight of 3.0 loses
_W1 = 3.0
_HALF1 = ulp(_W1, "bfloat16") / 2
assert round_to(_W1 + _HALF1, "bfloat16") == _W1 and round_to(_W1 + 2 * _HALF1, "bfloat16") > _W1

# Q2, Q3: practice question 6, a 13B model
_N13 = 13e9
_INT4 = inference_memory(_N13, 4) / GB
_TRAIN13 = training_memory(_N13, "mixed").total / GB

# Q4: ZeRO-2 on 8 GPUs
_ZERO2 = training_memory(_N13, "mixed", n_gpus=8, zero_stage=2).total / GB
_ZERO1 = training_memory(_N13, "mixed", n_gpus=8, zero_stage=1).total / GB
_ZERO3 = training_memory(_N13, "mixed", n_gpus=8, zero_stage=3).total / GB

# Q6: smallest power-of-two loss scale that keeps a gradient of 3e-9 in FP16
_G6 = 3e-9
_S6 = next(2.0**k for k in range(0, 40) if round_to(_G6 * 2.0**k, "float16") != 0)


# Q7: a dynamic loss scaler driven by gradient magnitudes
_FP16_MAX = get_format("float16").max


def _scales_reference(max_grads, init_scale=2.0**16, growth_interval=2000):
    scaler = DynamicLossScaler(init_scale, growth_interval=growth_interval)
    for g in max_grads:
        scaler.update(bool(g * scaler.scale > _FP16_MAX))
    return scaler.history


def _scales_no_skip_reset(max_grads, init_scale=2.0**16, growth_interval=2000):   # counter not reset on overflow
    s, good, out = init_scale, 0, []
    for g in max_grads:
        out.append(s)
        if g * s > _FP16_MAX:
            s /= 2
        else:
            good += 1
            if good % growth_interval == 0:
                s *= 2
    return out


def _scales_after_update(max_grads, init_scale=2.0**16, growth_interval=2000):    # records the scale after the update
    scaler = DynamicLossScaler(init_scale, growth_interval=growth_interval)
    out = []
    for g in max_grads:
        scaler.update(bool(g * scaler.scale > _FP16_MAX))
        out.append(scaler.scale)
    return out


def _scales_never_grow(max_grads, init_scale=2.0**16, growth_interval=2000):       # only backs off
    s, out = init_scale, []
    for g in max_grads:
        out.append(s)
        if g * s > _FP16_MAX:
            s /= 2
    return out


_SCALE_CASES = [
    (([0.1, 0.1, 0.1, 0.1], 1.0, 2), _scales_reference([0.1, 0.1, 0.1, 0.1], 1.0, 2)),
    (([2.0, 0.5, 0.5, 0.5, 0.5, 2.0], 2.0**15, 2), _scales_reference([2.0, 0.5, 0.5, 0.5, 0.5, 2.0], 2.0**15, 2)),
    (([1.0, 1.0, 0.6, 0.6, 0.6, 0.6, 0.6], 2.0**17, 3),
     _scales_reference([1.0, 1.0, 0.6, 0.6, 0.6, 0.6, 0.6], 2.0**17, 3)),
    (([3.0, 0.01, 0.01, 5.0, 0.01, 0.01, 0.01], 2.0**16, 2),
     _scales_reference([3.0, 0.01, 0.01, 5.0, 0.01, 0.01, 0.01], 2.0**16, 2)),
    (([1e-3] * 5,), _scales_reference([1e-3] * 5)),
    (([0.1, 0.1, 10.0, 0.1, 0.1, 0.1, 0.1], 2.0**13, 3), _scales_reference([0.1, 0.1, 10.0, 0.1, 0.1, 0.1, 0.1], 2.0**13, 3)),
]


# Q8: the fraction of BF16 weights an update of size eta leaves unchanged
def _lost_reference(w, eta):
    w16 = round_to(np.asarray(w, dtype=np.float64), "bfloat16")
    return float(np.mean(round_to(w16 + eta, "bfloat16") == w16))


def _lost_strict_ulp(w, eta):                     # compares eta with a full ulp instead of half
    w16 = round_to(np.asarray(w, dtype=np.float64), "bfloat16")
    return float(np.mean(eta < ulp(w16, "bfloat16")))


def _lost_fp16(w, eta):                           # FP16 instead of BF16
    w16 = round_to(np.asarray(w, dtype=np.float64), "float16")
    return float(np.mean(round_to(w16 + eta, "float16") == w16))


def _lost_unrounded(w, eta):                      # forgets to round the weights to BF16 first
    w = np.asarray(w, dtype=np.float64)
    return float(np.mean(round_to(w + eta, "bfloat16") == w))


_rng = np.random.default_rng(13)
_W8 = [_rng.normal(0, 0.02, 500), _rng.normal(0, 1.0, 500), np.array([1.0, 3.0, 0.001, -0.5]),
       _rng.normal(0, 0.1, 300)]
_LOST_CASES = [((w, eta), _lost_reference(w, eta)) for w, eta in
               [(_W8[0], 1e-4), (_W8[1], 1e-3), (_W8[2], 1e-3), (_W8[3], 3e-4), (_W8[1], 1e-2)]]

_MIXED_BYTES = sum(TRAINING_MODES["mixed"])

QUESTIONS = [
    Question(
        title="The largest update a BF16 weight of 3.0 rounds away",
        checker=Number(_HALF1),
        hints=[
            "BF16 keeps 8 significant bits: in the binade [2, 4) the spacing is $2 \\times 2^{-7}$.",
            "Round to nearest keeps 3.0 while the update is at most half a spacing (a tie goes to the even "
            "mantissa, and 3.0's mantissa is even).",
        ],
        solution_text=(
            f"ulp(3.0) in BF16 is $2^{{1-7}} = {ulp(_W1, 'bfloat16')}$. Any update up to half of it, "
            f"{_HALF1}, leaves the weight at 3.0 (exactly half is a tie, and 3.0 = `1.1000000` × 2¹ has an even "
            "last bit); anything larger moves it to the next value.\n\n"
            "```python\nfrom support.numbers.formats import round_to, ulp\nh = ulp(3.0, 'bfloat16') / 2\n"
            "print(h, round_to(3.0 + h, 'bfloat16'), round_to(3.0 + 1.001 * h, 'bfloat16'))\n```"
        ),
        reference=_HALF1,
        wrong=[ulp(_W1, "bfloat16"), ulp(1.0, "bfloat16") / 2, ulp(_W1, "float16") / 2],
    ),
    Question(
        title="Practice question 6a: a 13B model's weights in INT4, in GB",
        checker=Number(_INT4, rtol=1e-3),
        hints=["4 bits is half a byte per parameter.", "Answer in GB = 10⁹ bytes; count the weights only."],
        solution_text=(
            f"$13 \\times 10^9 \\times 0.5$ bytes = {_INT4:g} GB for the weights (per-group scales add a few "
            "percent, the KV cache and activations come on top).\n\n"
            "```python\nfrom support.training.memory import inference_memory\nprint(inference_memory(13e9, 4) / 1e9)\n```"
        ),
        reference=_INT4,
        wrong=[inference_memory(_N13, 16) / GB, inference_memory(_N13, 8) / GB, _N13 * 4 / GB],
    ),
    Question(
        title="Practice question 6b: training a 13B model with mixed-precision Adam, in GB",
        checker=Number(_TRAIN13, rtol=1e-3),
        hints=[
            "Count four things per parameter: 16-bit weights, 16-bit gradients, and Adam's optimizer states.",
            "Adam's states in mixed precision: an FP32 master copy, FP32 m and FP32 v.",
        ],
        solution_text=(
            f"2 + 2 + (4 + 4 + 4) = {_MIXED_BYTES:g} bytes per parameter, so $16 \\times 13 \\times 10^9$ bytes "
            f"= {_TRAIN13:g} GB before activations: three 80-GB GPUs just to hold the states.\n\n"
            "```python\nfrom support.training.memory import training_memory\nprint(training_memory(13e9, 'mixed'))\n```"
        ),
        reference=_TRAIN13,
        wrong=[inference_memory(_N13, 16) / GB, training_memory(_N13, "bf16").total / GB, 12 * _N13 / GB],
    ),
    Question(
        title="ZeRO stage 2: GB per GPU for 13B on 8 GPUs",
        checker=Number(_ZERO2, rtol=1e-3),
        hints=[
            "Stage 2 partitions the optimizer states and the gradients; the 16-bit weights stay replicated.",
            "Per GPU: $2\\Psi + (2 + 12)\\Psi / N$.",
        ],
        solution_text=(
            f"$2 \\cdot 13 + 14 \\cdot 13 / 8 = {_ZERO2:g}$ GB per GPU (stage 1: {_ZERO1:g}, stage 3: {_ZERO3:g}).\n\n"
            "```python\nfrom support.training.memory import training_memory\nfor k in range(4):\n"
            "    print(k, training_memory(13e9, 'mixed', n_gpus=8, zero_stage=k).total / 1e9)\n```"
        ),
        reference=_ZERO2,
        wrong=[_ZERO1, _ZERO3, _TRAIN13 / 8],
    ),
    Question(
        title="Why does FP16 training need loss scaling and BF16 training not?",
        checker=Choice(
            "b",
            options={
                "a": "BF16 has more mantissa bits, so small gradients keep their precision.",
                "b": "BF16 has FP32's 8 exponent bits, so gradients far below 2⁻²⁴ are still representable.",
                "c": "BF16 gradients are always accumulated in FP32 by the hardware.",
                "d": "BF16 rounds stochastically, so small gradients survive on average.",
            },
            feedback={
                "a": "BF16 has fewer mantissa bits (7) than FP16 (10).",
                "c": "Accumulation is about sums; underflow is about the range of each stored gradient.",
                "d": "BF16 casts round to nearest, like FP16.",
            },
        ),
        hints=["Which is the problem with FP16 gradients: range or precision?",
               "Compare the smallest positive numbers of FP16 and BF16."],
        solution_text=(
            "The problem is range: FP16's smallest subnormal is $2^{-24}$ and smaller gradients become zero. "
            "BF16 has 8 exponent bits like FP32 and reaches $2^{-133}$, so there is nothing to shift up."
        ),
        reference="b",
        wrong=["a", "c", "d"],
    ),
    Question(
        title="The smallest power-of-two loss scale that keeps a gradient of 3e-9 in FP16",
        checker=Number(_S6),
        hints=[
            "FP16's smallest subnormal is $2^{-24}$; a value rounds to zero if it is at most half of it.",
            "Find the smallest $S = 2^k$ with $3 \\times 10^{-9} S > 2^{-25}$.",
        ],
        solution_text=(
            f"$2^{{-25}} \\approx {2.0**-25:.3g}$, so $S > {2.0**-25 / _G6:.3g}$: the smallest power of two is "
            f"{_S6:g}. With $S = {_S6 / 2:g}$ the scaled gradient {_G6 * _S6 / 2:.2g} is below half the smallest "
            "subnormal and still flushes to zero.\n\n"
            "```python\nfrom support.numbers.formats import round_to\nfor k in range(6):\n"
            "    print(2**k, round_to(3e-9 * 2**k, 'float16'))\n```"
        ),
        reference=_S6,
        wrong=[_S6 / 2, _S6 * 2, 2.0**24],
    ),
    Question(
        title="Write a dynamic loss scaler driven by gradient magnitudes",
        checker=Function(_SCALE_CASES),
        hints=[
            "Keep the current scale and a count of good steps. Record the scale *before* deciding.",
            "A step overflows when max_grad * scale > 65504: halve the scale and reset the count. Otherwise count "
            "it, and double the scale when the count reaches growth_interval (then reset the count).",
        ],
        solution_text=(
            "```python\ndef loss_scales(max_grads, init_scale=2.0**16, growth_interval=2000):\n"
            "    scale, good, used = init_scale, 0, []\n"
            "    for g in max_grads:\n"
            "        used.append(scale)\n"
            "        if g * scale > 65504.0:          # the scaled gradient overflows FP16\n"
            "            scale, good = scale / 2, 0\n"
            "        else:\n"
            "            good += 1\n"
            "            if good == growth_interval:\n"
            "                scale, good = scale * 2, 0\n"
            "    return used\n```\n\n"
            "This is `GradScaler`'s rule (and `support.training.loss_scaling.DynamicLossScaler`'s)."
        ),
        reference=_scales_reference,
        wrong=[_scales_no_skip_reset, _scales_after_update, _scales_never_grow],
    ),
    Question(
        title="Measure: the fraction of BF16 weights an update of size eta leaves unchanged",
        checker=Function(_LOST_CASES, compare=lambda expected: Number(expected, atol=1e-12)),
        hints=[
            "Round the weights to BF16 first (they are BF16 weights), then add eta and round again.",
            "`ml_dtypes.bfloat16` or `torch.bfloat16` round to nearest even; compare before and after.",
        ],
        solution_text=(
            "```python\nimport ml_dtypes, numpy as np\n\ndef lost_fraction(w, eta):\n"
            "    w16 = np.asarray(w, dtype=np.float32).astype(ml_dtypes.bfloat16).astype(np.float32)\n"
            "    new = (w16 + np.float32(eta)).astype(ml_dtypes.bfloat16).astype(np.float32)\n"
            "    return float(np.mean(new == w16))\n```\n\n"
            "For weights of typical size 0.02 an update of 10⁻⁴ survives for small weights only; for weights of "
            "size 1 even 10⁻³ is mostly lost."
        ),
        reference=_lost_reference,
        wrong=[_lost_strict_ulp, _lost_fp16, _lost_unrounded],
    ),
    Question(
        title="Bytes per parameter of mixed-precision Adam",
        checker=Number(_MIXED_BYTES),
        hints=["16-bit weights and gradients, then the FP32 optimizer states.",
               "The optimizer states are the FP32 master copy and Adam's two moments."],
        solution_text=(
            f"2 + 2 + 4 + 4 + 4 = {_MIXED_BYTES:g}: the same as FP32 Adam (4 + 4 + 8). Mixed precision saves "
            "activation memory and time, not parameter state."
        ),
        reference=_MIXED_BYTES,
        wrong=[8.0, 10.0, 12.0, 6.0],
    ),
    Question(
        title="Why does pure BF16 training stall at a small learning rate but not at a large one?",
        checker=Explain(
            model_answer=(
                "Adam's update has a magnitude close to the learning rate. A BF16 weight w keeps 8 significant "
                "bits, so round to nearest discards any update smaller than half its spacing, about 2^-9 |w|. "
                "With a large learning rate most updates exceed that and the weights move; late in training or "
                "when fine-tuning with a small learning rate, most updates fall below it and are rounded away "
                "(the chapter measured most of them at 1e-4), so the loss stops improving although the gradients "
                "are fine. An FP32 master copy (spacing 2^-24 |w|), stochastic rounding or Kahan compensation "
                "keeps the small updates."
            ),
            key_points=[
                "Adam's update is about the size of the learning rate",
                "BF16 rounds away updates below half a spacing, about 2^-9 of the weight",
                "the smaller the learning rate, the more updates are lost",
                "FP32 master weights (or stochastic rounding / Kahan) keep them",
            ],
        ),
        hints=["Compare the size of an update with the spacing of BF16 numbers near the weight."],
        solution_text="See the model answer.",
        reference="Updates of about the learning rate fall below half a BF16 spacing (2^-9 |w|) and round away.",
    ),
]
