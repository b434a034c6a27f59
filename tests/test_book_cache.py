"""The root conftest.py hands nbval's executions to the book build (one execution per notebook).

Each test writes a tiny MyST page and its reader notebook, runs nbval on the notebook in a
separate pytest with the root conftest.py as its only plugin, then asks jupyter-cache, as
myst-nb does during the build, whether the page's outputs are there.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from jupyter_cache import get_cache
from myst_nb.core.read import read_myst_markdown_notebook

ROOT = Path(__file__).resolve().parents[1]

HEADER = """---
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---

# A page
"""


def page(*cells: str) -> str:
    return HEADER + "".join(f"\n```{{code-cell}} ipython3\n{cell}\n```\n" for cell in cells)


def run_nbval(tmp_path: Path, source: str, notebook_source: str | None = None) -> tuple[subprocess.CompletedProcess, Path]:
    """Write page.md (and page.ipynb from `notebook_source`, default the same page); run nbval."""
    (tmp_path / "page.md").write_text(source)
    notebook = read_myst_markdown_notebook(notebook_source or source)
    nbformat.write(notebook, tmp_path / "page.ipynb")
    cache = tmp_path / "cache"
    env = dict(os.environ, NFAI_BOOK_CACHE=str(cache), PYTHONPATH=str(ROOT))
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "conftest",
         "--nbval-lax", "--rootdir", str(tmp_path), str(tmp_path / "page.ipynb")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )
    return result, cache


def cached_page(tmp_path: Path, cache: Path) -> nbformat.NotebookNode:
    """The page with its cached outputs merged in, as myst-nb's cache mode does (KeyError if none)."""
    page_notebook = read_myst_markdown_notebook((tmp_path / "page.md").read_text())
    return get_cache(cache).merge_match_into_notebook(page_notebook)[1]


def test_a_passing_notebook_is_cached_with_its_outputs(tmp_path):
    result, cache = run_nbval(tmp_path, page("x = 6 * 7", "print(x)", "x + 1"))
    assert result.returncode == 0, result.stdout + result.stderr
    merged = cached_page(tmp_path, cache)
    first, printed, shown = merged.cells[1:]
    assert [first.execution_count, printed.execution_count, shown.execution_count] == [1, 2, 3]
    assert first.outputs == []
    assert printed.outputs[0].output_type == "stream" and printed.outputs[0].text == "42\n"
    assert shown.outputs[0].data["text/plain"] == "43" and shown.outputs[0].execution_count == 3
    assert merged.metadata.language_info.pygments_lexer.startswith("ipython")  # the build's code lexer
    [record] = get_cache(cache).list_cache_records()
    assert record.uri == str(tmp_path / "page.md") and record.data["executed_by"] == "nbval"


def test_a_failing_notebook_is_not_cached(tmp_path):
    result, cache = run_nbval(tmp_path, page("x = 1", "raise ValueError('boom')", "print(x)"))
    assert result.returncode != 0
    assert get_cache(cache).list_cache_records() == []


def test_a_stale_reader_notebook_does_not_stand_in_for_its_page(tmp_path):
    result, cache = run_nbval(tmp_path, page("print(1)"), notebook_source=page("print(2)"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(get_cache(cache).list_cache_records()) == 1  # the notebook nbval ran is cached...
    with pytest.raises(KeyError):
        cached_page(tmp_path, cache)  # ...but the build would execute the page itself
