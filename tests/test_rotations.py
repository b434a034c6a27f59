"""Tests for support.quant.rotations."""

import numpy as np
import pytest
import scipy.linalg

from support.quant import rotations as rot


@pytest.mark.parametrize("log_n", range(13))
def test_fwht_equals_scipy_hadamard(log_n):
    n = 2**log_n
    rng = np.random.default_rng(log_n)
    x = rng.standard_normal((3, n))
    expected = x @ (scipy.linalg.hadamard(n) / np.sqrt(n))
    np.testing.assert_allclose(rot.fwht(x), expected, rtol=1e-12, atol=1e-12 * np.sqrt(n))


@pytest.mark.parametrize("axis", [0, 1, 2, -1, -2])
def test_fwht_any_axis(axis):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((8, 4, 16))
    n = x.shape[axis]
    h = scipy.linalg.hadamard(n) / np.sqrt(n)
    expected = np.moveaxis(np.moveaxis(x, axis, -1) @ h, -1, axis)
    np.testing.assert_allclose(rot.fwht(x, axis=axis), expected, atol=1e-12)


@pytest.mark.parametrize("n", [1, 2, 64, 4096])
def test_fwht_is_its_own_inverse_and_orthonormal(n):
    x = np.random.default_rng(n).standard_normal((2, n))
    y = rot.fwht(x)
    np.testing.assert_allclose(rot.fwht(y), x, atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(y, axis=1), np.linalg.norm(x, axis=1))


def test_fwht_does_not_modify_input_and_keeps_float32():
    x = np.arange(8, dtype=np.float32)
    before = x.copy()
    y = rot.fwht(x)
    assert y.dtype == np.float32
    np.testing.assert_array_equal(x, before)
    assert rot.fwht(np.arange(4)).dtype == np.float64  # integers become float64


@pytest.mark.parametrize("n", [3, 6, 12, 100])
def test_fwht_rejects_non_power_of_two(n):
    with pytest.raises(ValueError, match="power of two"):
        rot.fwht(np.ones(n))


def test_fwht_rejects_bad_arguments():
    with pytest.raises(ValueError, match="out of range"):
        rot.fwht(np.ones((2, 4)), axis=2)
    with pytest.raises(ValueError, match="at least one dimension"):
        rot.fwht(np.float64(1.0))
    with pytest.raises(TypeError, match="real numbers"):
        rot.fwht(np.ones(4, dtype=complex))
    with pytest.raises(TypeError, match="axis"):
        rot.fwht(np.ones(4), axis=0.0)



def test_rotations_refuse_nan_and_inf():
    # They used to spread over the whole vector: fwht([1, inf, 0, 0]) has NaN in every entry
    with pytest.raises(ValueError, match="x contains 1 NaN value"):
        rot.fwht(np.array([1.0, np.nan, 0.0, 0.0]))
    with pytest.raises(ValueError, match="x contains 1 infinite value"):
        rot.hadamard_rotate(np.array([1.0, np.inf]), np.array([1.0, -1.0]))
    with pytest.raises(ValueError, match="signs contains 1 NaN"):
        rot.hadamard_rotate(np.ones(2), np.array([1.0, np.nan]))
    assert rot.fwht(np.zeros((0, 4))).shape == (0, 4)  # empty batches stay allowed


def test_hadamard_matrix():
    for n in (1, 2, 8, 32):
        np.testing.assert_allclose(rot.hadamard_matrix(n), scipy.linalg.hadamard(n) / np.sqrt(n))
    with pytest.raises(ValueError, match="power of two"):
        rot.hadamard_matrix(12)


@pytest.mark.parametrize("n", [1, 5, 64])
def test_random_orthogonal_is_orthogonal_and_seeded(n):
    q = rot.random_orthogonal(n, rng=3)
    np.testing.assert_allclose(q @ q.T, np.eye(n), atol=1e-12)
    np.testing.assert_array_equal(q, rot.random_orthogonal(n, np.random.default_rng(3)))


def test_random_orthogonal_is_haar():
    # Under the Haar measure each entry has mean 0 and variance 1/n, and the
    # diagonal is not biased towards positive values (it is without the sign fix).
    n, trials = 4, 2000
    rng = np.random.default_rng(0)
    qs = np.stack([rot.random_orthogonal(n, rng) for _ in range(trials)])
    assert abs(qs.mean()) < 0.02
    assert abs(qs[:, 0, 0].mean()) < 0.05
    np.testing.assert_allclose(qs.var(axis=0), 1 / n, atol=0.03)


def test_random_hadamard_matches_fast_rotation():
    n = 64
    x = np.random.default_rng(0).standard_normal((5, n))
    q = rot.random_hadamard(n, rng=7)
    s = rot.random_signs(n, rng=7)
    np.testing.assert_allclose(q @ q.T, np.eye(n), atol=1e-12)
    np.testing.assert_allclose(np.abs(q), 1 / np.sqrt(n))
    np.testing.assert_allclose(rot.hadamard_rotate(x, s), x @ q, atol=1e-12)
    np.testing.assert_allclose(rot.hadamard_rotate(x, s, inverse=True), x @ q.T, atol=1e-12)
    np.testing.assert_allclose(rot.hadamard_rotate(x.T, s, axis=0), (x @ q).T, atol=1e-12)


def test_rotating_both_operands_keeps_the_layer_output():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((10, 32))
    w = rng.standard_normal((6, 32))  # (out, in)
    s = rot.random_signs(32, rng)
    np.testing.assert_allclose(
        rot.hadamard_rotate(x, s) @ rot.hadamard_rotate(w, s).T, x @ w.T, atol=1e-12
    )


def test_rotation_spreads_an_outlier():
    x = np.zeros(256)
    x[17] = 100.0
    y = rot.hadamard_rotate(x, rot.random_signs(256, rng=0))
    np.testing.assert_allclose(np.abs(y), 100.0 / 16)


def test_random_rotation_argument_checks():
    with pytest.raises(TypeError, match=r"^inverse must be True or False, got 'no'$"):
        rot.hadamard_rotate(np.ones(4), rot.random_signs(4, rng=0), inverse="no")
    with pytest.raises(TypeError, match="rng"):
        rot.random_orthogonal(4, rng=None)
    with pytest.raises(TypeError, match="integer"):
        rot.random_signs(4.0, rng=0)
    with pytest.raises(ValueError, match="^n must be an integer from 1 to 16384"):
        rot.random_orthogonal(0, rng=0)
    with pytest.raises(ValueError, match="non-negative"):
        rot.random_signs(4, rng=-1)
    with pytest.raises(ValueError, match="power of two"):
        rot.random_hadamard(6, rng=0)
    with pytest.raises(ValueError, match="length"):
        rot.hadamard_rotate(np.ones(8), np.ones(4))
    with pytest.raises(ValueError, match=r"\+1 and -1"):
        rot.hadamard_rotate(np.ones(4), np.array([1.0, 2.0, 1.0, 1.0]))


# --------------------------------------------------------------------------- bad input (issue 15)


@pytest.mark.parametrize("make", [rot.random_orthogonal, rot.random_signs, rot.random_hadamard])
def test_absurd_sizes_are_refused_by_name(make):
    # numpy said "Maximum allowed dimension exceeded"
    with pytest.raises(ValueError, match="^n must be an integer from 1 to"):
        make(10**30, rng=0)


def test_fwht_names_x_and_takes_tensors():
    torch = pytest.importorskip("torch")
    with pytest.raises(ValueError, match="^the length of axis 0 of x must be a power of two"):
        rot.fwht(np.ones(3))
    np.testing.assert_array_equal(rot.fwht(torch.tensor([1.0, 0.0])), rot.fwht(np.array([1.0, 0.0], np.float32)))
