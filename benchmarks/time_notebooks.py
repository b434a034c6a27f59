"""Execute every notebook of the course once and print its wall time.

    python benchmarks/time_notebooks.py [path ...]

Without arguments: every .ipynb in chapters/, exercises/ and solutions/. The time runs
from the kernel's start (about 1-2 s) to the end of the last cell, as a reader's "Run all"
does; the kernel's shutdown after it (up to 3 s once torch is loaded) is not counted. Each
line gives the load average over the last minute: on a 2-core machine a load above 1 means
someone else had a share of the CPU, and the time is an upper bound.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]


def run(path: Path) -> float:
    """Seconds from the kernel's start to the end of the notebook's last cell."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    with client.setup_kernel():
        for index, cell in enumerate(nb.cells):
            client.execute_cell(cell, index)
        return time.perf_counter() - start


def main(paths: list[str]) -> None:
    notebooks = [Path(p) for p in paths] or sorted(
        p for folder in ("chapters", "exercises", "solutions") for p in (ROOT / folder).glob("*.ipynb")
    )
    total = 0.0
    print(f"{'notebook':45} {'seconds':>8} {'load':>5}")
    for path in notebooks:
        seconds = run(path)
        total += seconds
        print(f"{str(path.relative_to(ROOT) if path.is_absolute() else path):45} {seconds:8.1f} {os.getloadavg()[0]:5.1f}", flush=True)
    print(f"{'total':45} {total:8.1f}")


if __name__ == "__main__":
    main(sys.argv[1:])
