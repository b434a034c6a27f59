"""The notebooks open everywhere: pairs in sync, the Colab cell, the table of contents.

These are static checks; nbval re-executes the notebooks themselves.
"""

from __future__ import annotations

import re

import jupytext
import pytest
import yaml

from conventions import ROOT, install_cell, markdown_notebooks, repository_url

NOTEBOOKS = markdown_notebooks()
IDS = [str(p.relative_to(ROOT)) for p in NOTEBOOKS]


def _cells(nb) -> list[tuple[str, str]]:
    return [(c.cell_type, c.source.strip()) for c in nb.cells]


def test_there_are_notebooks():
    assert NOTEBOOKS, "no notebooks found in chapters/, exercises/, solutions/"


@pytest.mark.parametrize("md", NOTEBOOKS, ids=IDS)
def test_pair_in_sync(md):
    """The committed .ipynb has exactly the cells of its .md source (run `make sync`)."""
    ipynb = md.with_suffix(".ipynb")
    assert ipynb.exists(), f"{ipynb.name} is missing: run `make sync`"
    source, paired = jupytext.read(md), jupytext.read(ipynb)
    assert _cells(source) == _cells(paired), f"{md.name} and {ipynb.name} differ: run `make sync`"


@pytest.mark.parametrize("md", NOTEBOOKS, ids=IDS)
def test_ipynb_has_no_outputs(md):
    nb = jupytext.read(md.with_suffix(".ipynb"))
    with_outputs = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and (c.get("outputs") or c.get("execution_count"))]
    assert not with_outputs, f"{md.with_suffix('.ipynb').name}: cells {with_outputs} have outputs"


@pytest.mark.parametrize("md", NOTEBOOKS, ids=IDS)
def test_first_code_cell_installs_support_on_colab(md):
    nb = jupytext.read(md)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and code[0].source.strip() == install_cell(), f"{md.name}: first code cell must be the Colab install cell"
    assert "remove-cell" in code[0].metadata.get("tags", []), f"{md.name}: tag the install cell remove-cell"


@pytest.mark.parametrize("md", NOTEBOOKS, ids=IDS)
def test_glue_comes_from_support(md):
    text = md.read_text()
    assert "from myst_nb import glue" not in text, f"{md.name}: import glue from support (myst_nb is missing on Colab)"


@pytest.mark.parametrize("md", NOTEBOOKS, ids=IDS)
def test_pasted_names_are_glued(md):
    """Every {glue:text}`name` in the prose has a glue("name", ...) call in the notebook."""
    text = md.read_text()
    pasted = set(re.findall(r"\{glue:text\}`([^`]+)`", text))
    glued = set(re.findall(r"""glue\(\s*["']([A-Za-z_][A-Za-z0-9_]*)["']""", text))
    assert not pasted - glued, f"{md.name}: pasted but never glued: {sorted(pasted - glued)}"


def test_every_notebook_is_in_the_toc():
    toc = (ROOT / "_toc.yml").read_text()
    listed = set(re.findall(r"file:\s*(\S+)", toc))
    missing = [str(p.relative_to(ROOT).with_suffix("")) for p in NOTEBOOKS if str(p.relative_to(ROOT).with_suffix("")) not in listed]
    assert not missing, f"not in _toc.yml: {missing}"
    for entry in listed:
        assert any((ROOT / f"{entry}{ext}").exists() for ext in (".md", ".ipynb")), f"_toc.yml lists {entry}, which does not exist"


def test_exercises_and_solutions_come_in_threes():
    chapters = {p.name for p in (ROOT / "chapters").glob("*.md")}
    for folder in ("exercises", "solutions"):
        names = {p.name for p in (ROOT / folder).glob("*.md")}
        assert names == chapters, f"{folder}/ and chapters/ differ: {sorted(names ^ chapters)}"


def test_repository_url_is_used_consistently():
    """The URL is set once in _config.yml; every other mention agrees with it."""
    url = repository_url()
    assert re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", url)
    for path in [ROOT / "README.md", *NOTEBOOKS]:
        for found in re.findall(r"https://github\.com/[\w.-]+/[\w.-]+", path.read_text()):
            assert found.removesuffix(".git") == url, f"{path.name} mentions {found}, _config.yml says {url}"


def test_ipynb_excluded_from_the_build():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert "**.ipynb" in config["exclude_patterns"]


@pytest.mark.parametrize("md", NOTEBOOKS, ids=IDS)
def test_citations_are_per_page_footnotes(md):
    """{cite} plus a per-page {bibliography} duplicates citations across pages (a -W build
    error); chapters cite with {footcite} and end with {footbibliography}."""
    text = md.read_text()
    assert not re.search(r"\{cite(:[a-z]+)?\}`", text), f"{md.name}: use {{footcite}}, not {{cite}}"
    assert "```{bibliography}" not in text, f"{md.name}: use {{footbibliography}}"
    if "{footcite}" in text:
        assert "```{footbibliography}" in text, f"{md.name}: cites but has no footbibliography"


def test_intro_links_every_written_chapter():
    intro = (ROOT / "intro.md").read_text()
    for md in sorted((ROOT / "chapters").glob("*.md")):
        assert f"{{doc}}`chapters/{md.stem}`" in intro, f"intro.md's chapter map does not link {md.stem}"


def test_binder_installs_the_same_pins():
    binder = (ROOT / "binder" / "requirements.txt").read_text().split()
    assert "../requirements.txt" in binder, "binder/requirements.txt must include the top-level pins"
