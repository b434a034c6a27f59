"""Weight quantizers for one ``nn.Linear`` weight, each built from :mod:`support.quant`.

Every function here takes the weight ``w`` of a linear layer (shape ``(out, in)``, the
``nn.Linear`` layout, ``y = x @ w.T``) and, where the method needs calibration data,
the layer's real inputs ``x`` (shape ``(tokens, in)``), and returns a
:class:`QuantizedWeight`: the weights the layer computes with after quantization
(dequantized, as an emulation does) and the storage they cost, **scales included**.

========================  ==========================================  ===============================
function                  method                                      storage per weight
========================  ==========================================  ===============================
:func:`int_per_channel`   symmetric INT-b, one float16 scale per row  ``b + 16 / in``
:func:`int_per_group`     symmetric INT-b, a float16 scale per group  ``b + 16 / g``
:func:`gptq`              GPTQ (symmetric INT-b, groups of g)         ``b + 16 / g``
:func:`awq`               AWQ (asymmetric INT-b, groups of g)         ``b + (16 + b) / g + 16 / out``
:func:`hadamard_int`      randomized Hadamard rotation, then INT-b/g  ``b + 16 / g``
:func:`smoothquant_int8`  SmoothQuant-smoothed INT8 per row           ``8 + 16 / in``
:func:`nf4`               NF4, float32 absmax per block of 64         ``4 + 32 / 64``
:func:`fp8_e4m3`          FP8 E4M3, one float32 scale per tensor      ``8 + 32 / (out * in)``
:func:`mxfp4`             OCP MXFP4, E8M0 scale per 32                ``4 + 8 / 32``
:func:`nvfp4`             NVFP4, E4M3 scale per 16 + a tensor scale   ``4 + 8 / 16 + 32 / (out*in)``
========================  ==========================================  ===============================

AWQ's per-input-channel scales ``s`` are counted as one float16 per input channel
(``16 / out`` bits per weight); a deployment that folds them into the previous operation
saves those few bits.  SmoothQuant's factors are not counted: the method divides the
inputs by them by folding them into the LayerNorm that produces those inputs (so only
layers fed by a LayerNorm should be smoothed).  The Hadamard rotation is
block-diagonal, one ``g x g`` randomized Hadamard block per group of ``g`` input
columns, because ``in`` (384, 1536 here) need not be a power of two; its signs come
from a seed and cost nothing to store.  In a deployment the layer's *inputs* are
rotated the same way; the emulation folds the inverse rotation into the weights,
which gives the same product: ``(x Q) Q(w Q)^T = x (Q(w Q) Q^T)^T``.

>>> import numpy as np
>>> w = np.random.default_rng(0).normal(size=(8, 256)).astype(np.float32)
>>> q = int_per_group(w, bits=4, group_size=128)
>>> q.weight.shape, q.bits_per_weight
((8, 256), 4.125)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from support._validate import integer_in_range, positive_int, positive_number, real_array
from support.numbers import formats
from support.numbers.scaling import amax_scale
from support.quant import blocks, codebooks, gptq as _gptq, outliers, rotations, uniform

__all__ = [
    "QuantizedWeight",
    "int_per_channel",
    "int_per_group",
    "gptq",
    "awq",
    "hadamard_int",
    "smoothquant_int8",
    "nf4",
    "fp8_e4m3",
    "mxfp4",
    "nvfp4",
]


@dataclass(frozen=True)
class QuantizedWeight:
    """A linear layer's weight after quantization.

    Attributes
    ----------
    weight : numpy.ndarray of float32
        Shape (out, in).  What the layer multiplies by: the dequantized weights (for SmoothQuant, the
        dequantized *smoothed* weights ``Q(w diag(s))``).
    bits_per_weight : float
        Storage per weight, codes plus every scale, zero-point and factor stored.
    input_divisor : numpy.ndarray of float32 or None
        Shape (in,); SmoothQuant only: the layer's input must be divided by this per-channel factor
        ``s`` (``x diag(s)^-1``) before it meets ``weight``.

    Examples
    --------
    >>> w = np.random.default_rng(0).normal(size=(4, 64)).astype(np.float32)
    >>> q = int_per_channel(w, bits=8)
    >>> q.weight.shape, q.bits_per_weight, q.input_divisor  # 8 bits + a float16 scale per 64
    ((4, 64), 8.25, None)
    """

    weight: np.ndarray
    bits_per_weight: float
    input_divisor: np.ndarray | None = None

    def __post_init__(self) -> None:
        weight = real_array(self.weight, "weight")
        if weight.ndim != 2:
            raise ValueError(f"weight must be 2-D (out, in), got shape {weight.shape}")
        object.__setattr__(self, "weight", np.ascontiguousarray(weight, dtype=np.float32))
        object.__setattr__(self, "bits_per_weight", positive_number(self.bits_per_weight, "bits_per_weight"))
        if self.input_divisor is not None:
            divisor = real_array(self.input_divisor, "input_divisor")
            if divisor.shape != (weight.shape[1],) or np.any(divisor <= 0):
                raise ValueError(f"input_divisor must hold {weight.shape[1]} positive factors (one per input "
                                 f"channel), got shape {divisor.shape}")
            object.__setattr__(self, "input_divisor", np.ascontiguousarray(divisor, dtype=np.float32))


# --------------------------------------------------------------------------- checks


def _weight(w: object) -> np.ndarray:
    arr = real_array(w, "w", as_float=True)
    if arr.ndim != 2:
        raise ValueError(f"w must be a 2-D weight of shape (out, in) (the nn.Linear layout), got shape {arr.shape}")
    return arr


def _inputs(x: object, w: np.ndarray, method: str) -> np.ndarray:
    if x is None:
        raise ValueError(f"{method} needs calibration inputs x of shape (tokens, {w.shape[1]}); got None")
    arr = real_array(x, "x", as_float=True)
    if arr.ndim != 2 or arr.shape[1] != w.shape[1]:
        raise ValueError(
            f"x must have shape (tokens, in) = (tokens, {w.shape[1]}) to match w {w.shape}, got {arr.shape}"
        )
    return arr


def _unused_inputs(x: object, w: np.ndarray) -> None:
    """Methods without calibration ignore ``x``, but refuse one that could not be a layer's inputs."""
    if x is not None:
        _inputs(x, w, "this method")


def _block_multiple(w: np.ndarray, block: int, method: str) -> None:
    if w.shape[1] % block:
        raise ValueError(f"w has {w.shape[1]} input columns; {method} needs a multiple of {block} "
                         "(blocks run along the input axis)")


def _group(w: np.ndarray, group_size: object) -> int:
    g = positive_int(group_size, "group_size")
    if w.shape[1] % g:
        raise ValueError(f"group_size {g} must divide the number of input columns of w, {w.shape[1]}")
    return g


def _result(weight: np.ndarray, bits: float, divisor: np.ndarray | None = None) -> QuantizedWeight:
    return QuantizedWeight(weight=weight, bits_per_weight=float(bits), input_divisor=divisor)


# --------------------------------------------------------------------------- integer grids


def int_per_channel(w: np.ndarray, x: np.ndarray | None = None, *, bits: int = 8) -> QuantizedWeight:
    """Symmetric round-to-nearest with one float16 scale per output channel (row).

    ``x`` is ignored (no calibration).

    Examples
    --------
    >>> q = int_per_channel(np.array([[1.0, -0.5], [0.25, 2.0]]), bits=8)
    >>> q.bits_per_weight  # 8 + 16 / 2
    16.0
    """
    arr = _weight(w)
    _unused_inputs(x, arr)
    q = uniform.quantize(arr, integer_in_range(bits, "bits", 2, 8), axis=0)
    return _result(q.dequantize(), q.bits_per_value)


def int_per_group(w: np.ndarray, x: np.ndarray | None = None, *, bits: int = 4,
                  group_size: int = 128) -> QuantizedWeight:
    """Symmetric round-to-nearest, a float16 scale per row and group of ``group_size`` inputs.

    Examples
    --------
    >>> q = int_per_group(np.array([[3.5, 1.2, -0.3, 0.6]]), bits=4, group_size=2)
    >>> q.weight.tolist(), q.bits_per_weight  # scales 3.5/7 = 0.5 and 0.6/7
    ([[3.5, 1.0, -0.3427734375, 0.599853515625]], 12.0)
    """
    arr = _weight(w)
    _unused_inputs(x, arr)
    q = uniform.quantize(arr, integer_in_range(bits, "bits", 2, 8), axis=1,
                         group_size=_group(arr, group_size))
    return _result(q.dequantize(), q.bits_per_value)


def gptq(w: np.ndarray, x: np.ndarray, *, bits: int = 4, group_size: int = 128) -> QuantizedWeight:
    """GPTQ (:func:`support.quant.gptq.gptq_quantize`) with calibration inputs ``x``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> q = gptq(rng.normal(size=(4, 8)), rng.normal(size=(32, 8)), bits=4, group_size=8)
    >>> q.bits_per_weight  # 4 + 16 / 8
    6.0
    """
    arr = _weight(w)
    result = _gptq.gptq_quantize(arr, _inputs(x, arr, "gptq"), integer_in_range(bits, "bits", 2, 8),
                                 group_size=_group(arr, group_size))
    return _result(result.weight, result.bits_per_value)


def awq(w: np.ndarray, x: np.ndarray, *, bits: int = 4, group_size: int = 128,
        n_grid: int = 20) -> QuantizedWeight:
    """AWQ (:func:`support.quant.outliers.awq_search`): asymmetric INT-b groups after scaling.

    Storage: codes, a float16 scale and a ``bits``-bit zero-point per group, and the
    per-input-channel AWQ scales (float16, ``16 / out`` bits per weight).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> q = awq(rng.normal(size=(4, 8)), rng.normal(size=(32, 8)), bits=4, group_size=8)
    >>> q.bits_per_weight  # 4 + (16 + 4) / 8 + 16 / 4
    10.5
    """
    arr = _weight(w)
    bits = integer_in_range(bits, "bits", 2, 8)
    g = _group(arr, group_size)
    result = outliers.awq_search(_inputs(x, arr, "awq"), arr, bits, group_size=g, n_grid=n_grid)
    return _result(result.weight, bits + (16 + bits) / g + 16 / arr.shape[0])


def hadamard_int(w: np.ndarray, x: np.ndarray | None = None, *, bits: int = 4, group_size: int = 128,
                 seed: int = 0) -> QuantizedWeight:
    """Rotate each group of ``group_size`` input columns by a randomized Hadamard matrix, then INT-b.

    ``Q = H diag(signs) / sqrt(g)`` (:func:`support.quant.rotations.hadamard_rotate`) acts on
    every block of ``g`` consecutive input columns; the rotated weights are quantized with
    :func:`int_per_group` and rotated back.  ``group_size`` must be a power of two.

    Examples
    --------
    >>> w = np.zeros((2, 8)); w[:, 3] = 1.0  # one outlier column
    >>> q = hadamard_int(w, bits=4, group_size=8)
    >>> bool(np.allclose(q.weight, w, atol=0.1)), q.bits_per_weight
    (True, 6.0)
    """
    arr = _weight(w)
    _unused_inputs(x, arr)
    g = _group(arr, group_size)
    if g & (g - 1):
        raise ValueError(f"group_size must be a power of two for a Hadamard rotation, got {g}")
    signs = rotations.random_signs(g, seed)
    out, n_in = arr.shape
    grouped = arr.reshape(out, n_in // g, g)
    rotated = rotations.hadamard_rotate(grouped, signs).reshape(out, n_in)
    q = int_per_group(rotated, bits=bits, group_size=g)
    back = rotations.hadamard_rotate(q.weight.astype(np.float64).reshape(out, n_in // g, g), signs,
                                     inverse=True)
    return _result(back.reshape(out, n_in), q.bits_per_weight)


def smoothquant_int8(w: np.ndarray, x: np.ndarray, *, alpha: float = 0.5) -> QuantizedWeight:
    """SmoothQuant's weights: ``w diag(s)`` quantized to INT8 per row, ``s`` from ``x`` and ``w``.

    ``s_j = max|x_j|**alpha / max|w_j|**(1 - alpha)``
    (:func:`support.quant.outliers.smoothquant_scales`); the layer's inputs must be divided
    by ``s`` (``QuantizedWeight.input_divisor``), and are then quantized to INT8 by the
    harness (:mod:`support.inference.harness`), which makes the method W8A8.  In a deployment
    ``1/s`` is folded into the LayerNorm that feeds the layer, so ``s`` costs no storage.

    Examples
    --------
    >>> x = np.array([[100.0, 1.0], [-50.0, 0.5]]); w = np.array([[0.5, 0.5], [1.0, -1.0]])
    >>> q = smoothquant_int8(w, x)
    >>> q.input_divisor.tolist()  # sqrt(100 / 1), sqrt(1 / 1)
    [10.0, 1.0]
    """
    arr = _weight(w)
    xa = _inputs(x, arr, "smoothquant_int8")
    s = outliers.smoothquant_scales(np.abs(xa).max(axis=0), np.abs(arr).max(axis=0), alpha)
    q = uniform.quantize(arr * s, 8, axis=0)
    return _result(q.dequantize(), q.bits_per_value, divisor=s)


# --------------------------------------------------------------------------- codebooks and floats


def nf4(w: np.ndarray, x: np.ndarray | None = None, *, block_size: int = 64) -> QuantizedWeight:
    """NF4 with a float32 absmax per block (:func:`support.quant.codebooks.quantize_blockwise`).

    Bit-identical to ``bitsandbytes.functional.quantize_4bit(..., quant_type="nf4")`` on the CPU.

    Examples
    --------
    >>> nf4(np.ones((2, 64))).bits_per_weight
    4.5
    """
    arr = _weight(w)
    _unused_inputs(x, arr)
    q = codebooks.quantize_blockwise(arr, codebooks.NF4, positive_int(block_size, "block_size"))
    return _result(q.dequantize(), q.bits_per_value)


def fp8_e4m3(w: np.ndarray, x: np.ndarray | None = None) -> QuantizedWeight:
    """FP8 E4M3 (``float8_e4m3fn``) with one float32 amax scale for the whole tensor.

    ``w_hat = round(w s) / s`` with ``s = 448 / max|w|``
    (:func:`support.numbers.scaling.amax_scale`).

    Examples
    --------
    >>> q = fp8_e4m3(np.array([[448.0, 1.0], [0.3, -2.0]]))
    >>> q.weight.tolist()[1], q.bits_per_weight  # 0.3 -> 0.3125 in E4M3
    ([0.3125, -2.0], 16.0)
    """
    arr = _weight(w)
    _unused_inputs(x, arr)
    s = amax_scale(arr, "float8_e4m3fn")
    return _result(formats.round_to(arr * s, "float8_e4m3fn") / s, 8 + 32 / arr.size)


def mxfp4(w: np.ndarray, x: np.ndarray | None = None) -> QuantizedWeight:
    """OCP MXFP4: E2M1 elements, an E8M0 scale per 32 consecutive inputs of a row.

    Examples
    --------
    >>> mxfp4(np.ones((2, 32))).bits_per_weight
    4.25
    """
    arr = _weight(w)
    _unused_inputs(x, arr)
    _block_multiple(arr, 32, "MXFP4")
    q = blocks.mx_quantize(arr, "float4_e2m1fn", 32, axis=1)
    return _result(q.dequantize(), q.bits_per_value)


def nvfp4(w: np.ndarray, x: np.ndarray | None = None) -> QuantizedWeight:
    """NVFP4: E2M1 elements, an E4M3 scale per 16 inputs of a row, a float32 tensor scale.

    Examples
    --------
    >>> nvfp4(np.ones((2, 16))).bits_per_weight  # 4 + 8/16 + 32/32
    5.5
    """
    arr = _weight(w)
    _unused_inputs(x, arr)
    _block_multiple(arr, 16, "NVFP4")
    q = blocks.nvfp4_quantize(arr, 16, axis=1)
    return _result(q.dequantize(), q.bits_per_value)
