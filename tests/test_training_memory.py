"""Tests for support.training.memory, checked against the ZeRO paper's published figures."""

import pytest

from support.training.memory import TRAINING_MODES, activation_memory, inference_memory, training_memory

GB = 1e9


def test_mixed_adam_is_16_bytes_per_parameter():
    # ZeRO (Rajbhandari et al. 2020), section 3.1: 2Ψ + 2Ψ + KΨ with K = 12, i.e. 16Ψ bytes.
    b = training_memory(1.0, "mixed")
    assert (b.weights, b.gradients, b.optimizer, b.total) == (2, 2, 12, 16)


@pytest.mark.parametrize("stage, published_gb", [(0, 120.0), (1, 31.4), (2, 16.6), (3, 1.9)])
def test_zero_paper_worked_example(stage, published_gb):
    # ZeRO, figure 1: Ψ = 7.5B, N_d = 64 GPUs, K = 12.
    total = training_memory(7.5e9, "mixed", n_gpus=64, zero_stage=stage).total / GB
    assert round(total, 1) == published_gb


def test_zero_stage_formulas():
    psi, nd = 7.5e9, 64
    totals = [training_memory(psi, "mixed", n_gpus=nd, zero_stage=k).total for k in range(4)]
    assert totals[1] == pytest.approx(4 * psi + 12 * psi / nd)
    assert totals[2] == pytest.approx(2 * psi + 14 * psi / nd)
    assert totals[3] == pytest.approx(16 * psi / nd)
    assert totals == sorted(totals, reverse=True)


def test_stage0_does_not_depend_on_gpus():
    assert training_memory(1e9, n_gpus=1) == training_memory(1e9, n_gpus=8)


@pytest.mark.parametrize("mode, per_param", [("fp32", 16), ("mixed", 16), ("bf16", 8)])
def test_bytes_per_parameter(mode, per_param):
    assert sum(TRAINING_MODES[mode]) == per_param
    assert training_memory(3e9, mode).total == pytest.approx(per_param * 3e9)


def test_activations_added_unpartitioned():
    base = training_memory(1e9, n_gpus=4, zero_stage=3)
    with_act = training_memory(1e9, n_gpus=4, zero_stage=3, activations=5e9)
    assert with_act.total - base.total == 5e9


@pytest.mark.parametrize("bits, gb", [(16, 26.0), (8, 13.0), (4, 6.5)])
def test_inference_13b(bits, gb):
    assert inference_memory(13e9, bits) / GB == pytest.approx(gb)


def test_activation_formula_and_checkpointing():
    s, b, h, a, L = 2048, 4, 5120, 40, 40
    full = activation_memory(s, b, h, a, L)
    assert full == pytest.approx(L * s * b * h * (34 + 5 * a * s / h))
    ckpt = activation_memory(s, b, h, a, L, checkpointing=True)
    assert ckpt == 2 * s * b * h * L
    assert ckpt < full / 10
    assert activation_memory(s, 2 * b, h, a, L) == pytest.approx(2 * full)    # linear in batch


@pytest.mark.parametrize(
    "kwargs, exc",
    [
        (dict(n_params=-1), ValueError),
        (dict(n_params=1e9, mode="fp8"), ValueError),
        (dict(n_params=1e9, zero_stage=4), ValueError),
        (dict(n_params=1e9, n_gpus=0), ValueError),
        (dict(n_params=1e9, n_gpus=2.0), TypeError),
        (dict(n_params="7B"), TypeError),
    ],
)
def test_rejects_invalid(kwargs, exc):
    with pytest.raises(exc):
        training_memory(**kwargs)


def test_activation_rejects_invalid():
    with pytest.raises(TypeError):
        activation_memory(2048, 1, 4096, 32, 32, checkpointing="yes")
    with pytest.raises(ValueError):
        activation_memory(0, 1, 4096, 32, 32)
