"""The examples in support's docstrings run as doctests, one test per module.

Modules are found by walking the package, so a new module is covered without being
listed here.  Examples are compared with ELLIPSIS and NORMALIZE_WHITESPACE; each
module's examples run with numpy as ``np`` in their namespace (as in the notebooks).
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import numpy as np
import pytest

import support


def support_modules() -> list[str]:
    """Every module of the support package, subpackages included."""
    names = [support.__name__]
    for info in pkgutil.walk_packages(support.__path__, prefix=support.__name__ + "."):
        names.append(info.name)
    return sorted(names)


@pytest.mark.parametrize("name", support_modules())
def test_docstring_examples(name):
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    tests = finder.find(module, name, globs={"np": np, **vars(module)})
    for test in tests:
        if test.examples:
            runner.run(test, clear_globs=True)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name} (see the output above)"
