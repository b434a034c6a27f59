"""Exercises for chapter 14, "Low-precision training stability".

Reference answers are computed with :mod:`support.numbers.formats` and the harness's
:class:`support.training.harness.Adam`, so that a question cannot disagree with the chapter.
"""

from __future__ import annotations

import math

from support.exercises import Choice, Explain, Function, Number, Question
from support.numbers.formats import get_format, round_to, ulp

# Q1-Q3: practice question 7, a 0.003 update at BF16 resolution
_W, _G = 1.0, 0.003
_SPACING = ulp(_W, "bfloat16")                       # 0.0078125
_RN = round_to(_W + _G, "bfloat16")
_P_UP = _G / _SPACING
_N3 = 1000
_E3 = _W + _N3 * _G                                  # SR is unbiased whatever the spacing


# Q4: where round-to-nearest accumulation stalls
def _stall_reference(w0, u):
    w = round_to(w0, "bfloat16")
    while True:
        new = round_to(w + u, "bfloat16")
        if new == w:
            return w
        w = new


def _stall_full_ulp(w0, u):                          # stops when u < ulp(w) instead of ulp(w)/2
    w = round_to(w0, "bfloat16")
    while u >= ulp(w, "bfloat16"):
        w = round_to(w + u, "bfloat16")
    return w


def _stall_fp16(w0, u):                              # FP16 instead of BF16
    w = round_to(w0, "float16")
    while True:
        new = round_to(w + u, "float16")
        if new == w:
            return w
        w = new


def _stall_truncating(w0, u):                        # rounds toward zero instead of to nearest
    w = round_to(w0, "bfloat16", mode="toward_zero")
    while True:
        new = round_to(w + u, "bfloat16", mode="toward_zero")
        if new == w:
            return w
        w = new


_STALL_CASES = [((0.0, 1.0), _stall_reference(0.0, 1.0)), ((1.0, 0.003), _stall_reference(1.0, 0.003)),
                ((0.0, 0.001), _stall_reference(0.0, 0.001)), ((10.0, 0.25), _stall_reference(10.0, 0.25)),
                ((0.1, 0.001), _stall_reference(0.1, 0.001)), ((-3.0, 0.05), _stall_reference(-3.0, 0.05))]


# Q5: Adam's first step in units of the learning rate
def _first_reference(beta1, beta2, bias_correction=True):
    return 1.0 if bias_correction else (1 - beta1) / math.sqrt(1 - beta2)


def _first_no_sqrt(beta1, beta2, bias_correction=True):
    return 1.0 if bias_correction else (1 - beta1) / (1 - beta2)


def _first_swapped(beta1, beta2, bias_correction=True):
    return 1.0 if bias_correction else (1 - beta2) / math.sqrt(1 - beta1)


def _first_always_uncorrected(beta1, beta2, bias_correction=True):
    return (1 - beta1) / math.sqrt(1 - beta2)


_FIRST_CASES = [((0.9, 0.999, False), _first_reference(0.9, 0.999, False)),
                ((0.9, 0.95, False), _first_reference(0.9, 0.95, False)),
                ((0.99, 0.999, False), _first_reference(0.99, 0.999, False)),
                ((0.9, 0.999, True), 1.0), ((0.5, 0.99, False), _first_reference(0.5, 0.99, False))]

# Q6: epsilon in FP16
_EPS16 = round_to(1e-8, "float16")

# Q9: z-loss
_V = 256
_C9 = -math.log(_V)

# Q10: the largest magnitude E5M2 rounds to zero
_E5M2 = get_format("float8_e5m2")
_ZERO10 = _E5M2.min_subnormal / 2
assert round_to(_ZERO10, _E5M2) == 0 and round_to(_ZERO10 * (1 + 2**-20), _E5M2) > 0

QUESTIONS = [
    Question(
        title="Practice question 7a: 1 + 0.003 in BF16, round to nearest",
        checker=Number(_RN),
        hints=["The BF16 spacing at 1 is 2⁻⁷ = 0.0078125.",
               "Is 0.003 more or less than half that spacing?"],
        solution_text=(
            f"0.003 < 0.0078125 / 2 = {_SPACING / 2}, so round to nearest returns {_RN}: the update is lost, "
            "and it would be lost again at every step.\n\n"
            "```python\nfrom support.numbers.formats import round_to\nprint(round_to(1.003, 'bfloat16'))\n```"
        ),
        reference=_RN,
        wrong=[_W + _SPACING, _W + _G],
    ),
    Question(
        title="Practice question 7b: the probability that stochastic rounding rounds 1.003 up",
        checker=Number(_P_UP, rtol=1e-6),
        hints=["The neighbours are 1 and 1 + 2⁻⁷.", "p = (x − lower) / spacing."],
        solution_text=(
            f"$p = 0.003 / 0.0078125 = {_P_UP:.4f}$; then $E[\\mathrm{{SR}}] = 1 + p \\cdot 2^{{-7}} = 1.003$ exactly "
            "(up to the FP32 representation of 0.003)."
        ),
        reference=_P_UP,
        wrong=[0.5, _G, 1 - _P_UP],
    ),
    Question(
        title="The expected weight after 1000 stochastically rounded updates of 0.003",
        checker=Number(_E3, rtol=1e-9),
        hints=["Stochastic rounding is unbiased at every step, whatever the spacing there.",
               "Expectations add: E[w_n] = E[w_{n-1}] + 0.003."],
        solution_text=(
            f"Each step is unbiased, so $E[w_{{1000}}] = 1 + 1000 \\times 0.003 = {_E3:g}$, even though the spacing "
            "doubles when $w$ passes 2. (Round to nearest would stay at 1.)"
        ),
        reference=_E3,
        wrong=[_W, _W + _N3 * _SPACING * round(_P_UP), _W + _N3 * _SPACING],
    ),
    Question(
        title="Write stall_value(w0, u): where BF16 accumulation stops",
        checker=Function(_STALL_CASES),
        hints=[
            "Round w0 to BF16, then repeat w = bf16(w + u) until w stops changing.",
            "`ml_dtypes.bfloat16` or `torch.bfloat16` round to nearest even; compare with the previous value.",
        ],
        solution_text=(
            "```python\nimport numpy as np, ml_dtypes\n\ndef stall_value(w0, u):\n"
            "    bf16 = lambda v: float(np.float64(v).astype(np.float32).astype(ml_dtypes.bfloat16))\n"
            "    w = bf16(w0)\n    while True:\n        new = bf16(w + u)\n"
            "        if new == w:\n            return w\n        w = new\n```\n\n"
            "Adding 1.0 from 0 stalls at 256 (chapter 04); adding 0.003 to 1.0 never moves at all. "
            "(Converting through float32 first rounds twice; for these cases the result is the same.)"
        ),
        reference=_stall_reference,
        wrong=[_stall_full_ulp, _stall_fp16, _stall_truncating],
    ),
    Question(
        title="Write adam_first_step(beta1, beta2, bias_correction): the first step in units of lr",
        checker=Function(_FIRST_CASES, compare=lambda expected: Number(expected, rtol=1e-6)),
        hints=[
            "After one step from zero: m = (1 − β₁) g and v = (1 − β₂) g² (ignore ε).",
            "With bias correction both are divided by (1 − β); the step is m̂ / √v̂.",
        ],
        solution_text=(
            "```python\nimport math\n\ndef adam_first_step(beta1, beta2, bias_correction=True):\n"
            "    if bias_correction:\n        return 1.0                      # m_hat / sqrt(v_hat) = g / |g|\n"
            "    return (1 - beta1) / math.sqrt(1 - beta2)\n```\n\n"
            "You can also run `support.training.harness.Adam` (or `torch.optim.Adam`) for one step with lr = 1 "
            "and ε = 0 and measure it."
        ),
        reference=_first_reference,
        wrong=[_first_no_sqrt, _first_swapped, _first_always_uncorrected],
    ),
    Question(
        title="Adam's default ε = 1e-8 in FP16",
        checker=Number(_EPS16),
        hints=["FP16's smallest subnormal is 2⁻²⁴ ≈ 5.96 × 10⁻⁸.", "What does round to nearest do with a value below half of it?"],
        solution_text=(
            f"1e-8 is below $2^{{-25}} \\approx 2.98 \\times 10^{{-8}}$, so it rounds to {_EPS16}: in FP16 the ε that "
            "is meant to keep the division finite does not exist."
        ),
        reference=_EPS16,
        wrong=[1e-8, 2.0**-24, 2.0**-14],
    ),
    Question(
        title="Which remedy bounds the product q · k itself?",
        checker=Choice(
            "a",
            options={
                "a": "QK-norm: LayerNorm on the queries and keys before their product.",
                "b": "Soft-capping: c · tanh(z / c) on the attention logits.",
                "c": "z-loss on the output logits.",
                "d": "Gradient clipping.",
            },
            feedback={
                "b": "The cap bounds what the softmax receives; the raw product can still grow (the chapter's run).",
                "c": "z-loss acts on the output normaliser log Z, not on attention.",
                "d": "Clipping bounds the gradient's norm; the weights (and logits) can still grow step by step.",
            },
        ),
        hints=["Which one acts on q and k before they are multiplied?"],
        solution_text="QK-norm fixes the norms of q and k (up to the norm's gains), so |q · k| is bounded.",
        reference="a",
        wrong=["b", "c", "d"],
    ),
    Question(
        title="Both W_q and W_k are multiplied by 3: by what factor do the attention logits grow?",
        checker=Number(9.0),
        hints=["A logit is q · k / √d, and q = W_q x, k = W_k x'."],
        solution_text="q and k each grow by 3, so their dot product by 3 × 3 = 9: logits scale with the square of the Q/K scale.",
        reference=9.0,
        wrong=[3.0, 6.0, math.sqrt(3)],
    ),
    Question(
        title="z-loss: the common logit c that makes log Z = 0 over 256 classes",
        checker=Number(_C9, rtol=1e-9),
        hints=["With all logits equal to c, Z = 256 eᶜ.", "Solve log(256) + c = 0."],
        solution_text=f"$\\log Z = c + \\ln 256$, so $c = -\\ln 256 = {_C9:.4f}$.",
        reference=_C9,
        wrong=[-_C9, 0.0, -math.log2(_V)],
    ),
    Question(
        title="The largest gradient magnitude that an unscaled E5M2 cast turns into zero",
        checker=Number(_ZERO10),
        hints=["E5M2's smallest subnormal is 2⁻¹⁶.", "Round to nearest even: what happens exactly halfway?"],
        solution_text=(
            f"Half the smallest subnormal, $2^{{-17}} = {_ZERO10:.3g}$, is a tie between 0 and $2^{{-16}}$ and goes "
            "to the even one, 0; anything larger rounds up. Gradients are often smaller than this, which is why "
            "the FP8 recipe scales every gradient tensor.\n\n"
            "```python\nfrom support.numbers.formats import round_to\n"
            "print(round_to(2.0**-17, 'float8_e5m2'), round_to(2.0**-17 * 1.001, 'float8_e5m2'))\n```"
        ),
        reference=_ZERO10,
        wrong=[_E5M2.min_subnormal, 2.0**-25, 2.0**-14],
    ),
    Question(
        title="Why does one unclipped gradient spike shrink Adam's steps for many steps?",
        checker=Explain(
            model_answer=(
                "Adam divides m by the square root of v. A spike of 100 times the usual gradient enters v as 10^4 "
                "times its usual square (weighted by 1 - beta2), and v forgets it only at the rate beta2 per step "
                "(0.95 or 0.999), while m forgets the spike faster (beta1 = 0.9). So after the spike m is back to "
                "normal but sqrt(v) is still large, and every step is much smaller than the learning rate until v "
                "decays, tens to thousands of steps. Clipping the gradient norm keeps the spike out of v."
            ),
            key_points=[
                "the step is m / sqrt(v)",
                "the spike enters v squared",
                "v decays slowly (beta2 close to 1), more slowly than m",
                "clipping keeps the spike out of the moments",
            ],
        ),
        hints=["Compare how fast m and v forget one large gradient."],
        solution_text="See the model answer.",
        reference="The squared spike inflates v, which decays only at rate beta2, so m/sqrt(v) stays small.",
    ),
]
