"""The input policy (``support/_validate.py``) holds in every module, found automatically.

Every numeric argument of every public callable of ``support`` (the calls recorded from the
docstring examples by ``test_fuzz.py``) is given the same values as a Python list, a float64
array, a float32 array, a CPU torch tensor, a bfloat16 array, a float8_e4m3fn array and a
bfloat16 torch tensor.  The values are first rounded to float8_e4m3fn, so that every one of
these types holds them exactly.  Then:

- a list and a float64 array give the same result (or the same exception);
- a float32 array, a float32 tensor, and the bfloat16/float8 arrays and tensors (converted
  exactly to float32 by the policy) give the same result (or the same exception), except in
  :mod:`support.numbers.statistics`, whose working precision is the input's dtype: there the
  bfloat16 array and the bfloat16 tensor agree with each other;
- no result is a torch tensor (outputs are numpy).
"""

from __future__ import annotations

import copy
import dataclasses
import inspect

import numpy as np
import pytest

from test_fuzz import SLOW_BASELINE_S, all_callables, baseline_calls, run_bad_call

ml_dtypes = pytest.importorskip("ml_dtypes")
torch = pytest.importorskip("torch")

KEEPS_ITS_DTYPE = ("support.numbers.statistics.",)  # working precision = the input's dtype
SHOWS_BYTES = ("support.numbers.integers.hexdump", "support.numbers.integers.to_bytes")  # dtype is the point


def _is_float_data(value) -> bool:
    if isinstance(value, np.ndarray):
        return value.dtype.kind == "f" and value.size > 0
    if isinstance(value, list) and value:
        try:
            arr = np.asarray(value)
        except (TypeError, ValueError, RuntimeError):  # e.g. a list of tensors that require grad
            return False
        return arr.dtype.kind == "f"
    return False


def _variants(value) -> dict[str, object]:
    exact = np.asarray(np.clip(np.asarray(value, dtype=np.float64), -448, 448)).astype(ml_dtypes.float8_e4m3fn)
    f64 = np.asarray(exact.astype(np.float64))
    return {
        "list": f64.tolist(),  # a Python float for a 0-d value
        "float64": f64,
        "float32": f64.astype(np.float32),
        "torch": torch.from_numpy(f64.astype(np.float32)),
        "bfloat16": f64.astype(ml_dtypes.bfloat16),
        "float8": exact,
        # from the same bits (torch's own cast may flip the sign of a NaN)
        "torch_bfloat16": torch.from_numpy(f64.astype(ml_dtypes.bfloat16).view(np.int16)).view(torch.bfloat16),
    }


def _groups(qualname: str) -> list[tuple[str, ...]]:
    if qualname.startswith(KEEPS_ITS_DTYPE):
        return [("list", "float64"), ("float32", "torch"), ("bfloat16", "torch_bfloat16")]
    return [("list", "float64"), ("float32", "torch", "bfloat16", "float8", "torch_bfloat16")]


def _normal(result):
    """A result as nested tuples of float64 arrays, for comparison; torch tensors are refused."""
    assert not type(result).__module__.startswith("torch"), "a torch tensor came out; outputs are numpy"
    if dataclasses.is_dataclass(result):
        return tuple(_normal(getattr(result, f.name)) for f in dataclasses.fields(result))
    if isinstance(result, (tuple, list)):
        return tuple(_normal(r) for r in result)
    if isinstance(result, (np.ndarray, np.generic, int, float)) and not isinstance(result, bool):
        arr = np.asarray(result)
        return arr.astype(np.float64) if arr.dtype.kind in "iuf" or arr.dtype.name in ("bfloat16",) else arr
    return result


def _same(a, b) -> bool:
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        return a.shape == b.shape and (np.array_equal(a, b, equal_nan=a.dtype.kind == "f") if a.dtype.kind in "fc"
                                       else np.array_equal(a, b))
    if isinstance(a, (str, int, float, complex, type(None))):
        return a == b
    return type(a) is type(b)  # other objects (a trained torch module): only their type is compared


def policy_cases():
    cases = []
    for qualname, calls in baseline_calls().items():
        fn = all_callables()[qualname]
        sig = inspect.signature(fn)
        for index, (args, kwargs) in enumerate(calls):
            bound = sig.bind(*args, **kwargs)
            for name, value in bound.arguments.items():
                if _is_float_data(value) and qualname not in SHOWS_BYTES:
                    cases.append(pytest.param(qualname, index, name, id=f"{qualname}[{index}]-{name}"))
    return cases


@pytest.mark.parametrize("qualname, index, name", policy_cases())
def test_same_values_in_every_container_give_the_same_result(qualname, index, name):
    fn = all_callables()[qualname]
    sig = inspect.signature(fn)
    bound = sig.bind(*baseline_calls()[qualname][index][0], **baseline_calls()[qualname][index][1])
    outcomes = {}
    for kind, value in _variants(bound.arguments[name]).items():
        arguments = dict(copy.deepcopy(bound.arguments))
        arguments[name] = value
        call = inspect.BoundArguments(sig, arguments)
        outcome, payload = run_bad_call(fn, call.args, call.kwargs, timeout=10 * SLOW_BASELINE_S + 5)
        assert outcome != "hang", f"{kind} input hung"
        outcomes[kind] = ("raised", type(payload).__name__) if outcome == "raised" else ("returned", _normal(payload))
    for group in _groups(qualname):
        first = outcomes[group[0]]
        for kind in group[1:]:
            other = outcomes[kind]
            assert other[0] == first[0] and _same(other[1], first[1]), (
                f"{name} as {kind} gives {other[0]} {other[1] if other[0] == 'raised' else ''}, "
                f"but as {group[0]} {first[0]} {first[1] if first[0] == 'raised' else ''}"
            )
