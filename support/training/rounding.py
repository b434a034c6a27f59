"""Weight updates in BF16: round to nearest, stochastic rounding, Kahan compensation (torch).

A BF16 weight ``w`` keeps 8 significant bits, so an update smaller than half its spacing
(``ulp(w) / 2``) is rounded away by round-to-nearest: ``bf16(w + u) == w``.  Two
remedies keep training in BF16 without an FP32 copy of the weights:

- :func:`stochastic_round_bf16` rounds up with probability equal to the distance from the
  lower neighbour, so ``E[SR(x)] = x`` and small updates survive on average
  (Gupta et al., 2015);
- :func:`kahan_add_bf16` keeps what each rounding lost in a BF16 compensation buffer and
  adds it back at the next step (Kahan summation applied to the weight updates,
  Zamirai et al., 2020).

Both take FP32 values and return BF16 tensors.  Stochastic rounding adds a uniform random
16-bit integer to the low half of the FP32 bit pattern and truncates: the FP32 value
rounds up exactly when the random integer reaches past the next BF16 value, i.e. with
probability (x - lower) / spacing.  Chapter 14 checks it against
``support.numbers.formats.round_to(..., mode="stochastic")``.

>>> import torch
>>> g = torch.Generator().manual_seed(0)
>>> x = torch.full((100_000,), 1.0 + 2.0**-10)          # a quarter of the way to the next BF16
>>> r = stochastic_round_bf16(x, g).float()
>>> sorted(set(r.tolist())), round(float(r.double().mean()), 4)    # the mean is 1 + 2**-10
([1.0, 1.0078125], 1.001)
"""

from __future__ import annotations

from typing import Any

__all__ = ["stochastic_round_bf16", "nearest_bf16", "kahan_add_bf16"]


def _check_float32(x: Any, name: str):
    import torch

    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if x.dtype != torch.float32:
        raise TypeError(f"{name} must be a float32 tensor, got {x.dtype}")
    return x


def nearest_bf16(x: Any):
    """``x`` (float32 tensor) rounded to BF16, to nearest, ties to even (torch's cast).

    >>> import torch
    >>> nearest_bf16(torch.tensor([1.0 + 2.0**-8, 1.0 + 3 * 2.0**-8])).tolist()   # two ties to even
    [1.0, 1.015625]
    """
    import torch

    return _check_float32(x, "x").to(torch.bfloat16)


def stochastic_round_bf16(x: Any, generator: Any):
    """``x`` (float32 tensor) stochastically rounded to BF16.

    Parameters
    ----------
    x : torch.Tensor
        float32 values.  Infinities and NaN are cast as they are; a finite value above
        BF16's largest finite value may round up to inf.
    generator : torch.Generator
        The source of randomness (seed it for a repeatable result).

    Returns
    -------
    torch.Tensor
        bfloat16, the shape of ``x``: each element is one of the two BF16 neighbours of
        ``x``, the upper one with probability equal to the distance from the lower one
        in units of their spacing.

    Examples
    --------
    >>> import torch
    >>> stochastic_round_bf16(torch.tensor([1.0, -2.5]), torch.Generator()).tolist()   # exact values stay
    [1.0, -2.5]
    """
    import torch

    x = _check_float32(x, "x")
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    bits = x.contiguous().view(torch.int32)
    noise = torch.randint(0, 1 << 16, x.shape, generator=generator, dtype=torch.int32, device=x.device)
    rounded = ((bits + noise) & ~0xFFFF).view(torch.float32)      # sign-magnitude: rounds |x| up
    out = torch.where(torch.isfinite(x), rounded, x)
    return out.to(torch.bfloat16)                                  # exact: low 16 bits are zero


def kahan_add_bf16(w: Any, update: Any, compensation: Any):
    """``w + update`` in BF16 with Kahan compensation; returns ``(new_w, new_compensation)``.

    Parameters
    ----------
    w : torch.Tensor
        bfloat16 weights.
    update : torch.Tensor
        float32 increment (e.g. ``-lr * adam_direction``).
    compensation : torch.Tensor
        bfloat16 buffer of what earlier roundings lost, zeros at the start.

    Returns
    -------
    (torch.Tensor, torch.Tensor)
        The new bfloat16 weights and compensation.  ``new_w + new_compensation`` tracks
        the exact sum of all updates to within about one BF16 rounding of the
        compensation itself.

    Examples
    --------
    >>> import torch
    >>> w, c = torch.ones(1, dtype=torch.bfloat16), torch.zeros(1, dtype=torch.bfloat16)
    >>> for _ in range(1000):
    ...     w, c = kahan_add_bf16(w, torch.full((1,), 1e-3), c)
    >>> round(float(w), 2)          # round-to-nearest would stay at 1.0
    2.0
    """
    import torch

    if not isinstance(w, torch.Tensor) or w.dtype != torch.bfloat16:
        raise TypeError("w must be a bfloat16 tensor")
    if not isinstance(compensation, torch.Tensor) or compensation.dtype != torch.bfloat16:
        raise TypeError("compensation must be a bfloat16 tensor")
    update = _check_float32(update, "update")
    y = update + compensation.float()          # the update plus what was lost before
    new_w = (w.float() + y).to(torch.bfloat16)
    lost = y - (new_w.float() - w.float())     # exact in float32: what the rounding dropped
    return new_w, lost.to(torch.bfloat16)
