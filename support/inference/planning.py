"""A mixed-precision plan for a bits-per-weight budget, from measured per-layer sensitivities.

Given, for every linear layer, the *damage* measured when that layer alone is
quantized to a cheap format (for example ``1 - cosine similarity`` of the model's
embeddings to FP32's), :func:`mixed_precision_plan` decides which layers keep a
more precise format so that the average storage per weight stays within a budget.

It is a greedy knapsack: every layer starts in the cheap format; layers are then
upgraded in order of *damage removed per extra bit stored* (``damage / (n_weights *
(high_bits - low_bits))``), as long as the budget allows.  The damage of a layer on
its own is a first-order estimate of what it adds to the whole model's damage, so
the plan should be checked by measuring the model it gives, against the uniform
plans at the same or nearby budgets (the chapter does).

>>> plan = mixed_precision_plan({"a": 0.1, "b": 0.001}, {"a": 100, "b": 100}, budget=6.0,
...                             low=("INT4", 4.0), high=("INT8", 8.0))
>>> plan.choice, plan.bits_per_weight
({'a': 'INT8', 'b': 'INT4'}, 6.0)
>>> print(plan.reasons["a"])
INT8: on its own in INT4 it costs 0.1 (rank 1 of 2 by damage per extra bit)
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Mapping

from support._validate import positive_number

__all__ = ["MixedPrecisionPlan", "mixed_precision_plan"]


@dataclass(frozen=True)
class MixedPrecisionPlan:
    """Which format each layer gets, what it costs, and why.

    Attributes
    ----------
    choice : dict
        Layer name -> the format label of that layer (both str).
    bits_per_weight : float
        Average storage per weight over all layers, scales included.
    reasons : dict
        Layer name -> one sentence: its format, its measured damage, its rank.
    upgraded : tuple of str
        The layers that keep the precise format, most useful first.

    Examples
    --------
    >>> plan = MixedPrecisionPlan(choice={"a": "INT8", "b": "INT4"}, bits_per_weight=6.0,
    ...                           reasons={"a": "sensitive", "b": "robust"}, upgraded=("a",))
    >>> plan.choice["a"], plan.bits_per_weight
    ('INT8', 6.0)
    """

    choice: Mapping[str, str]
    bits_per_weight: float
    reasons: Mapping[str, str]
    upgraded: tuple[str, ...]

    def __post_init__(self) -> None:
        for name in ("choice", "reasons"):
            value = getattr(self, name)
            if not isinstance(value, Mapping) or not all(
                    isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
                raise TypeError(f"{name} must be a dict {{layer name: text}}, got {value!r}")
        if set(self.reasons) != set(self.choice):
            raise ValueError("reasons must give one reason for every layer of choice")
        positive_number(self.bits_per_weight, "bits_per_weight")
        if not isinstance(self.upgraded, tuple) or not all(n in self.choice for n in self.upgraded):
            raise TypeError(f"upgraded must be a tuple of layer names of choice, got {self.upgraded!r}")


def _option(option: object, name: str, layers: list[str]) -> tuple[str, dict[str, float]]:
    """``(label, bits)`` with bits a number or a per-layer mapping -> (label, {layer: bits})."""
    if not (isinstance(option, tuple) and len(option) == 2 and isinstance(option[0], str)):
        raise TypeError(f"{name} must be a pair (label, bits per weight), e.g. ('INT4-g128', 4.125)")
    label, bits = option
    if isinstance(bits, Mapping):
        missing = [n for n in layers if n not in bits]
        if missing:
            raise ValueError(f"{name}: no bits per weight for layer(s) {missing[:3]}")
        return label, {n: positive_number(bits[n], f"{name} bits of {n}") for n in layers}
    value = positive_number(bits, f"{name} bits per weight")
    return label, {n: value for n in layers}


def mixed_precision_plan(
    damage: Mapping[str, float],
    n_weights: Mapping[str, int],
    budget: float,
    *,
    low: tuple[str, float | Mapping[str, float]],
    high: tuple[str, float | Mapping[str, float]],
) -> MixedPrecisionPlan:
    """The layers to keep in the precise format under a bits-per-weight budget, with reasons.

    Parameters
    ----------
    damage : dict of str to float
        Measured damage (>= 0) of each layer quantized on its own to the ``low`` format.
    n_weights : dict of str to int
        Number of weights of each layer (same keys as ``damage``).
    budget : float
        Largest average bits per weight allowed over all the layers; at least the
        ``low`` format's average.
    low, high : (str, float or dict)
        The cheap and the precise format: a label and its bits per weight (one number,
        or one per layer, since scales make it depend on a layer's shape).

    Returns
    -------
    MixedPrecisionPlan

    Examples
    --------
    Three layers of 100 weights; a budget of 6 bits buys INT8 for one of them, the one
    that loses most per extra bit in INT4:

    >>> plan = mixed_precision_plan({"a": 0.5, "b": 0.1, "c": 0.05}, {"a": 100, "b": 100, "c": 100},
    ...                             6.0, low=("INT4", 4.0), high=("INT8", 8.0))
    >>> plan.upgraded, round(plan.bits_per_weight, 3), plan.choice["b"]
    (('a',), 5.333, 'INT4')
    >>> plan.reasons["a"]
    'INT8: on its own in INT4 it costs 0.5 (rank 1 of 3 by damage per extra bit)'
    """
    if not isinstance(damage, Mapping) or not damage:
        raise TypeError("damage must be a non-empty dict {layer: measured damage}")
    layers = list(damage)
    if not isinstance(n_weights, Mapping) or set(n_weights) != set(layers):
        raise ValueError("n_weights must be a dict with exactly the layers of damage as keys")
    for name in layers:
        d, n = damage[name], n_weights[name]
        if isinstance(d, bool) or not isinstance(d, numbers.Real) or not math.isfinite(d) or d < 0:
            raise ValueError(f"damage of {name!r} must be a finite number >= 0, got {d!r}")
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
            raise ValueError(f"n_weights of {name!r} must be a positive integer, got {n!r}")
    budget = positive_number(budget, "budget")
    low_label, low_bits = _option(low, "low", layers)
    high_label, high_bits = _option(high, "high", layers)
    if low_label == high_label:
        raise ValueError("low and high must have different labels")
    total = sum(n_weights[n] for n in layers)
    used = sum(low_bits[n] * n_weights[n] for n in layers)
    if used > budget * total * (1 + 1e-12):
        raise ValueError(f"budget {budget:g} bits per weight is below the cheap format's {used / total:.4g}")
    extra = {n: (high_bits[n] - low_bits[n]) * n_weights[n] for n in layers}
    if any(e <= 0 for e in extra.values()):
        raise ValueError("high must cost more bits than low for every layer")

    order = sorted(layers, key=lambda n: damage[n] / extra[n], reverse=True)
    upgraded = []
    for name in order:
        if used + extra[name] <= budget * total * (1 + 1e-12):
            used += extra[name]
            upgraded.append(name)
    rank = {name: k for k, name in enumerate(order, start=1)}
    reasons = {}
    for name in layers:
        where = f"rank {rank[name]} of {len(layers)} by damage per extra bit"
        if name in upgraded:
            reasons[name] = f"{high_label}: on its own in {low_label} it costs {damage[name]:.3g} ({where})"
        else:
            reasons[name] = f"{low_label}: on its own it costs {damage[name]:.3g} ({where})"
    choice = {name: high_label if name in upgraded else low_label for name in layers}
    return MixedPrecisionPlan(choice=choice, bits_per_weight=used / total, reasons=reasons,
                              upgraded=tuple(upgraded))
