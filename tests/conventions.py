"""What every notebook of the course must share, derived from the one place each fact is set.

The repository URL is set once, in ``_config.yml``; the release that Colab installs
is the version in ``pyproject.toml`` (tag ``v<version>``).  The Colab install cell
of every notebook is generated from both, so it cannot drift.
"""

from __future__ import annotations

import tomllib
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


def install_cell() -> str:
    """The exact source of the first code cell of every notebook."""
    return (
        "# On Colab, install the course's `support` package (this cell does nothing elsewhere).\n"
        "import subprocess, sys\n"
        "\n"
        'if "google.colab" in sys.modules:\n'
        "    subprocess.run(\n"
        '        [sys.executable, "-m", "pip", "install", "-q", "--no-deps",\n'
        f'         "git+{repository_url()}@v{version()}"],\n'
        "        check=True,\n"
        "    )"
    )


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
    #   writes chapters/, exercises/ and solutions/ stubs (never overwrites), then run `make sync`.
    import sys

    stem, title = sys.argv[1], sys.argv[2]
    for kind in NOTEBOOK_DIRS:
        path = ROOT / kind / f"{stem}.md"
        if path.exists():
            print(f"exists, left alone: {path.relative_to(ROOT)}")
        else:
            path.write_text(notebook_stub(kind, stem, title))
            print(f"wrote {path.relative_to(ROOT)}")
