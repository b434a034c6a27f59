"""Tests for support.training.stability, cross-checked against torch and scipy.special."""

import numpy as np
import pytest
import scipy.special
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from support.numbers.formats import get_format, round_to
from support.training.stability import (PRECISIONS, bce_with_logits, cross_entropy, layer_norm, log_softmax,
                                        logsumexp, online_softmax, rms_norm, softmax)

RNG = np.random.default_rng(12)
X = RNG.normal(0, 5, size=(6, 300))
T = RNG.integers(0, 300, size=6)
LOW = ("float32", "bfloat16", "float16")
EPS = {name: get_format(name).eps for name in LOW}


def t(a):
    return torch.from_numpy(np.asarray(a, dtype=np.float64))


# --- float64: the stable formulas are the libraries' ---------------------------------------

def test_softmax_family_equals_torch_and_scipy_in_float64():
    np.testing.assert_allclose(softmax(X, precision="float64"), torch.softmax(t(X), -1).numpy(), rtol=1e-13)
    np.testing.assert_allclose(softmax(X, precision="float64"), scipy.special.softmax(X, axis=-1), rtol=1e-13)
    np.testing.assert_allclose(log_softmax(X, precision="float64"), torch.log_softmax(t(X), -1).numpy(), rtol=1e-13)
    np.testing.assert_allclose(log_softmax(X, precision="float64"), scipy.special.log_softmax(X, axis=-1), rtol=1e-13)
    np.testing.assert_allclose(logsumexp(X, precision="float64"), torch.logsumexp(t(X), -1).numpy(), rtol=1e-14)
    np.testing.assert_allclose(logsumexp(X, axis=0, precision="float64"), scipy.special.logsumexp(X, axis=0),
                               rtol=1e-14)


def test_losses_equal_torch_in_float64():
    ce = F.cross_entropy(t(X), torch.from_numpy(T), reduction="none").numpy()
    np.testing.assert_allclose(cross_entropy(X, T, precision="float64"), ce, rtol=1e-13)
    z, y = X[0] * 10, (RNG.random(300) < 0.5).astype(float)
    bce = F.binary_cross_entropy_with_logits(t(z), t(y), reduction="none").numpy()
    # torch adds (1 - y) z to a log-sum-exp: tiny losses come out with an absolute error ~1e-16, not relative
    np.testing.assert_allclose(bce_with_logits(z, y, precision="float64"), bce, rtol=1e-12, atol=1e-14)


def test_norms_equal_torch_in_float64():
    x = X + 100.0
    np.testing.assert_allclose(layer_norm(x, precision="float64", eps=1e-5),
                               F.layer_norm(t(x), (300,), eps=1e-5).numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(rms_norm(x, precision="float64", eps=1e-6),
                               F.rms_norm(t(x), (300,), eps=1e-6).numpy(), rtol=1e-13)


# --- float32: within a few ulps of torch's float32 kernels ---------------------------------

@pytest.mark.parametrize("offset", [0.0, 80.0, 1000.0])
def test_float32_softmax_close_to_torch_float32(offset):
    x = (X + offset).astype(np.float32)
    ours = softmax(x, precision="float32")
    theirs = torch.softmax(torch.from_numpy(x), -1).double().numpy()
    np.testing.assert_allclose(ours, theirs, rtol=8 * EPS["float32"], atol=1e-30)


# --- what the naive forms do -----------------------------------------------------------------

@pytest.mark.parametrize("precision", LOW)
def test_naive_softmax_overflows_exactly_above_log_max(precision):
    top = np.log(get_format(precision).max)
    below = softmax([top - 1.0, top - 1.5], precision=precision, stable=False)
    assert np.all(np.isfinite(below))
    above = softmax([top + 1.0, top + 0.5], precision=precision, stable=False)
    assert np.all(np.isnan(above))
    assert np.all(np.isfinite(softmax([top + 1.0, top + 0.5], precision=precision)))


def test_practice_question_logits_89():
    assert np.all(np.isnan(softmax([89.0, 89.1, 89.2], precision="float32", stable=False)))
    p = softmax([89.0, 89.1, 89.2], precision="float32")
    stored = np.float32([89.0, 89.1, 89.2]).astype(np.float64)     # 89.1 and 89.2 are not float32 numbers
    np.testing.assert_allclose(p, scipy.special.softmax(stored), rtol=4 * EPS["float32"])


def test_log_of_softmax_underflows_where_log_softmax_does_not():
    x = [0.0, 200.0]
    assert log_softmax(x, precision="float32", stable=False)[0] == -np.inf
    assert log_softmax(x, precision="float32")[0] == -200.0


def test_bce_naive_overflows_stable_matches_torch():
    z = np.array([-100.0, 100.0, 0.5])
    y = np.array([1.0, 0.0, 1.0])
    assert np.all(np.isinf(bce_with_logits(z, y, precision="float32", stable=False)[:2]))
    ref = F.binary_cross_entropy_with_logits(torch.tensor(z, dtype=torch.float32),
                                             torch.tensor(y, dtype=torch.float32), reduction="none").double().numpy()
    np.testing.assert_allclose(bce_with_logits(z, y, precision="float32"), ref, rtol=4 * EPS["float32"])


# --- stable formulas are accurate in every precision, at any offset ----------------------------

@pytest.mark.parametrize("precision", LOW)
@pytest.mark.parametrize("offset", [-1e4, 0.0, 1e4])
def test_stable_softmax_error_is_a_few_units_roundoff(precision, offset):
    x = X + offset
    stored = softmax(x, precision=precision)
    reference = softmax(round_to(x, precision), precision="float64")   # same inputs, exact arithmetic
    rel = np.abs(stored - reference) / reference
    assert np.nanmax(rel[reference > 1e-3]) < 8 * EPS[precision]


@settings(max_examples=40, deadline=None)
@given(arrays(np.float64, st.integers(1, 40), elements=st.floats(-1e4, 1e4)), st.integers(1, 9))
def test_online_softmax_matches_two_pass(x, block):
    np.testing.assert_allclose(online_softmax(x, block=block, precision="float64"),
                               softmax(x, precision="float64"), rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("precision", LOW)
def test_online_softmax_low_precision_close(precision):
    online = online_softmax(X + 500, block=32, precision=precision)
    two_pass = softmax(X + 500, precision=precision)
    assert np.max(np.abs(online - two_pass)) <= 16 * EPS[precision] * np.max(two_pass)


def test_one_pass_variance_fails_where_two_pass_does_not():
    x = 1e4 + RNG.normal(size=(4, 256))
    ref = layer_norm(x, precision="float64")
    two = layer_norm(x, precision="float32")
    one = layer_norm(x, precision="float32", variance="one_pass")
    assert np.max(np.abs(two - ref)) < 0.01
    assert not np.all(np.abs(one - ref) < 0.1)


def test_rms_norm_keeps_offset_layer_norm_removes_it():
    z = RNG.normal(size=512)
    for c in (0.0, 1e3):
        np.testing.assert_allclose(layer_norm(z + c, precision="float64"), layer_norm(z, precision="float64"),
                                   atol=1e-9)
    y = rms_norm(z + 1e3, precision="float64")
    assert abs(y.mean() - 1.0) < 1e-3 and y.std() < 2e-3


# --- argument validation -----------------------------------------------------------------------

@pytest.mark.parametrize("call, error", [
    (lambda: softmax([1.0], precision="float8"), ValueError),
    (lambda: softmax([1.0, np.nan]), ValueError),
    (lambda: softmax("abc"), TypeError),
    (lambda: softmax([1.0], stable="yes"), TypeError),
    (lambda: cross_entropy([[1.0, 2.0]], [2]), ValueError),
    (lambda: cross_entropy([[1.0, 2.0]], [0, 1]), ValueError),
    (lambda: cross_entropy([[1.0, 2.0]], [0.0]), TypeError),
    (lambda: bce_with_logits([1.0], [2.0]), ValueError),
    (lambda: online_softmax([1.0], block=0), ValueError),
    (lambda: layer_norm([1.0], variance="welford"), ValueError),
    (lambda: rms_norm([1.0], eps=-1.0), ValueError),
])
def test_invalid_arguments(call, error):
    with pytest.raises(error):
        call()


def test_precisions_listed():
    assert PRECISIONS[0] == "float64" and set(LOW) < set(PRECISIONS)
