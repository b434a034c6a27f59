"""support.inference.planning: the greedy plan respects the budget, prefers damage per bit, and
matches an exhaustive search on small cases where greedy is optimal."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from support.inference.planning import mixed_precision_plan

LOW, HIGH = ("INT4", 4.0), ("INT8", 8.0)


def test_budget_of_low_keeps_everything_low():
    plan = mixed_precision_plan({"a": 1.0, "b": 2.0}, {"a": 10, "b": 10}, 4.0, low=LOW, high=HIGH)
    assert set(plan.choice.values()) == {"INT4"} and plan.upgraded == () and plan.bits_per_weight == 4.0


def test_large_budget_upgrades_everything():
    plan = mixed_precision_plan({"a": 1.0, "b": 0.0}, {"a": 10, "b": 10}, 8.0, low=LOW, high=HIGH)
    assert set(plan.choice.values()) == {"INT8"} and plan.bits_per_weight == 8.0


def test_damage_per_bit_not_damage_decides():
    # "big" hurts more in total but costs 10x the bits: "small" is the better buy
    damage = {"big": 0.5, "small": 0.1}
    sizes = {"big": 1000, "small": 100}
    plan = mixed_precision_plan(damage, sizes, 4.0 + 4 * 100 / 1100, low=LOW, high=HIGH)
    assert plan.upgraded == ("small",)
    assert "rank 1 of 2" in plan.reasons["small"] and plan.reasons["small"].startswith("INT8")
    assert plan.reasons["big"].startswith("INT4")


def test_per_layer_bits():
    plan = mixed_precision_plan({"a": 1.0, "b": 1.0}, {"a": 10, "b": 30}, 5.2,
                                low=("INT4", {"a": 4.5, "b": 4.0}), high=("INT8", {"a": 8.5, "b": 8.0}))
    assert plan.upgraded == ("a",)
    assert plan.bits_per_weight == pytest.approx((8.5 * 10 + 4.0 * 30) / 40)


def _best_exhaustive(damage, sizes, budget):
    names = list(damage)
    total = sum(sizes.values())
    best = None
    for bits in itertools.product([0, 1], repeat=len(names)):
        cost = sum(sizes[n] * (8.0 if b else 4.0) for n, b in zip(names, bits)) / total
        if cost <= budget + 1e-12:
            saved = sum(damage[n] for n, b in zip(names, bits) if b)
            best = saved if best is None else max(best, saved)
    return best


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0, 1, allow_nan=False), min_size=2, max_size=6), st.floats(4.0, 8.0))
def test_equal_sizes_greedy_is_optimal(damages, budget):
    """With equal layer sizes, the greedy choice (largest damages first) is the exhaustive optimum."""
    damage = {f"l{i}": d for i, d in enumerate(damages)}
    sizes = {n: 7 for n in damage}
    plan = mixed_precision_plan(damage, sizes, budget, low=LOW, high=HIGH)
    assert plan.bits_per_weight <= budget + 1e-9
    saved = sum(damage[n] for n in plan.upgraded)
    assert saved == pytest.approx(_best_exhaustive(damage, sizes, budget))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 1, allow_nan=False), st.integers(1, 50)), min_size=1, max_size=8),
       st.floats(4.0, 9.0))
def test_never_over_budget_and_reasons_for_all(items, budget):
    damage = {f"l{i}": d for i, (d, _) in enumerate(items)}
    sizes = {f"l{i}": n for i, (_, n) in enumerate(items)}
    plan = mixed_precision_plan(damage, sizes, budget, low=LOW, high=HIGH)
    assert plan.bits_per_weight <= budget * (1 + 1e-12)
    assert set(plan.reasons) == set(damage) == set(plan.choice)
    used = sum(sizes[n] * (8.0 if plan.choice[n] == "INT8" else 4.0) for n in damage) / sum(sizes.values())
    assert used == pytest.approx(plan.bits_per_weight)


@pytest.mark.parametrize("args, kwargs, error", [
    (({}, {}, 5.0), {}, TypeError),
    (({"a": 1.0}, {"b": 1}, 5.0), {}, ValueError),
    (({"a": -1.0}, {"a": 1}, 5.0), {}, ValueError),
    (({"a": float("nan")}, {"a": 1}, 5.0), {}, ValueError),
    (({"a": 1.0}, {"a": 0}, 5.0), {}, ValueError),
    (({"a": 1.0}, {"a": 1}, 3.0), {}, ValueError),            # below the low format
    (({"a": 1.0}, {"a": 1}, 5.0), {"high": ("INT4", 8.0)}, ValueError),
    (({"a": 1.0}, {"a": 1}, 5.0), {"high": ("INT2", 2.0)}, ValueError),
    (({"a": 1.0}, {"a": 1}, 5.0), {"high": 8.0}, TypeError),
    (({"a": 1.0}, {"a": 1}, 5.0), {"high": ("INT8", {"b": 8.0})}, ValueError),
])
def test_rejects(args, kwargs, error):
    options = {"low": LOW, "high": HIGH, **kwargs}
    with pytest.raises(error):
        mixed_precision_plan(*args, **options)


def test_reasons_are_sorted_by_usefulness():
    damage = {f"l{i}": float(v) for i, v in enumerate(np.linspace(0, 1, 5))}
    plan = mixed_precision_plan(damage, {n: 1 for n in damage}, 6.0, low=LOW, high=HIGH)
    assert plan.upgraded == ("l4", "l3")
