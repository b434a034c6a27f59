"""Tests for support.numbers.scaling: amax scales, scaled casts and delayed scaling."""

from __future__ import annotations

import doctest
import math

import numpy as np
import pytest

import support.numbers.scaling
from support.numbers.formats import get_format, round_to
from support.numbers.scaling import DelayedScaler, amax_scale, scale_for_amax, scaled_round

FP8 = ["float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz", "float8_e5m2fnuz"]


def test_doctests():
    failures, _ = doctest.testmod(support.numbers.scaling)
    assert failures == 0


@pytest.mark.parametrize("name", FP8 + ["float6_e2m3fn", "float4_e2m1fn"])
def test_scale_maps_amax_onto_max(name):
    fmt = get_format(name)
    for amax in (1e-6, 0.37, 3.0, 1e4):
        s = scale_for_amax(amax, name)
        assert s * amax == pytest.approx(fmt.max, rel=1e-15)
        assert scale_for_amax(amax, name, margin=2) == pytest.approx(s / 4, rel=1e-15)
        p = scale_for_amax(amax, name, power_of_two=True)
        assert math.log2(p).is_integer() and p <= s < 2 * p   # the largest power of two <= s


def test_scale_is_vectorised_and_zero_gives_one():
    s = scale_for_amax(np.array([0.0, 2.0, 448.0]), "float8_e4m3fn")
    assert s.tolist() == [1.0, 224.0, 1.0]
    assert isinstance(scale_for_amax(2.0, "float8_e4m3fn"), float)


@pytest.mark.parametrize("bad", [-1.0, math.nan, math.inf])
def test_scale_refuses_bad_amax(bad):
    with pytest.raises(ValueError, match="finite and >= 0"):
        scale_for_amax(bad, "float8_e4m3fn")


def test_scale_refuses_overflowing_scale_and_bad_arguments():
    with pytest.raises(ValueError, match="too small"):
        scale_for_amax(5e-324, "float8_e5m2")
    with pytest.raises(TypeError, match="margin"):
        scale_for_amax(1.0, "float8_e4m3fn", margin=0.5)
    with pytest.raises(ValueError, match="unsigned"):
        scale_for_amax(1.0, "float8_e8m0fnu")
    with pytest.raises(ValueError):
        scale_for_amax(1.0, "float7_nonsense")


@pytest.mark.parametrize("bad", ["no", 0, 1, None])
def test_boolean_flags_must_be_true_or_false(bad):
    with pytest.raises(TypeError, match=rf"^power_of_two must be True or False, got {bad!r}$"):
        scale_for_amax(3.0, "float8_e4m3fn", power_of_two=bad)
    with pytest.raises(TypeError, match=rf"^power_of_two must be True or False, got {bad!r}$"):
        amax_scale([3.0], "float8_e4m3fn", power_of_two=bad)
    with pytest.raises(TypeError, match=rf"^saturate must be True or False, got {bad!r}$"):
        scaled_round([5.0], 128.0, "float8_e4m3fn", saturate=bad)
    with pytest.raises(TypeError, match=rf"^saturate must be True or False, got {bad!r}$"):
        DelayedScaler("float8_e4m3fn", saturate=bad)
    assert DelayedScaler("float8_e4m3fn", saturate=np.False_).saturate is False


def test_amax_scale_uses_magnitudes():
    assert amax_scale([0.5, -4.0, 2.0], "float8_e4m3fn") == 112.0
    with pytest.raises(ValueError, match="^x contains 1 NaN"):
        amax_scale([1.0, math.nan], "float8_e4m3fn")
    with pytest.raises(ValueError, match="empty"):
        amax_scale([], "float8_e4m3fn")


@pytest.mark.parametrize("name", FP8)
def test_scaled_round_with_power_of_two_scale_is_one_rounding(name):
    rng = np.random.default_rng(0)
    x = rng.normal(scale=1e-3, size=4096)
    s = amax_scale(x, name, power_of_two=True)
    got = scaled_round(x, s, name)
    assert np.array_equal(got, round_to(x * s, name) / s)
    assert np.abs(got).max() <= get_format(name).max / s


def test_scaled_round_saturates_or_overflows():
    x = np.array([1.0, 10.0])
    assert scaled_round(x, 128.0, "float8_e4m3fn").tolist() == [1.0, 3.5]
    assert np.isnan(scaled_round(x, 128.0, "float8_e4m3fn", saturate=False)[1])
    assert np.isinf(scaled_round([1e4], 128.0, "float8_e5m2", saturate=False)[0])
    with pytest.raises(ValueError, match="positive finite"):
        scaled_round(x, 0.0, "float8_e4m3fn")


def test_scaled_round_matches_torch_saturating_cast():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    x = rng.standard_t(df=3, size=10_000).astype(np.float32)
    s = 2.0**5  # exact, and large enough that the tails saturate
    ours = scaled_round(x, s, "float8_e4m3fn")
    scaled = torch.from_numpy(x * np.float32(s)).clamp(-448, 448)     # saturates in every torch version
    theirs = scaled.to(torch.float8_e4m3fn).to(torch.float64).numpy() / s
    assert (np.abs(x * s) > 448).any() and np.array_equal(ours, theirs)


def test_scaled_round_stochastic_is_reproducible():
    x = np.full(1000, 0.33)   # 3.3 lies between the E4M3 values 3.25 and 3.5
    a = scaled_round(x, 10.0, "float8_e4m3fn", mode="stochastic", rng=np.random.default_rng(3))
    b = scaled_round(x, 10.0, "float8_e4m3fn", mode="stochastic", rng=np.random.default_rng(3))
    assert np.array_equal(a, b) and len(set(a.tolist())) == 2


def test_delayed_scaler_follows_window_max():
    scaler = DelayedScaler("float8_e4m3fn", history_len=3, initial_scale=2.0)
    amaxes = [1.0, 4.0, 2.0, 1.0, 1.0, 0.5]
    expected_scales = [2.0, 448.0, 112.0, 112.0, 112.0, 224.0]  # the scale each step uses
    used = []
    for a in amaxes:
        used.append(scaler.scale)
        scaler.quantize(np.array([a, -a / 2]))
    assert used == expected_scales
    assert scaler.history.tolist() == [1.0, 1.0, 0.5]


def test_delayed_scaler_most_recent_and_margin():
    scaler = DelayedScaler("float8_e5m2", history_len=16, algo="most_recent", margin=1)
    scaler.quantize([8.0])
    scaler.quantize([2.0])
    assert scaler.scale == 57344 / 2 / 2


def test_delayed_scaler_keeps_scale_for_zero_and_nonfinite_amax():
    scaler = DelayedScaler("float8_e4m3fn", history_len=1)
    scaler.quantize([2.0])
    assert scaler.scale == 224.0
    scaler.quantize([0.0, 0.0])
    assert scaler.scale == 224.0
    out = scaler.quantize([math.inf, 1.0])
    assert scaler.scale == 224.0 and out[0] == 2.0  # inf saturates to 448 / 224


def test_delayed_scaler_skips_zero_amax_like_transformer_engine():
    # TE's fused update neither rolls the history nor changes the scale for an amax of 0.
    scaler = DelayedScaler("float8_e4m3fn", history_len=2)
    for x in ([4.0], [0.0, -0.0], [1.0]):
        scaler.quantize(x)
    assert scaler.history.tolist() == [4.0, 1.0] and scaler.scale == 112.0   # 4 is still in the window


def test_delayed_scaler_ignores_nan_in_amax_like_transformer_engine():
    # TE computes amaxes with fmaxf, which skips NaN: the finite values still count.
    scaler = DelayedScaler("float8_e4m3fn", history_len=3)
    scaler.quantize([2.0])
    out = scaler.quantize([math.nan, 4.0])
    assert np.isnan(out[0]) and scaler.history.tolist() == [0.0, 2.0, 4.0] and scaler.scale == 112.0
    scaler.quantize([math.nan])                   # amax 0: nothing recorded
    assert scaler.history.tolist() == [0.0, 2.0, 4.0] and scaler.scale == 112.0
    recent = DelayedScaler("float8_e4m3fn", history_len=3, algo="most_recent")
    recent.quantize([2.0])
    recent.quantize([math.nan, 1.0])
    assert recent.scale == 448.0


def test_delayed_scaler_inf_freezes_scale_while_in_window():
    scaler = DelayedScaler("float8_e4m3fn", history_len=2)
    scaler.quantize([2.0])
    scaler.quantize([math.inf])
    scaler.quantize([1.0])
    assert scaler.scale == 224.0                  # window [inf, 1]: scale kept
    scaler.quantize([1.0])
    assert scaler.scale == 448.0                  # inf has left the window


def test_delayed_scaler_clamps_overflowing_scale():
    scaler = DelayedScaler("float8_e4m3fn", history_len=1)
    scaler.quantize([5e-324])                     # 448 / 5e-324 overflows float64
    assert scaler.scale == np.finfo(np.float64).max


def test_delayed_scaler_spike_overflows_and_saturation_bounds_it():
    for saturate in (True, False):
        rng = np.random.default_rng(2)
        scaler = DelayedScaler("float8_e4m3fn", history_len=8, saturate=saturate)
        for _ in range(8):
            scaler.quantize(rng.normal(size=256))
        s = scaler.scale                       # from the amaxes of the previous steps
        spike = 10 * rng.normal(size=256)
        out = scaler.quantize(spike)
        overflow = np.abs(spike) * s > 464     # 448 < |x s| <= 464 still rounds to 448
        assert overflow.any()
        if saturate:
            assert np.isfinite(out).all() and (np.abs(out[overflow]) == 448 / s).all()
        else:
            assert np.array_equal(np.isnan(out), overflow)
        assert scaler.scale == scale_for_amax(np.abs(spike).max(), "float8_e4m3fn")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"history_len": 0}, "history_len"),
        ({"algo": "mean"}, "algo"),
        ({"initial_scale": -1.0}, "initial_scale"),
        ({"margin": 1.5}, "margin"),
    ],
)
def test_delayed_scaler_validates(kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message):
        DelayedScaler("float8_e4m3fn", **kwargs)


# --------------------------------------------------------------------------- bad input (issue 15)


def test_huge_margin_is_refused_not_a_zero_scale():
    with pytest.raises(ValueError, match="^margin must be an integer from -128 to 128"):
        scale_for_amax(2.0, "float8_e4m3fn", margin=10**30)
    with pytest.raises(ValueError, match="^margin must be"):
        amax_scale([2.0], "float8_e4m3fn", margin=10**30)
    with pytest.raises(ValueError, match="^margin must be"):
        DelayedScaler("float8_e4m3fn", margin=10**30)


def test_scale_underflow_is_refused():
    with pytest.raises(ValueError, match="underflows float64 to 0"):
        scale_for_amax(1e300, "float8_e4m3fn", margin=128)


@pytest.mark.parametrize("bad", [None, "x", [[1.0], [2.0, 3.0]]])
def test_scaled_round_refuses_what_is_not_numbers(bad):
    with pytest.raises(TypeError, match="^x must"):
        scaled_round(bad, 1.0, "float8_e4m3fn")


def test_complex_input_is_refused_not_truncated():
    with pytest.raises(TypeError, match="^amax must be a real number"):
        scale_for_amax(2.0 + 1j, "float8_e4m3fn")
    with pytest.raises(TypeError, match="^amax must hold real numbers"):
        scale_for_amax(np.array([2.0 + 1j]), "float8_e4m3fn")
    with pytest.raises(TypeError, match="^x must hold real numbers"):
        amax_scale([1.0 + 5j], "float8_e4m3fn")
    with pytest.raises(TypeError, match="^x must hold real numbers"):
        scaled_round([1.0 + 5j], 1.0, "float8_e4m3fn")
    with pytest.raises(TypeError, match="^x must hold real numbers"):
        DelayedScaler("float8_e4m3fn").quantize([1.0 + 5j])


def test_boolean_amax_is_refused():
    with pytest.raises(TypeError, match="^amax must be a real number"):
        scale_for_amax(True, "float8_e4m3fn")


def test_delayed_scaler_arguments():
    with pytest.raises(ValueError, match="^history_len must be an integer from 1 to"):
        DelayedScaler("float8_e4m3fn", history_len=10**30)
    with pytest.raises(ValueError, match="^algo must be one of 'max', 'most_recent', got 'mean'"):
        DelayedScaler("float8_e4m3fn", algo="mean")
    with pytest.raises(TypeError, match="^algo must be one of"):
        DelayedScaler("float8_e4m3fn", algo=["max"])


def test_bfloat16_and_torch_inputs_follow_the_input_policy():
    ml_dtypes = pytest.importorskip("ml_dtypes")
    torch = pytest.importorskip("torch")
    x = [0.5, -4.0, 2.0]
    expected = amax_scale(x, "float8_e4m3fn")
    assert amax_scale(np.array(x, dtype=ml_dtypes.bfloat16), "float8_e4m3fn") == expected
    assert amax_scale(torch.tensor(x), "float8_e4m3fn") == expected
