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
