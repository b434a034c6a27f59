"""Importing support, or any of its modules, loads none of the heavy optional packages.

torch, seaborn and sentence-transformers take seconds to import; functions that need
them import them when called.  One fresh interpreter imports every module in turn (found
by walking the package, so new modules are covered) and reports, after each import,
which heavy packages have appeared: the first module that loads one is named.

A module that *is* a torch program (a training harness whose classes subclass
``torch.nn.Module``) imports torch by design; it says so in its docstring and is listed in
:data:`TORCH_BY_DESIGN`, imported last, after every light module has been checked.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from test_doctests import support_modules

HEAVY = ("torch", "seaborn", "sentence_transformers", "transformers", "bitsandbytes", "torchao")

#: Modules made of torch classes: importing them imports torch (and only torch).
TORCH_BY_DESIGN = {"support.training.harness"}

SCRIPT = textwrap.dedent("""
    import importlib, json, sys
    heavy, report = {heavy!r}, {{}}
    for name in {modules!r}:
        importlib.import_module(name)
        report[name] = [h for h in heavy if h in sys.modules]
    print(json.dumps(report))
""")


def test_no_module_imports_heavy_packages():
    modules = [m for m in support_modules() if m not in TORCH_BY_DESIGN]
    script = SCRIPT.format(heavy=HEAVY, modules=modules)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert list(report) == modules
    loaded = {name: packages for name, packages in report.items() if packages}
    assert not loaded, f"importing these modules loaded heavy packages (first one is the culprit): {loaded}"


def test_torch_modules_by_design_say_so_and_load_only_torch():
    for name in sorted(TORCH_BY_DESIGN):
        script = SCRIPT.format(heavy=HEAVY, modules=[name])
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
        report = json.loads(done.stdout.strip().splitlines()[-1])
        assert report[name] == ["torch"], report
        module = __import__(name, fromlist=["__doc__"])
        assert "imports torch when it is imported" in module.__doc__
