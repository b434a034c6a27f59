"""Build the student edition of the course: ``make student`` (see instructors.md).

Writes, under ``--out`` (default ``_build/student``):

- ``dist/``      a wheel of ``support`` whose questions know only the form of their answers
  (:func:`support.exercises.edition.build_wheel`): no reference answers, no solutions, no
  reference implementations;
- ``notebooks/`` the exercise notebooks, without outputs and without the ``solution()`` lines,
  their Colab cell installing the student wheel (``--wheel-url``) instead of the practice package;
- ``html/``      the book without the Solutions part and the instructors' page, without
  dropdowns titled "Solution" or "Answer", and with links to the solutions turned into text
  (skipped with ``--no-html``).

The transformations are plain functions (:func:`student_toc`, :func:`strip_solutions`,
:func:`student_notebook`) that ``tests/test_grade.py`` runs on the real sources.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

#: Book pages a student edition leaves out (relative to the book's root, without suffix).
HIDDEN_PAGES = ("instructors", "api/support.grade", "api/support.exercises.edition")
SOLUTIONS_DIR = "solutions"

_SOLUTION_TITLE = re.compile(r"solution|answer", re.I)
_FENCE_OPEN = re.compile(r"^(\s*)(`{3,}|:{3,})\{(dropdown|admonition|toggle)\}\s*(.*)$")
_DOC_SOLUTIONS = re.compile(r"\{doc\}`[^`]*\bsolutions/[^`]*`")
_DOC_HIDDEN = re.compile(r"\{doc\}`[^`]*\b(?:" + "|".join(map(re.escape, HIDDEN_PAGES)) + r")\b[^`]*`")
_MD_SOLUTIONS = re.compile(r"\[([^\]]*)\]\([^)]*\bsolutions/[^)]*\)")
_SOLUTION_CALL = re.compile(r"^\s*#?\s*ex\.q\d+\.solution\(\)\s*$")
_SOLUTION_MENTION = re.compile(r",? or `ex\.qN\.solution\(\)`|\s+and\s+`ex\.qN\.solution\(\)`\s+the worked answer")
_MODEL_ANSWER = re.compile(r"the check\s+shows a model answer to compare with")
_PRACTICE_INSTALL = re.compile(r'"git\+https://[^"]+"')
_WHAT_CHECK_SAYS = re.compile(r"the check says whether it is right\s+and,\s+if not,\s+what is wrong")
STUDENT_NOTE = (
    "**Student edition.** `ex.qN.check(answer)` records your answer for grading and tells you if "
    "it is not even the right kind of answer (a number, a bit string, a letter, a function); it "
    "does not say whether it is right. Hand in this notebook with every cell run."
)


def student_toc(toc: dict) -> dict:
    """The table of contents without the Solutions part and the hidden pages."""

    def keep(entry: dict) -> bool:
        file = str(entry.get("file", ""))
        return not file.startswith(f"{SOLUTIONS_DIR}/") and file not in HIDDEN_PAGES

    out = dict(toc)
    parts = []
    for part in toc.get("parts", []):
        chapters = [c for c in part.get("chapters", []) if keep(c)]
        if chapters:
            parts.append({**part, "chapters": chapters})
    out["parts"] = parts
    return out


def strip_solutions(markdown: str) -> str:
    """A page's MyST text without solution dropdowns, ``solution()`` lines and links to the
    solutions, saying that a check records the answer."""
    lines, out, closing = markdown.splitlines(keepends=True), [], None
    for line in lines:
        if closing is not None:
            if line.strip() == closing:
                closing = None
            continue
        match = _FENCE_OPEN.match(line)
        if match and _SOLUTION_TITLE.search(match.group(4)):
            closing = match.group(2)
            continue
        out.append(line)
    text = "".join(line for line in out if not _SOLUTION_CALL.match(line))
    text = _WHAT_CHECK_SAYS.sub("the check records your answer for grading", _SOLUTION_MENTION.sub("", text))
    text = _MODEL_ANSWER.sub("your instructor grades it", text)
    text = _DOC_SOLUTIONS.sub("the worked solutions (your instructor publishes them)", text)
    text = _DOC_HIDDEN.sub("your instructor", text)
    return _MD_SOLUTIONS.sub(r"\1", text)


def student_notebook(nb, wheel: str):
    """An exercise notebook ready to hand out: no outputs, no ``solution()`` lines, and the
    Colab cell installing ``wheel`` (a URL or a file name) instead of the practice package."""
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
            kept = [line for line in cell.source.splitlines() if not _SOLUTION_CALL.match(line)]
            cell.source = _PRACTICE_INSTALL.sub(repr(wheel).replace("'", '"'), "\n".join(kept))
        elif cell.cell_type == "markdown":
            cell.source = strip_solutions(cell.source)
    if not nb.metadata.get("student_edition"):
        import nbformat

        first_markdown = next((i for i, c in enumerate(nb.cells) if c.cell_type == "markdown"), 0)
        nb.cells.insert(first_markdown + 1, nbformat.v4.new_markdown_cell(STUDENT_NOTE))
    nb.metadata["student_edition"] = True
    return nb


def build_notebooks(out: Path, wheel: str) -> list[Path]:
    import nbformat

    out.mkdir(parents=True, exist_ok=True)
    written = []
    for source in sorted((ROOT / "exercises").glob("*.ipynb")):
        nb = student_notebook(nbformat.read(source, as_version=4), wheel)
        nbformat.write(nb, out / source.name)
        written.append(out / source.name)
    return written


def build_html(out: Path, kernel_path: Path) -> Path:
    """Copy the book's sources without the solutions, build them, return the html folder."""
    import yaml

    src = out / "src"
    if src.exists():
        shutil.rmtree(src)
    skip = {".git", ".venv", "_build", SOLUTIONS_DIR, "tests", "tools", "benchmarks", "support",
            "__pycache__", ".jupyter_cache", ".pytest_cache", ".hypothesis"}

    def ignore(folder: str, names: list[str]) -> list[str]:
        here = Path(folder).relative_to(ROOT)
        return [n for n in names if n in skip or n.endswith(".ipynb")
                or (here / n).with_suffix("").as_posix() in HIDDEN_PAGES]

    shutil.copytree(ROOT, src, ignore=ignore)
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    (src / "_toc.yml").write_text(yaml.safe_dump(student_toc(toc), sort_keys=False, allow_unicode=True))
    for page in src.rglob("*.md"):
        page.write_text(strip_solutions(page.read_text(encoding="utf-8")), encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=str(kernel_path))  # the exercise pages load the student edition
    jupyter_book = Path(sys.executable).with_name("jupyter-book")  # the venv's command line
    subprocess.run([str(jupyter_book), "build", str(src), "--path-output", str(out / "book"), "--keep-going"],
                   check=True, env=env)
    html = out / "html"
    if html.exists():
        shutil.rmtree(html)
    shutil.move(str(out / "book" / "_build" / "html"), html)
    return html


def main(argv: list[str] | None = None) -> int:
    from support.exercises.edition import build_wheel, write_student_package

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(ROOT / "_build" / "student"), help="output folder")
    parser.add_argument("--wheel-url", default=None,
                        help="where students' notebooks install the wheel from (default: the wheel's file name, "
                             "next to the notebook)")
    parser.add_argument("--no-hints", action="store_true", help="leave the hints out of the student edition")
    parser.add_argument("--no-html", action="store_true", help="skip the book (wheel and notebooks only)")
    args = parser.parse_args(argv)
    out = Path(args.out)
    wheel = build_wheel(out / "dist", hints=not args.no_hints)
    print(f"wheel:     {wheel}")
    notebooks = build_notebooks(out / "notebooks", args.wheel_url or wheel.name)
    print(f"notebooks: {len(notebooks)} in {out / 'notebooks'}")
    if not args.no_html:
        kernel = out / "kernel"
        write_student_package(kernel, hints=not args.no_hints)
        print(f"html:      {build_html(out, kernel)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
