"""Answers as plain JSON, so that the grader can take them out of a student's kernel
without running any of the student's code in its own process.

:func:`encode` turns an answer (numbers of any size, strings, lists, dicts, numpy and
ml_dtypes arrays, torch tensors) into JSON-ready data; :func:`decode` rebuilds it with numpy
alone, refusing object arrays.  Anything else travels as an :class:`Opaque` stand-in
that no checker accepts.  The grader never unpickles what a kernel sends.

Examples
--------
>>> import numpy as np
>>> decode(encode(np.array([1.5, 2.0], dtype=np.float32)))
array([1.5, 2. ], dtype=float32)
>>> decode(encode(10**400)) == 10**400
True
"""

from __future__ import annotations

import base64
import math
from typing import Any

import numpy as np

from support.exercises.checkers import Outcome
from support.exercises.core import ___

__all__ = ["encode", "decode", "encode_outcome", "decode_outcome", "Opaque"]

_MAX_DEPTH = 20
_MAX_ITEMS = 100_000
_MAX_BYTES = 50_000_000


class Opaque:
    """Stands for an answer that cannot travel as data (an object of the student's own).

    Examples
    --------
    >>> answer = decode(encode(print))
    >>> isinstance(answer, Opaque), answer.type_name, answer
    (True, 'function', <function print>)
    >>> answer == answer  # no checker accepts it
    False
    """

    def __init__(self, type_name: str, text: str):
        self.type_name, self.text = type_name, text

    def __repr__(self) -> str:
        return self.text

    def __eq__(self, other: object) -> bool:
        return False

    __hash__ = object.__hash__


def _opaque(type_name: str, text: str) -> Opaque:
    """An :class:`Opaque` whose class carries the original type's name, so that a checker's
    message says "got function" or "got MyClass" (a safe identifier only)."""
    name = type_name if type_name.isidentifier() and len(type_name) <= 60 else "object"
    return type(name, (Opaque,), {})(name, text)


def _float(x: float) -> str:
    return repr(float(x))


def _ml_dtype(name: str) -> np.dtype | None:
    try:
        import ml_dtypes
    except ImportError:  # pragma: no cover
        return None
    kind = getattr(ml_dtypes, name, None)
    return np.dtype(kind) if kind is not None else None


def encode(value: Any, depth: int = 0) -> dict:
    """JSON-ready data describing ``value`` (see the module docstring).

    Examples
    --------
    >>> encode(2**70)
    {'t': 'int', 'v': '1180591620717411303424'}
    >>> encode([np.float16(0.5), "0b101"])
    {'t': 'list', 'v': [{'t': 'float', 'v': '0.5', 'dtype': 'float16'}, {'t': 'str', 'v': '0b101'}]}
    """
    if depth > _MAX_DEPTH:
        return {"t": "opaque", "type": type(value).__name__, "repr": "<nested too deeply>"}
    if value is ___:
        return {"t": "placeholder"}
    if value is None or value is Ellipsis:
        return {"t": "none" if value is None else "ellipsis"}
    if isinstance(value, (bool, np.bool_)):
        return {"t": "bool", "v": bool(value)}
    if isinstance(value, (int, np.integer)):
        out = {"t": "int", "v": str(int(value))}
        if isinstance(value, np.integer):
            out["dtype"] = value.dtype.name
        return out
    if isinstance(value, (float, np.floating)):
        out = {"t": "float", "v": _float(value)}
        if isinstance(value, np.floating):
            out["dtype"] = value.dtype.name
        return out
    if isinstance(value, (complex, np.complexfloating)):
        return {"t": "complex", "re": _float(value.real), "im": _float(value.imag)}
    if isinstance(value, str):
        return {"t": "str", "v": value[:_MAX_ITEMS]}
    if hasattr(value, "detach") and hasattr(value, "numpy"):  # a torch tensor
        try:
            value = value.detach().cpu()
            value = (value.float() if value.is_floating_point() else value).numpy()
        except Exception:
            pass
    if isinstance(value, np.generic) and value.dtype.kind == "V":  # an ml_dtypes scalar
        value = np.asarray(value)
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "biufc" or (value.dtype.kind == "V" and _ml_dtype(value.dtype.name) is not None):
            data = np.ascontiguousarray(value).tobytes()
            if len(data) <= _MAX_BYTES:
                return {"t": "ndarray", "dtype": value.dtype.name, "shape": list(value.shape),
                        "data": base64.b64encode(data).decode("ascii")}
        elif value.size <= _MAX_ITEMS:
            return {"t": "objarray", "shape": list(value.shape),
                    "v": [encode(x, depth + 1) for x in value.ravel().tolist()]}
    if isinstance(value, (list, tuple)) and len(value) <= _MAX_ITEMS:
        return {"t": type(value).__name__, "v": [encode(x, depth + 1) for x in value]}
    if isinstance(value, dict) and len(value) <= _MAX_ITEMS:
        return {"t": "dict", "v": [[encode(k, depth + 1), encode(v, depth + 1)] for k, v in value.items()]}
    if callable(value):
        return {"t": "function", "name": str(getattr(value, "__name__", type(value).__name__))[:100]}
    try:
        text = repr(value)[:200]
    except Exception:
        text = f"<{type(value).__name__}>"
    return {"t": "opaque", "type": type(value).__name__[:100], "repr": text}


def _dtype(name: Any) -> np.dtype:
    if not isinstance(name, str):
        raise ValueError("decode: dtype must be a name")
    special = _ml_dtype(name)
    if special is not None:
        return special
    dtype = np.dtype(name)
    if dtype.kind not in "biufc":
        raise ValueError(f"decode: dtype {name!r} is not numeric")
    return dtype


def decode(data: Any, depth: int = 0) -> Any:
    """The answer described by ``data`` (made by :func:`encode`); malformed data gives an
    :class:`Opaque` stand-in, never an exception.

    Examples
    --------
    >>> decode({'t': 'tuple', 'v': [{'t': 'int', 'v': '3', 'dtype': 'uint8'}, {'t': 'none'}]})
    (np.uint8(3), None)
    >>> decode({'t': 'ndarray', 'dtype': 'object', 'shape': [1], 'data': ''})
    <an answer that could not be read back: ValueError>
    """
    try:
        return _decode(data, depth)
    except Exception as exc:
        return _opaque("malformed", f"<an answer that could not be read back: {type(exc).__name__}>")


def _decode(data: Any, depth: int) -> Any:
    if depth > _MAX_DEPTH or not isinstance(data, dict):
        raise ValueError("decode: malformed data")
    t = data.get("t")
    if t == "placeholder":
        return ___
    if t == "none":
        return None
    if t == "ellipsis":
        return Ellipsis
    if t == "bool":
        return bool(data["v"])
    if t == "int":
        text = str(data["v"])
        if len(text) > 5000:
            raise ValueError("decode: integer too long")
        value = int(text)
        return _dtype(data["dtype"]).type(value) if "dtype" in data else value
    if t == "float":
        value = float(str(data["v"]))
        return _dtype(data["dtype"]).type(value) if "dtype" in data else value
    if t == "complex":
        return complex(float(data["re"]), float(data["im"]))
    if t == "str":
        return str(data["v"])
    if t == "ndarray":
        dtype = _dtype(data["dtype"])
        shape = tuple(int(n) for n in data["shape"])
        raw = base64.b64decode(data["data"], validate=True)
        if math.prod(shape) * dtype.itemsize != len(raw):
            raise ValueError("decode: array size does not match its shape")
        return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()
    if t == "objarray":
        items = [decode(x, depth + 1) for x in data["v"]]
        out = np.empty(len(items), dtype=object)
        out[:] = items
        return out.reshape(tuple(int(n) for n in data["shape"]))
    if t in ("list", "tuple"):
        items = [decode(x, depth + 1) for x in data["v"]]
        return items if t == "list" else tuple(items)
    if t == "dict":
        out = {}
        for k, v in data["v"]:
            key = decode(k, depth + 1)
            try:
                out[key] = decode(v, depth + 1)
            except TypeError:  # an unhashable key
                out[repr(key)] = decode(v, depth + 1)
        return out
    if t == "function":
        return _opaque("function", f"<function {str(data.get('name', ''))[:100]}>")
    if t == "opaque":
        return _opaque(str(data.get("type", "")), str(data.get("repr", ""))[:200])
    raise ValueError(f"decode: unknown kind {t!r}")


def encode_outcome(outcome: Outcome) -> dict:
    """JSON-ready data for one :class:`~support.exercises.checkers.Outcome`.

    Examples
    --------
    >>> from support.exercises.checkers import run_case
    >>> encode_outcome(run_case(lambda x: x + 1, (1,)))
    {'kind': 'return', 'value': {'t': 'int', 'v': '2'}, 'exception': [], 'message': ''}
    """
    return {"kind": outcome.kind, "value": encode(outcome.value), "exception": list(outcome.exception),
            "message": outcome.message}


def decode_outcome(data: Any) -> Outcome:
    """The :class:`~support.exercises.checkers.Outcome` described by ``data``.

    Examples
    --------
    >>> from support.exercises.checkers import run_case
    >>> decode_outcome(encode_outcome(run_case(lambda: 1 / 0, ()))).exception[0]
    'ZeroDivisionError'
    >>> decode_outcome("not an outcome").exception
    ('MalformedOutcome',)
    """
    if not isinstance(data, dict) or data.get("kind") not in ("return", "raise", "timeout"):
        return Outcome("raise", exception=("MalformedOutcome",), message="the outcome could not be read back")
    return Outcome(str(data["kind"]), decode(data.get("value")),
                   tuple(str(n)[:100] for n in data.get("exception", ())[:20]), str(data.get("message", ""))[:300])
