"""Simulated FP8 training: E4M3 forward, E5M2 gradients, per-tensor delayed scaling (torch).

The FP8 recipe of Micikevicius et al. (2022) and NVIDIA Transformer Engine casts, in each
linear layer, the input and the weight to E4M3 (more precision) and the gradient of the
output to E5M2 (more range), each with its own per-tensor scale.  *Delayed* scaling takes
the scale of a step from the amax history of earlier steps
(:class:`support.numbers.scaling.DelayedScaler`), so that no extra pass over the tensor
is needed before the cast.

Here a cast is *simulated*: the tensor is multiplied by its scale, clamped to the
format's largest value (saturation), cast to torch's float8 dtype and back, and divided by
the scale -- the values an FP8 matmul would multiply, with the products accumulated in
float32.  :func:`fake_cast` equals ``support.numbers.scaling.scaled_round(x, scale, fmt)``
(tested).  On a GPU with FP8 tensor cores (compute capability 8.9 or newer) the forward
matmul can instead run for real through ``torch._scaled_mm``
(``real_matmul=True`` in :class:`Fp8Linear`).

>>> import torch
>>> fake_cast(torch.tensor([0.1, 1000.0]), 1.0, "float8_e4m3fn").tolist()   # 1000 saturates
[0.1015625, 448.0]
"""

from __future__ import annotations

import math
import sys
from functools import lru_cache
from typing import Any

import numpy as np

from support._validate import flag, positive_number
from support.numbers.formats import get_format
from support.numbers.scaling import DelayedScaler

__all__ = ["FP8_FORMATS", "fake_cast", "DelayedCast", "Fp8Linear"]

#: The two formats of the recipe, forward (weights, activations) and backward (gradients).
FP8_FORMATS = {"forward": "float8_e4m3fn", "backward": "float8_e5m2"}


def _torch_dtype(fmt: str):
    import torch

    if fmt not in ("float8_e4m3fn", "float8_e5m2"):
        raise ValueError(f"fmt must be 'float8_e4m3fn' or 'float8_e5m2', got {fmt!r}")
    return getattr(torch, fmt)


@lru_cache(maxsize=None)
def _fmt_max(fmt: str) -> float:
    """The largest finite value of ``fmt`` (looked up once: every cast of a training step needs it)."""
    return get_format(fmt).max


def fake_cast(x: Any, scale: float, fmt: str):
    """``round(x * scale) / scale`` in an FP8 format, saturating, as a float tensor of x's dtype.

    Parameters
    ----------
    x : torch.Tensor
        Floating-point values.
    scale : float
        Positive finite per-tensor scale.
    fmt : {"float8_e4m3fn", "float8_e5m2"}
        The FP8 format.

    Notes
    -----
    ``x * scale`` is computed in float32 for float32 (or narrower) input, as Transformer
    Engine does, and in float64 for float64 input; for float64 input the result equals
    ``scaled_round(x, scale, fmt, saturate=True)`` for any scale, for float32 input when
    the scale is a power of two.

    Examples
    --------
    >>> import torch
    >>> fake_cast(torch.tensor([3e-5]), 2.0**10, "float8_e5m2").tolist()
    [3.0517578125e-05]
    """
    import torch

    _torch_dtype(fmt)                                      # checks fmt
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        raise TypeError("x must be a floating-point torch.Tensor")
    return _fake_cast(x, positive_number(scale, "scale"), fmt)


def _fake_cast(x, scale: float, fmt: str):
    """:func:`fake_cast` without the argument checks (for :class:`DelayedCast`, whose arguments are valid)."""
    import torch

    top = _fmt_max(fmt)
    wide = torch.promote_types(x.dtype, torch.float32)     # float64 input: one rounding only
    scaled = (x.to(wide) * scale).clamp_(-top, top)        # saturate; NaN stays NaN
    return scaled.to(getattr(torch, fmt)).to(wide).div_(scale).to(x.dtype)


def _amax(x) -> float:
    """The largest ``|x|`` with NaN elements ignored and ±inf counted as the largest finite value
    of x's (at least float32) dtype: ``torch.nan_to_num(|x|, nan=0).max()``, in one pass when x is finite."""
    import torch

    low, high = (float(v) for v in torch.aminmax(x.detach()))   # exact in any order
    if math.isfinite(low) and math.isfinite(high):
        return max(-low, high)
    wide = torch.promote_types(x.dtype, torch.float32)
    return float(torch.nan_to_num(x.detach().abs().to(wide), nan=0.0).max())


def _record_amax(scaler: DelayedScaler, amax: float) -> None:
    """Update ``scaler``'s history and scale as ``scaler.quantize([amax])`` does, without the cast.

    ``amax`` is finite and >= 0 (from :func:`_amax`). ``tests/test_training_harness.py`` checks
    that the history and the scale equal those of :meth:`DelayedScaler.quantize`.
    """
    if amax == 0:
        return                                              # nothing recorded, scale kept
    scaler.history = np.append(scaler.history[1:], amax)   # np.roll(history, -1), then the new amax last
    reduced = float(scaler.history.max()) if scaler.algo == "max" else amax
    if math.isfinite(reduced):
        scaler.scale = min(math.ldexp(scaler.fmt.max, -scaler.margin) / reduced, sys.float_info.max)


class DelayedCast:
    """One tensor stream cast to FP8 with delayed scaling.

    The scale comes from a :class:`~support.numbers.scaling.DelayedScaler`: each call casts
    with the scaler's current scale, then records the tensor's amax in the scaler's history
    (which sets the next scale).  The cast itself is :func:`fake_cast`, in torch.

    Parameters
    ----------
    fmt : {"float8_e4m3fn", "float8_e5m2"}
    history_len : int
        Length of the amax window (Transformer Engine's default is 1024).
    scaled : bool
        False casts with scale 1 throughout (no scaling), to show what scaling buys.

    Examples
    --------
    >>> import torch
    >>> cast = DelayedCast("float8_e4m3fn", history_len=4)
    >>> _ = cast(torch.tensor([0.5, -2.0])); cast.scale       # 448 / 2
    224.0
    """

    def __init__(self, fmt: str, *, history_len: int = 16, scaled: bool = True) -> None:
        _torch_dtype(fmt)
        self.fmt = fmt
        self.scaler = DelayedScaler(fmt, history_len=history_len)
        self.scaled = flag(scaled, "scaled")  # bool("no") is True
        self.overflows = 0        # calls whose tensor had an element beyond fmt.max / scale

    @property
    def scale(self) -> float:
        return self.scaler.scale if self.scaled else 1.0

    def __call__(self, x: Any):
        scale = self.scale
        amax = _amax(x)
        self.overflows += amax * scale > _fmt_max(self.fmt)
        out = _fake_cast(x, scale, self.fmt)
        # Recording the amax alone updates the history and the scale exactly as recording
        # the tensor would (the scaler keeps only amaxes), without rounding x twice.
        _record_amax(self.scaler, amax)
        return out


def _make_function():
    import torch

    class _Fp8Matmul(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, w, layer):
            sx, sw = layer.cast_x.scale, layer.cast_w.scale      # this step's scales (the casts update them)
            xq, wq = layer.cast_x(x), layer.cast_w(w)
            ctx.save_for_backward(xq, wq)
            ctx.layer = layer
            if layer.real_matmul:
                return _scaled_mm(x, w, sx, sw)
            return xq @ wq.t()

        @staticmethod
        def backward(ctx, grad_y):
            xq, wq = ctx.saved_tensors
            gq = ctx.layer.cast_g(grad_y)
            grad_w = gq.reshape(-1, gq.shape[-1]).t() @ xq.reshape(-1, xq.shape[-1])
            return gq @ wq, grad_w, None

    return _Fp8Matmul


def _scaled_mm(x, w, sx: float, sw: float):
    """``x @ w.T`` on FP8 tensor cores (CUDA, compute capability >= 8.9), x and w cast to E4M3
    with the scales ``sx`` and ``sw`` exactly as :func:`fake_cast` casts them."""
    import torch

    top = _fmt_max("float8_e4m3fn")
    x8 = (x.float() * sx).clamp(-top, top).to(torch.float8_e4m3fn)
    w8 = (w.float() * sw).clamp(-top, top).to(torch.float8_e4m3fn)
    one = torch.ones((), device=x.device)
    y = torch._scaled_mm(x8.reshape(-1, x.shape[-1]), w8.t(), scale_a=one / sx, scale_b=one / sw,
                         out_dtype=torch.float32)
    return y.reshape(*x.shape[:-1], w.shape[0])


class Fp8Linear:
    """Factory for an ``nn.Linear`` whose matmuls see FP8 values (see the module docstring).

    ``Fp8Linear.wrap(linear)`` returns a module with the same weight and bias whose forward
    casts the input and the weight to E4M3 and whose backward casts the output gradient to
    E5M2, each through its own :class:`DelayedCast`.

    Examples
    --------
    >>> import torch
    >>> layer = Fp8Linear.wrap(torch.nn.Linear(4, 2))
    >>> y = layer(torch.ones(3, 4)); y.sum().backward()
    >>> y.shape, layer.cast_w.scale > 1, layer.weight.grad.shape
    (torch.Size([3, 2]), True, torch.Size([2, 4]))
    """

    @staticmethod
    def wrap(linear: Any, *, history_len: int = 16, scaled: bool = True, real_matmul: bool = False):
        import torch

        if not isinstance(linear, torch.nn.Linear):
            raise TypeError(f"linear must be a torch.nn.Linear, got {type(linear).__name__}")
        function = _make_function()

        class _Module(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.weight, self.bias = linear.weight, linear.bias
                self.cast_x = DelayedCast(FP8_FORMATS["forward"], history_len=history_len, scaled=scaled)
                self.cast_w = DelayedCast(FP8_FORMATS["forward"], history_len=history_len, scaled=scaled)
                self.cast_g = DelayedCast(FP8_FORMATS["backward"], history_len=history_len, scaled=scaled)
                self.real_matmul = bool(real_matmul)

            def forward(self, x):
                y = function.apply(x, self.weight, self)
                return y if self.bias is None else y + self.bias

        return _Module()
