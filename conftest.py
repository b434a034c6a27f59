"""Execute each notebook once in `make test`: nbval runs it, the book build reuses the result.

nbval (``pytest --nbval-lax chapters exercises solutions``) runs every reader notebook cell by
cell. When all cells of a notebook have passed, the hook below stores that notebook, with the
outputs nbval received from the kernel, in the book's jupyter-cache (``_build/.jupyter_cache``).
``jupyter-book build`` (``execute_notebooks: cache`` in ``_config.yml``) matches a notebook to
the cache by its code cells (source and metadata), and a reader notebook's code cells equal its
``.md``'s (``tests/test_reader_notebooks.py``), so the build renders nbval's outputs, glued
values included, instead of executing the notebook a second time.

Nothing is cached for a notebook with a failing or skipped cell, or whose code differs from its
``.md`` (a stale reader notebook): the build then executes the ``.md`` itself, as it always
has. ``make book`` on its own is unaffected.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent


def book_cache() -> Path:
    """Where jupyter-book keeps its cache (``NFAI_BOOK_CACHE`` overrides it, for the tests)."""
    return Path(os.environ.get("NFAI_BOOK_CACHE", ROOT / "_build" / ".jupyter_cache"))


def _nbval_cell_class():
    try:
        from nbval.plugin import IPyNbCell
    except ImportError:  # nbval not installed: nothing to cache
        return None
    return IPyNbCell


def pytest_configure(config: pytest.Config) -> None:
    # Create the cache's database once, in the controlling process, so that pytest-xdist
    # workers only ever add records to it.
    if config.getoption("nbval_lax", False) and not hasattr(config, "workerinput"):
        from jupyter_cache import get_cache

        get_cache(book_cache())


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    cell_class = _nbval_cell_class()
    if cell_class is None or not isinstance(item, cell_class) or call.when != "call":
        return
    notebook = item.parent
    if "_executed" not in notebook.__dict__:  # the notebook's first cell
        n_code = sum(cell.cell_type == "code" for cell in notebook.nb.cells)
        notebook._executed = {"ok": True, "outputs": {}, "start": call.start, "last": n_code - 1}
    record = notebook._executed
    record["ok"] &= outcome.get_result().passed
    record["outputs"][item.cell_num] = item.test_outputs
    if item.cell_num == record["last"] and record["ok"]:
        _cache_executed(notebook, record["outputs"], seconds=call.stop - record["start"])


def _cache_executed(notebook: pytest.Collector, outputs: dict, seconds: float) -> None:
    """Store the notebook nbval ran, with its outputs, as the book build would have."""
    from ipykernel.ipkernel import IPythonKernel
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    source = Path(str(notebook.fspath)).with_suffix(".md")
    if not source.exists():  # not a reader notebook of the book
        return
    nb = copy.deepcopy(notebook.nb)
    nb.metadata["language_info"] = dict(IPythonKernel.language_info)
    code_cells = [cell for cell in nb.cells if cell.cell_type == "code"]
    for number, cell in enumerate(code_cells):
        cell.execution_count = number + 1
        cell.outputs = outputs[number]
        for output in cell.outputs:
            if output.output_type == "execute_result":
                output.execution_count = cell.execution_count
    get_cache(book_cache()).cache_notebook_bundle(
        CacheBundleIn(nb, str(source), data={"execution_seconds": seconds, "executed_by": "nbval"}),
        check_validity=False,
        overwrite=True,
    )
