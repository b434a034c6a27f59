"""A tiny byte-level transformer language model and a training loop with precision modes.

Chapters 13 and 14 train the same small model on the same real text (the Python language
reference that ships with CPython, :func:`support.corpus.documentation_text`) and change
one thing at a time: the number format, the optimizer's details, a stabilising trick.
A run of a few hundred steps takes seconds on two CPU cores and is repeatable: the data
order, the initial weights and every random choice come from ``seed``.

Precision modes (``TrainConfig.precision``):

``"fp32"``
    Everything in float32: the reference.
``"bf16-mixed"``
    ``torch.autocast`` to bfloat16 for the forward and backward pass; the weights, their
    gradients and Adam's states stay float32 (FP32 *master weights*).
``"bf16-pure"``
    The model itself in bfloat16: weights, gradients and Adam's states.  Each weight
    update is rounded to bfloat16 (``update_rounding``: ``"nearest"``, ``"stochastic"``
    or ``"kahan"``, see :mod:`support.training.rounding`).
``"fp16-mixed"``
    ``torch.autocast`` to float16 with FP32 master weights and loss scaling
    (``loss_scale``: ``"torch"`` for ``torch.amp.GradScaler``, ``"dynamic"`` for the
    course's :class:`~support.training.loss_scaling.DynamicLossScaler`, a number for a
    static scale, or ``None`` for none).
``"fp8-sim"``
    Every linear layer's matmuls see E4M3 inputs and weights and E5M2 output gradients
    with per-tensor delayed scaling (:mod:`support.training.fp8`); the rest in float32.

On a CUDA device the same modes run on the GPU (``device="cuda"``): autocast becomes CUDA
autocast, a GPU without BF16 support refuses the BF16 modes, and ``fp8_real_matmul=True``
runs the FP8 forward matmuls on FP8 tensor cores (compute capability 8.9 or newer).

This module imports torch when it is imported (it is all torch); ``import support`` does
not import it.

>>> result = train(LMConfig(d_model=32, n_layers=1), TrainConfig(steps=5, batch_size=4))
>>> result.losses.shape, bool(result.losses[-1] < result.losses[0])
((5,), True)
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from support._validate import as_numpy, check_fields, flag, integer_in_range, one_of, positive_int, positive_number, real_array
from support.training.fp8 import Fp8Linear
from support.training.loss_scaling import DynamicLossScaler
from support.training.rounding import kahan_add_bf16, stochastic_round_bf16

__all__ = [
    "PRECISIONS", "UPDATE_ROUNDINGS", "LMConfig", "TrainConfig", "TrainResult", "TinyLM", "Adam",
    "corpus_bytes", "train", "autocast_dtypes", "bf16_capable",
]

PRECISIONS = ("fp32", "bf16-mixed", "bf16-pure", "fp16-mixed", "fp8-sim")
UPDATE_ROUNDINGS = ("nearest", "stochastic", "kahan")
_LOSS_SCALES = ("torch", "dynamic")


# --------------------------------------------------------------------------- data
_CORPUS: dict[str, torch.Tensor] = {}


def corpus_bytes() -> torch.Tensor:
    """The training text as a 1-D uint8 tensor of UTF-8 bytes (cached).

    >>> data = corpus_bytes()
    >>> data.dtype, len(data) > 100_000
    (torch.uint8, True)
    """
    if "text" not in _CORPUS:
        from support.corpus import documentation_text

        _CORPUS["text"] = torch.frombuffer(bytearray(documentation_text().encode("utf-8")), dtype=torch.uint8)
    return _CORPUS["text"]


@lru_cache(maxsize=None)
def _splits(val_fraction: float = 0.1) -> tuple[torch.Tensor, torch.Tensor]:
    """The training and held-out bytes as int64 (cached: every run reads them, none writes them)."""
    data = corpus_bytes().long()
    cut = int(len(data) * (1 - val_fraction))
    return data[:cut], data[cut:]


@lru_cache(maxsize=None)
def _future_mask(t: int, device: torch.device) -> torch.Tensor:
    """True above the diagonal of a t × t matrix: the keys a causal query must not see (cached, read only)."""
    return torch.ones(t, t, dtype=torch.bool, device=device).tril().logical_not()


def _batch(data: torch.Tensor, batch_size: int, seq_len: int, generator: torch.Generator):
    starts = torch.randint(0, len(data) - seq_len - 1, (batch_size,), generator=generator)
    offsets = torch.arange(seq_len + 1)
    window = data[starts[:, None] + offsets]
    return window[:, :-1], window[:, 1:]


# --------------------------------------------------------------------------- model
@dataclass(frozen=True)
class LMConfig:
    """The model's shape and its stabilising options.

    Attributes
    ----------
    d_model : int
        Width of the residual stream.
    n_heads : int
        Attention heads per block.
    n_layers : int
        Transformer blocks.
    seq_len : int
        Context length (bytes).
    qk_norm : bool
        LayerNorm on each head's queries and keys before their dot product.
    attention_softcap : float or None
        ``cap * tanh(logit / cap)`` on the attention logits (Gemma 2 uses 50).
    qk_scale : float or None
        Multiplier of q·k (None: ``1 / sqrt(head_dim)``).
    init_std : float
        Standard deviation of the initial weights.

    Examples
    --------
    >>> LMConfig(qk_norm=True).d_model
    64
    >>> LMConfig(d_model=30, n_heads=4)
    Traceback (most recent call last):
    ...
    ValueError: d_model (30) must be a multiple of n_heads (4)
    """

    d_model: int = 64
    n_heads: int = 4
    n_layers: int = 2
    seq_len: int = 32
    qk_norm: bool = False
    attention_softcap: float | None = None
    qk_scale: float | None = None
    init_std: float = 0.02

    def __post_init__(self) -> None:
        for name in ("d_model", "n_heads", "n_layers", "seq_len"):
            positive_int(getattr(self, name), name)
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model ({self.d_model}) must be a multiple of n_heads ({self.n_heads})")
        flag(self.qk_norm, "qk_norm")
        if self.attention_softcap is not None:
            positive_number(self.attention_softcap, "attention_softcap")
        if self.qk_scale is not None:
            positive_number(self.qk_scale, "qk_scale")
        positive_number(self.init_std, "init_std")


class _Block(nn.Module):
    def __init__(self, cfg: LMConfig) -> None:
        super().__init__()
        d, self.heads = cfg.d_model, cfg.n_heads
        self.cfg = cfg
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.fc1, self.fc2 = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)
        head_dim = d // cfg.n_heads
        self.q_norm = nn.LayerNorm(head_dim) if cfg.qk_norm else nn.Identity()
        self.k_norm = nn.LayerNorm(head_dim) if cfg.qk_norm else nn.Identity()
        self.scale = cfg.qk_scale if cfg.qk_scale is not None else head_dim**-0.5
        self.max_logit = 0.0

    def attention(self, x: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        q, k, v = self.qkv(x).view(b, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        q, k = self.q_norm(q), self.k_norm(k)
        logits = (q @ k.transpose(-1, -2)) * self.scale
        future = _future_mask(t, x.device)
        self.max_logit = float(logits.detach().masked_fill(future, 0).abs().max())
        cap = self.cfg.attention_softcap
        if cap is not None:
            logits = cap * torch.tanh(logits / cap)
        weights = torch.softmax(logits.masked_fill(future, float("-inf")), dim=-1)
        return self.proj((weights @ v).transpose(1, 2).reshape(b, t, d))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attention(self.ln1(x))
        return x + self.fc2(F.gelu(self.fc1(self.ln2(x))))


class TinyLM(nn.Module):
    """A GPT-style byte-level language model: embeddings, pre-LayerNorm blocks, a linear head.

    ``forward(idx)`` maps int64 byte indices of shape (batch, time) to logits of shape
    (batch, time, 256).  After each forward pass, ``max_attention_logit`` holds the
    largest ``|q·k · scale|`` over all heads and layers (before any soft-capping).

    Examples
    --------
    >>> torch.manual_seed(0)
    <torch._C.Generator object at ...>
    >>> TinyLM(LMConfig(d_model=32, n_layers=1))(torch.zeros(2, 8, dtype=torch.long)).shape
    torch.Size([2, 8, 256])
    """

    def __init__(self, cfg: LMConfig) -> None:
        super().__init__()
        if not isinstance(cfg, LMConfig):
            raise TypeError(f"cfg must be an LMConfig, got {type(cfg).__name__}")
        self.cfg = cfg
        self.tok = nn.Embedding(256, cfg.d_model)
        self.pos = nn.Embedding(cfg.seq_len, cfg.d_model)
        self.blocks = nn.ModuleList(_Block(cfg) for _ in range(cfg.n_layers))
        self.ln_f = nn.LayerNorm(cfg.d_model)
        self.head = nn.Linear(cfg.d_model, 256, bias=False)
        for name, p in self.named_parameters():
            if p.dim() == 2:
                nn.init.normal_(p, std=cfg.init_std)
            elif name.endswith("bias"):
                nn.init.zeros_(p)

    @property
    def max_attention_logit(self) -> float:
        return max(block.max_logit for block in self.blocks)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        t = idx.shape[1]
        x = self.tok(idx) + self.pos(torch.arange(t, device=idx.device))
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln_f(x))


# --------------------------------------------------------------------------- optimizer
def _undecorated(function):
    """``function`` without the ``torch._dynamo.disable`` wrapper torch puts on some methods."""
    return getattr(function, "__wrapped__", function)


class Adam(torch.optim.Optimizer):
    """Adam with decoupled weight decay (AdamW), written out so that its numerics can change.

    With the defaults it computes exactly what ``torch.optim.AdamW`` computes (tested bit
    for bit in float32).  The options that chapter 14 varies:

    - ``state_dtype``: the dtype of the moment estimates m and v (default: the weight's);
    - ``bias_correction=False`` drops the 1/(1 - β^t) factors;
    - ``update_rounding`` for bfloat16 weights: ``"nearest"`` (a plain BF16 add),
      ``"stochastic"`` or ``"kahan"``.

    After each step, ``self.updates_lost`` is the fraction of weight elements that had a
    nonzero update but did not change (rounded away).

    Examples
    --------
    >>> layer = torch.nn.Linear(4, 1, bias=False).bfloat16()
    >>> _ = torch.nn.init.ones_(layer.weight)
    >>> opt = Adam(list(layer.parameters()), lr=1e-3)       # the first step moves each weight by lr
    >>> layer(torch.ones(1, 4, dtype=torch.bfloat16)).sum().backward()
    >>> opt.step(); opt.updates_lost                  # 1e-3 < ulp(1)/2 in BF16: every update lost
    1.0
    """

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, *, bias_correction: bool = True, state_dtype: torch.dtype | None = None,
                 update_rounding: str = "nearest", seed: int = 0) -> None:
        if isinstance(params, torch.Tensor) or not hasattr(params, "__iter__"):
            raise TypeError(f"params must be an iterable of tensors (model.parameters()), got {type(params).__name__}")
        positive_number(lr, "lr")
        positive_number(eps, "eps", allow_zero=True)
        positive_number(weight_decay, "weight_decay", allow_zero=True)
        if (not isinstance(betas, (tuple, list)) or len(betas) != 2
                or not all(isinstance(b, (int, float)) and not isinstance(b, bool) and 0 <= b < 1 for b in betas)):
            raise ValueError(f"betas must be two numbers in [0, 1), got {betas!r}")
        if update_rounding not in UPDATE_ROUNDINGS:
            raise ValueError(f"update_rounding must be one of {UPDATE_ROUNDINGS}, got {update_rounding!r}")
        if state_dtype is not None and not (isinstance(state_dtype, torch.dtype) and state_dtype.is_floating_point):
            raise TypeError(f"state_dtype must be None or a torch floating dtype such as torch.bfloat16, got {state_dtype!r}")
        seed = integer_in_range(seed, "seed", 0, 2**63 - 1)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)
        super().__init__(params, defaults)
        self.bias_correction = flag(bias_correction, "bias_correction")
        self.state_dtype = state_dtype
        self.update_rounding = update_rounding
        self.generator: torch.Generator | None = None
        self._seed = seed
        self.updates_lost = 0.0

    # torch.optim.Optimizer wraps these two in torch._dynamo.disable, whose first call imports
    # torch._dynamo (about 2 s on two CPU cores, once per process); this optimizer is never
    # compiled, so it calls the functions themselves.
    def add_param_group(self, param_group: dict) -> None:
        """Add a group of parameters with its own settings (torch's method, called directly)."""
        _undecorated(torch.optim.Optimizer.add_param_group)(self, param_group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients, to ``None`` by default (torch's method, called directly)."""
        _undecorated(torch.optim.Optimizer.zero_grad)(self, set_to_none)

    @torch.no_grad()
    def step(self, closure=None):  # noqa: D102 - torch's signature
        lost = total = 0
        for group in self.param_groups:
            lr, (b1, b2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
            float32 = []                 # float32 weights and moments: updated together below
            for p in group["params"]:
                if p.grad is None:
                    continue
                st = self.state[p]
                if not st:
                    dtype = self.state_dtype or p.dtype
                    st["step"] = 0
                    st["m"] = torch.zeros_like(p, dtype=dtype)
                    st["v"] = torch.zeros_like(p, dtype=dtype)
                    if p.dtype == torch.bfloat16 and self.update_rounding == "kahan":
                        st["c"] = torch.zeros_like(p)
                st["step"] += 1
                if p.dtype == torch.float32 and st["m"].dtype == torch.float32:
                    float32.append(p)
                    continue
                m, v, g = st["m"], st["v"], p.grad.to(st["m"].dtype)
                m.lerp_(g, 1 - b1)
                v.mul_(b2).addcmul_(g, g, value=1 - b2)
                bc1, bc2 = self._bias_corrections(b1, b2, st["step"])
                m32, v32 = m.float(), v.float()
                update = -(lr / bc1) * m32 / ((v32.sqrt() / math.sqrt(bc2)) + eps) - lr * wd * p.float()
                new = self._apply(p, update, st)
                lost += int(((new == p) & (update != 0)).sum())
                total += p.numel()
                p.copy_(new)
            self._step_float32(float32, lr, b1, b2, eps, wd)
        self.updates_lost = lost / total if total else 0.0

    def _bias_corrections(self, b1: float, b2: float, step: int) -> tuple[float, float]:
        return (1 - b1**step, 1 - b2**step) if self.bias_correction else (1.0, 1.0)

    def _step_float32(self, params: list, lr: float, b1: float, b2: float, eps: float, wd: float) -> None:
        """torch.optim.AdamW's update, in its order, of float32 weights with float32 moments.

        The ``torch._foreach_*`` functions apply one operation to a list of tensors; for float32
        tensors on the CPU the results equal a loop over the tensors bit for bit (tested against
        ``torch.optim.AdamW(foreach=False)``).  For float16 they do not (torch 2.13: ``mul_`` and
        ``addcmul_`` round differently), so the narrower formats keep the loop in :meth:`step`.
        """
        by_step: dict[int, list[torch.Tensor]] = {}
        for p in params:
            by_step.setdefault(self.state[p]["step"], []).append(p)
        for step, ps in by_step.items():
            grads = [p.grad for p in ps]
            ms, vs = [self.state[p]["m"] for p in ps], [self.state[p]["v"] for p in ps]
            bc1, bc2 = self._bias_corrections(b1, b2, step)
            torch._foreach_lerp_(ms, grads, 1 - b1)
            torch._foreach_mul_(vs, b2)
            torch._foreach_addcmul_(vs, grads, grads, value=1 - b2)
            torch._foreach_mul_(ps, 1 - lr * wd)
            denom = torch._foreach_sqrt(vs)
            torch._foreach_div_(denom, math.sqrt(bc2))
            torch._foreach_add_(denom, eps)
            torch._foreach_addcdiv_(ps, ms, denom, value=-lr / bc1)

    def _apply(self, p: torch.Tensor, update: torch.Tensor, st: dict) -> torch.Tensor:
        if p.dtype != torch.bfloat16:
            return (p.float() + update).to(p.dtype)
        if self.update_rounding == "nearest":
            return (p.float() + update).to(torch.bfloat16)
        if self.update_rounding == "stochastic":
            if self.generator is None:
                self.generator = torch.Generator(device=p.device).manual_seed(self._seed)
            return stochastic_round_bf16(p.float() + update, self.generator)
        new, st["c"] = kahan_add_bf16(p, update, st["c"])
        return new


# --------------------------------------------------------------------------- training
@dataclass(frozen=True)
class TrainConfig:
    """What a training run does (see the module docstring for ``precision``).

    The learning rate rises linearly for ``warmup`` steps, then follows a cosine down to
    ``lr * min_lr_ratio`` at the last step.

    >>> tc = TrainConfig(steps=100, lr=1e-3, warmup=10)
    >>> tc.lr_at(0), tc.lr_at(9), round(tc.lr_at(99), 6)
    (0.0001, 0.001, 0.0001)
    """

    precision: str = "fp32"
    steps: int = 200
    batch_size: int = 16
    lr: float = 3e-3
    warmup: int = 20
    min_lr_ratio: float = 0.1
    betas: tuple[float, float] = (0.9, 0.95)
    eps: float = 1e-8
    weight_decay: float = 0.0
    bias_correction: bool = True
    state_dtype: str | None = None
    update_rounding: str = "nearest"
    loss_scale: str | float | None = "dynamic"
    init_scale: float = 2.0**16
    growth_interval: int = 2000
    grad_clip: float | None = None
    z_loss: float = 0.0
    fp8_scaled: bool = True
    fp8_real_matmul: bool = False
    seed: int = 0
    device: str = "cpu"
    val_batches: int = 8

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {self.precision!r}")
        for name in ("steps", "batch_size", "growth_interval", "val_batches"):
            positive_int(getattr(self, name), name)
        integer_in_range(self.warmup, "warmup", 0, 2**31, why="steps of linear warm-up")
        integer_in_range(self.seed, "seed", 0, 2**63 - 1)
        for name in ("bias_correction", "fp8_scaled", "fp8_real_matmul"):
            flag(getattr(self, name), name)
        positive_number(self.eps, "eps")
        positive_number(self.weight_decay, "weight_decay", allow_zero=True)
        betas = real_array(self.betas, "betas")
        if betas.shape != (2,) or not ((0 <= betas) & (betas < 1)).all():
            raise ValueError(f"betas must be two numbers in [0, 1), got {self.betas!r}")
        positive_number(self.lr, "lr")
        positive_number(self.min_lr_ratio, "min_lr_ratio", allow_zero=True)
        positive_number(self.z_loss, "z_loss", allow_zero=True)
        positive_number(self.init_scale, "init_scale")
        if self.update_rounding not in UPDATE_ROUNDINGS:
            raise ValueError(f"update_rounding must be one of {UPDATE_ROUNDINGS}, got {self.update_rounding!r}")
        if self.update_rounding != "nearest" and self.precision != "bf16-pure":
            raise ValueError("update_rounding applies to precision='bf16-pure' only")
        if self.state_dtype not in (None, "float32", "bfloat16", "float16"):
            raise ValueError(f"state_dtype must be None, 'float32', 'bfloat16' or 'float16', got {self.state_dtype!r}")
        ls = self.loss_scale
        if not (ls is None or ls in _LOSS_SCALES or (isinstance(ls, (int, float)) and not isinstance(ls, bool))):
            raise ValueError(f"loss_scale must be 'torch', 'dynamic', a positive number or None, got {ls!r}")
        if isinstance(ls, (int, float)):
            positive_number(ls, "loss_scale")
        if self.grad_clip is not None:
            positive_number(self.grad_clip, "grad_clip")
        if self.device not in ("cpu", "cuda"):
            raise ValueError(f"device must be 'cpu' or 'cuda', got {self.device!r}")

    def lr_at(self, step: int) -> float:
        """The learning rate of step ``step`` (0-based)."""
        if step < self.warmup:
            return self.lr * (step + 1) / self.warmup
        frac = (step - self.warmup) / max(1, self.steps - 1 - self.warmup)
        return self.lr * (self.min_lr_ratio + (1 - self.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * frac)))


@dataclass
class TrainResult:
    """What a run recorded, one value per step unless said otherwise (numpy float64 arrays).

    >>> r = train(LMConfig(d_model=16, n_heads=2, n_layers=1, seq_len=8), TrainConfig(steps=3, batch_size=2))
    >>> r.losses.shape, r.skipped.dtype, r.path
    ((3,), dtype('bool'), 'fp32 on the CPU')
    """

    losses: np.ndarray
    val_loss: float                      # mean loss on held-out text after the last step
    lr: np.ndarray
    grad_norm: np.ndarray                # global gradient norm before clipping (NaN if skipped)
    loss_scale: np.ndarray               # the scale used at each step (1 without scaling)
    skipped: np.ndarray                  # bool: step skipped by the loss scaler
    zero_grad_fraction: np.ndarray       # fraction of gradient elements exactly zero
    max_attention_logit: np.ndarray
    log_z: np.ndarray                    # mean log-sum-exp of the output logits
    updates_lost: np.ndarray             # fraction of weight updates rounded away (bf16-pure)
    path: str                            # which device and arithmetic ran
    seconds: float
    model: nn.Module = field(repr=False)

    def __post_init__(self) -> None:
        """Check the fields: one value per step in every per-step array (NaN/inf: a diverged run)."""
        check_fields(self, losses="array", val_loss="number", lr="array", grad_norm="array", loss_scale="array",
                     zero_grad_fraction="array", max_attention_logit="array", log_z="array",
                     updates_lost="array", path="text", seconds="number")
        skipped = as_numpy(self.skipped, "skipped")
        if skipped.dtype != np.bool_:
            raise TypeError(f"skipped must be a boolean array (step skipped or not), got dtype {skipped.dtype}")
        steps = self.losses.shape
        for name in ("lr", "grad_norm", "loss_scale", "zero_grad_fraction", "max_attention_logit", "log_z",
                     "updates_lost", "skipped"):
            if np.shape(getattr(self, name) if name != "skipped" else skipped) != steps:
                raise ValueError(f"{name} must hold one value per step, like losses {steps}")
        object.__setattr__(self, "skipped", skipped)
        if not isinstance(self.model, nn.Module):
            raise TypeError(f"model must be the trained torch.nn.Module, got {type(self.model).__name__}")


def autocast_dtypes(device: str = "cpu", dtype: str = "bfloat16") -> dict[str, str]:
    """The output dtype of some common ops under ``torch.autocast`` on ``device``.

    Autocast keeps a list of ops that run in the low-precision dtype (their inputs are
    cast down), a list of ops that run in float32 (their inputs are cast up), and lets the
    other ops run in the dtype of their inputs.  The lists differ between devices and
    torch versions, so inspect them rather than recite them.  Here the matrix products get
    float32 inputs (does autocast cast them down?) and every other op gets the 16-bit output
    of a matrix product (does autocast cast it back up?).

    >>> d = autocast_dtypes("cpu")
    >>> d["matmul"], d["cross_entropy"]
    ('torch.bfloat16', 'torch.float32')
    """
    one_of(device, "device", ("cpu", "cuda"))
    if dtype not in ("bfloat16", "float16"):
        raise ValueError(f"dtype must be 'bfloat16' or 'float16', got {dtype!r}")
    x = torch.randn(8, 8, device=device)
    target = torch.zeros(8, dtype=torch.long, device=device)
    with torch.autocast(device, dtype=getattr(torch, dtype)):
        h = x @ x                                   # a 16-bit activation, as after a linear layer
        ops = {
            "matmul": lambda: x @ x,
            "linear": lambda: F.linear(x, x),
            "softmax": lambda: torch.softmax(h, -1),
            "log_softmax": lambda: torch.log_softmax(h, -1),
            "layer_norm": lambda: F.layer_norm(h, (8,)),
            "gelu": lambda: F.gelu(h),
            "exp": lambda: torch.exp(h),
            "sum": lambda: h.sum(),
            "cross_entropy": lambda: F.cross_entropy(h, target),
            "mse_loss": lambda: F.mse_loss(h, h),
        }
        return {name: str(op().dtype) for name, op in ops.items()}


def _path(tc: TrainConfig) -> str:
    where = f"GPU ({torch.cuda.get_device_name(0)})" if tc.device == "cuda" else "CPU"
    fp8 = " with FP8 tensor-core matmuls (torch._scaled_mm)" if tc.fp8_real_matmul else ""
    return f"{tc.precision} on the {where}{fp8}"


def bf16_capable(device: str) -> bool:
    """Whether ``device`` computes in BF16 natively: the CPU (torch emulates it) or a CUDA GPU of
    compute capability 8.0 or newer (Ampere on).  Older GPUs such as the T4 have FP16 tensor
    cores only (``torch.cuda.is_bf16_supported()`` may still say True: it counts emulation).

    >>> bf16_capable("cpu")
    True
    """
    if device == "cpu":
        return True
    if device != "cuda":
        raise ValueError(f"device must be 'cpu' or 'cuda', got {device!r}")
    return torch.cuda.is_available() and torch.cuda.get_device_capability() >= (8, 0)


def _check_device(tc: TrainConfig) -> None:
    if tc.device == "cuda":
        if not torch.cuda.is_available():
            raise ValueError("device='cuda' but no CUDA device is available")
        if tc.precision.startswith("bf16") and not bf16_capable("cuda"):
            raise ValueError(f"this GPU ({torch.cuda.get_device_name(0)}) has no BF16 tensor cores: "
                             "use 'fp16-mixed', or device='cpu' for the BF16 modes")
    if tc.fp8_real_matmul and (tc.device != "cuda" or torch.cuda.get_device_capability() < (8, 9)):
        raise ValueError("fp8_real_matmul needs a CUDA GPU of compute capability 8.9 or newer")


def _norm_and_zero_fraction(grads: list[torch.Tensor]) -> tuple[torch.Tensor, float]:
    """The global L2 norm of ``grads`` (the norm of the per-tensor norms, each in float32) and
    the fraction of their elements that are exactly zero."""
    norms = torch._foreach_norm([g.float() for g in grads])
    flat = torch.cat([g.reshape(-1) for g in grads])
    zeros = flat.numel() - int(torch.count_nonzero(flat))   # NaN counts as nonzero, as in flat == 0
    return torch.linalg.vector_norm(torch.stack(norms)), zeros / flat.numel()


def train(model_config: LMConfig | None = None, train_config: TrainConfig | None = None, *,
          initial_state: dict | None = None) -> TrainResult:
    """Train a fresh :class:`TinyLM` on the course's text and return what happened.

    Parameters
    ----------
    model_config : LMConfig, optional
        The model (default ``LMConfig()``).
    train_config : TrainConfig, optional
        The run (default ``TrainConfig()``: FP32, 200 steps).
    initial_state : dict, optional
        A ``state_dict`` of a model of the same configuration to start from (e.g.
        ``result.model.state_dict()`` of an earlier run) instead of fresh weights; it is
        copied, rounded to the run's weight dtype.  The data order still follows ``seed``.

    Returns
    -------
    TrainResult

    Examples
    --------
    >>> cfg = LMConfig(d_model=16, n_heads=2, n_layers=1, seq_len=8)
    >>> a = train(cfg, TrainConfig(steps=3, batch_size=2, precision="bf16-mixed"))
    >>> b = train(cfg, TrainConfig(steps=3, batch_size=2, precision="bf16-mixed"))
    >>> bool((a.losses == b.losses).all())      # seeded: the same run twice
    True
    """
    mc = LMConfig() if model_config is None else model_config
    tc = TrainConfig() if train_config is None else train_config
    if not isinstance(mc, LMConfig) or not isinstance(tc, TrainConfig):
        raise TypeError("train(model_config: LMConfig, train_config: TrainConfig)")
    _check_device(tc)
    start = time.perf_counter()
    dev = torch.device(tc.device)
    torch.manual_seed(tc.seed)
    model = TinyLM(mc)
    if initial_state is not None and not isinstance(initial_state, dict):
        raise TypeError(f"initial_state must be a state dict (model.state_dict()) or None, got {type(initial_state).__name__}")
    if initial_state is not None:
        model.load_state_dict({k: v.float() for k, v in initial_state.items()})
    if tc.precision == "bf16-pure":
        model = model.to(torch.bfloat16)
    if tc.precision == "fp8-sim":
        for block in model.blocks:
            for name in ("qkv", "proj", "fc1", "fc2"):
                setattr(block, name, Fp8Linear.wrap(getattr(block, name), scaled=tc.fp8_scaled,
                                                    real_matmul=tc.fp8_real_matmul))
        model.head = Fp8Linear.wrap(model.head, scaled=tc.fp8_scaled, real_matmul=tc.fp8_real_matmul)
    model = model.to(dev)
    state_dtype = getattr(torch, tc.state_dtype) if tc.state_dtype else None
    opt = Adam(model.parameters(), lr=tc.lr, betas=tc.betas, eps=tc.eps, weight_decay=tc.weight_decay,
               bias_correction=tc.bias_correction, state_dtype=state_dtype,
               update_rounding=tc.update_rounding, seed=tc.seed)
    autocast = {"bf16-mixed": torch.bfloat16, "fp16-mixed": torch.float16}.get(tc.precision)
    scaling = tc.loss_scale if tc.precision == "fp16-mixed" else None
    grad_scaler = (torch.amp.GradScaler(tc.device, init_scale=tc.init_scale, growth_interval=tc.growth_interval)
                   if scaling == "torch" else None)
    course_scaler = (DynamicLossScaler(tc.init_scale, growth_interval=tc.growth_interval)
                     if scaling == "dynamic" else None)

    train_data, val_data = _splits()
    gen = torch.Generator().manual_seed(tc.seed)
    rec = {k: np.zeros(tc.steps) for k in ("losses", "lr", "grad_norm", "loss_scale", "zero_grad_fraction",
                                           "max_attention_logit", "log_z", "updates_lost")}
    rec["skipped"] = np.zeros(tc.steps, dtype=bool)
    params = list(model.parameters())
    for step in range(tc.steps):
        x, y = (t.to(dev) for t in _batch(train_data, tc.batch_size, mc.seq_len, gen))
        lr = tc.lr_at(step)
        for group in opt.param_groups:
            group["lr"] = lr
        with torch.autocast(tc.device, dtype=autocast, enabled=autocast is not None):
            logits = model(x)
        logits = logits.float()
        loss = F.cross_entropy(logits.reshape(-1, 256), y.reshape(-1))
        log_z = torch.logsumexp(logits, dim=-1)
        objective = loss + tc.z_loss * (log_z**2).mean() if tc.z_loss else loss
        opt.zero_grad(set_to_none=True)
        scale = (grad_scaler.get_scale() if grad_scaler else course_scaler.scale if course_scaler
                 else float(scaling) if scaling is not None else 1.0)
        if grad_scaler:
            grad_scaler.scale(objective).backward()
        else:
            (objective * scale if scale != 1.0 else objective).backward()
        if grad_scaler:
            grad_scaler.unscale_(opt)                      # in place, FP32 master gradients
        elif scale != 1.0:
            for p in params:
                p.grad.mul_(1.0 / scale)
        grads = [p.grad for p in params if p.grad is not None]
        norm, rec["zero_grad_fraction"][step] = _norm_and_zero_fraction(grads)
        finite = bool(torch.isfinite(norm))
        if tc.grad_clip is not None and finite:
            torch.nn.utils.clip_grad_norm_(params, tc.grad_clip)
        if grad_scaler:
            grad_scaler.step(opt)
            grad_scaler.update()
            skipped = grad_scaler.get_scale() < scale
        elif course_scaler:
            skipped = not course_scaler.update(found_inf=not finite)
            if not skipped:
                opt.step()
        else:
            skipped = False
            opt.step()
        rec["losses"][step] = float(loss.detach())
        rec["lr"][step] = lr
        rec["grad_norm"][step] = float(norm) if finite else math.nan
        rec["loss_scale"][step] = scale
        rec["skipped"][step] = skipped
        rec["max_attention_logit"][step] = model.max_attention_logit
        rec["log_z"][step] = float(log_z.detach().mean())
        rec["updates_lost"][step] = opt.updates_lost if tc.precision == "bf16-pure" and not skipped else math.nan

    val_gen = torch.Generator().manual_seed(10_000 + tc.seed)
    with torch.no_grad(), torch.autocast(tc.device, dtype=autocast, enabled=autocast is not None):
        val = [float(F.cross_entropy(model(xv.to(dev)).float().reshape(-1, 256), yv.to(dev).reshape(-1)))
               for xv, yv in (_batch(val_data, tc.batch_size, mc.seq_len, val_gen) for _ in range(tc.val_batches))]
    return TrainResult(val_loss=float(np.mean(val)), path=_path(tc), seconds=time.perf_counter() - start,
                       model=model, **rec)
