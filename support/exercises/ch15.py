"""Exercises for chapter 15, "Hardware, bandwidth and the roofline".

Reference answers are computed with :mod:`support.inference.hardware` (the cited spec table and
the roofline algebra), so that a question cannot disagree with the chapter.
"""

from __future__ import annotations

import math

from support.exercises import Choice, Explain, Function, Number, Question
from support.inference.hardware import (
    ENERGY_45NM_PJ, accelerator, attention_intensity, decode_tokens_per_second, gemm_intensity, gemv_intensity,
)

_H100 = accelerator("H100 SXM")
_H200 = accelerator("H200 SXM")

# Q1: GEMV intensity, FP16 everywhere
_Q1 = gemv_intensity(4096, 4096, bytes_weight=2, bytes_activation=2)
# Q2: ridge point of the H100 in dense BF16
_RIDGE = _H100.ridge_point("bf16")
# Q3: dense rate behind the datasheet's sparse FP8 number
_FP8_PRINTED = 3958.0
_FP8_DENSE = _H100.dense_tera_ops["fp8"]
assert _FP8_DENSE * 2 == _FP8_PRINTED
# Q4: a batch-32 BF16 layer on the H100
_Q4_I = gemm_intensity(32, 4096, 4096, bytes_weight=2, bytes_activation=2)
assert _Q4_I < _RIDGE
# Q5: decode bound, 70B INT4 on an H200
_Q5 = decode_tokens_per_second(70e9, 0.5, _H200.bandwidth)
# Q6: smallest batch that reaches the BF16 ridge on an H100, 8192 x 8192 layer
_Q6 = next(m for m in range(1, 100_000)
           if gemm_intensity(m, 8192, 8192, bytes_weight=2, bytes_activation=2) >= _RIDGE)
_Q6_EXACT = _RIDGE * 8192 * 8192 * 2 / (2 * 8192 * 8192 - _RIDGE * 2 * (8192 + 8192))
assert _Q6 - 1 < _Q6_EXACT <= _Q6


# Q7: the roofline's lower bound on the time of a GEMM
def _time_reference(m, n, k, bytes_per_element, peak, bandwidth):
    return max(2 * m * n * k / peak, bytes_per_element * (m * k + k * n + m * n) / bandwidth)


def _time_sum(m, n, k, bytes_per_element, peak, bandwidth):         # no overlap of compute and traffic
    return 2 * m * n * k / peak + bytes_per_element * (m * k + k * n + m * n) / bandwidth


def _time_min(m, n, k, bytes_per_element, peak, bandwidth):         # the faster limit instead of the slower
    return min(2 * m * n * k / peak, bytes_per_element * (m * k + k * n + m * n) / bandwidth)


def _time_weights_only(m, n, k, bytes_per_element, peak, bandwidth):  # forgets activations and output
    return max(2 * m * n * k / peak, bytes_per_element * k * n / bandwidth)


def _time_one_flop(m, n, k, bytes_per_element, peak, bandwidth):    # a multiply-add counted once
    return max(m * n * k / peak, bytes_per_element * (m * k + k * n + m * n) / bandwidth)


_TIME_CASES = [
    ((1, 4096, 4096, 2, 989.5e12, 3.35e12), _time_reference(1, 4096, 4096, 2, 989.5e12, 3.35e12)),
    ((4096, 4096, 4096, 2, 989.5e12, 3.35e12), _time_reference(4096, 4096, 4096, 2, 989.5e12, 3.35e12)),
    ((300, 8192, 8192, 2, 989.5e12, 3.35e12), _time_reference(300, 8192, 8192, 2, 989.5e12, 3.35e12)),
    ((64, 2048, 2048, 4, 1e11, 5e9), _time_reference(64, 2048, 2048, 4, 1e11, 5e9)),
    ((8, 1024, 4096, 0.5, 65e12, 0.32e12), _time_reference(8, 1024, 4096, 0.5, 65e12, 0.32e12)),
]


# Q8: the bandwidth STREAM reports for a float32 triad
def _triad_reference(n, seconds):
    return 12 * n / seconds


def _triad_reads_only(n, seconds):
    return 8 * n / seconds


def _triad_write_allocate(n, seconds):
    return 16 * n / seconds


def _triad_elements(n, seconds):
    return 3 * n / seconds


_TRIAD_CASES = [((10**6, 1e-3), 12e9), ((2**25, 0.05), _triad_reference(2**25, 0.05)),
                ((12_345, 2e-6), _triad_reference(12_345, 2e-6))]

# Q9: decode attention with GQA 8 and an FP8 cache
_Q9 = attention_intensity(8, 32768, 128, bytes_kv=1, bytes_q=2, bytes_output=2)
# Q10: DRAM energy of reading 70B BF16 weights once (Horowitz, 45 nm, low end)
_DRAM_PJ_64 = ENERGY_45NM_PJ["dram read (64 bit), low"]
_Q10 = 70e9 * 2 / 8 * _DRAM_PJ_64 * 1e-12

QUESTIONS = [
    Question(
        title="The arithmetic intensity of an FP16 GEMV, n = k = 4096",
        checker=Number(_Q1, rtol=1e-4),
        hints=["Operations: 2nk (one multiply-add per weight).",
               "Bytes: the weights (nk elements), the input (k) and the output (n), 2 bytes each."],
        solution_text=(
            f"$I = 2nk / (2nk + 2k + 2n) = {_Q1:.5f}$ FLOP/byte: about $2 / b_W = 1$, the weights dominate.\n\n"
            "```python\nfrom support.inference.hardware import gemv_intensity\n"
            "gemv_intensity(4096, 4096, bytes_weight=2, bytes_activation=2)\n```"
        ),
        reference=_Q1,
        wrong=[2.0, 0.5, 4.0],
        mistakes=[(2.0, "That is operations per *element*; divide by the 2 bytes each element takes.")],
    ),
    Question(
        title="The ridge point of an H100 SXM in dense BF16",
        checker=Number(_RIDGE, rtol=2e-3),
        hints=["Ridge = peak / bandwidth.", "Dense BF16: 989.5 TFLOP/s (the datasheet's 1,979 is with sparsity); 3.35 TB/s."],
        solution_text=f"$989.5 \\times 10^{{12}} / 3.35 \\times 10^{{12}} = {_RIDGE:.1f}$ FLOP/byte.",
        reference=_RIDGE,
        wrong=[2 * _RIDGE, 1 / _RIDGE, 67 / 3.35],
        mistakes=[(2 * _RIDGE, "You used the datasheet's sparse rate (with 2:4 sparsity); halve it.")],
    ),
    Question(
        title="The dense FP8 rate behind a datasheet's '3,958 TFLOPS*' (footnote: with sparsity)",
        checker=Number(_FP8_DENSE, rtol=1e-3),
        hints=["2:4 structured sparsity skips half the multiplications."],
        solution_text=(f"{_FP8_DENSE:g} TFLOPS: the sparse rate counts the skipped zeros, so a dense product reaches "
                       "half of it at best."),
        reference=_FP8_DENSE,
        wrong=[_FP8_PRINTED, _FP8_DENSE / 2, 989.5],
    ),
    Question(
        title="A BF16 layer, batch 32, n = k = 4096, on an H100: memory- or compute-bound?",
        checker=Choice(
            "a",
            options={
                "a": "Memory-bound: its intensity is far below the ridge point.",
                "b": "Compute-bound: 32 tokens are enough to use the Tensor Cores fully.",
                "c": "Exactly at the ridge point.",
                "d": "It depends on whether the sparse or the dense rate is used.",
            },
            feedback={
                "b": "Compute the intensity: 2·32·4096² / (2·(4096² + 2·32·4096)) ≈ 31 FLOP/byte.",
                "c": "The ridge is near 295 FLOP/byte.",
                "d": "With either rate the ridge (295 or 591) is far above the layer's intensity.",
            },
        ),
        hints=["Intensity ≈ 2m / b_W for small m.", "Compare with the ridge point of question 2."],
        solution_text=(f"$I = {_Q4_I:.1f}$ FLOP/byte, about a tenth of the ridge ({_RIDGE:.0f}): the layer runs at "
                       f"{_Q4_I / _RIDGE:.0%} of the BF16 peak at best."),
        reference="a",
        wrong=["b", "c", "d"],
    ),
    Question(
        title="The decode bound of a 70B model with 4-bit weights on an H200 (tokens/s, batch 1)",
        checker=Number(_Q5, rtol=5e-3),
        hints=["Every token reads every weight once: 70 × 10⁹ × 0.5 bytes.",
               "The H200 SXM reads 4.8 TB/s. Ignore scales and the KV cache."],
        solution_text=f"$4.8 \\times 10^{{12}} / (70 \\times 10^9 \\times 0.5) = {_Q5:.1f}$ tokens/s.",
        reference=_Q5,
        wrong=[_Q5 / 4, _Q5 / 2, _Q5 * 2],
        mistakes=[(_Q5 / 4, "That is BF16 (2 bytes per weight); 4 bits are half a byte."),
                  (_Q5 * 2, "4 bits are 0.5 bytes, not 0.25.")],
    ),
    Question(
        title="The smallest batch at which a BF16 8192 × 8192 layer reaches the H100's BF16 ridge",
        checker=Number(_Q6),
        hints=["Intensity of the GEMM: 2mnk / (2kn + 2mk + 2mn).",
               "Find the smallest integer m with intensity ≥ 989.5 / 3.35; m* ≈ I* b_W / 2 is a first guess."],
        solution_text=(
            f"Solving $I(m) = {_RIDGE:.1f}$ gives $m^* = {_Q6_EXACT:.1f}$, so the smallest integer batch is {_Q6}."
            "\n\n```python\nfrom support.inference.hardware import gemm_intensity\n"
            "ridge = 989.5 / 3.35\nnext(m for m in range(1, 10**5)\n"
            "     if gemm_intensity(m, 8192, 8192, bytes_weight=2, bytes_activation=2) >= ridge)\n```"
        ),
        reference=_Q6,
        wrong=[round(_RIDGE), round(_RIDGE / 2), round(2 * _RIDGE)],
    ),
    Question(
        title="Write min_time(m, n, k, bytes_per_element, peak, bandwidth): the roofline's time bound",
        checker=Function(_TIME_CASES, compare=lambda expected: Number(expected, rtol=1e-9)),
        hints=[
            "The product needs at least 2mnk / peak seconds of arithmetic and bytes / bandwidth seconds of traffic.",
            "Bytes: every matrix once, X (m×k), W (k×n), Y (m×n). Compute and traffic overlap: take the larger.",
        ],
        solution_text=(
            "```python\ndef min_time(m, n, k, bytes_per_element, peak, bandwidth):\n"
            "    compute = 2 * m * n * k / peak\n"
            "    traffic = bytes_per_element * (m * k + k * n + m * n) / bandwidth\n"
            "    return max(compute, traffic)\n```\n\n"
            "Dividing the operations by this time gives back the roofline, min(peak, I · bandwidth)."
        ),
        reference=_time_reference,
        wrong=[_time_sum, _time_min, _time_weights_only, _time_one_flop],
    ),
    Question(
        title="Write triad_bandwidth(n, seconds): the bytes per second STREAM reports for a float32 triad",
        checker=Function(_TRIAD_CASES, compare=lambda expected: Number(expected, rtol=1e-9)),
        hints=["a = b + s·c reads b and c and writes a.", "Each float32 element is 4 bytes; STREAM does not count "
               "the extra read a write-allocate cache makes."],
        solution_text=(
            "```python\ndef triad_bandwidth(n, seconds):\n    return 3 * 4 * n / seconds\n```\n\n"
            "Then time `torch.add(b, c, alpha=3.0, out=a)` on arrays beyond your caches (best of a few runs) "
            "and compare with `support.inference.measure.measure_triad`."
        ),
        reference=_triad_reference,
        wrong=[_triad_reads_only, _triad_write_allocate, _triad_elements],
    ),
    Question(
        title="Decode attention: 8 query heads per KV head, d = 128, 32768 cached tokens, FP8 cache",
        checker=Number(_Q9, rtol=1e-3),
        hints=["Operations: 4 · n_q · n_k · d (QKᵀ and PV) with n_q = 8 query rows sharing the KV head.",
               "Bytes: K and V (2 · n_k · d · 1 byte) plus Q and the output (8 · d · 2 bytes each)."],
        solution_text=(f"$I = 4 \\cdot 8 \\cdot 32768 \\cdot 128 / (2 \\cdot 32768 \\cdot 128 + 8 \\cdot 128 \\cdot 4) "
                       f"= {_Q9:.2f}$ FLOP/byte, about $2g / b_{{KV}} = 16$; a BF16 cache would give half."),
        reference=_Q9,
        wrong=[_Q9 / 2, _Q9 / 8, 2 * _Q9],
    ),
    Question(
        title="Energy of reading a 70B BF16 model's weights once from DRAM (Horowitz, 45 nm, 1.3 nJ per 64 bits), in J",
        checker=Number(_Q10, rtol=1e-3),
        hints=["70 × 10⁹ weights × 2 bytes = 140 GB.", "1.3 nJ per 64-bit (8-byte) access."],
        solution_text=(f"$140 \\times 10^9 / 8 \\times 1.3 \\times 10^{{-9}} = {_Q10:.2f}$ J per token at batch 1, "
                       "against about 0.1 J for the arithmetic: data movement dominates."),
        reference=_Q10,
        wrong=[_Q10 * 8, _Q10 / 2, _Q10 * 2],
        mistakes=[(_Q10 * 8, "1.3 nJ is per 64-bit access, i.e. per 8 bytes, not per byte.")],
    ),
    Question(
        title="Why does batching speed up the linear layers of decoding but not its attention?",
        checker=Explain(
            model_answer=(
                "A linear layer's weights are shared by every sequence in the batch: they are read once per step "
                "and used m times, so the intensity grows about linearly with the batch m until the layer reaches "
                "the ridge point and becomes compute-bound. Attention reads each sequence's own KV cache, which no "
                "other sequence uses: the bytes grow with the batch as fast as the operations, so the intensity "
                "stays near 2g / b_KV (g query heads per KV head) whatever the batch. Decode attention stays "
                "memory-bound; what helps it is fewer bytes per cached element (a quantized cache, chapter 16) or "
                "more query heads per KV head (grouped-query or latent attention)."
            ),
            key_points=[
                "weights are shared across the batch, read once per step, so intensity grows with m",
                "each sequence has its own KV cache: bytes grow with the batch like the operations",
                "decode attention's intensity stays near 2g / b_KV, memory-bound",
                "remedies: quantize the cache, share KV heads (GQA, MLA)",
            ],
        ),
        hints=["Which tensors does one sequence share with the others in the batch, and which are its own?",
               "Write the intensity of each with the batch size m in the numerator and the denominator."],
        solution_text=(
            "Weights are shared: one read serves m sequences, so a linear layer's intensity is about 2m / b_W "
            "and batching climbs the roofline's slope. Each sequence's KV cache is its own: operations and bytes "
            "both scale with m, so decode attention's intensity stays near 2g / b_KV; it is helped by fewer bytes "
            "per cached element or more query heads sharing each KV head, not by batching."
        ),
        reference=(
            "Weights are shared by the batch and read once per step, so intensity grows with m; each sequence has "
            "its own KV cache, so attention's bytes grow with m too and its intensity stays near 2g / b_KV."
        ),
    ),
]

assert math.isclose(_triad_reference(10**6, 1e-3), 12e9)
