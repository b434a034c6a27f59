"""Speed of 4-bit weight quantization on CPU: support (numpy) vs bitsandbytes.

Quantizes a seeded 4096 x 4096 float32 matrix with

- per-group symmetric INT4 (``support.quant.uniform.quantize``, groups of 128 and 64),
- NF4 with absmax blocks of 64 (``support.quant.codebooks.quantize_blockwise``),

and compares each with ``bitsandbytes.functional.quantize_4bit`` (NF4, the
same block size) on CPU.  Times are the best of ``--repeats`` runs; the ratio
is ours / bitsandbytes (above 1: slower).  Speed is printed, never asserted.

Run: ``python benchmarks/bench_quant.py [--size 4096] [--repeats 3]``
"""

from __future__ import annotations

import argparse
import time
from typing import Callable

import numpy as np

from support.quant.codebooks import NF4, quantize_blockwise
from support.quant.uniform import quantize


def best_time(fn: Callable[[], object], repeats: int) -> float:
    """Smallest wall-clock time of ``repeats`` calls, in seconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=4096, help="matrix is size x size (default 4096)")
    parser.add_argument("--repeats", type=int, default=3, help="best of this many runs (default 3)")
    args = parser.parse_args()

    w = np.random.default_rng(0).normal(size=(args.size, args.size)).astype(np.float32)
    cases = [
        ("INT4 per-group, group 128", lambda: quantize(w, 4, group_size=128), 128),
        ("INT4 per-group, group 64", lambda: quantize(w, 4, group_size=64), 64),
        ("NF4 absmax, block 64", lambda: quantize_blockwise(w, NF4, 64), 64),
    ]

    try:
        import torch
        import bitsandbytes.functional as bnb

        torch.manual_seed(0)
        w_torch = torch.from_numpy(w)
        versions = f"bitsandbytes {__import__('bitsandbytes').__version__}, torch {torch.__version__}"
    except ImportError:
        bnb = None
        versions = "bitsandbytes not installed"

    print(f"{args.size} x {args.size} float32, best of {args.repeats}; numpy {np.__version__}, {versions}")
    print(f"{'method':<28}{'support (s)':>12}{'bnb NF4 (s)':>13}{'ratio':>8}")
    for name, ours, block in cases:
        t_ours = best_time(ours, args.repeats)
        if bnb is None:
            print(f"{name:<28}{t_ours:>12.3f}{'-':>13}{'-':>8}")
            continue
        t_bnb = best_time(lambda: bnb.quantize_4bit(w_torch, blocksize=block, quant_type="nf4"), args.repeats)
        print(f"{name:<28}{t_ours:>12.3f}{t_bnb:>13.3f}{t_ours / t_bnb:>8.2f}")


if __name__ == "__main__":
    main()
