"""Importing support, or any of its modules, loads none of the heavy optional packages.

torch, seaborn and sentence-transformers take seconds to import; functions that need
them import them when called.  One fresh interpreter imports every module in turn (found
by walking the package, so new modules are covered) and reports, after each import,
which heavy packages have appeared: the first module that loads one is named.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from test_doctests import support_modules

HEAVY = ("torch", "seaborn", "sentence_transformers", "transformers", "bitsandbytes", "torchao")

SCRIPT = textwrap.dedent("""
    import importlib, json, sys
    heavy, report = {heavy!r}, {{}}
    for name in {modules!r}:
        importlib.import_module(name)
        report[name] = [h for h in heavy if h in sys.modules]
    print(json.dumps(report))
""")


def test_no_module_imports_heavy_packages():
    modules = support_modules()
    script = SCRIPT.format(heavy=HEAVY, modules=modules)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert list(report) == modules
    loaded = {name: packages for name, packages in report.items() if packages}
    assert not loaded, f"importing these modules loaded heavy packages (first one is the culprit): {loaded}"
