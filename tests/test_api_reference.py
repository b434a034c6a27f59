"""The library reference (api/) has one page per public support module, and no stale page.

A page is ``api/<module>.md`` holding::

    # `support.numbers.formats`

    ```{eval-rst}
    .. automodule:: support.numbers.formats
    ```

_toc.yml picks the pages of support.numbers, support.quant, support.training,
support.inference and support.exercises up by glob; a new top-level module also needs
its line in the "Library reference" part of _toc.yml.  The exercise question modules
(support.exercises.chNN) hold answers and are not documented; private modules neither.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from test_doctests import support_modules

ROOT = Path(__file__).resolve().parent.parent
PAGE = "# `{name}`\n\n```{{eval-rst}}\n.. automodule:: {name}\n```\n"


def documented_modules() -> list[str]:
    """The public modules: no ``_private`` part, no exercise questions."""
    return [name for name in support_modules()
            if not any(part.startswith("_") for part in name.split("."))
            and not re.fullmatch(r"support\.exercises\.ch\d+", name)]


def test_every_public_module_has_a_page():
    missing = [name for name in documented_modules()
               if name != "support" and not (ROOT / "api" / f"{name}.md").exists()]
    assert not missing, "add these pages:\n" + "\n".join(
        f"api/{name}.md:\n{PAGE.format(name=name)}" for name in missing)


def test_no_page_without_its_module_and_pages_are_uniform():
    modules = set(documented_modules())
    for page in (ROOT / "api").glob("support*.md"):
        assert page.stem in modules, f"{page} documents no support module"
        assert page.read_text() == PAGE.format(name=page.stem), f"{page} differs from the template"


def test_every_page_is_in_the_table_of_contents():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    part = next(p for p in toc["parts"] if p["caption"] == "Library reference")
    files, globs = set(), []

    def walk(entries):
        for entry in entries:
            if "file" in entry:
                files.add(entry["file"])
            if "glob" in entry:
                globs.append(re.compile(re.escape(entry["glob"]).replace(r"\*", ".*") + "$"))
            walk(entry.get("sections", []))

    walk(part["chapters"])
    assert "api/index" in files
    for page in (ROOT / "api").glob("support*.md"):
        doc = f"api/{page.stem}"
        assert doc in files or any(g.match(doc) for g in globs), f"{doc} is not in _toc.yml's Library reference"


def test_every_public_function_and_class_has_an_example():
    # the house rule: numpy-style docstrings with a short example (run by test_doctests.py)
    import importlib
    import inspect

    missing = []
    for name in documented_modules():
        module = importlib.import_module(name)
        for attr, obj in vars(module).items():
            if attr.startswith("_") or not (inspect.isfunction(obj) or inspect.isclass(obj)):
                continue
            if obj.__module__ == name and ">>>" not in (inspect.getdoc(obj) or ""):
                missing.append(f"{name}.{attr}")
    assert not missing, f"{len(missing)} public functions/classes without an example: {missing}"
