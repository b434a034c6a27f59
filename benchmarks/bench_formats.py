"""Throughput of support.numbers.formats (round_to, encode, decode) against ml_dtypes.

Prints, for each format and each input distribution, millions of values per second of

- ``round_to(x, name)``   against ml_dtypes' ``x.astype(dtype).astype(x.dtype)``,
- ``encode(x, name)``     against ``x.astype(dtype)``,
- ``decode(codes, name)`` against ``codes.view(dtype).astype(np.float64)``,

and the ratio (ours / ml_dtypes).  Each pair is timed interleaved (the two take turns),
best of ``--repeats`` wall-clock runs, so that a busy machine slows both alike.  The
input distributions (float32 unless stated; seeded):

- ``N(0,1)``         standard normal;
- ``N(0,10²)``       most values saturate FP4/FP6;
- ``N(0,1e4²)``      most values overflow every 8-bit format but E5M2/E8M0;
- ``NaN/inf``        half the values NaN or ±inf, the rest N(0, 1);
- ``subnormal``      uniform in the format's subnormal range (±min_normal);
- ``zeros``          all +0;
- ``float64``        N(0, 1) as float64 (ml_dtypes rounds it through float32).

A last table gives the time of one call with a Python float (a student's loop), against
ml_dtypes' ``float(np.float32(v).astype(dtype))``.  Every library runs on one thread.

Usage: ``python benchmarks/bench_formats.py [--n 2000000] [--repeats 5] [--formats a,b]``
"""

from __future__ import annotations

import argparse
import time
from typing import Callable

import numpy as np

from support.numbers.formats import decode, encode, get_format, round_to

FORMATS = ["bfloat16", "float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz", "float8_e8m0fnu",
           "float6_e2m3fn", "float6_e3m2fn", "float4_e2m1fn"]


def distributions(name: str, n: int, seed: int = 0) -> dict[str, np.ndarray]:
    """The input arrays for format ``name``, keyed by the distribution's label."""
    rng = np.random.default_rng(seed)
    normal = rng.standard_normal(n).astype(np.float32)
    special = rng.random(n) < 0.5
    nan_inf = np.where(rng.random(n) < 0.5, np.nan, np.inf) * np.sign(normal)
    tiny = get_format(name).min_normal
    return {
        "N(0,1)": normal,
        "N(0,10²)": normal * np.float32(10),
        "N(0,1e4²)": normal * np.float32(1e4),
        "NaN/inf": np.where(special, nan_inf, normal).astype(np.float32),
        "subnormal": rng.uniform(-tiny, tiny, n).astype(np.float32),
        "zeros": np.zeros(n, np.float32),
        "float64": rng.standard_normal(n),
    }


def best_pair(ours: Callable, theirs: Callable, repeats: int) -> tuple[float, float]:
    """Best wall-clock seconds of each function, the two taking turns."""
    best = [float("inf"), float("inf")]
    for _ in range(repeats):
        for k, function in enumerate((ours, theirs)):
            start = time.perf_counter()
            function()
            best[k] = min(best[k], time.perf_counter() - start)
    return best[0], best[1]


def throughput_table(what: str, names: list[str], n: int, repeats: int) -> list[float]:
    """Print one table (rows: formats; columns: distributions); return every ratio."""
    labels = list(distributions("float32", 1))
    print(f"\n{what}: M values/s, ours / ml_dtypes (ratio), best of {repeats}, {n:,} values")
    print(f"{'format':<16}" + "".join(f"{label:>19}" for label in labels))
    ratios = []
    for name in names:
        dtype = get_format(name).numpy_dtype
        cells = []
        for label, x in distributions(name, n).items():
            if what == "round_to":
                pair = (lambda: round_to(x, name), lambda: x.astype(dtype).astype(x.dtype))
            elif what == "encode":
                pair = (lambda: encode(x, name), lambda: x.astype(dtype))
            else:
                codes = np.asarray(encode(x, name))
                pair = (lambda: decode(codes, name), lambda: codes.view(dtype).astype(np.float64))
            ours, theirs = best_pair(*pair, repeats)
            ratios.append(theirs / ours)
            cells.append(f"{n / ours / 1e6:6.0f}/{n / theirs / 1e6:<6.0f}({theirs / ours:4.1f}x)")
        print(f"{name:<16}" + "".join(f"{cell:>19}" for cell in cells), flush=True)
    return ratios


def scalar_table(names: list[str], calls: int = 2000) -> None:
    """Print microseconds per call of round_to, encode and decode on one Python number."""
    print(f"\nOne Python number per call: microseconds (best of 5 x {calls} calls)")
    print(f"{'format':<16}{'round_to':>10}{'encode':>10}{'decode':>10}{'ml_dtypes':>11}")
    for name in names:
        dtype = get_format(name).numpy_dtype
        code = encode(1.3, name)
        functions = {
            "round_to": lambda: round_to(1.3, name),
            "encode": lambda: encode(1.3, name),
            "decode": lambda: decode(code, name),
            "ml_dtypes": lambda: float(np.float32(1.3).astype(dtype)),
        }
        cells = []
        for function in functions.values():
            best = float("inf")
            for _ in range(5):
                start = time.perf_counter()
                for _ in range(calls):
                    function()
                best = min(best, (time.perf_counter() - start) / calls)
            cells.append(f"{best * 1e6:10.2f}")
        print(f"{name:<16}" + "".join(cells) + " ")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2_000_000, help="values per call")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs of each function")
    parser.add_argument("--formats", default=",".join(FORMATS), help="comma-separated names")
    parser.add_argument("--what", default="round_to,encode,decode", help="which tables")
    args = parser.parse_args()
    import ml_dtypes  # noqa: F401  (registers the dtypes)

    names = args.formats.split(",")
    print("Each cell: ours/ml_dtypes M values/s (ratio); one thread; a shared machine adds noise.")
    for what in args.what.split(","):
        ratios = throughput_table(what, names, args.n, args.repeats)
        print(f"{what}: smallest ratio {min(ratios):.2f}x, median {np.median(ratios):.2f}x")
    scalar_table(names)


if __name__ == "__main__":
    main()
