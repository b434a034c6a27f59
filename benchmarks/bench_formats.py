"""Throughput of support.numbers.formats.round_to against ml_dtypes, torch and gfloat.

Prints one table: millions of float32 values rounded per second (best of 3 wall-clock
runs, the libraries taking turns) for

- ``round_to(x, name)``                                   (support.numbers.formats, float32 out)
- ``x.astype(dtype).astype(np.float32)``                  (ml_dtypes round trip)
- ``torch.from_numpy(x).to(dtype).to(torch.float32)``     (torch, one thread, where it has the dtype)
- ``gfloat.round_ndarray(fi, x)``                         (gfloat, on a smaller sample, scaled)

and the ratio of round_to's throughput to ml_dtypes'.  The input is a seeded standard
normal sample of float32.  Every library runs on one thread: numpy and ml_dtypes always
do, torch is set to.

Usage: ``python benchmarks/bench_formats.py [--n 10000000] [--gfloat-n 100000]``
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

from support.numbers.formats import get_format, round_to

FORMATS = ["bfloat16", "float8_e4m3fn", "float8_e5m2", "float6_e3m2fn", "float4_e2m1fn"]
GFLOAT_INFO = {
    "bfloat16": "format_info_bfloat16",
    "float8_e4m3fn": "format_info_ocp_e4m3",
    "float8_e5m2": "format_info_ocp_e5m2",
    "float6_e3m2fn": "format_info_ocp_e3m2",
    "float4_e2m1fn": "format_info_ocp_e2m1",
}


def best_throughputs(functions: dict, n: int, repeats: int = 3) -> dict:
    """Millions of values per second of each function, best of ``repeats`` wall-clock runs.

    The functions take turns, so that a busy machine slows them alike.
    """
    best = {name: float("inf") for name in functions}
    for _ in range(repeats):
        for name, function in functions.items():
            start = time.perf_counter()
            function()
            best[name] = min(best[name], time.perf_counter() - start)
    return {name: n / seconds / 1e6 for name, seconds in best.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000_000, help="float32 values per call")
    parser.add_argument("--gfloat-n", type=int, default=100_000, help="values for gfloat (slow)")
    args = parser.parse_args()

    x = np.random.default_rng(0).standard_normal(args.n).astype(np.float32)
    small = x[: args.gfloat_n].astype(np.float64)

    try:
        import ml_dtypes  # noqa: F401  (registers the dtypes)
    except ImportError:
        ml_dtypes = None
    try:
        import torch

        torch.set_num_threads(1)
        tx = torch.from_numpy(x)
    except ImportError:
        torch = None
    try:
        import gfloat
        import gfloat.formats
    except ImportError:
        gfloat = None

    header = f"{'format':<15} {'round_to':>9} {'ml_dtypes':>10} {'torch':>8} {'gfloat*':>8} {'ratio':>7}"
    print(f"Throughput, M values/s (best of 3), {args.n:,} float32 values N(0, 1), one thread")
    print(header)
    print("-" * len(header))
    for name in FORMATS:
        fmt = get_format(name)
        functions = {"round_to": lambda: round_to(x, fmt)}
        if ml_dtypes is not None and fmt.numpy_dtype is not None:
            dtype = fmt.numpy_dtype
            functions["ml_dtypes"] = lambda: x.astype(dtype).astype(np.float32)
        if torch is not None and fmt.torch_dtype is not None:
            tdtype = fmt.torch_dtype
            functions["torch"] = lambda: tx.to(tdtype).to(torch.float32)
        speeds = best_throughputs(functions, args.n)
        ours = speeds["round_to"]
        reference = speeds.get("ml_dtypes", float("nan"))
        torch_speed = speeds.get("torch", float("nan"))
        gfloat_speed = float("nan")
        if gfloat is not None:
            info = getattr(gfloat.formats, GFLOAT_INFO[name])
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                gfloat_speed = best_throughputs(
                    {"gfloat": lambda: gfloat.round_ndarray(info, small, sat=True)}, small.size, repeats=1
                )["gfloat"]

        def show(v: float) -> str:
            return "-" if np.isnan(v) else f"{v:.0f}" if v >= 10 else f"{v:.2f}"

        print(f"{name:<15} {show(ours):>9} {show(reference):>10} {show(torch_speed):>8} "
              f"{show(gfloat_speed):>8} {ours / reference:>6.2f}x")
    print(f"* gfloat timed on {small.size:,} values (float64, sat=True) and scaled; "
          "ratio = round_to / ml_dtypes; '-' = no such dtype.")


if __name__ == "__main__":
    main()
