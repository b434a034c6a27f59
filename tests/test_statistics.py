"""Tests for support.numbers.statistics."""

from fractions import Fraction

import numpy as np
import pytest

from support.numbers import statistics as st


def _exact_variance(x, ddof=0):
    """The variance of the stored values, in exact rational arithmetic."""
    xs = [Fraction(float(v)) for v in np.ravel(x)]
    mean = sum(xs) / len(xs)
    return float(sum((v - mean) ** 2 for v in xs) / (len(xs) - ddof))


# ----------------------------------------------------------------------------- agreement


@pytest.mark.parametrize("ddof", [0, 1])
def test_stable_algorithms_match_numpy_in_float64(ddof):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((500, 7)) * 3 + 2
    want = np.var(x, axis=0, ddof=ddof)
    np.testing.assert_allclose(st.two_pass_variance(x, ddof=ddof), want, rtol=1e-13)
    np.testing.assert_allclose(st.welford_variance(x, ddof=ddof), want, rtol=1e-13)
    np.testing.assert_allclose(st.naive_variance(x), np.var(x, axis=0), rtol=1e-10)


def test_axis_argument():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4, 300))
    for f in (st.naive_variance, st.two_pass_variance, st.welford_variance):
        np.testing.assert_allclose(f(x, axis=1), np.var(x, axis=1), rtol=1e-10)
        np.testing.assert_allclose(f(x, axis=-1), np.var(x, axis=1), rtol=1e-10)


def test_dtype_is_preserved_and_ints_become_float64():
    x32 = np.arange(10, dtype=np.float32)
    for f in (st.naive_variance, st.two_pass_variance, st.welford_variance):
        assert f(x32).dtype == np.float32
        assert f(np.arange(10)).dtype == np.float64
        assert float(f(np.arange(10))) == pytest.approx(8.25)


def test_bfloat16_runs_in_bfloat16():
    ml_dtypes = pytest.importorskip("ml_dtypes")
    x = np.array([1.0, 2.0, 3.0, 4.0], dtype=ml_dtypes.bfloat16)
    v = st.welford_variance(x)
    assert v.dtype == x.dtype and float(v) == 1.25


# ----------------------------------------------------------------------------- stability


def test_naive_formula_fails_and_stable_ones_do_not_with_a_large_offset():
    rng = np.random.default_rng(2)
    x = (np.float32(1e4) + rng.standard_normal(2000)).astype(np.float32)
    exact = _exact_variance(x)
    naive = float(st.naive_variance(x))
    assert abs(naive - exact) / exact > 0.5  # most digits lost
    for f in (st.two_pass_variance, st.welford_variance):
        assert abs(float(f(x)) - exact) / exact < 1e-3


def test_naive_variance_can_be_negative():
    # mean(x²) rounds below mean(x)² in float32: a "variance" < 0.
    x = np.float32(1e4) + np.array([0, 0, 0, 1], dtype=np.float32)
    values = [float(st.naive_variance(x + np.float32(k))) for k in range(64)]
    assert min(values) < 0


def test_welford_is_exact_on_small_integers():
    x = np.float32(1e6) + np.arange(8, dtype=np.float32)
    assert float(st.welford_variance(x)) == _exact_variance(x) == 5.25


# ----------------------------------------------------------------------------- state API


def test_update_step_by_step_matches_definition():
    s = st.welford_init((), np.float64)
    data = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]
    for k, v in enumerate(data, start=1):
        s = st.welford_update(s, v)
        assert int(s.count) == k
        assert float(s.mean) == pytest.approx(np.mean(data[:k]))
        assert float(s.variance()) == pytest.approx(np.var(data[:k]))
    assert float(s.variance()) == 4.0
    assert float(s.variance(ddof=1)) == pytest.approx(32 / 7)


def test_update_does_not_modify_its_input():
    s0 = st.welford_init(2)
    s1 = st.welford_update(s0, [1.0, 2.0])
    assert s0.count.tolist() == [0, 0] and s1.count.tolist() == [1, 1]


def test_merge_equals_one_pass_over_everything():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((300, 5)) + 10
    for split in (0, 1, 137, 299, 300):
        a, b = st.welford_init(5), st.welford_init(5)
        for row in x[:split]:
            a = st.welford_update(a, row)
        for row in x[split:]:
            b = st.welford_update(b, row)
        m = st.welford_merge(a, b)
        assert m.count.tolist() == [300] * 5
        np.testing.assert_allclose(m.mean, x.mean(axis=0), rtol=1e-13)
        np.testing.assert_allclose(m.variance(), x.var(axis=0), rtol=1e-12)


def test_merge_of_two_empty_states_is_empty():
    m = st.welford_merge(st.welford_init(3), st.welford_init(3))
    assert m.count.tolist() == [0, 0, 0] and not np.any(m.mean) and not np.any(m.m2)


# ----------------------------------------------------------------------------- validation


def test_rejects_bad_input():
    with pytest.raises(TypeError, match="real numbers"):
        st.two_pass_variance(np.array(["a", "b"]))
    with pytest.raises(ValueError, match="scalar"):
        st.welford_variance(3.0)
    with pytest.raises(ValueError, match="no samples"):
        st.naive_variance(np.zeros((0, 3)))
    with pytest.raises(ValueError, match="out of range"):
        st.two_pass_variance(np.zeros((3, 3)), axis=2)
    with pytest.raises(ValueError, match="ddof"):
        st.welford_variance([1.0], ddof=1)
    with pytest.raises(ValueError, match="ddof"):
        st.two_pass_variance([1.0, 2.0], ddof=-1)
    with pytest.raises(TypeError, match="floating"):
        st.welford_init(3, np.int32)
    with pytest.raises(TypeError, match="shape"):
        st.welford_init("3")
    with pytest.raises(TypeError, match="WelfordState"):
        st.welford_update((0, 0.0, 0.0), 1.0)
    with pytest.raises(ValueError, match="broadcast"):
        st.welford_update(st.welford_init(3), [1.0, 2.0])
    with pytest.raises(ValueError, match="shapes"):
        st.welford_merge(st.welford_init(3), st.welford_init(2))
    with pytest.raises(TypeError, match="dtypes"):
        st.welford_merge(st.welford_init(3, np.float32), st.welford_init(3))
    with pytest.raises(ValueError, match="more than ddof"):
        st.welford_init(2).variance()


# --------------------------------------------------------------------------- bad input (issue 15)


def test_booleans_ragged_lists_and_bad_dtypes_are_refused_by_name():
    import support.numbers.statistics as S

    for fn in (S.naive_variance, S.two_pass_variance, S.welford_variance):
        with pytest.raises(TypeError, match="^x must hold real numbers"):
            fn(np.array([True, False, True]))
        with pytest.raises(TypeError, match="^x must be an array of real numbers; could not make an array"):
            fn([[1.0], [2.0, 3.0]])
    with pytest.raises(TypeError, match="^dtype must be a floating type"):
        S.welford_init(3, dtype=None)  # np.dtype(None) is float64
    with pytest.raises(TypeError, match="^dtype must be a floating type"):
        S.welford_init(3, dtype="no_such_type")
    with pytest.raises(ValueError, match="^shape must have sizes >= 0 and at most"):
        S.welford_init(10**30)
    with pytest.raises(TypeError, match="^x must hold real numbers"):
        S.welford_update(S.welford_init(()), True)


def test_torch_bfloat16_keeps_its_working_precision():
    torch = pytest.importorskip("torch")
    ml_dtypes = pytest.importorskip("ml_dtypes")
    import support.numbers.statistics as S

    x = np.array([1000.0, 1001.0, 1002.0, 1003.0], dtype=ml_dtypes.bfloat16)
    t = torch.tensor([1000.0, 1001.0, 1002.0, 1003.0], dtype=torch.bfloat16)
    np.testing.assert_array_equal(S.naive_variance(t), S.naive_variance(x))
    assert S.naive_variance(t).dtype == ml_dtypes.bfloat16


def test_welford_state_checks_its_fields():
    import support.numbers.statistics as S

    state = S.welford_update(S.welford_init(3), np.array([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(S.WelfordState(*state).m2, state.m2)
    with pytest.raises(ValueError, match=r"^mean has shape \(2,\), but count has \(3,\)"):
        S.WelfordState(state.count, state.mean[:2], state.m2)
    with pytest.raises(TypeError, match="^count must hold integers"):
        S.WelfordState(state.count.astype(float), state.mean, state.m2)
    with pytest.raises(ValueError, match="^count must be >= 0"):
        S.WelfordState(-state.count, state.mean, state.m2)
