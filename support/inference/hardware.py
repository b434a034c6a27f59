"""Accelerator specifications and the roofline model: intensity, ridge point, decode bound, energy.

The roofline model (Williams, Waterman and Patterson, 2009) bounds the rate of a kernel that performs
``F`` operations on ``B`` bytes moved to and from memory, on a machine with peak rate ``P``
(operations per second) and memory bandwidth ``W`` (bytes per second)::

    attainable = min(P, I * W)      with the arithmetic intensity I = F / B.

The *ridge point* ``P / W`` is the intensity at which the two bounds meet: a kernel below
it is memory-bound, above it compute-bound.

:data:`ACCELERATORS` holds the datasheet numbers of common accelerators, each record
citing its source (a key of the book's ``references.bib``).  Every throughput stored here
is **dense**: NVIDIA's datasheets print the Tensor Core rates of the A100, H100, H200 and
B200 *with 2:4 structured sparsity* (marked with an asterisk), twice the dense rate that
an ordinary matrix product can reach; the records store half those printed numbers and
say so in their ``note``.

>>> h100 = accelerator("H100 SXM")
>>> h100.peak("bf16") / 1e12, h100.bandwidth / 1e12
(989.5, 3.35)
>>> round(h100.ridge_point("bf16"))
295
>>> gemv_intensity(4096, 4096, bytes_weight=2.0, bytes_activation=2.0)  # doctest: +ELLIPSIS
0.999...
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

import numpy as np

from support._validate import integer_in_range, one_of, positive_number, real_array

__all__ = [
    "FORMATS",
    "BYTES_PER_ELEMENT",
    "Accelerator",
    "ACCELERATORS",
    "accelerator",
    "attainable",
    "ridge_point",
    "gemm_intensity",
    "gemv_intensity",
    "attention_intensity",
    "decode_tokens_per_second",
    "ENERGY_45NM_PJ",
    "ForwardEnergy",
    "forward_energy",
]

#: The number formats of the spec table, from the widest to the narrowest.
FORMATS = ("fp32", "tf32", "bf16", "fp16", "fp8", "int8", "int4", "fp4")

#: Bytes one element occupies in memory (TF32 is stored as FP32; 4-bit formats pack two per byte).
BYTES_PER_ELEMENT = MappingProxyType(
    {"fp32": 4.0, "tf32": 4.0, "bf16": 2.0, "fp16": 2.0, "fp8": 1.0, "int8": 1.0, "int4": 0.5, "fp4": 0.5}
)

_MAX_DIM = 2**40


@dataclass(frozen=True)
class Accelerator:
    """One accelerator's datasheet numbers: dense peak rates per format, bandwidth, memory.

    Attributes
    ----------
    name : str
        The product (and form factor), e.g. ``"H100 SXM"``.
    dense_tera_ops : Mapping[str, float]
        Format (one of :data:`FORMATS`) -> dense peak rate in 10^12 operations per second
        (TFLOP/s for floating point, TOPS for integers; a multiply-add counts as two).
    bandwidth_tb_s : float
        Peak memory bandwidth in 10^12 bytes per second.
    memory_gb : float
        Memory capacity in 10^9 bytes.
    memory_type : str
        HBM3, GDDR6, ...
    source : str
        The ``references.bib`` key of the datasheet every number comes from.
    note : str
        How the numbers were read (e.g. "the datasheet prints sparse rates; halved").

    Examples
    --------
    >>> t4 = Accelerator("T4", {"fp32": 8.1, "fp16": 65.0}, 0.32, 16.0, "GDDR6", "nvidia2018t4")
    >>> t4.peak("fp16") / t4.bandwidth
    203.125
    """

    name: str
    dense_tera_ops: Mapping[str, float]
    bandwidth_tb_s: float
    memory_gb: float
    memory_type: str
    source: str
    note: str = ""
    formats: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        for attr in ("name", "memory_type", "source", "note"):
            if not isinstance(getattr(self, attr), str):
                raise TypeError(f"{attr} must be a str, got {getattr(self, attr)!r}")
        if not isinstance(self.dense_tera_ops, Mapping) or not self.dense_tera_ops:
            raise TypeError(f"dense_tera_ops must be a non-empty mapping format -> TFLOP/s, got {self.dense_tera_ops!r}")
        rates = {}
        for fmt, rate in self.dense_tera_ops.items():
            one_of(fmt, "dense_tera_ops format", FORMATS)
            rates[fmt] = positive_number(rate, f"dense_tera_ops[{fmt!r}]")
        object.__setattr__(self, "dense_tera_ops", MappingProxyType(rates))
        object.__setattr__(self, "bandwidth_tb_s", positive_number(self.bandwidth_tb_s, "bandwidth_tb_s"))
        object.__setattr__(self, "memory_gb", positive_number(self.memory_gb, "memory_gb"))
        object.__setattr__(self, "formats", tuple(f for f in FORMATS if f in rates))

    @property
    def bandwidth(self) -> float:
        """Peak memory bandwidth in bytes per second."""
        return self.bandwidth_tb_s * 1e12

    @property
    def memory_bytes(self) -> float:
        """Memory capacity in bytes."""
        return self.memory_gb * 1e9

    def peak(self, fmt: str) -> float:
        """Dense peak rate of format ``fmt`` in operations per second.

        Raises ``ValueError`` naming the formats the datasheet gives when ``fmt`` is not one.
        """
        one_of(fmt, "fmt", FORMATS)
        if fmt not in self.dense_tera_ops:
            raise ValueError(f"fmt: the {self.name} datasheet gives no {fmt} rate; it gives {', '.join(self.formats)}")
        return self.dense_tera_ops[fmt] * 1e12

    def ridge_point(self, fmt: str) -> float:
        """The intensity (operations per byte) at which format ``fmt`` stops being memory-bound."""
        return self.peak(fmt) / self.bandwidth


_NVIDIA_SPARSE = "the datasheet prints Tensor Core rates with 2:4 sparsity (asterisk); stored halved, i.e. dense"

#: The accelerators of chapter 15, dense rates only; each record cites its datasheet.
ACCELERATORS: tuple[Accelerator, ...] = (
    Accelerator("T4", {"fp32": 8.1, "fp16": 65.0, "int8": 130.0, "int4": 260.0}, 0.32, 16.0, "GDDR6",
                "nvidia2018t4", "Turing has no sparsity support: the printed rates are dense; "
                "FP16 is FP16 x FP16 with FP32 accumulation; memory bandwidth printed as 320+ GB/s"),
    Accelerator("A100 SXM 80GB", {"fp32": 19.5, "tf32": 156.0, "bf16": 312.0, "fp16": 312.0, "int8": 624.0},
                2.039, 80.0, "HBM2e", "nvidia2021a100", "dense rates as printed (the sparse ones, marked *, are twice)"),
    Accelerator("H100 SXM", {"fp32": 67.0, "tf32": 494.5, "bf16": 989.5, "fp16": 989.5, "fp8": 1979.0,
                             "int8": 1979.0}, 3.35, 80.0, "HBM3", "nvidia2023h100", _NVIDIA_SPARSE),
    Accelerator("H200 SXM", {"fp32": 67.0, "tf32": 494.5, "bf16": 989.5, "fp16": 989.5, "fp8": 1979.0,
                             "int8": 1979.0}, 4.8, 141.0, "HBM3e", "nvidia2024h200", _NVIDIA_SPARSE),
    Accelerator("B200 (HGX)", {"fp32": 75.0, "tf32": 1100.0, "bf16": 2250.0, "fp16": 2250.0, "fp8": 4500.0,
                               "int8": 4500.0, "fp4": 9000.0}, 7.7, 180.0, "HBM3e", "nvidia2024blackwell",
                _NVIDIA_SPARSE + " (per-GPU column of HGX B200)"),
    Accelerator("MI300X", {"fp32": 163.4, "tf32": 653.7, "bf16": 1307.4, "fp16": 1307.4, "fp8": 2614.9,
                           "int8": 2614.9}, 5.3, 192.0, "HBM3", "amd2023mi300x",
                "AMD prints dense rates and the sparse ones separately; FP32 is the matrix rate"),
    Accelerator("TPU v5e", {"bf16": 197.0, "int8": 393.0}, 0.819, 16.0, "HBM2", "google2023tpuv5e",
                "per chip; TPUs have no sparse mode"),
)

_BY_NAME = {a.name: a for a in ACCELERATORS}


def accelerator(name: str) -> Accelerator:
    """The record of :data:`ACCELERATORS` called ``name``.

    Examples
    --------
    >>> accelerator("MI300X").memory_gb
    192.0
    """
    return _BY_NAME[one_of(name, "name", tuple(_BY_NAME))]


def attainable(intensity: object, peak: float, bandwidth: float) -> np.ndarray | float:
    """The roofline: ``min(peak, intensity * bandwidth)``, in operations per second.

    Parameters
    ----------
    intensity : array_like
        Arithmetic intensity, operations per byte (> 0).
    peak : float
        Peak rate, operations per second.
    bandwidth : float
        Memory bandwidth, bytes per second.

    Examples
    --------
    >>> attainable([1.0, 100.0, 1000.0], peak=1e15, bandwidth=3.35e12)
    array([3.35e+12, 3.35e+14, 1.00e+15])
    """
    x = real_array(intensity, "intensity")
    if np.any(x <= 0):
        raise ValueError("intensity must be > 0 (operations per byte)")
    peak = positive_number(peak, "peak")
    bandwidth = positive_number(bandwidth, "bandwidth")
    result = np.minimum(peak, x.astype(np.float64) * bandwidth)
    return float(result) if result.ndim == 0 else result


def ridge_point(peak: float, bandwidth: float) -> float:
    """The intensity ``peak / bandwidth`` (operations per byte) where the two bounds meet.

    Examples
    --------
    >>> ridge_point(989.5e12, 3.35e12)  # doctest: +ELLIPSIS
    295.37...
    """
    return positive_number(peak, "peak") / positive_number(bandwidth, "bandwidth")


def _dim(value: object, name: str) -> int:
    return integer_in_range(value, name, 1, _MAX_DIM)


def gemm_intensity(m: int, n: int, k: int, *, bytes_weight: float, bytes_activation: float,
                   bytes_output: float | None = None) -> float:
    """Operations per byte of ``Y[m, n] = X[m, k] @ W[k, n]``, each matrix moved once.

    ``2 m n k`` operations (a multiply-add is two) over
    ``k n bytes_weight + m k bytes_activation + m n bytes_output`` bytes: the smallest traffic
    possible, reached when every matrix is read (or written) exactly once.  ``m`` is the batch
    (tokens), ``k`` the input and ``n`` the output features of a linear layer.

    Parameters
    ----------
    m, n, k : int
        The matrix sizes (>= 1).
    bytes_weight, bytes_activation : float
        Bytes per element of W and of X (0.5 for a 4-bit format; add the scales' share,
        e.g. 0.5 + 2/32 for INT4 with an FP16 scale per 32 weights).
    bytes_output : float, optional
        Bytes per element of Y; defaults to ``bytes_activation``.

    Examples
    --------
    >>> gemm_intensity(4096, 4096, 4096, bytes_weight=2.0, bytes_activation=2.0)  # doctest: +ELLIPSIS
    1365.33...
    """
    m, n, k = _dim(m, "m"), _dim(n, "n"), _dim(k, "k")
    bw = positive_number(bytes_weight, "bytes_weight")
    ba = positive_number(bytes_activation, "bytes_activation")
    bo = ba if bytes_output is None else positive_number(bytes_output, "bytes_output")
    return 2.0 * m * n * k / (k * n * bw + m * k * ba + m * n * bo)


def gemv_intensity(n: int, k: int, *, bytes_weight: float, bytes_activation: float,
                   bytes_output: float | None = None) -> float:
    """Operations per byte of a matrix-vector product ``y[n] = x[k] @ W[k, n]`` (``m = 1``).

    About ``2 / bytes_weight``: the weights dominate the traffic, each used for one multiply-add.

    Examples
    --------
    >>> gemv_intensity(8192, 8192, bytes_weight=0.5, bytes_activation=2.0)  # doctest: +ELLIPSIS
    3.99...
    """
    return gemm_intensity(1, n, k, bytes_weight=bytes_weight, bytes_activation=bytes_activation,
                          bytes_output=bytes_output)


def attention_intensity(n_queries: int, n_keys: int, head_dim: int, *, bytes_kv: float,
                        bytes_q: float = 2.0, bytes_output: float = 2.0) -> float:
    """Operations per byte of attention for one key-value head: ``softmax(Q K^T) V``.

    ``Q`` has ``n_queries`` rows (query tokens times the query heads that share this KV
    head under grouped-query attention), ``K`` and ``V`` have ``n_keys`` rows of
    ``head_dim``.  Operations: ``2 n_q n_k d`` for ``Q K^T`` and as many for ``P V``
    (the softmax's few operations per score are left out); bytes: Q, K, V and the output,
    each moved once (the scores stay on chip, as in FlashAttention).

    Examples
    --------
    >>> round(attention_intensity(1, 8192, 128, bytes_kv=2.0), 4)   # decode, one query head per KV head
    0.9999
    >>> round(attention_intensity(8, 8192, 128, bytes_kv=2.0), 2)   # 8 query heads share the KV head
    7.99
    """
    nq, nk, d = _dim(n_queries, "n_queries"), _dim(n_keys, "n_keys"), _dim(head_dim, "head_dim")
    bkv = positive_number(bytes_kv, "bytes_kv")
    bq = positive_number(bytes_q, "bytes_q")
    bo = positive_number(bytes_output, "bytes_output")
    return 4.0 * nq * nk * d / (2 * nk * d * bkv + nq * d * (bq + bo))


def decode_tokens_per_second(n_params: float, bytes_per_param: float, bandwidth: float, *,
                             batch: int = 1, kv_bytes_per_sequence: float = 0.0) -> float:
    """Upper bound on decode speed of one sequence: every step reads all weights (and its KV cache).

    ``batch`` sequences decoded together share one read of the weights per step, so each
    sequence gets ``bandwidth / (n_params bytes_per_param + batch kv_bytes)`` steps per second
    (while the step stays memory-bound: check the intensity against the ridge point).

    Examples
    --------
    >>> round(decode_tokens_per_second(8e9, 2.0, 3.35e12), 1)  # an 8B model in BF16 on an H100
    209.4
    """
    params = positive_number(n_params, "n_params")
    bpp = positive_number(bytes_per_param, "bytes_per_param")
    bw = positive_number(bandwidth, "bandwidth")
    b = integer_in_range(batch, "batch", 1, 2**24)
    kv = positive_number(kv_bytes_per_sequence, "kv_bytes_per_sequence", allow_zero=True)
    return bw / (params * bpp + b * kv)


#: Energy per operation at 45 nm and 0.9 V, in picojoules, from Horowitz's ISSCC 2014 keynote
#: (``references.bib`` key ``horowitz2014energy``).  DRAM is per 64-bit access (he gives 1.3-2.6 nJ);
#: SRAM per 64-bit read of a cache of the size named.  Modern nodes (5-3 nm) are several times lower
#: for arithmetic; DRAM and wires improve far less.
ENERGY_45NM_PJ = MappingProxyType({
    "int8 add": 0.03, "int16 add": 0.05, "int32 add": 0.1,
    "fp16 add": 0.4, "fp32 add": 0.9,
    "int8 mult": 0.2, "int32 mult": 3.1,
    "fp16 mult": 1.1, "fp32 mult": 3.7,
    "sram 8KB read (64 bit)": 10.0, "sram 32KB read (64 bit)": 20.0, "sram 1MB read (64 bit)": 100.0,
    "dram read (64 bit), low": 1300.0, "dram read (64 bit), high": 2600.0,
})


@dataclass(frozen=True)
class ForwardEnergy:
    """Energy of a forward pass, split into arithmetic and weight traffic from DRAM (joules).

    Examples
    --------
    >>> ForwardEnergy(compute_j=0.1, memory_j=22.75).total_j
    22.85
    """

    compute_j: float
    memory_j: float

    def __post_init__(self) -> None:
        for name in ("compute_j", "memory_j"):
            object.__setattr__(self, name, positive_number(getattr(self, name), name, allow_zero=True))

    @property
    def total_j(self) -> float:
        """Arithmetic plus memory."""
        return self.compute_j + self.memory_j


def forward_energy(n_params: float, bytes_per_param: float, *, mac_pj: float, dram_pj_per_byte: float,
                   tokens: int = 1) -> ForwardEnergy:
    """Energy of one forward step over ``tokens`` tokens that reads every weight once from DRAM.

    Assumes one multiply-add per weight per token (the linear layers; attention over the
    context is left out) and that the weights are read from DRAM once for all ``tokens``
    (a batch, or a prompt processed at once) while activations stay on chip.

    Examples
    --------
    >>> e = forward_energy(70e9, 2.0, mac_pj=1.5, dram_pj_per_byte=1300 / 8)
    >>> round(e.compute_j, 3), round(e.memory_j, 2)
    (0.105, 22.75)
    """
    params = positive_number(n_params, "n_params")
    bpp = positive_number(bytes_per_param, "bytes_per_param")
    mac = positive_number(mac_pj, "mac_pj")
    dram = positive_number(dram_pj_per_byte, "dram_pj_per_byte")
    t = integer_in_range(tokens, "tokens", 1, 2**24)
    compute_j, memory_j = params * t * mac * 1e-12, params * bpp * dram * 1e-12
    if not math.isfinite(compute_j):
        raise ValueError(f"n_params * tokens * mac_pj overflows: mac_pj={mac:g}, n_params={params:g}")
    if not math.isfinite(memory_j):
        raise ValueError(f"n_params * bytes_per_param * dram_pj_per_byte overflows: dram_pj_per_byte={dram:g}")
    return ForwardEnergy(compute_j=compute_j, memory_j=memory_j)
