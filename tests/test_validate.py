"""Tests for support._validate, the argument checks shared by the quantization modules."""

import numpy as np
import pytest

from support._validate import (
    flag,
    integer_in_range,
    normalize_axis,
    one_of,
    positive_int,
    positive_number,
    real_array,
    real_number,
)

# --------------------------------------------------------------------------- flag


@pytest.mark.parametrize("value", [True, False, np.True_, np.False_, np.bool_(1)])
def test_flag_accepts_booleans(value):
    result = flag(value, "symmetric")
    assert result == bool(value) and type(result) is bool


@pytest.mark.parametrize("value", ["no", "False", "", 0, 1, 1.0, None, np.int64(1), np.array(True), [True]])
def test_flag_rejects_what_is_not_a_boolean(value):
    # bool("no") is True and bool("") is False: a truthiness test would read either silently
    with pytest.raises(TypeError, match=r"^symmetric must be True or False, got "):
        flag(value, "symmetric")


# --------------------------------------------------------------------------- positive_int


@pytest.mark.parametrize("value", [1, 7, 2**40, np.int8(3), np.uint64(5)])
def test_positive_int_accepts_integers(value):
    result = positive_int(value, "block_size")
    assert result == int(value) and type(result) is int


def test_positive_int_none():
    assert positive_int(None, "group_size", allow_none=True) is None
    with pytest.raises(TypeError, match=r"^group_size must be a positive integer, got None$"):
        positive_int(None, "group_size")


@pytest.mark.parametrize("value", [0, -1, np.int64(-3)])
def test_positive_int_rejects_small_values(value):
    with pytest.raises(ValueError, match=rf"^block_size must be a positive integer, got {int(value)}$"):
        positive_int(value, "block_size")


@pytest.mark.parametrize("value", [2.0, 2.5, "2", True, np.True_, [2]])
def test_positive_int_rejects_non_integers(value):
    with pytest.raises(TypeError, match=r"^n must be a positive integer or None, got "):
        positive_int(value, "n", allow_none=True)


# --------------------------------------------------------------------------- integer_in_range


@pytest.mark.parametrize("value", [1, 16, np.int32(8)])
def test_integer_in_range_accepts_the_range_inclusive(value):
    result = integer_in_range(value, "bits", 1, 16)
    assert result == int(value) and type(result) is int


@pytest.mark.parametrize("value", [0, 17, -3])
def test_integer_in_range_rejects_values_outside(value):
    with pytest.raises(ValueError, match=rf"^bits must be an integer from 1 to 16, got {value}$"):
        integer_in_range(value, "bits", 1, 16)


@pytest.mark.parametrize("value", [4.0, 2.5, "4", True, None])
def test_integer_in_range_rejects_non_integers(value):
    with pytest.raises(TypeError, match=r"^bits must be an integer from 1 to 16, got "):
        integer_in_range(value, "bits", 1, 16)


def test_integer_in_range_gives_the_reason():
    with pytest.raises(ValueError, match=r"from 1 to 8 \(a code must fit a uint8\), got 9"):
        integer_in_range(9, "total_bits", 1, 8, why="a code must fit a uint8")


# --------------------------------------------------------------------------- positive_number


@pytest.mark.parametrize("value", [1e-300, 0.5, 3, np.float32(0.25), np.int64(2)])
def test_positive_number_accepts_positive_finite_numbers(value):
    result = positive_number(value, "tol")
    assert result == float(value) and type(result) is float


def test_positive_number_zero():
    assert positive_number(0.0, "damp", allow_zero=True) == 0.0
    with pytest.raises(ValueError, match=r"^tol must be a positive finite number, got 0$"):
        positive_number(0, "tol")


@pytest.mark.parametrize("value", [-1.0, np.inf, -np.inf, np.nan])
def test_positive_number_rejects_negative_and_non_finite(value):
    with pytest.raises(ValueError, match=r"^damp must be a finite number >= 0 \(typically 0.01\), got "):
        positive_number(value, "damp", allow_zero=True, hint="typically 0.01")


@pytest.mark.parametrize("value", ["0.1", True, None, 1j, [0.1]])
def test_positive_number_rejects_non_numbers(value):
    with pytest.raises(TypeError, match=r"^eps must be a positive finite number, got "):
        positive_number(value, "eps")


# --------------------------------------------------------------------------- normalize_axis


@pytest.mark.parametrize("axis, expected", [(0, 0), (2, 2), (-1, 2), (-3, 0), (np.int64(-2), 1)])
def test_normalize_axis_counts_negative_axes_from_the_end(axis, expected):
    result = normalize_axis(axis, 3)
    assert result == expected and type(result) is int


def test_normalize_axis_none():
    assert normalize_axis(None, 2, allow_none=True) is None
    with pytest.raises(TypeError, match=r"^axis must be an integer, got None$"):
        normalize_axis(None, 2)


@pytest.mark.parametrize("axis", [2, 5, -3])
def test_normalize_axis_rejects_out_of_range(axis):
    with pytest.raises(ValueError, match=rf"^axis {axis} is out of range for an array with 2 dimension\(s\) "
                                         r"\(allowed: -2 to 1\)$"):
        normalize_axis(axis, 2)


def test_normalize_axis_of_a_scalar():
    with pytest.raises(ValueError, match=r"^axis 0 is out of range for a 0-d array \(a scalar has no axes"):
        normalize_axis(0, 0)


def test_normalize_axis_names_the_array_when_told():
    with pytest.raises(ValueError, match=r"^axis 0 is out of range for x, a 0-d array"):
        normalize_axis(0, 0, array="x")
    with pytest.raises(ValueError, match=r"^axis 3 is out of range for w, an array with 2 dimension\(s\)"):
        normalize_axis(3, 2, array="w")


@pytest.mark.parametrize("axis", [1.0, "rows", True, (0, 1)])
def test_normalize_axis_rejects_non_integers(axis):
    with pytest.raises(TypeError, match=r"^dim must be an integer or None, got "):
        normalize_axis(axis, 2, "dim", allow_none=True)


# --------------------------------------------------------------------------- real_array


def test_real_array_keeps_the_array_and_its_dtype():
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    assert real_array(x) is x
    for dtype in (np.int8, np.uint16, np.int64, np.float16, np.float64):
        assert real_array(np.ones(3, dtype=dtype)).dtype == dtype
    np.testing.assert_array_equal(real_array([[1, 2], [3, 4]]), [[1, 2], [3, 4]])
    assert real_array(2.5).shape == ()


def test_real_array_as_float():
    assert real_array(np.arange(3), as_float=True).dtype == np.float64
    assert real_array(np.ones(3, np.float32), as_float=True).dtype == np.float32  # floats are kept
    np.testing.assert_array_equal(real_array([True, False], allow_bool=True, as_float=True), [1.0, 0.0])


@pytest.mark.parametrize("values", [np.array([1 + 2j]), np.array(["a"]), np.array([None, 1.0]),
                                    np.array([True]), np.datetime64("2024-01-01")])
def test_real_array_rejects_what_is_not_a_real_number(values):
    with pytest.raises(TypeError, match=r"^w must hold real numbers \(integers or floats\), got dtype "):
        real_array(values, "w")


def test_real_array_booleans_on_request():
    np.testing.assert_array_equal(real_array([True, False], allow_bool=True), [True, False])
    with pytest.raises(TypeError, match=r"\(integers, floats or booleans\), got dtype complex"):
        real_array([1j], allow_bool=True)


ML_FLOATS = ["bfloat16", "float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz", "float8_e5m2fnuz", "float8_e8m0fnu",
             "float6_e2m3fn", "float6_e3m2fn", "float4_e2m1fn"]


@pytest.mark.parametrize("dtype", ML_FLOATS)
def test_real_array_ml_dtypes_floats_become_float32_exactly(dtype):
    ml_dtypes = pytest.importorskip("ml_dtypes")
    values = np.array([0.5, 1.0, 2.0, 4.0], dtype=getattr(ml_dtypes, dtype))
    arr = real_array(values)
    assert arr.dtype == np.float32
    np.testing.assert_array_equal(arr, values.astype(np.float64))


@pytest.mark.parametrize("dtype, expected", [("int4", np.int8), ("uint4", np.uint8), ("int2", np.int8)])
def test_real_array_ml_dtypes_integers_become_int8(dtype, expected):
    ml_dtypes = pytest.importorskip("ml_dtypes")
    arr = real_array(np.array([1, -1 if expected is np.int8 else 0], dtype=getattr(ml_dtypes, dtype)))
    assert arr.dtype == expected and list(arr) == [1, -1 if expected is np.int8 else 0]


def test_real_array_nan_in_ml_dtypes_is_refused():
    ml_dtypes = pytest.importorskip("ml_dtypes")
    with pytest.raises(ValueError, match="^x contains 1 NaN"):
        real_array(np.array([1.0, np.nan], dtype=ml_dtypes.bfloat16))


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16", "float8_e4m3fn", "int32"])
def test_real_array_torch_tensors(dtype):
    torch = pytest.importorskip("torch")
    t = torch.tensor([1.0, -2.0, 0.5 if "int" not in dtype else 3], requires_grad=False).to(getattr(torch, dtype))
    arr = real_array(t)
    assert isinstance(arr, np.ndarray)
    np.testing.assert_array_equal(arr, t.double().numpy())


def test_real_array_torch_shares_memory_and_detaches():
    torch = pytest.importorskip("torch")
    p = torch.nn.Parameter(torch.ones(3))
    arr = real_array(p)
    assert arr.dtype == np.float32 and np.shares_memory(arr, p.detach().numpy())


def test_real_array_torch_complex_and_bool_are_refused():
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError, match="^w must hold real numbers"):
        real_array(torch.tensor([1 + 1j]), "w")
    with pytest.raises(TypeError, match="^w must hold real numbers"):
        real_array(torch.tensor([True]), "w")


def test_real_array_none_names_the_argument():
    with pytest.raises(TypeError, match="^w must be an array of real numbers .*got None"):
        real_array(None, "w")


def test_real_array_allow_nan():
    arr = real_array([1.0, np.nan], allow_nan=True)
    assert np.isnan(arr[1])
    with pytest.raises(ValueError, match="1 infinite value"):
        real_array([np.inf, np.nan], allow_nan=True)
    assert np.isinf(real_array([np.inf, np.nan], allow_nan=True, allow_inf=True)[0])


# --------------------------------------------------------------------------- real_number, one_of


@pytest.mark.parametrize("value, expected", [(2, 2.0), (np.float32(0.5), 0.5), (np.array(3.0), 3.0), (10**20, 1e20)])
def test_real_number_accepts(value, expected):
    assert real_number(value, "amax") == expected


@pytest.mark.parametrize("value", [True, 1 + 2j, "1", None, [1.0], np.array([1.0, 2.0])])
def test_real_number_refuses_what_is_not_a_real_number(value):
    with pytest.raises(TypeError, match="^amax must be a real number"):
        real_number(value, "amax")


@pytest.mark.parametrize("value", [float("nan"), float("inf"), 10**400])
def test_real_number_refuses_non_finite(value):
    with pytest.raises(ValueError, match="^amax must be a finite number"):
        real_number(value, "amax")


def test_one_of():
    assert one_of("max", "algo", ("max", "most_recent")) == "max"
    with pytest.raises(ValueError, match="^algo must be one of 'max', 'most_recent', got 'mean'"):
        one_of("mean", "algo", ("max", "most_recent"))
    with pytest.raises(TypeError, match="^algo must be one of"):
        one_of(["max"], "algo", ("max", "most_recent"))


def test_real_array_ragged_lists():
    with pytest.raises(TypeError, match=r"^x must be an array of real numbers; could not make an array of list"):
        real_array([[1.0, 2.0], [3.0]])


def test_real_array_empty():
    with pytest.raises(ValueError, match=r"^x is empty \(shape \(0, 3\)\); at least one value is needed$"):
        real_array(np.zeros((0, 3)))
    assert real_array([], allow_empty=True).size == 0


def test_real_array_counts_nan_and_infinities():
    with pytest.raises(ValueError, match=r"^x contains 2 NaN value\(s\); only finite values are allowed$"):
        real_array([np.nan, 1.0, np.nan])
    with pytest.raises(ValueError, match=r"^x contains 1 infinite value\(s\); only finite"):
        real_array(np.array([1.0, -np.inf], dtype=np.float16))
    with pytest.raises(ValueError, match=r"^x contains 1 NaN and 2 infinite value\(s\); only finite"):
        real_array([np.nan, np.inf, -np.inf])
    with pytest.raises(ValueError, match=r"only finite values are allowed \(a NaN spreads\)$"):
        real_array([np.nan], why="a NaN spreads")


def test_real_array_allow_inf_still_refuses_nan():
    x = np.array([1.0, np.inf, -np.inf])
    assert real_array(x, allow_inf=True) is x
    with pytest.raises(ValueError, match=r"^ref contains 1 NaN value\(s\); only NaN-free values are allowed$"):
        real_array([np.inf, np.nan], "ref", allow_inf=True)


def test_real_array_integers_are_always_finite():
    big = np.array([np.iinfo(np.int64).max, np.iinfo(np.int64).min])
    assert real_array(big) is big


def test_as_numpy_keeps_ml_dtypes_on_request():
    torch = pytest.importorskip("torch")
    ml_dtypes = pytest.importorskip("ml_dtypes")
    from support._validate import as_numpy

    b = np.array([1.5, -2.25], dtype=ml_dtypes.bfloat16)
    assert as_numpy(b, keep_ml_dtypes=True) is b
    t = torch.tensor([1.5, -2.25], dtype=torch.float8_e4m3fn)
    kept = as_numpy(t, keep_ml_dtypes=True)
    assert kept.dtype == ml_dtypes.float8_e4m3fn and kept.astype(float).tolist() == [1.5, -2.25]
