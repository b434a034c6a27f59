"""Measure the roofline of the machine that runs the notebook: GEMM throughput and triad bandwidth.

Timings are the best of a few repeats (after one warm-up), the usual way to estimate what
the hardware can do on a machine that other programs also load.  On a CUDA GPU the
timings use CUDA events around the work, with the device synchronised; on the CPU,
``time.perf_counter``.  torch is imported inside the functions.

>>> r = measure_gemm(64, 64, 64, repeats=2)
>>> r.operations, r.bytes_moved
(524288, 49152)
>>> r.rate > 0
True
"""

from __future__ import annotations

import platform
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from support._validate import integer_in_range, one_of, positive_number

__all__ = ["Measurement", "cpu_name", "largest_cache_bytes", "best_seconds", "measure_gemm", "measure_triad"]

_DTYPES = ("float32", "bfloat16", "float16")
_ITEMSIZE = {"float32": 4, "bfloat16": 2, "float16": 2}


@dataclass(frozen=True)
class Measurement:
    """One timed kernel: what it did, how much it moved, the best time.

    Attributes
    ----------
    label : str
        What was measured, e.g. ``"GEMM 1x4096x4096 bfloat16"``.
    operations : int
        Floating-point operations (a multiply-add counts as two; 0 for a pure copy).
    bytes_moved : int
        The least traffic to and from memory: each operand read once, the result written once.
    seconds : float
        The best time of the repeats.
    device : str
        ``"cpu"`` or ``"cuda"``.

    Examples
    --------
    >>> m = Measurement("triad", 2_000, 24_000, 1e-6, "cpu")
    >>> m.rate, m.bandwidth, m.intensity
    (2000000000.0, 24000000000.0, 0.08333333333333333)
    """

    label: str
    operations: int
    bytes_moved: int
    seconds: float
    device: str

    def __post_init__(self) -> None:
        if not isinstance(self.label, str):
            raise TypeError(f"label must be a str, got {self.label!r}")
        integer_in_range(self.operations, "operations", 0, 2**62)
        integer_in_range(self.bytes_moved, "bytes_moved", 1, 2**62)
        object.__setattr__(self, "seconds", positive_number(self.seconds, "seconds"))
        one_of(self.device, "device", ("cpu", "cuda"))

    @property
    def rate(self) -> float:
        """Operations per second."""
        return self.operations / self.seconds

    @property
    def bandwidth(self) -> float:
        """Bytes per second (counting ``bytes_moved``)."""
        return self.bytes_moved / self.seconds

    @property
    def intensity(self) -> float:
        """Operations per byte."""
        return self.operations / self.bytes_moved


def cpu_name() -> str:
    """The processor's model name (from ``/proc/cpuinfo`` on Linux, else :mod:`platform`).

    Examples
    --------
    >>> isinstance(cpu_name(), str) and len(cpu_name()) > 0
    True
    """
    info = Path("/proc/cpuinfo")
    if info.exists():
        for line in info.read_text(errors="replace").splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine() or "unknown processor"


def largest_cache_bytes(default: int = 32 * 2**20) -> int:
    """Size in bytes of the largest CPU cache Linux reports (usually the L3), or ``default``.

    Examples
    --------
    >>> largest_cache_bytes() >= 2**16
    True
    """
    default = integer_in_range(default, "default", 1, 2**40)
    sizes = []
    for entry in Path("/sys/devices/system/cpu/cpu0/cache").glob("index*/size"):
        text = entry.read_text().strip().upper()
        units = {"K": 2**10, "M": 2**20, "G": 2**30}
        try:
            sizes.append(int(text[:-1]) * units[text[-1]] if text[-1] in units else int(text))
        except (ValueError, IndexError):
            continue
    return max(sizes, default=default)


def _device(device: str) -> str:
    device = one_of(device, "device", ("cpu", "cuda"))
    if device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise ValueError("device='cuda' but torch finds no CUDA GPU; use device='cpu'")
    return device


def best_seconds(work: Callable[[], object], *, repeats: int = 3, device: str = "cpu") -> float:
    """The shortest of ``repeats`` timed calls of ``work()``, after one untimed warm-up call.

    On ``"cuda"`` each call is timed with CUDA events and the device synchronised, since
    kernels run asynchronously (a host timer would measure only the launch).

    Examples
    --------
    >>> best_seconds(lambda: sum(range(1000)), repeats=2) > 0
    True
    """
    if not callable(work):
        raise TypeError(f"work must be a callable taking no arguments, got {work!r}")
    repeats = integer_in_range(repeats, "repeats", 1, 1000)
    device = _device(device)
    work()
    times = []
    if device == "cuda":
        import torch

        torch.cuda.synchronize()
        for _ in range(repeats):
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            work()
            end.record()
            torch.cuda.synchronize()
            times.append(start.elapsed_time(end) / 1e3)
    else:
        for _ in range(repeats):
            t0 = time.perf_counter()
            work()
            times.append(time.perf_counter() - t0)
    return max(min(times), 1e-9)


def measure_gemm(m: int, n: int, k: int, *, dtype: str = "float32", device: str = "cpu",
                 repeats: int = 3) -> Measurement:
    """Time ``X[m, k] @ W[k, n]`` with torch and count its operations and least traffic.

    Parameters
    ----------
    m, n, k : int
        Sizes; ``m = 1`` is a matrix-vector product (GEMV).
    dtype : {"float32", "bfloat16", "float16"}
        Element type of X, W and the result.
    device : {"cpu", "cuda"}
        Where to run.
    repeats : int
        Timed repeats; the best is kept.

    Examples
    --------
    >>> g = measure_gemm(1, 256, 256, dtype="bfloat16", repeats=2)
    >>> g.label, g.operations, g.bytes_moved
    ('GEMM 1x256x256 bfloat16', 131072, 132096)
    """
    top = 2**16
    m, n, k = (integer_in_range(v, name, 1, top) for v, name in ((m, "m"), (n, "n"), (k, "k")))
    dtype = one_of(dtype, "dtype", _DTYPES)
    device = _device(device)
    import torch

    kind = getattr(torch, dtype)
    x = torch.full((m, k), 0.5, dtype=kind, device=device)
    w = torch.full((k, n), 0.25, dtype=kind, device=device)
    out = torch.empty((m, n), dtype=kind, device=device)
    seconds = best_seconds(lambda: torch.matmul(x, w, out=out), repeats=repeats, device=device)
    size = _ITEMSIZE[dtype]
    return Measurement(f"GEMM {m}x{n}x{k} {dtype}", 2 * m * n * k, size * (m * k + k * n + m * n), seconds, device)


def measure_triad(n_elements: int, *, device: str = "cpu", repeats: int = 3) -> Measurement:
    """Time the STREAM triad ``a = b + s * c`` on float32 arrays of ``n_elements``.

    The traffic counted is STREAM's: two arrays read and one written, ``12 n`` bytes
    (the extra read a CPU's write-allocate cache may make of ``a`` is not counted, as in
    STREAM).  torch's ``add(b, c, alpha=s, out=a)`` does it in one pass, with no temporary.
    Choose ``n_elements`` so that the three arrays are well beyond the caches.

    Examples
    --------
    >>> t = measure_triad(1_000_000, repeats=2)
    >>> t.bytes_moved, t.operations
    (12000000, 2000000)
    """
    n = integer_in_range(n_elements, "n_elements", 1, 2**32)
    device = _device(device)
    import torch

    a = torch.empty(n, dtype=torch.float32, device=device)
    b = torch.full((n,), 1.0, dtype=torch.float32, device=device)
    c = torch.full((n,), 2.0, dtype=torch.float32, device=device)
    seconds = best_seconds(lambda: torch.add(b, c, alpha=3.0, out=a), repeats=repeats, device=device)
    return Measurement(f"triad {n} float32", 2 * n, 12 * n, seconds, device)

