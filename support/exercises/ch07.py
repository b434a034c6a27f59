"""Exercises for chapter 07, "Block floating point, MX and NVFP4".

Reference answers are computed with :mod:`support.quant.blocks`, :mod:`support.quant.uniform`
and :mod:`support.metrics`, so that a question cannot disagree with the chapter.
"""

from __future__ import annotations

import math

import numpy as np

from support.exercises import Array, Choice, Explain, Function, Number, Question
from support.metrics import sqnr_db
from support.quant.blocks import mx_quantize, nvfp4_quantize
from support.numbers.formats import round_to
from support.numbers.scaling import amax_scale, scaled_round
from support.quant.uniform import quantize

# Q1: one value of an 8-bit block floating-point (MXINT8) block, by hand
_BLOCK1 = np.array([0.1, -3.5, 1.2, 0.75], dtype=np.float32)
_X1 = float(_BLOCK1[0])
_VALUE1 = float(mx_quantize(_BLOCK1, "int8", block_size=4).dequantize()[0])
_E1 = math.floor(math.log2(3.5))
_CEIL1 = round(_X1 / 2.0 ** (_E1 + 1 - 6)) * 2.0 ** (_E1 + 1 - 6)      # exponent rounded up
_ABSMAX1 = round(_X1 / (3.5 / 127)) * (3.5 / 127)                      # INT8 absmax scale instead

# Q2: the MXFP4 scale of a block with amax 0.3
_AMAX2 = 0.3
_X2 = float(mx_quantize(np.array([_AMAX2] + [0.01] * 31), "float4_e2m1fn").scales[0])

# Q3: the largest value of a block, 7.5, in MXFP4
_BLOCK3 = np.zeros(32)
_BLOCK3[:3] = [7.5, -2.2, 0.4]
_VALUE3 = float(mx_quantize(_BLOCK3, "float4_e2m1fn").dequantize()[0])

# Q4: bytes of a 4096 x 4096 matrix in MXFP4, scales included
_N4 = 4096 * 4096
_BYTES4 = _N4 * mx_quantize(np.ones(32), "float4_e2m1fn").bits_per_value / 8

# Q7: block floating point with p-bit mantissas


def _bfp_reference(x, mantissa_bits, block_size):
    """Shared exponent floor(log2 amax) per block; mantissas rint(x / 2**(E - (p - 2))), clipped."""
    blocks = np.asarray(x, dtype=np.float64).reshape(-1, block_size)
    amax = np.abs(blocks).max(axis=1, keepdims=True)
    exponent = np.floor(np.log2(np.where(amax > 0, amax, 1.0)))
    step = 2.0 ** (exponent - (mantissa_bits - 2))
    limit = 2 ** (mantissa_bits - 1) - 1
    return (np.clip(np.rint(blocks / step), -limit, limit) * step).reshape(np.shape(x))


def _bfp_ceil(x, mantissa_bits, block_size):           # exponent rounded up: one bit wasted
    blocks = np.asarray(x, dtype=np.float64).reshape(-1, block_size)
    amax = np.abs(blocks).max(axis=1, keepdims=True)
    exponent = np.ceil(np.log2(np.where(amax > 0, amax, 1.0)))
    step = 2.0 ** (exponent - (mantissa_bits - 2))
    limit = 2 ** (mantissa_bits - 1) - 1
    return (np.clip(np.rint(blocks / step), -limit, limit) * step).reshape(np.shape(x))


def _bfp_no_clip(x, mantissa_bits, block_size):        # forgets that 2**(p-1) does not fit
    blocks = np.asarray(x, dtype=np.float64).reshape(-1, block_size)
    amax = np.abs(blocks).max(axis=1, keepdims=True)
    exponent = np.floor(np.log2(np.where(amax > 0, amax, 1.0)))
    step = 2.0 ** (exponent - (mantissa_bits - 2))
    return (np.rint(blocks / step) * step).reshape(np.shape(x))


def _bfp_ties_away(x, mantissa_bits, block_size):      # rounds ties away from zero
    blocks = np.asarray(x, dtype=np.float64).reshape(-1, block_size)
    amax = np.abs(blocks).max(axis=1, keepdims=True)
    exponent = np.floor(np.log2(np.where(amax > 0, amax, 1.0)))
    step = 2.0 ** (exponent - (mantissa_bits - 2))
    limit = 2 ** (mantissa_bits - 1) - 1
    m = np.sign(blocks) * np.floor(np.abs(blocks) / step + 0.5)
    return (np.clip(m, -limit, limit) * step).reshape(np.shape(x))


def _bfp_per_tensor(x, mantissa_bits, block_size):     # one exponent for the whole array
    return _bfp_reference(np.asarray(x), mantissa_bits, np.size(x))


_BFP_INPUTS = [
    (np.array([0.82, -0.31, 0.057, 1.40, -0.0023, 0.66, -1.13, 0.25]), 8, 8),
    (np.array([1.96, 0.3, -0.625, 0.1]), 4, 4),                 # 7.84 -> 8 must clip to 7; 2.5 tie
    (np.array([0.0, 0.0, 0.0, 0.0, 3.0, -0.2, 0.01, 2.9]), 6, 4),  # an all-zero block
    (np.array([0.004, -0.012, 0.009, 0.002, 40.0, -13.0, 7.0, 0.5]), 5, 4),
]
_BFP_CASES = [((x, p, k), _bfp_reference(x, p, k)) for x, p, k in _BFP_INPUTS]

# Q8: NVFP4's gain over MXFP4 on heavy-tailed data (an experiment)
_RNG8 = np.random.default_rng(0)
_T8 = _RNG8.standard_t(3, size=(128, 512)).astype(np.float32)
_NV8 = sqnr_db(_T8, nvfp4_quantize(_T8).dequantize())
_MX8 = sqnr_db(_T8, mx_quantize(_T8, "float4_e2m1fn").dequantize())
_INT8_8 = sqnr_db(_T8, quantize(_T8, 4, group_size=128).dequantize())
_GAIN8 = _NV8 - _MX8

# Q9, Q10: the floor rule against a rounded-up scale, on normal data
_G = np.random.default_rng(1).normal(size=(128, 1024)).astype(np.float32)


def _mx_rounded_up(x, elem, elem_max):
    blocks = x.reshape(-1, 32).astype(np.float64)
    scale = 2.0 ** np.ceil(np.log2(np.abs(blocks).max(axis=1, keepdims=True) / elem_max))
    return (round_to(blocks / scale, elem) * scale).reshape(x.shape)


_FLOOR_DB = {e: sqnr_db(_G, mx_quantize(_G, e).dequantize()) for e in ("float4_e2m1fn", "float8_e4m3fn")}
_CEIL_DB = {e: sqnr_db(_G, _mx_rounded_up(_G, e, m)) for e, m in (("float4_e2m1fn", 6.0), ("float8_e4m3fn", 448.0))}
_CLIP = {e: float(np.mean(np.abs(_G.reshape(-1, 32)).max(axis=1) / mx_quantize(_G, e).scales.ravel() > m))
         for e, m in (("float4_e2m1fn", 6.0), ("float8_e4m3fn", 448.0))}
_FP8_PT = sqnr_db(_G, scaled_round(_G, amax_scale(_G, "float8_e4m3fn"), "float8_e4m3fn"))

QUESTIONS = [
    Question(
        title="One value of an 8-bit block floating-point block, by hand",
        checker=Number(_VALUE1, rtol=1e-9),
        hints=[
            "The shared exponent is $E = \\lfloor \\log_2 \\max |x| \\rfloor$; here the largest magnitude is 3.5.",
            "With 8-bit mantissas the step is $2^{E - 6}$; the stored value is $\\operatorname{rint}(x / 2^{E-6}) \\cdot 2^{E-6}$.",
        ],
        solution_text=(
            f"amax = 3.5, so $E = {_E1}$ and the step is $2^{{{_E1 - 6}}} = 1/{2 ** (6 - _E1)}$. "
            f"$0.1 \\times {2 ** (6 - _E1)} = {_X1 * 2 ** (6 - _E1):.1f}$ rounds to "
            f"{round(_X1 * 2 ** (6 - _E1))}, so 0.1 is stored as "
            f"{round(_X1 * 2 ** (6 - _E1))}/{2 ** (6 - _E1)} = {_VALUE1}.\n\n"
            "```python\nimport numpy as np\nfrom support.quant.blocks import mx_quantize\n"
            "x = np.array([0.1, -3.5, 1.2, 0.75], dtype=np.float32)\n"
            "print(mx_quantize(x, 'int8', block_size=4).dequantize())\n```"
        ),
        reference=_VALUE1,
        wrong=[_CEIL1, _ABSMAX1, _X1],
    ),
    Question(
        title="The MXFP4 scale of a block",
        checker=Number(_X2),
        hints=[
            "$X = 2^{\\lfloor \\log_2 \\mathrm{amax} \\rfloor - e_{\\max}}$, and $e_{\\max} = 2$ for E2M1 (its largest power of two is 4).",
            "$\\log_2 0.3 \\approx -1.74$.",
        ],
        solution_text=(
            f"$\\lfloor \\log_2 0.3 \\rfloor = -2$, so $X = 2^{{-2-2}} = {_X2}$. The block's largest value "
            f"becomes $0.3 / X = {_AMAX2 / _X2:.1f}$ in units of $X$, inside E2M1's top binade [4, 8).\n\n"
            "```python\nimport numpy as np\nfrom support.quant.blocks import mx_quantize\n"
            "q = mx_quantize(np.array([0.3] + [0.01] * 31), 'float4_e2m1fn')\nprint(q.scales)\n```"
        ),
        reference=_X2,
        wrong=[_AMAX2 / 6, 0.25, 2.0**-5],
    ),
    Question(
        title="The largest value of an MXFP4 block",
        checker=Number(_VALUE3),
        hints=[
            "First the scale: $\\lfloor \\log_2 7.5 \\rfloor = 2$ and $e_{\\max} = 2$.",
            "Then $7.5 / X$ is rounded to E2M1, whose largest value is 6; MX elements are clamped, never overflow.",
        ],
        solution_text=(
            "$X = 2^{2 - 2} = 1$, and $7.5 / X = 7.5$ is above E2M1's largest value 6: it is clamped to 6. "
            "The floor rule puts a block's maximum anywhere in $[4, 8)$ units of $X$, so every block whose "
            "amax is in $(6, 8) \\cdot X$ is clipped like this.\n\n"
            "```python\nimport numpy as np\nfrom support.quant.blocks import mx_quantize\n"
            "x = np.zeros(32); x[:3] = [7.5, -2.2, 0.4]\n"
            "print(mx_quantize(x, 'float4_e2m1fn').dequantize()[:3])\n```"
        ),
        reference=_VALUE3,
        wrong=[8.0, 7.5, float("nan")],
    ),
    Question(
        title="Bytes of a 4096 × 4096 matrix in MXFP4",
        checker=Number(_BYTES4),
        hints=[
            "Each element takes 4 bits, and each block of 32 elements adds one 8-bit E8M0 scale.",
            "Bits per element $= 4 + 8/32$; multiply by the number of elements and divide by 8.",
        ],
        solution_text=(
            f"$4096^2 \\times (4 + 8/32) / 8 = {_BYTES4:.0f}$ bytes ({_BYTES4 / 2**20:g} MiB), "
            f"against {_N4 // 2:d} bytes for the elements alone.\n\n"
            "```python\nimport numpy as np\nfrom support.quant.blocks import mx_quantize\n"
            "print(4096**2 * mx_quantize(np.ones(32), 'float4_e2m1fn').bits_per_value / 8)\n```"
        ),
        reference=_BYTES4,
        wrong=[_N4 / 2, _N4 * 4.5 / 8, _N4 * 12 / 8],
    ),
    Question(
        title="Why does NVFP4 need a per-tensor scale?",
        checker=Choice(
            "b",
            options={
                "a": "Because E2M1 elements have no sign bit.",
                "b": "Its E4M3 block scales span only about 18 binades (2⁻⁹ to 448), so an FP32 scale per tensor "
                     "first moves the block scales into that range.",
                "c": "Because E4M3 block scales are powers of two, too coarse without a finer tensor scale.",
                "d": "To make the tensor's largest value land exactly on 6 in every block.",
            },
            feedback={
                "a": "E2M1 has a sign bit (1 sign, 2 exponent, 1 mantissa).",
                "c": "E4M3 has three mantissa bits: it is MX's E8M0 scale that is a power of two.",
                "d": "The tensor scale is one number for the whole tensor; it cannot fit every block. It positions "
                     "the block scales, each block's own scale does the fitting.",
            },
        ),
        hints=[
            "Compare the range of E8M0 (MX's scale) with the range of E4M3.",
            "A block scale of $10^{-12}$ is not representable in E4M3.",
        ],
        solution_text=(
            "E8M0 covers $2^{-127}$ to $2^{127}$, any tensor's magnitude; E4M3 trades that range for three "
            "mantissa bits and covers $2^{-9}$ to 448. NVFP4 therefore divides by $s_T = \\mathrm{amax} / (448 "
            "\\cdot 6)$ first, which gives the block holding the tensor's amax the scale 448, and every other block a "
            "smaller one.\n\n"
            "```python\nimport numpy as np\nfrom support.quant.blocks import nvfp4_quantize\n"
            "q = nvfp4_quantize(np.random.default_rng(0).normal(0, 1e-6, (4, 64)))\n"
            "print(q.tensor_scale, q.block_scales.max())\n```"
        ),
        reference="b",
        wrong=["a", "c", "d"],
    ),
    Question(
        title="An outlier inside an MXFP4 block",
        checker=Choice(
            "c",
            options={
                "a": "Nothing: each element is a float with its own exponent.",
                "b": "They are clipped to the element maximum.",
                "c": "Most of them round to zero: the scale is set by the outlier, and E2M1's smallest "
                     "non-zero value is 0.5 X.",
                "d": "They become NaN.",
            },
            feedback={
                "a": "Elements have their own 2-bit exponent, but relative to the shared scale $X$: they can reach only "
                     "a factor 12 below the block maximum.",
                "b": "Clipping affects values *above* $6X$; the outlier sets $X$, so the small values are far below it.",
                "d": "MX elements never overflow or become NaN from finite input.",
            },
        ),
        hints=[
            "With the outlier at $64\\sigma$, $X = 2^{\\lfloor \\log_2 64\\sigma \\rfloor - 2}$, about $16\\sigma$.",
            "What is the smallest non-zero E2M1 magnitude, in units of $X$?",
        ],
        solution_text=(
            "$X \\approx 64\\sigma / 4 = 16\\sigma$; anything below $0.25 X = 4\\sigma$ rounds to zero, which is "
            "nearly all the other values. The chapter measures it: at $64\\sigma$ almost all block-mates are zero, "
            "in MXFP4 and in NVFP4; MXFP8 E4M3, whose elements reach $2^{17}$ below their maximum, is unharmed.\n\n"
            "```python\nimport numpy as np\nfrom support.quant.blocks import mx_quantize\n"
            "x = np.random.default_rng(0).normal(size=(1000, 32)); x[:, 0] = 64\n"
            "print((mx_quantize(x, 'float4_e2m1fn').dequantize()[:, 1:] == 0).mean())\n```"
        ),
        reference="c",
        wrong=["a", "b", "d"],
    ),
    Question(
        title="Write a block floating-point quantizer",
        checker=Function(_BFP_CASES, compare=lambda expected: Array(expected, rtol=1e-12)),
        hints=[
            "Reshape to `(-1, block_size)`; per block, `amax = abs(block).max()` and `E = floor(log2(amax))`.",
            "The step is `2.0 ** (E - (mantissa_bits - 2))`; mantissas are `rint(x / step)` clipped to "
            "`±(2**(mantissa_bits - 1) - 1)`.",
            "An all-zero block must give zeros (do not take log2(0)); `np.rint` rounds ties to even.",
        ],
        solution_text=(
            "```python\nimport numpy as np\n\n"
            "def bfp_quantize(x, mantissa_bits, block_size):\n"
            "    blocks = np.asarray(x, dtype=np.float64).reshape(-1, block_size)\n"
            "    amax = np.abs(blocks).max(axis=1, keepdims=True)\n"
            "    E = np.floor(np.log2(np.where(amax > 0, amax, 1.0)))   # zero block: any E\n"
            "    step = 2.0 ** (E - (mantissa_bits - 2))\n"
            "    limit = 2 ** (mantissa_bits - 1) - 1\n"
            "    m = np.clip(np.rint(blocks / step), -limit, limit)\n"
            "    return (m * step).reshape(np.shape(x))\n```\n\n"
            "With `mantissa_bits=8` this is MXINT8 (`mx_quantize(x, 'int8', block_size=k).dequantize()`). "
            "The clip matters: a block maximum just below $2^{E+1}$ rounds up to $2^{p-1}$, one more than the "
            "mantissa holds."
        ),
        reference=_bfp_reference,
        wrong=[_bfp_ceil, _bfp_no_clip, _bfp_ties_away, _bfp_per_tensor],
    ),
    Question(
        title="Experiment: NVFP4 against MXFP4 on heavy-tailed data",
        checker=Number(_GAIN8, atol=0.02),
        hints=[
            "Make the data with `np.random.default_rng(0).standard_t(3, size=(128, 512)).astype(np.float32)`.",
            "`nvfp4_quantize(x).dequantize()` and `mx_quantize(x, 'float4_e2m1fn').dequantize()`; compare each "
            "with `x` using `support.metrics.sqnr_db`, and subtract.",
        ],
        solution_text=(
            f"NVFP4 gives {_NV8:.2f} dB and MXFP4 {_MX8:.2f} dB, a gain of {_GAIN8:.2f} dB for 0.25 more bits per "
            f"element (INT4 with groups of 128: {_INT8_8:.2f} dB).\n\n"
            "```python\nimport numpy as np\nfrom support.metrics import sqnr_db\n"
            "from support.quant.blocks import mx_quantize, nvfp4_quantize\n"
            "x = np.random.default_rng(0).standard_t(3, size=(128, 512)).astype(np.float32)\n"
            "print(sqnr_db(x, nvfp4_quantize(x).dequantize()) - sqnr_db(x, mx_quantize(x, 'float4_e2m1fn').dequantize()))\n```"
        ),
        reference=_GAIN8,
        wrong=[-_GAIN8, _NV8, _NV8 - _INT8_8, 0.0],
    ),
    Question(
        title="FP8 per tensor against MXFP8",
        checker=Choice(
            "a",
            options={
                "a": "E4M3 already has nearly constant relative precision over about 17 binades, more than a "
                     "tensor's values usually span; a block scale adds nothing but the clipping of the floor rule.",
                "b": "MXFP8 uses E5M2 elements, which have less precision.",
                "c": "The per-tensor scale is an FP32 number, more precise than an E8M0 scale.",
                "d": "MXFP8 rounds its elements toward zero.",
            },
            feedback={
                "b": "MXFP8 can use E4M3 or E5M2; the chapter compares E4M3 with E4M3.",
                "c": "How precisely a float element is scaled barely matters: chapter 06 showed a wide plateau of "
                     "good scales, and a power of two is on it.",
                "d": "MX elements are rounded to nearest, ties to even, as the per-tensor cast is.",
            },
        ),
        hints=[
            "What does a block scale buy an INT4 or FP4 element? Does an E4M3 element need it?",
            "The floor rule puts a block maximum in $[256, 512)$ units of $X$; E4M3 stops at 448.",
        ],
        solution_text=(
            "A float element carries its own exponent, so a scale only has to put the data inside the element's "
            "range; for E4M3 that range is wide, and one scale per tensor suffices. The MX floor rule clips the "
            f"maximum of the blocks with amax/X in (448, 512), {_CLIP['float8_e4m3fn']:.0%} of them for this normal data, "
            f"so MXFP8 E4M3 ({_FLOOR_DB['float8_e4m3fn']:.1f} dB) ends up below per-tensor FP8 ({_FP8_PT:.1f} dB) "
            "while costing 0.25 more bits per element.\n\n"
            "```python\nimport numpy as np\nfrom support.metrics import sqnr_db\n"
            "from support.numbers.scaling import amax_scale, scaled_round\n"
            "from support.quant.blocks import mx_quantize\n"
            "x = np.random.default_rng(1).normal(size=(128, 1024)).astype(np.float32)\n"
            "print(sqnr_db(x, scaled_round(x, amax_scale(x, 'float8_e4m3fn'), 'float8_e4m3fn')),\n"
            "      sqnr_db(x, mx_quantize(x, 'float8_e4m3fn').dequantize()))\n```"
        ),
        reference="a",
        wrong=["b", "c", "d"],
    ),
    Question(
        title="Why does the floor rule clip, and why does rounding the scale up not rescue MXFP4?",
        checker=Explain(
            model_answer=(
                "The E8M0 scale is a power of two chosen from floor(log2 amax), so amax/X lands anywhere in the "
                "element's top binade, [4, 8) for E2M1. E2M1 stops at 6, so blocks with amax/X above 6 clip their "
                f"largest value to 6X: {1 - math.log2(1.5):.0%} of the blocks of normal data on average over scales, more "
                "or fewer depending on where the data's scale falls within a binade. Rounding the scale up "
                "(2^ceil(log2(amax/6)), torchao's RCEIL) never clips, but then amax/X is in (3, 6], the top code 6 "
                "is mostly unused and the step is twice as large for all other values; for FP4 the two errors are "
                "about the same size, so the SQNR hardly changes. NVFP4's E4M3 scale removes the factor-of-two "
                "freedom: amax lands within about 6% of 6."
            ),
            key_points=[
                "a power-of-two scale can only place amax within a factor of 2",
                "floor rule: amax/X in [4, 8), E2M1 max 6: clipping in a large share of the blocks",
                "rounding up avoids clipping but doubles the step of the other values",
                "for FP4 the two effects roughly cancel; for FP8 rounding up helps",
                "a scale with mantissa bits (NVFP4's E4M3) fits amax to about 6",
            ],
        ),
        hints=[
            "Where in units of $X$ can a block's maximum land with $X = 2^{\\lfloor \\log_2 \\mathrm{amax} \\rfloor - 2}$?",
            "With the scale rounded up, what happens to the spacing of the other 31 values?",
        ],
        solution_text=(
            "The floor rule puts amax/X in [4, 8); anything above 6 is clamped "
            f"({_CLIP['float4_e2m1fn']:.0%} of the blocks of this unit-variance normal data; the share depends on "
            "where the data's scale falls within a binade). The rounded-up scale puts amax/X in "
            "(3, 6]: no clipping, but a coarser grid for everything else. On this data the two rules give "
            f"{_FLOOR_DB['float4_e2m1fn']:.2f} and {_CEIL_DB['float4_e2m1fn']:.2f} dB for MXFP4, but "
            f"{_FLOOR_DB['float8_e4m3fn']:.2f} and {_CEIL_DB['float8_e4m3fn']:.2f} dB for MXFP8. NVFP4 fixes the "
            "cause with a scale that has mantissa bits.\n\n"
            "```python\nimport numpy as np\nfrom support.metrics import sqnr_db\n"
            "from support.numbers.formats import round_to\nfrom support.quant.blocks import mx_quantize\n"
            "x = np.random.default_rng(1).normal(size=(128, 1024)).astype(np.float32)\n"
            "b = x.reshape(-1, 32).astype(float)\n"
            "X = 2.0 ** np.ceil(np.log2(np.abs(b).max(axis=1, keepdims=True) / 6))\n"
            "up = (round_to(b / X, 'float4_e2m1fn') * X).reshape(x.shape)\n"
            "print(sqnr_db(x, mx_quantize(x, 'float4_e2m1fn').dequantize()), sqnr_db(x, up))\n```"
        ),
        reference=(
            "A power-of-two scale puts amax/X in [4, 8) while E2M1 stops at 6, so many blocks clip; "
            "rounding up avoids clipping but doubles the step for the other values, which costs about as much."
        ),
    ),
]
