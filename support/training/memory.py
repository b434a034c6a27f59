"""How much accelerator memory training and inference need: a budget per GPU.

Training memory has four parts (Rajbhandari et al., 2020, "ZeRO"):

- the weights the forward pass reads;
- their gradients;
- the optimizer's states (for Adam: the moments m and v, plus an FP32 master copy of the
  weights when the weights themselves are 16-bit);
- the activations saved for the backward pass.

Bytes per parameter for the weights, gradients and optimizer states (:data:`TRAINING_MODES`):

======================  =======  =========  =========  =====
mode                    weights  gradients  optimizer  total
======================  =======  =========  =========  =====
``"fp32"``              4        4          8 (m, v)   16
``"mixed"``             2        2          12         16
``"bf16"`` (no master)  2        2          4 (m, v)   8
======================  =======  =========  =========  =====

``"mixed"`` is mixed-precision Adam as ZeRO counts it: 16-bit weights and gradients,
FP32 master weights, m and v (``K = 12`` bytes of optimizer state per parameter).

ZeRO data parallelism over ``N`` GPUs partitions the optimizer states (stage 1), also
the gradients (stage 2), also the weights (stage 3); stage 0 is plain data parallelism
(everything replicated).  Activations are not partitioned by ZeRO.

Activations of a transformer layer follow Korthikanti et al. (2022): with 16-bit
activations and no tensor parallelism a layer saves ``s·b·h·(34 + 5·a·s/h)`` bytes
(sequence length ``s``, micro-batch ``b``, hidden size ``h``, ``a`` heads); with full
activation checkpointing only each layer's input, ``2·s·b·h`` bytes, is kept.

All results are in bytes; divide by 1e9 for the GB of the papers.

>>> round(training_memory(7.5e9, "mixed").total / 1e9, 1)              # ZeRO's baseline
120.0
>>> [round(training_memory(7.5e9, "mixed", n_gpus=64, zero_stage=k).total / 1e9, 1) for k in (1, 2, 3)]
[31.4, 16.6, 1.9]
"""

from __future__ import annotations

from typing import NamedTuple

from support._validate import flag, integer_in_range, one_of, positive_int, positive_number

__all__ = ["TRAINING_MODES", "MemoryBudget", "training_memory", "inference_memory", "activation_memory"]

#: Bytes per parameter of each training mode, as (weights, gradients, optimizer states).
TRAINING_MODES: dict[str, tuple[float, float, float]] = {
    "fp32": (4.0, 4.0, 8.0),
    "mixed": (2.0, 2.0, 12.0),
    "bf16": (2.0, 2.0, 4.0),
}


class _BudgetFields(NamedTuple):
    weights: float
    gradients: float
    optimizer: float
    activations: float


class MemoryBudget(_BudgetFields):
    """Bytes per GPU, by part (a named tuple ``(weights, gradients, optimizer, activations)``).

    >>> b = MemoryBudget(weights=2.0, gradients=2.0, optimizer=12.0, activations=0.0)
    >>> b.total
    16.0
    """

    __slots__ = ()

    def __new__(cls, weights: float, gradients: float, optimizer: float, activations: float) -> MemoryBudget:
        """Check the fields: finite numbers of bytes, >= 0."""
        parts = {"weights": weights, "gradients": gradients, "optimizer": optimizer, "activations": activations}
        return super().__new__(cls, *(positive_number(v, n, allow_zero=True) for n, v in parts.items()))

    @property
    def total(self) -> float:
        return self.weights + self.gradients + self.optimizer + self.activations


def training_memory(
    n_params: float,
    mode: str = "mixed",
    *,
    n_gpus: int = 1,
    zero_stage: int = 0,
    activations: float = 0.0,
) -> MemoryBudget:
    """Memory per GPU to train a model of ``n_params`` parameters with Adam.

    Parameters
    ----------
    n_params : float
        Number of parameters (e.g. ``7e9``).
    mode : {"fp32", "mixed", "bf16"}
        See :data:`TRAINING_MODES`.
    n_gpus : int
        Data-parallel GPUs.
    zero_stage : {0, 1, 2, 3}
        What ZeRO partitions across them: nothing, optimizer states, + gradients, + weights.
    activations : float
        Activation bytes per GPU (e.g. from :func:`activation_memory`), added as they are.

    Returns
    -------
    MemoryBudget

    Examples
    --------
    >>> b = training_memory(1e9, "fp32")
    >>> b.weights, b.gradients, b.optimizer, b.total
    (4000000000.0, 4000000000.0, 8000000000.0, 16000000000.0)
    """
    n = positive_number(n_params, "n_params")
    one_of(mode, "mode", tuple(TRAINING_MODES))
    gpus = positive_int(n_gpus, "n_gpus")
    stage = integer_in_range(zero_stage, "zero_stage", 0, 3)
    act = positive_number(activations, "activations", allow_zero=True)
    w, g, o = (b * n for b in TRAINING_MODES[mode])
    return MemoryBudget(
        weights=w / gpus if stage >= 3 else w,
        gradients=g / gpus if stage >= 2 else g,
        optimizer=o / gpus if stage >= 1 else o,
        activations=act,
    )


def inference_memory(n_params: float, bits: float) -> float:
    """Bytes of the weights alone at ``bits`` per parameter (no KV cache, no activations).

    >>> inference_memory(13e9, 4) / 1e9
    6.5
    """
    n = positive_number(n_params, "n_params")
    b = positive_number(bits, "bits")
    return n * b / 8


def activation_memory(
    seq_len: int,
    batch: int,
    hidden: int,
    n_heads: int,
    n_layers: int,
    *,
    checkpointing: bool = False,
) -> float:
    """Bytes of activations a transformer saves for its backward pass (16-bit activations).

    Korthikanti et al. (2022), eq. (1): ``s·b·h·(34 + 5·a·s/h)`` per layer without
    recomputation (attention scores and softmax stored), and ``2·s·b·h`` per layer with full
    activation checkpointing (each layer's input is kept; the rest is recomputed).
    No tensor or sequence parallelism; embeddings and the output layer are not counted.

    >>> activation_memory(2048, 1, 4096, 32, 32) / 2**30                  # 7B-like, one sequence
    28.5
    >>> activation_memory(2048, 1, 4096, 32, 32, checkpointing=True) / 2**30
    0.5
    """
    s = positive_int(seq_len, "seq_len")
    b = positive_int(batch, "batch")
    h = positive_int(hidden, "hidden")
    a = positive_int(n_heads, "n_heads")
    layers = positive_int(n_layers, "n_layers")
    if flag(checkpointing, "checkpointing"):
        return float(2 * s * b * h * layers)
    return float(s * b * h * (34 + 5 * a * s / h) * layers)
