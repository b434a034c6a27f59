"""Execute every notebook of the course once and print its wall time.

    python benchmarks/time_notebooks.py [path ...]

Without arguments: every .ipynb in chapters/, exercises/ and solutions/. The time
includes the kernel start (about 1-2 s), as a reader's "Run all" does.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]


def run(path: Path) -> float:
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    return time.perf_counter() - start


def main(paths: list[str]) -> None:
    notebooks = [Path(p) for p in paths] or sorted(
        p for folder in ("chapters", "exercises", "solutions") for p in (ROOT / folder).glob("*.ipynb")
    )
    total = 0.0
    print(f"{'notebook':45} {'seconds':>8}")
    for path in notebooks:
        seconds = run(path)
        total += seconds
        print(f"{str(path.relative_to(ROOT) if path.is_absolute() else path):45} {seconds:8.1f}", flush=True)
    print(f"{'total':45} {total:8.1f}")


if __name__ == "__main__":
    main(sys.argv[1:])
