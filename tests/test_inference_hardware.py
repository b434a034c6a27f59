"""support.inference.hardware and .measure: the roofline algebra, the spec table, the measurements.

Speeds are never asserted as numbers; the measurement tests check what must hold on any machine
(counts of operations and bytes, positive times, the CPU path)."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from support.inference.hardware import (
    ACCELERATORS, BYTES_PER_ELEMENT, ENERGY_45NM_PJ, FORMATS, Accelerator, accelerator, attainable,
    attention_intensity, decode_tokens_per_second, forward_energy, gemm_intensity, gemv_intensity, ridge_point,
)
from support.inference.measure import Measurement, best_seconds, cpu_name, largest_cache_bytes, measure_gemm, measure_triad

ROOT = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------ the spec table

def test_every_source_is_in_references_bib():
    keys = set(re.findall(r"^@\w+\{([^,]+),", (ROOT / "references.bib").read_text(), re.M))
    for acc in ACCELERATORS:
        assert acc.source in keys, f"{acc.name}: {acc.source} missing from references.bib"


def test_required_accelerators_present():
    names = {a.name for a in ACCELERATORS}
    for required in ("T4", "A100 SXM 80GB", "H100 SXM", "H200 SXM", "B200 (HGX)", "MI300X", "TPU v5e"):
        assert required in names


@pytest.mark.parametrize("acc", ACCELERATORS, ids=lambda a: a.name)
def test_rates_grow_as_formats_narrow(acc):
    """Dense rates never fall from a wider to a narrower format (same hardware units, more per cycle)."""
    rates = [acc.dense_tera_ops[f] for f in FORMATS if f in acc.dense_tera_ops and f != "fp16"]
    assert rates == sorted(rates)


def test_h100_h200_differ_only_in_memory():
    h100, h200 = accelerator("H100 SXM"), accelerator("H200 SXM")
    assert dict(h100.dense_tera_ops) == dict(h200.dense_tera_ops)
    assert h200.bandwidth > h100.bandwidth and h200.memory_gb > h100.memory_gb


def test_nvidia_dense_is_half_the_printed_sparse():
    # H100 SXM datasheet prints 1,979 TFLOPS* BF16 and 3,958 TFLOPS* FP8 with sparsity
    h100 = accelerator("H100 SXM")
    assert h100.dense_tera_ops["bf16"] * 2 == pytest.approx(1979)
    assert h100.dense_tera_ops["fp8"] * 2 == pytest.approx(3958)


def test_peak_refuses_missing_format():
    with pytest.raises(ValueError, match="gives no fp8 rate"):
        accelerator("T4").peak("fp8")
    with pytest.raises(ValueError, match="fmt"):
        accelerator("T4").peak("fp64")


def test_accelerator_record_validates():
    with pytest.raises(ValueError):
        Accelerator("x", {"fp9": 1.0}, 1.0, 1.0, "HBM", "key")
    with pytest.raises(ValueError):
        Accelerator("x", {"bf16": -1.0}, 1.0, 1.0, "HBM", "key")
    with pytest.raises(TypeError):
        Accelerator("x", {}, 1.0, 1.0, "HBM", "key")


# ------------------------------------------------------------------ roofline algebra

@settings(max_examples=80, deadline=None)
@given(st.floats(1e-3, 1e5), st.floats(1e9, 1e16), st.floats(1e9, 1e13))
def test_attainable_is_the_minimum_and_ridge_is_where_they_meet(intensity, peak, bandwidth):
    value = attainable(intensity, peak, bandwidth)
    assert value <= peak * (1 + 1e-12) and value <= intensity * bandwidth * (1 + 1e-12)
    assert value == pytest.approx(min(peak, intensity * bandwidth))
    ridge = ridge_point(peak, bandwidth)
    assert attainable(ridge, peak, bandwidth) == pytest.approx(peak)


def test_attainable_vectorised_and_monotone():
    x = np.logspace(-2, 4, 50)
    y = attainable(x, 1e15, 3e12)
    assert y.shape == x.shape and np.all(np.diff(y) >= 0)


@pytest.mark.parametrize("fmt", ["fp32", "bf16", "fp8", "int4"])
def test_gemv_intensity_is_about_two_over_bytes(fmt):
    b = BYTES_PER_ELEMENT[fmt]
    value = gemv_intensity(16384, 16384, bytes_weight=b, bytes_activation=2)
    assert value == pytest.approx(2 / b, rel=1e-3) and value < 2 / b


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 4096), st.integers(1, 4096), st.integers(1, 4096), st.sampled_from([0.5, 1.0, 2.0, 4.0]))
def test_gemm_intensity_by_brute_count(m, n, k, b):
    ops = 2 * m * n * k
    bytes_ = b * (m * k + k * n + m * n)
    assert gemm_intensity(m, n, k, bytes_weight=b, bytes_activation=b) == pytest.approx(ops / bytes_)


def test_gemm_intensity_grows_with_batch_and_square_is_n_over_3b():
    values = [gemm_intensity(m, 4096, 4096, bytes_weight=2, bytes_activation=2) for m in (1, 8, 64, 512, 4096)]
    assert values == sorted(values)
    assert values[-1] == pytest.approx(4096 / 3)


def test_attention_intensity_decode_equals_group_size_roughly():
    for g in (1, 4, 8):
        value = attention_intensity(g, 32768, 128, bytes_kv=2)
        assert value == pytest.approx(g, rel=1e-3) and value < g
    # quantizing the cache to 8 bits doubles the intensity of decode attention
    assert attention_intensity(1, 32768, 128, bytes_kv=1) == pytest.approx(2, rel=1e-3)


def test_decode_bound_and_batch():
    one = decode_tokens_per_second(70e9, 2, 3.35e12)
    assert one == pytest.approx(3.35e12 / 140e9)
    kv = decode_tokens_per_second(70e9, 2, 3.35e12, batch=8, kv_bytes_per_sequence=1e9)
    assert kv == pytest.approx(3.35e12 / (140e9 + 8e9))


def test_forward_energy_formula():
    e = forward_energy(70e9, 2, mac_pj=1.5, dram_pj_per_byte=ENERGY_45NM_PJ["dram read (64 bit), low"] / 8, tokens=4)
    assert e.compute_j == pytest.approx(4 * 70e9 * 1.5e-12)
    assert e.memory_j == pytest.approx(140e9 * 1300 / 8 * 1e-12)
    assert e.total_j == pytest.approx(e.compute_j + e.memory_j)


@pytest.mark.parametrize("bad", [0, -1, 2.5, True, "8"])
def test_sizes_refused(bad):
    with pytest.raises((TypeError, ValueError), match="m"):
        gemm_intensity(bad, 8, 8, bytes_weight=2, bytes_activation=2)


def test_nonpositive_intensity_refused():
    with pytest.raises(ValueError, match="intensity"):
        attainable([1.0, 0.0], 1e12, 1e9)


# ------------------------------------------------------------------ measurement (CPU)

def test_cpu_name_and_cache():
    assert cpu_name() and largest_cache_bytes() > 0


def test_measure_gemm_counts_and_cross_check():
    g = measure_gemm(8, 32, 16, repeats=1)
    assert g.operations == 2 * 8 * 32 * 16 and g.bytes_moved == 4 * (8 * 16 + 16 * 32 + 8 * 32)
    assert g.seconds > 0 and g.device == "cpu" and math.isclose(g.intensity, g.operations / g.bytes_moved)
    assert g.intensity == pytest.approx(gemm_intensity(8, 32, 16, bytes_weight=4, bytes_activation=4))


def test_measure_triad_counts():
    t = measure_triad(10_000, repeats=1)
    assert t.bytes_moved == 120_000 and t.bandwidth > 0


def test_best_seconds_is_the_minimum():
    calls = []
    best_seconds(lambda: calls.append(1), repeats=4)
    assert len(calls) == 5  # one warm-up


def test_cuda_refused_without_gpu():
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(ValueError, match="cuda"):
        measure_triad(100, device="cuda")


def test_measurement_record_validates():
    with pytest.raises(ValueError):
        Measurement("x", 1, 1, 0.0, "cpu")
    with pytest.raises(ValueError):
        Measurement("x", 1, 1, 1.0, "tpu")
