"""Tests for support.quant.theory: exact quantizer MSE against quadrature, Max (1960), Lloyd-Max,
sampling and support.quant.uniform; the MSE-optimal clipping range."""

import math

import numpy as np
import pytest
from scipy import integrate, stats

from support.quant import uniform
from support.quant.codebooks import lloyd_max
from support.quant.theory import (DENSITIES, clipping_mse, optimal_clip, quantizer_mse,
                                  uniform_levels)

SCIPY = {"normal": stats.norm(), "laplace": stats.laplace(scale=1 / math.sqrt(2)),
         "uniform": stats.uniform(loc=-math.sqrt(3), scale=2 * math.sqrt(3))}


def _quad_mse(levels, density):
    """The same integral by adaptive quadrature, cell by cell (slow, independent)."""
    pdf = SCIPY[density].pdf
    levels = np.sort(levels)
    edges = np.concatenate([[-np.inf], (levels[1:] + levels[:-1]) / 2, [np.inf]])
    return sum(integrate.quad(lambda x: (x - y) ** 2 * pdf(x), a, b, epsabs=1e-15, epsrel=1e-12,
                              points=None if np.isinf(a) or np.isinf(b) else
                              [p for p in (0.0, -math.sqrt(3), math.sqrt(3)) if a < p < b] or None)[0]
               for a, b, y in zip(edges[:-1], edges[1:], levels))


@pytest.mark.parametrize("density", DENSITIES)
@pytest.mark.parametrize("bits,clip,grid", [(1, 0.8, "symmetric"), (2, 1.0, "symmetric"), (3, 2.0, "symmetric"),
                                            (4, 2.7, "midrise"), (5, 3.3, "symmetric"), (3, 0.4, "midrise")])
def test_matches_adaptive_quadrature(density, bits, clip, grid):
    levels = uniform_levels(bits, clip, grid=grid)
    assert quantizer_mse(levels, density) == pytest.approx(_quad_mse(levels, density), rel=1e-9)


@pytest.mark.parametrize("density", DENSITIES)
def test_irregular_levels_against_quadrature(density):
    levels = np.array([-2.1, -0.3, 0.05, 0.9, 3.5])
    assert quantizer_mse(levels, density) == pytest.approx(_quad_mse(levels, density), rel=1e-9)


@pytest.mark.parametrize("density", DENSITIES)
def test_one_level_at_zero_gives_the_variance(density):
    assert quantizer_mse([0.0], density) == pytest.approx(1.0, rel=1e-12)
    # one level at y: variance + y**2
    assert quantizer_mse([0.5], density) == pytest.approx(1.25, rel=1e-12)


@pytest.mark.parametrize("bits", [1, 2, 3, 4])
def test_lloyd_max_levels_give_lloyd_max_mse(bits):
    r = lloyd_max(bits=bits)
    assert quantizer_mse(r.levels) == pytest.approx(r.mse, rel=1e-12)


# Max (1960), Table I: the printed levels of the 8- and 16-level quantizers.  Their exact MSE is
# 0.0345478 and 0.0095010, where the table prints 0.03454 and 0.009497.
MAX_8 = [0.2451, 0.7560, 1.344, 2.152]
MAX_16 = [0.1284, 0.3881, 0.6568, 0.9424, 1.256, 1.618, 2.069, 2.733]


@pytest.mark.parametrize("half,exact", [(MAX_8, 0.0345478), (MAX_16, 0.0095010)])
def test_max_table_one_levels(half, exact):
    levels = np.concatenate([-np.array(half[::-1]), half])
    assert round(quantizer_mse(levels), 7) == exact


# Max (1960), Table II: the optimal uniform quantizer (N levels at cell centres, no level at 0).
@pytest.mark.parametrize("bits,step,mse", [(1, 1.596, 0.3634), (2, 0.9957, 0.1188), (3, 0.5860, 0.03744),
                                           (4, 0.3352, 0.01154)])
def test_max_table_two_uniform(bits, step, mse):
    r = optimal_clip(bits, "normal", grid="midrise")
    digits = -math.floor(math.log10(step)) + 3
    assert round(2 * r.clip / 2**bits, digits) == step
    assert round(r.mse, -math.floor(math.log10(mse)) + 3) == mse


@pytest.mark.parametrize("density", DENSITIES)
def test_sampling_agrees(density):
    rng = np.random.default_rng(0)
    x = SCIPY[density].rvs(size=400_000, random_state=rng)
    levels = uniform_levels(3, 1.9)
    step = levels[1] - levels[0]
    q = np.clip(np.rint(x / step), -3, 3) * step
    err = (x - q) ** 2
    assert abs(err.mean() - quantizer_mse(levels, density)) < 4 * err.std() / math.sqrt(x.size)


@pytest.mark.parametrize("bits", [2, 4, 8])
def test_symmetric_grid_is_the_grid_of_support_quant_uniform(bits):
    clip = 2.5
    q = uniform.quantize(np.array([clip, -0.1]), bits, scale_dtype="float64")
    lo, hi = uniform.integer_range(bits)
    grid = uniform.dequantize_with(np.arange(lo, hi + 1), q.scale.ravel()[0])
    np.testing.assert_allclose(uniform_levels(bits, clip), grid, rtol=1e-15, atol=0)


def test_midrise_levels_tile_the_range():
    levels = uniform_levels(3, 2.0, grid="midrise")
    assert levels.size == 8 and np.allclose(np.diff(levels), 0.5) and levels[-1] == 2.0 - 0.25
    assert uniform_levels(1, 3.0).tolist() == [-3.0, 3.0]


@pytest.mark.parametrize("density", DENSITIES)
@pytest.mark.parametrize("bits,clip", [(2, 1.0), (4, 2.5), (8, 4.0)])
def test_granular_plus_overload(density, bits, clip):
    e = clipping_mse(bits, clip, density)
    assert e.granular + e.overload == pytest.approx(e.mse, rel=1e-12)
    assert e.granular > 0 and e.overload >= 0
    if density == "uniform" and clip >= math.sqrt(3):
        assert e.overload == 0


def test_granular_error_is_step_squared_over_twelve_at_8_bits():
    e = clipping_mse(8, 4.0, "normal")
    step = 4.0 / 127
    assert e.granular == pytest.approx(step**2 / 12, rel=2e-3)


def test_laplace_two_bit_optimum_is_sqrt_two():
    # Levels {-c, 0, c}: dMSE/dc = 0 <=> E[(X - c); X > c/2] = 0 <=> c/2 = b (memoryless tail),
    # so c = 2b = sqrt(2) for unit variance.
    assert optimal_clip(2, "laplace").clip == pytest.approx(math.sqrt(2), rel=1e-7)


@pytest.mark.parametrize("density", ["normal", "laplace"])
@pytest.mark.parametrize("bits", [2, 3, 4, 6, 8])
def test_optimal_clip_is_a_minimum(density, bits):
    r = optimal_clip(bits, density)
    for factor in (0.99, 1.01):
        assert clipping_mse(bits, r.clip * factor, density).mse > r.mse
    assert r.sqnr_db == pytest.approx(-10 * math.log10(r.mse))


def test_heavier_tails_need_a_wider_clip():
    for bits in (3, 4, 8):
        assert optimal_clip(bits, "laplace").clip > optimal_clip(bits, "normal").clip


def test_uniform_density_optimum_clips_at_the_edge():
    # Nothing to gain from clipping a bounded density with a midrise grid: c = sqrt(3), D = Δ²/12.
    r = optimal_clip(3, "uniform", grid="midrise")
    assert r.clip == pytest.approx(math.sqrt(3), rel=1e-6)
    assert r.mse == pytest.approx((2 * math.sqrt(3) / 8) ** 2 / 12, rel=1e-6)


@pytest.mark.parametrize("call,error", [
    (lambda: quantizer_mse([0.0], "cauchy"), ValueError),
    (lambda: quantizer_mse([0.0, np.nan]), ValueError),
    (lambda: quantizer_mse([1.0, 1.0]), ValueError),
    (lambda: quantizer_mse("abc"), TypeError),
    (lambda: uniform_levels(0, 1.0), ValueError),
    (lambda: uniform_levels(17, 1.0), ValueError),
    (lambda: uniform_levels(2.5, 1.0), TypeError),
    (lambda: uniform_levels(4, -1.0), ValueError),
    (lambda: uniform_levels(4, 1.0, grid="midtread"), ValueError),
    (lambda: optimal_clip(4, "student"), ValueError),
    (lambda: clipping_mse(4, 0.0), ValueError),
])
def test_arguments_are_checked(call, error):
    with pytest.raises(error):
        call()
