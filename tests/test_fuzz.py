"""Fuzz: every public callable of ``support`` called with bad arguments, found automatically.

How it works, so that a module added later is covered without anyone adding it here:

1. Discovery: every module of :mod:`support` (walked with :mod:`pkgutil`; private modules and
   :mod:`support.exercises`, which has its own checks, excluded), and in each its public
   callables (``__all__``, or the public names defined in the module).
2. A valid call of each: the docstring examples of the module are run (as doctests) and every
   call an example makes to a public callable is recorded with its arguments.  The house rules
   require an example in every docstring, so every public callable has one
   (``test_every_public_callable_has_an_example`` checks it).
3. Bad calls: each argument of a recorded call in turn is replaced by each bad value of its kind
   (:func:`bad_values`): NaN, inf, empty, mismatched shapes, complex, strings, None, booleans,
   huge and negative sizes, unknown names, and the input policy's torch tensors and
   bfloat16/float8 arrays.
4. Verdict, under a watchdog of ``TIME_LIMIT_S`` seconds per call: a ``ValueError`` or
   ``TypeError`` whose message names the argument is *clear*; any other exception, or a message
   that does not name the argument, is *unclear*; a call still running is a *hang*; a bad value
   that must be refused but returns a result is *garbage*, unless :data:`DOCUMENTED` lists it.
   Some values may be accepted (``MAY_RETURN``): a tensor or a bfloat16 array (the input
   policy), an empty array, a negative or huge integer, a large float.

Run ``python tests/test_fuzz.py`` for the counts per verdict (put another copy of ``support``
first on ``PYTHONPATH`` to count an older version).
"""

from __future__ import annotations

import copy
import dataclasses
import doctest
import functools
import importlib
import inspect
import pkgutil
import re
import signal
import sys
import time
import warnings
from collections import Counter

import numpy as np
import pytest

import support

# support.exercises and support.grade (the exercise checks and their grader) have their own tests;
# notebook, style and diagrams are the book's machinery (glue, tables, figures), called by chapter
# authors, whose mistakes fail the build.
EXCLUDED = ("support.exercises", "support.grade", "support.notebook", "support.style", "support.diagrams")
TIME_LIMIT_S = 3
SLOW_BASELINE_S = 0.5  # a callable slower than this is fuzzed only with the values refused at once
MAX_EXAMPLES = 2  # recorded calls fuzzed per callable

# (callable or "module.*", argument or "*", kind of bad value or "*") -> why a result is the documented
# answer rather than garbage.  Keep it short: every row is a promise made in that function's docstring.
DOCUMENTED = {
    ("support.numbers.formats.*", "*", "nan"): "IEEE rounding: NaN in, NaN (or the format's NaN code) out",
    ("support.numbers.formats.*", "*", "inf"): "IEEE rounding: inf saturates or stays inf, as documented",
    ("support.numbers.scaling.scaled_round", "x", "nan"): "rounds as formats.round_to does",
    ("support.numbers.scaling.scaled_round", "x", "inf"): "rounds as formats.round_to does",
    ("support.numbers.statistics.*", "x", "nan"): "the variance of data with NaN is NaN, as numpy's",
    ("support.numbers.statistics.*", "x", "inf"): "the variance of data with inf is NaN/inf, as numpy's",
    ("support.numbers.statistics.WelfordState", "*", "nan"): "the running state of data with NaN",
    ("support.numbers.statistics.WelfordState", "*", "inf"): "the running state of data with inf",
    ("support.numbers.integers.quantize_fixed", "x", "inf"): "overflow='saturate' saturates +-inf too",
    ("support.numbers.integers.hexdump", "data", "*"): "shows the bytes of any numpy array (complex, str, NaN)",
    ("support.numbers.integers.to_bytes", "x", "*"): "the bytes of NaN and inf are bit patterns like others",
    ("support.numbers.summation.gamma", "n", "float_for_int"): "n u / (1 - n u) is defined for real n",
    ("support.quant.blocks.mx_quantize", "x", "*"): "OCP MX: a block with NaN or inf gets the NaN scale",
    ("support.quant.blocks.MXQuantized", "elements", "*"): "a NaN-scale block's elements may be NaN/inf",
    ("support.quant.codebooks.nearest_code", "x", "inf"): "the nearest level of +-inf is the extreme level",
    ("support.training.harness.TrainConfig", "loss_scale", "wrong_type"): "a number is a static loss scale",
    ("support.training.harness.TrainConfig", "loss_scale", "none"): "None: no loss scaling",
    ("support.training.harness.TrainResult", "*", "nan"): "a diverged run records NaN losses",
    ("support.training.harness.TrainResult", "*", "inf"): "a diverged run records inf losses",
    ("support.training.memory.inference_memory", "bits", "float_for_int"): "4.5 bits per weight, scales included",
}

MUST_REFUSE = {"nan", "inf", "complex", "string", "none", "bool", "non_bool", "unknown_name", "float_for_int",
               "unhashable", "wrong_type"}
# A shape that does not match the other arguments' may also broadcast legitimately (a per-row scale).
MAY_RETURN = {"empty", "negative", "zero", "huge", "large", "torch", "bfloat16", "float8", "other_ndim",
              "mismatched_shape"}


class Hang(BaseException):
    """Raised by the watchdog; a BaseException so that ``except Exception`` cannot swallow it."""


# --------------------------------------------------------------------------- discovery


def public_modules() -> list:
    modules = [support]
    for info in pkgutil.walk_packages(support.__path__, "support."):
        if info.name.startswith(EXCLUDED) or any(part.startswith("_") for part in info.name.split(".")):
            continue
        modules.append(importlib.import_module(info.name))
    return modules


def public_callables(module) -> dict[str, object]:
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n, v in vars(module).items() if not n.startswith("_")
                 and getattr(v, "__module__", None) == module.__name__]
    found = {}
    for name in names:
        value = getattr(module, name)
        home = getattr(value, "__module__", "") or ""
        is_exception = inspect.isclass(value) and issubclass(value, BaseException)  # raised, not called
        if (inspect.isfunction(value) or inspect.isclass(value)) and home.startswith(module.__name__) \
                and not home.startswith(EXCLUDED) and not is_exception:
            found[f"{value.__module__}.{value.__qualname__}"] = value
    return found


@functools.lru_cache(maxsize=None)
def all_callables() -> dict[str, object]:
    found = {}
    for module in public_modules():
        found.update(public_callables(module))
    return dict(sorted(found.items()))


def _entry_code(obj):
    """The code object a call of ``obj`` runs first: a function's, or a class's own __init__/__new__."""
    if not inspect.isclass(obj):
        return obj.__code__
    own = vars(obj).get("__init__") or vars(obj).get("__new__")
    return inspect.unwrap(getattr(own, "__func__", own)).__code__


@functools.lru_cache(maxsize=None)
def recorded_calls() -> dict[str, list[tuple[tuple, dict]]]:
    """Every call a docstring example makes to a public callable, with its arguments."""
    callables = all_callables()
    by_code = {}
    for qualname, obj in callables.items():
        try:
            by_code[_entry_code(obj)] = qualname
        except AttributeError:  # a class without its own __init__
            continue
    calls: dict[str, list] = {q: [] for q in callables}

    def profiler(frame, event, arg):
        if event != "call" or frame.f_code not in by_code:
            return
        caller = frame.f_back
        if caller is None or not caller.f_code.co_filename.startswith("<doctest"):
            return
        qualname = by_code[frame.f_code]
        if len(calls[qualname]) >= MAX_EXAMPLES:
            return
        sig = inspect.signature(callables[qualname])
        try:
            arguments = {name: copy.deepcopy(frame.f_locals[name]) for name in sig.parameters}
        except Exception:  # an argument that cannot be copied: skip this call
            return
        bound = inspect.BoundArguments(sig, arguments)
        calls[qualname].append((tuple(bound.args), dict(bound.kwargs)))

    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(verbose=False, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for module in public_modules():
        for test in finder.find(module, module.__name__, globs=dict(vars(module))):
            sys.setprofile(profiler)
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    runner.run(test, out=lambda text: None)
            finally:
                sys.setprofile(None)
    _close_figures()
    return calls


@functools.lru_cache(maxsize=None)
def baseline_calls() -> dict[str, list[tuple[tuple, dict]]]:
    """The recorded calls, plus, for a record class no example constructs, the fields of a record
    that an example's call returned (e.g. the UniformQuantized that ``quantize`` gives)."""
    calls = {q: list(c) for q, c in recorded_calls().items()}
    records = {q for q, cls in all_callables().items() if _fields_of(cls) is not None and not calls[q]}
    for qualname, recorded in recorded_calls().items():
        fn = all_callables()[qualname]
        for args, kwargs in recorded:
            outcome, result = run_bad_call(fn, copy.deepcopy(args), copy.deepcopy(kwargs), timeout=30)
            for value in _nested(result):
                name = f"{type(value).__module__}.{type(value).__qualname__}"
                if name in records and len(calls[name]) < MAX_EXAMPLES:
                    calls[name].append(((), _fields_of(value)))
    return calls


def _fields_of(record) -> dict | None:
    """The constructor fields of a dataclass or named tuple (class or instance); None for others."""
    if dataclasses.is_dataclass(record):
        if inspect.isclass(record):
            return {}
        return {f.name: getattr(record, f.name) for f in dataclasses.fields(record) if f.init}
    if hasattr(record, "_fields") and (issubclass(record, tuple) if inspect.isclass(record) else isinstance(record, tuple)):
        return {} if inspect.isclass(record) else record._asdict()
    return None


def _nested(value, depth: int = 2):
    """``value`` and the records inside it (tuple items, record fields), ``depth`` levels down."""
    yield value
    if depth == 0:
        return
    inner = _fields_of(value) if not inspect.isclass(value) else None
    items = list(inner.values()) if inner else list(value) if isinstance(value, (tuple, list)) and len(value) < 100 else []
    for item in items:
        yield from _nested(item, depth - 1)


def _close_figures() -> None:
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")


# --------------------------------------------------------------------------- bad values


def _torch_version(arr):
    torch = pytest.importorskip("torch")
    return torch.from_numpy(np.array(arr, dtype=np.float32))


def bad_values(value, default) -> list[tuple[str, object]]:
    """(kind, bad value) pairs for an argument whose valid value is ``value``."""
    out: list[tuple[str, object]] = []
    common = [("complex", 1 + 2j), ("unhashable", [[1], [2, 3]])]
    if default is not None:
        common.append(("none", None))
    if isinstance(value, (bool, np.bool_)):
        return [("non_bool", "no"), ("non_bool", 1), ("non_bool", np.array([True, False]))] + common
    if isinstance(value, str):
        return [("unknown_name", "no_such_name"), ("unknown_name", ""), ("wrong_type", 5),
                ("unhashable", [value])] + common
    if isinstance(value, (int, np.integer)):
        return [("negative", -1), ("zero", 0), ("huge", 10**30), ("float_for_int", 2.5), ("bool", True),
                ("string", "4"), ("nan", float("nan"))] + common
    if isinstance(value, (float, np.floating)):
        return [("nan", float("nan")), ("inf", float("inf")), ("inf", -float("inf")), ("negative", -1.0),
                ("large", 1e300), ("bool", True), ("string", "1.0")] + common
    arr = None
    if isinstance(value, (list, tuple, np.ndarray)) or type(value).__module__.startswith("torch"):
        try:
            arr = np.asarray(value)
        except Exception:
            arr = None
    if arr is not None and arr.dtype.kind in "iuf" and arr.size > 0:
        as_float = arr.astype(np.float64)
        nan, inf = as_float.copy(), as_float.copy()
        nan.flat[0], inf.flat[-1] = np.nan, np.inf
        out += [("empty", np.zeros((0,) + arr.shape[1:], arr.dtype)), ("complex", as_float + 1j),
                ("string", np.full(arr.shape, "a")), ("bool", arr != 0), ("other_ndim", np.ones((2, 3, 4))),
                ("scalar", float(as_float.flat[0])), ("zero_d", np.asarray(as_float.flat[0]))]
        if arr.dtype.kind == "f":
            import ml_dtypes

            out += [("nan", nan), ("inf", inf), ("torch", _torch_version(arr)),
                    ("bfloat16", arr.astype(ml_dtypes.bfloat16)), ("float8", arr.astype(ml_dtypes.float8_e4m3fn))]
        if arr.ndim >= 1 and arr.shape[-1] > 1:
            out.append(("mismatched_shape", arr[..., :-1]))
        return out + [("none", None)] * (default is not None) + [("unhashable", [[1.0], [2.0, 3.0]])]
    if value is None:
        return [("wrong_type", "no_such_name"), ("complex", 1 + 2j)]
    return [("wrong_type", "no_such_name"), ("wrong_type", 1.5)] + common


# --------------------------------------------------------------------------- one bad call


def _alarm(signum, frame):
    raise Hang()


def run_bad_call(fn, args, kwargs, timeout=TIME_LIMIT_S):
    """('returned', result) or ('raised', exception) or ('hang', None)."""
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            return "returned", fn(*args, **kwargs)
    except Hang:
        return "hang", None
    except Exception as exc:  # noqa: BLE001 - classifying is the point
        return "raised", exc
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        _close_figures()


def _documented(qualname: str, argument: str, kind: str) -> bool:
    module = qualname.rsplit(".", 1)[0]
    return any((name, arg, k) in DOCUMENTED for name in (qualname, module + ".*") for arg in (argument, "*")
               for k in (kind, "*"))


def names_argument(message: str, argument: str) -> bool:
    return re.search(rf"(?<![A-Za-z0-9_]){re.escape(argument)}(?![A-Za-z0-9_])", message) is not None


def verdict(qualname, argument, kind, outcome, payload) -> str:
    if outcome == "hang":
        return "hang"
    if outcome == "raised":
        if isinstance(payload, (ValueError, TypeError)) and names_argument(str(payload), argument):
            return "clear"
        return "unclear"
    if kind in MUST_REFUSE and not _documented(qualname, argument, kind):
        return "garbage"
    return "ok"


def fuzz_callable(qualname: str) -> list[tuple[str, str, str, str, str]]:
    """(verdict, argument, kind, bad value, what happened) for every bad call of ``qualname``."""
    fn = all_callables()[qualname]
    sig = inspect.signature(fn)
    results = []
    for args, kwargs in baseline_calls()[qualname]:
        bound = sig.bind(*args, **kwargs)
        start = time.perf_counter()
        outcome, _ = run_bad_call(fn, copy.deepcopy(bound.args), copy.deepcopy(bound.kwargs), timeout=30)
        slow = time.perf_counter() - start > SLOW_BASELINE_S
        if outcome != "returned":
            continue  # the example itself raises (a doctest of an error): nothing to mutate
        for name, param in sig.parameters.items():
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD) or name not in bound.arguments:
                continue
            default = None if param.default is param.empty else param.default
            default = "required" if param.default is param.empty else default
            free_text = False  # a str argument that accepts any text (a title) has no unknown names
            for kind, bad in bad_values(bound.arguments[name], default):
                if slow and kind in MAY_RETURN or free_text and kind == "unknown_name":
                    continue
                arguments = dict(copy.deepcopy(bound.arguments))
                arguments[name] = bad
                call = inspect.BoundArguments(sig, arguments)
                outcome, payload = run_bad_call(fn, call.args, call.kwargs)
                if kind == "unknown_name" and outcome == "returned":
                    free_text = True
                    continue
                what = f"{type(payload).__name__}: {payload}" if outcome == "raised" else outcome
                results.append((verdict(qualname, name, kind, outcome, payload), name, kind,
                                _short(bad), what[:200]))
    return results


def _short(value) -> str:
    text = repr(value).replace("\n", " ")
    return text if len(text) < 60 else text[:57] + "..."


# --------------------------------------------------------------------------- tests

CALLABLES = list(all_callables())


@pytest.mark.parametrize("qualname", CALLABLES)
def test_bad_arguments_are_refused_clearly(qualname):
    problems = [r for r in fuzz_callable(qualname) if r[0] not in ("clear", "ok")]
    assert not problems, f"{qualname}: {len(problems)} bad call(s) not refused clearly:\n" + "\n".join(
        f"  {v}: {arg}={bad} ({kind}) -> {what}" for v, arg, kind, bad, what in problems)


def test_every_public_callable_has_an_example():
    missing = [q for q, calls in baseline_calls().items()
               if not calls and inspect.signature(all_callables()[q]).parameters]
    assert not missing, ("these public callables are not called in any docstring example, so the fuzz "
                         f"cannot call them; add an example: {missing}")


def test_documented_table_is_used():
    """Every row of DOCUMENTED names an existing module or callable."""
    known = set(all_callables()) | {q.rsplit(".", 1)[0] + ".*" for q in all_callables()}
    known |= {m.rsplit(".", 1)[0] + ".*" for m in known}
    assert {key[0] for key in DOCUMENTED} <= known


def main() -> None:
    counts: Counter = Counter()
    by_module: dict[str, Counter] = {}
    for qualname in CALLABLES:
        module = ".".join(qualname.split(".")[:3]) if qualname.startswith(("support.numbers", "support.quant",
                                                                           "support.training", "support.inference")) \
            else ".".join(qualname.split(".")[:2])
        for v, arg, kind, bad, what in fuzz_callable(qualname):
            counts[v] += 1
            by_module.setdefault(module, Counter())[v] += 1
            if v not in ("clear", "ok") and "-v" in sys.argv:
                print(f"{v:8s} {qualname}({arg}={bad}) [{kind}] -> {what}")
    missing = [q for q, calls in baseline_calls().items()
               if not calls and inspect.signature(all_callables()[q]).parameters]
    print(f"{len(CALLABLES)} public callables, {len(missing)} without an example: {missing}")
    for module, c in sorted(by_module.items()):
        print(f"{module:40s} calls {sum(c.values()):5d}  garbage {c['garbage']:4d}  hang {c['hang']:3d}  "
              f"unclear {c['unclear']:4d}")
    print(dict(counts), "total", sum(counts.values()))


if __name__ == "__main__":
    main()
