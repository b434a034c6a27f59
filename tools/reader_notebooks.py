"""Reader notebooks: each MyST source rendered as a plain Jupyter notebook.

The ``.md`` files (jupytext ``myst``) are the only sources.  The committed ``.ipynb`` beside
each one is what a reader opens on Colab, Binder or a local Jupyter, so its Markdown must read
like the book's page: this tool writes it from the ``.md`` and from the executed build
(``_build/jupyter_execute``, which holds the glued values).

* Code cells are exactly those of the ``.md`` (source and metadata, tags included), without
  outputs, so running the notebook recomputes and re-checks everything the text shows.
* Markdown cells are rendered to plain Jupyter Markdown: ``{glue:text}`` filled with the value
  of the build, ``{footcite}`` as author-year text linked to the references page, ``{doc}``,
  ``{ref}`` and ``{eq}`` as links to the book's pages, admonitions as block quotes with a bold
  title, dropdowns as ``<details>``, ``{footbibliography}`` as a list of the page's works, and
  math with the book's macros expanded and its equation numbers as ``\\tag``.
* Any other MyST role or directive raises :class:`UnsupportedMyST`: a chapter that uses
  something new breaks ``make test``, not the reader's page.

Why a converter of our own: QuantEcon's ``sphinx-tojupyter`` writes notebooks from the Sphinx
doctree, where myst-nb has already dropped the ``remove-cell`` cells (the Colab install cell
and every glue/assert cell) and the cell tags, so its notebooks would not re-check the page's
claims; it needs a second Sphinx build with its own builder and dependencies (dask, nbdime),
and it passes silently over nodes it does not know (its default visitor does nothing).
jupytext only changes the container (the MyST stays raw); myst-nb renders to docutils, not to
Markdown.  This tool reuses myst-nb's own glue reader and formatter, so the numbers are the
book's, character for character.

Glued names that start with ``machine_`` hold measurements of the machine that built the book
(throughput, timings); ``--check`` accepts any value in their place.

Usage (after a build of the book; ``make notebooks`` builds and writes them all)::

    python tools/reader_notebooks.py                 # write every reader notebook
    python tools/reader_notebooks.py --check         # fail when a committed one is stale
    python tools/reader_notebooks.py --execute X.md  # execute X.md alone, then write its notebook
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import posixpath
import re
import sys
import tempfile
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import jupytext
import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIRS = ("chapters", "exercises", "solutions")
MACHINE_PREFIX = "machine_"
ADMONITIONS = ("admonition", "note", "tip", "warning", "important", "seealso", "caution",
               "attention", "danger", "error", "hint")
_TITLES = {"seealso": "See also"}


class UnsupportedMyST(ValueError):
    """A MyST construct that a reader notebook cannot render (or a reference it cannot resolve)."""


# ---------------------------------------------------------------------------------------------
# What the whole book knows: URLs, macros, references, titles, labels, equation numbers
# ---------------------------------------------------------------------------------------------

@dataclass
class Book:
    root: Path
    baseurl: str                                   # published HTML book, no trailing slash
    repository: str                                # GitHub repository, no trailing slash
    branch: str                                    # its default branch
    macros: dict[str, str]                         # MathJax macros of _config.yml
    bib: dict                                      # key -> pybtex Entry
    titles: dict[str, str] = field(default_factory=dict)            # docname -> title
    targets: dict[str, tuple[str, str]] = field(default_factory=dict)    # label -> (doc, title)
    equations: dict[str, tuple[str, int]] = field(default_factory=dict)  # label -> (doc, number)

    def url(self, docname: str, anchor: str = "") -> str:
        return f"{self.baseurl}/{docname}.html" + (f"#{anchor}" if anchor else "")


def load_book(root: Path = ROOT) -> Book:
    """Read _config.yml, references.bib and every page's titles, labels and equations."""
    from pybtex.database import parse_file

    config = yaml.safe_load((root / "_config.yml").read_text())
    macros = config["sphinx"]["config"].get("mathjax3_config", {}).get("tex", {}).get("macros", {})
    for name, body in macros.items():
        if not isinstance(body, str):
            raise UnsupportedMyST(f"_config.yml: macro \\{name} takes arguments; only plain macros are expanded")
    book = Book(
        root=root,
        baseurl=config["html"]["baseurl"].rstrip("/"),
        repository=config["repository"]["url"].rstrip("/"),
        branch=config["repository"].get("branch", "main"),
        macros=macros,
        bib=dict(parse_file(str(root / "references.bib")).entries),
    )
    # Sphinx numbers labelled equations across the whole book (numfig), in table-of-contents order.
    in_toc = toc_order(root)
    others = [p.relative_to(root).with_suffix("").as_posix() for d in NOTEBOOK_DIRS for p in sorted((root / d).glob("*.md"))]
    for docname in in_toc + [d for d in others if d not in in_toc]:
        _index_page(book, docname, root / f"{docname}.md", number_equations=docname in in_toc)
    return book


def toc_order(root: Path = ROOT) -> list[str]:
    """The pages of _toc.yml (jb-book format) in reading order."""
    toc = yaml.safe_load((root / "_toc.yml").read_text())

    def walk(entries: list[dict]) -> list[str]:
        pages = []
        for entry in entries:
            if "file" in entry:
                pages.append(entry["file"].removesuffix(".md"))
            if "glob" in entry:   # Sphinx sorts the matches by name
                pages += sorted(p.relative_to(root).with_suffix("").as_posix() for p in root.glob(entry["glob"] + ".md"))
            pages += walk(entry.get("sections", []))
        return pages

    return [toc["root"]] + walk([c for part in toc.get("parts", []) for c in part["chapters"]] + toc.get("chapters", []))


_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_TARGET = re.compile(r"^\s*\(([^()\s]+)\)=\s*$")
_LABELLED_EQUATION = re.compile(r"\$\$\s*\(([^()\s]+)\)\s*$")


def _index_page(book: Book, docname: str, path: Path, *, number_equations: bool) -> None:
    """Record the page's title, its ``(label)=`` targets and its labelled equations, in order."""
    pending_target = None
    for cell in jupytext.read(path).cells:
        if cell.cell_type != "markdown":
            continue
        for line in _without_fenced_code(cell.source.split("\n")):
            if heading := _HEADING.match(line):
                title = heading.group(2)
                if heading.group(1) == "#":
                    book.titles.setdefault(docname, title)
                if pending_target:
                    book.targets[pending_target] = (docname, title)
                    pending_target = None
            elif target := _TARGET.match(line):
                pending_target = target.group(1)
            elif number_equations and (equation := _LABELLED_EQUATION.search(line)):
                book.equations[equation.group(1)] = (docname, len(book.equations) + 1)


def _without_fenced_code(lines: list[str]) -> list[str]:
    """The lines outside plain code blocks (directive fences are dropped, their bodies kept)."""
    kept, code_closing, directive_closings = [], None, []
    for line in lines:
        if code_closing:
            if code_closing.match(line):
                code_closing = None
        elif directive := _DIRECTIVE.match(line):
            directive_closings.append(_closing(directive.group("fence")))
        elif directive_closings and directive_closings[-1].match(line):
            directive_closings.pop()
        elif fence := _FENCE.match(line):
            code_closing = _closing(fence.group("fence"))
        else:
            kept.append(line)
    return kept


def _closing(fence: str) -> re.Pattern:
    return re.compile(rf"^\s*{re.escape(fence[0])}{{{len(fence)},}}\s*$")


# ---------------------------------------------------------------------------------------------
# Glued values of the executed build
# ---------------------------------------------------------------------------------------------

def glued_values(executed: Path) -> dict[str, str]:
    """The ``text/plain`` of every value glued in an executed notebook, as myst-nb reads it.

    The book build keeps them in ``<page>.glue.json`` beside the executed notebook (myst-nb
    takes the glue outputs out of the notebook); ``--execute`` reads them from the outputs.
    """
    from myst_nb.ext.glue import extract_glue_data_cell

    stored = executed.with_suffix(".glue.json")
    if stored.exists():
        data = json.loads(stored.read_text())
        return {name: output["data"]["text/plain"] for name, output in data.items() if "text/plain" in output["data"]}
    values = {}
    for cell in nbformat.read(executed, as_version=4).cells:
        if cell.cell_type == "code":
            for name, output in extract_glue_data_cell(cell):
                if "text/plain" in output["data"]:
                    values[name] = output["data"]["text/plain"]
    return values


# ---------------------------------------------------------------------------------------------
# Rendering one page's Markdown
# ---------------------------------------------------------------------------------------------

@dataclass
class Page:
    book: Book
    docname: str
    glue: dict[str, str]
    cited: list[str] = field(default_factory=list)     # keys in order of first citation


_ROLE_OR_CODE = re.compile(   # a role {name}`content`, or a code span `content`, left as it is
    r"\{(?P<name>[A-Za-z][\w:.+-]*)\}(?P<ticks>`+)(?P<content>.+?)(?P=ticks)|(?P<code>(?P<cticks>`+).+?(?P=cticks))", re.S)
_CODE_SPAN = re.compile(r"(`+).+?\1", re.S)
_DIRECTIVE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|:{3,})\{(?P<name>[^}\s]+)\}\s*(?P<args>.*?)\s*$")
_FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,})")
_OPTION = re.compile(r"^:(?P<key>[\w-]+):\s*(?P<value>.*?)\s*$")
_EXPLICIT = re.compile(r"^(?P<text>.*?)\s*<(?P<target>[^<>]+)>$", re.S)
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|$])")


def render_markdown(text: str, page: Page) -> str:
    """Plain Jupyter Markdown for one MyST Markdown cell."""
    return "\n".join(_render_lines(text.split("\n"), page)).strip("\n")


def _render_lines(lines: list[str], page: Page) -> list[str]:
    out: list[str] = []
    paragraph: list[str] = []

    def flush():
        if paragraph:
            out.extend(_render_inline("\n".join(paragraph), page).split("\n"))
            paragraph.clear()

    i = 0
    while i < len(lines):
        line = lines[i]
        directive = _DIRECTIVE.match(line)
        fence = _FENCE.match(line)
        if directive:
            flush()
            end = _closing_fence(lines, i, directive.group("fence"))
            indent = directive.group("indent")
            body = [l[len(indent):] if l.startswith(indent) else l for l in lines[i + 1:end]]
            rendered = _render_directive(directive.group("name"), directive.group("args"), body, page)
            out.extend(indent + l if l else l for l in rendered)
            i = end + 1
        elif fence:  # a plain code block: copied as it is
            flush()
            end = _closing_fence(lines, i, fence.group("fence"))
            out.extend(lines[i:end + 1])
            i = end + 1
        elif _TARGET.match(line) or re.match(r"^\s*%", line):  # label targets and MyST comments
            flush()
            i += 1
        elif line.strip().startswith("$$"):
            flush()
            end = i if line.strip() != "$$" and "$$" in line.strip()[2:] else None
            if end is None:
                end = next((j for j in range(i + 1, len(lines)) if "$$" in lines[j]), None)
                if end is None:
                    raise UnsupportedMyST(f"{page.docname}: unclosed $$ math block: {line!r}")
            indent = line[:len(line) - len(line.lstrip())]   # math in a list item stays in it
            block = [l.removeprefix(indent) for l in lines[i:end + 1]]
            out.extend(indent + l for l in _render_display_math(block, page))
            i = end + 1
        else:
            paragraph.append(line)
            i += 1
    flush()
    return out


def _closing_fence(lines: list[str], start: int, fence: str) -> int:
    closing = _closing(fence)
    for j in range(start + 1, len(lines)):
        if closing.match(lines[j]):
            return j
    raise UnsupportedMyST(f"unclosed fence {fence!r} opened by {lines[start]!r}")


def _render_display_math(lines: list[str], page: Page) -> list[str]:
    text = "\n".join(lines).strip()
    match = re.fullmatch(r"\$\$(?P<math>.*?)\$\$\s*(?:\((?P<label>[^()\s]+)\))?", text, re.S)
    if not match:
        raise UnsupportedMyST(f"{page.docname}: cannot read display math {text!r}")
    return _math_block(match.group("math"), match.group("label"), page)


def _math_block(math: str, label: str | None, page: Page) -> list[str]:
    body = _expand_macros(textwrap.dedent(math.strip("\n")).strip(), page.book)
    if label:
        body += f"\n\\tag{{{_equation(label, page)[1]}}}"
    return ["$$", *body.split("\n"), "$$"]


def _expand_macros(text: str, book: Book) -> str:
    for name, body in book.macros.items():
        text = re.sub(rf"\\{name}(?![A-Za-z])", lambda _m, b=body: b, text)
    return text


def _equation(label: str, page: Page) -> tuple[str, int]:
    if label not in page.book.equations:
        raise UnsupportedMyST(f"{page.docname}: no labelled equation $$ ... $$ ({label}) in the book")
    return page.book.equations[label]


# ---- inline: roles, code spans, text -------------------------------------------------------

def _render_inline(text: str, page: Page) -> str:
    pieces, position = [], 0
    for match in _ROLE_OR_CODE.finditer(text):
        pieces.append(_expand_macros(text[position:match.start()], page.book))
        if match.group("name"):
            pieces.append(_render_role(match.group("name"), match.group("content"), page))
        else:
            pieces.append(match.group(0))
        position = match.end()
    pieces.append(_expand_macros(text[position:], page.book))
    rendered = "".join(pieces)
    if re.search(r"\{[A-Za-z][\w:.+-]*\}`|\{\{\s*\w+\s*\}\}", _without_code(rendered)):
        raise UnsupportedMyST(f"{page.docname}: unrendered MyST left in {rendered!r}")
    return rendered


def _without_code(text: str) -> str:
    return _CODE_SPAN.sub("", text)


def _render_role(name: str, content: str, page: Page) -> str:
    book = page.book
    if name == "glue:text":
        return _glue_text(content, page)
    if name in ("footcite", "footcite:p", "footcite:t"):
        keys = [k.strip() for k in content.split(",")]
        for key in keys:
            if key not in book.bib:
                raise UnsupportedMyST(f"{page.docname}: {{{name}}}`{key}` is not in references.bib")
            if key not in page.cited:
                page.cited.append(key)
        if name == "footcite:t":
            return ", ".join(f"[{_authors_short(book.bib[k])} ({_year(book.bib[k])})]({book.url('references')})" for k in keys)
        return "(" + "; ".join(f"[{_authors_short(book.bib[k])}, {_year(book.bib[k])}]({book.url('references')})" for k in keys) + ")"
    if name == "math":
        return f"${_expand_macros(content, book)}$"
    text, target = _explicit(content)
    if name == "doc":
        docname = _resolve_doc(target, page)
        return f"[{text or book.titles[docname]}]({book.url(docname)})"
    if name == "ref":
        if target not in book.targets:
            raise UnsupportedMyST(f"{page.docname}: {{ref}}`{target}` has no (label)= target before a heading")
        docname, title = book.targets[target]
        return f"[{text or title}]({book.url(docname, _make_id(target))})"
    if name == "eq":
        docname, number = _equation(target, page)
        return f"[({number})]({book.url(docname, 'equation-' + _make_id(target))})"
    if name in ("py:func", "py:class", "py:mod", "py:meth"):
        return _python_object(name, text, target, page)
    raise UnsupportedMyST(
        f"{page.docname}: the MyST role {{{name}}} has no reader-notebook rendering "
        "(CONTRIBUTING.md lists the supported subset; extend tools/reader_notebooks.py or rephrase)"
    )


def _glue_text(content: str, page: Page) -> str:
    from myst_nb.core.variables import format_plain_text

    if "::" in content:
        raise UnsupportedMyST(f"{page.docname}: glue from another page ({content!r}) is not supported")
    key, fmt = content.rsplit(":", 1) if ":" in content else (content, "s")   # as myst-nb reads it
    if key not in page.glue:
        raise UnsupportedMyST(f"{page.docname}: {{glue:text}}`{key}` has no glued value in the executed build")
    value = page.glue[key]
    if value is MACHINE:
        return MACHINE
    return _escape(format_plain_text(value, fmt))


def _escape(text: str) -> str:
    """Plain text (a glued value, an author's name) that Markdown shows as it is."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def _explicit(content: str) -> tuple[str | None, str]:
    match = _EXPLICIT.match(content)
    return (match.group("text"), match.group("target").strip()) if match else (None, content.strip())


def _resolve_doc(target: str, page: Page) -> str:
    target = target.removesuffix(".md")
    if target.startswith("/"):
        docname = posixpath.normpath(target[1:])
    else:
        docname = posixpath.normpath(posixpath.join(posixpath.dirname(page.docname), target))
    if docname not in page.book.titles:
        raise UnsupportedMyST(f"{page.docname}: {{doc}}`{target}` names no page of the book")
    return docname


def _make_id(label: str) -> str:
    from docutils.nodes import make_id

    return make_id(label)


def _python_object(role: str, text: str | None, target: str, page: Page) -> str:
    """A ``support`` object: a link to its entry in the book's library reference (``api/``)."""
    name = target.removeprefix("~")
    parts = name.split(".")
    label = text or (parts[-1] if target.startswith("~") else name)
    if role in ("py:func", "py:meth") and not text:
        label += "()"
    for n in range(len(parts), 0, -1):
        docname = "api/" + ".".join(parts[:n])
        if docname in page.book.titles:
            anchor = f"module-{name}" if role == "py:mod" else name   # Sphinx's ids for Python objects
            return f"[`{label}`]({page.book.url(docname, anchor)})"
    raise UnsupportedMyST(f"{page.docname}: {{{role}}}`{target}` has no page in the library reference (api/)")


# ---- directives ----------------------------------------------------------------------------

def _render_directive(name: str, args: str, body: list[str], page: Page) -> list[str]:
    options, body = _options(body)
    if name in ADMONITIONS or name == "dropdown":
        _only_options(name, options, {"class", "name", "open"} if name == "dropdown" else {"class", "name"}, page)
        if name == "admonition" and not args:
            raise UnsupportedMyST(f"{page.docname}: an admonition needs a title")
        if name in ADMONITIONS and name != "admonition":
            body, title = ([args, ""] if args else []) + body, _TITLES.get(name, name.capitalize())
        else:
            title = args
        inner = "\n".join(_render_lines(body, page)).strip("\n").split("\n")
        title = _render_inline(title, page)
        if name == "dropdown" or "dropdown" in options.get("class", "").split():
            return [f"<details{' open' if 'open' in options else ''}>", f"<summary>{title}</summary>", "", *inner, "", "</details>"]
        return [f"> **{title}**", ">", *(f"> {l}" if l.strip() else ">" for l in inner)]
    if name == "footbibliography":
        _only_options(name, options, set(), page)
        if not page.cited:
            raise UnsupportedMyST(f"{page.docname}: {{footbibliography}} on a page that cites nothing")
        return [f"- {_reference(page.book.bib[key])}" for key in page.cited]
    if name == "math":
        _only_options(name, options, {"label"}, page)
        return _math_block("\n".join(body), options.get("label"), page)
    raise UnsupportedMyST(
        f"{page.docname}: the MyST directive {{{name}}} has no reader-notebook rendering "
        "(CONTRIBUTING.md lists the supported subset; extend tools/reader_notebooks.py or rephrase)"
    )


def _options(body: list[str]) -> tuple[dict[str, str], list[str]]:
    options: dict[str, str] = {}
    if body and body[0].strip() == "---":
        end = body.index("---", 1)
        options = {k: str(v) for k, v in (yaml.safe_load("\n".join(body[1:end])) or {}).items()}
        return options, body[end + 1:]
    i = 0
    while i < len(body) and (match := _OPTION.match(body[i])):
        options[match.group("key")] = match.group("value")
        i += 1
    return options, body[i:]


def _only_options(name: str, options: dict, allowed: set[str], page: Page) -> None:
    unknown = set(options) - allowed
    if unknown:
        raise UnsupportedMyST(f"{page.docname}: {{{name}}} option(s) {sorted(unknown)} are not supported (allowed: {sorted(allowed)})")


# ---- references ----------------------------------------------------------------------------

def _latex(text: str) -> str:
    from pybtex.richtext import Text

    return _escape(Text.from_latex(text).render_as("text"))


def _people(entry) -> list:
    return entry.persons.get("author") or entry.persons.get("editor") or []


def _authors_short(entry) -> str:
    names = [_latex(" ".join(p.prelast_names + p.last_names)) for p in _people(entry)]
    if not names:
        raise UnsupportedMyST(f"references.bib: {entry.key} has no author or editor")
    if len(names) == 1:
        return names[0]
    if len(names) == 2:
        return f"{names[0]} and {names[1]}"
    return f"{names[0]} et al."


def _year(entry) -> str:
    return entry.fields.get("year", "n.d.")


def _reference(entry) -> str:
    names = [_latex(" ".join(p.first_names + p.middle_names + p.prelast_names + p.last_names + p.lineage_names))
             for p in _people(entry)]
    authors = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    fields = entry.fields
    where = next((_latex(fields[f]) for f in ("journal", "booktitle", "publisher") if f in fields), "")
    link = ""
    if "doi" in fields:
        link = f"https://doi.org/{fields['doi']}"
    elif "url" in fields:
        link = fields["url"]
    elif "eprint" in fields:
        link = f"https://arxiv.org/abs/{fields['eprint']}"
    elif "howpublished" in fields and "\\url" in fields["howpublished"]:
        link = re.search(r"\\url\{([^}]*)\}", fields["howpublished"]).group(1)
    text = f"{authors} ({_year(entry)}). {_latex(fields['title'])}."
    if where:
        text += f" *{where}*."
    if link:
        text += f" <{link}>"
    return text


# ---------------------------------------------------------------------------------------------
# Whole notebooks
# ---------------------------------------------------------------------------------------------

MACHINE = "@@machine-dependent-value@@"   # stands for a machine_ value in --check (JSON-safe text)


def executed_path(md: Path, root: Path = ROOT, build: Path | None = None) -> Path:
    build = build or root / "_build"
    return build / "jupyter_execute" / md.relative_to(root).with_suffix(".ipynb")


def reader_notebook(md: Path, book: Book, glue: dict[str, str]):
    """The reader notebook of one MyST source, given the glued values of its executed build."""
    source = jupytext.read(md)
    page = Page(book, md.relative_to(book.root).with_suffix("").as_posix(), glue)
    for cell in source.cells:   # the page's works, in order of first citation
        if cell.cell_type == "markdown":
            for match in _ROLE_OR_CODE.finditer(cell.source):
                if (match.group("name") or "").startswith("footcite"):
                    for key in match.group("content").split(","):
                        if key.strip() not in page.cited:
                            page.cited.append(key.strip())
    cells, seen = [], set()
    for cell in source.cells:
        if cell.cell_type == "code":
            new = nbformat.v4.new_code_cell(cell.source, metadata=copy.deepcopy(dict(cell.metadata)))
        elif cell.cell_type == "markdown":
            new = nbformat.v4.new_markdown_cell(render_markdown(cell.source, page), metadata=copy.deepcopy(dict(cell.metadata)))
        else:
            raise UnsupportedMyST(f"{md}: a {cell.cell_type} cell (only code and Markdown cells are supported)")
        new.id = _cell_id(cell.cell_type + cell.source, seen)
        cells.append(new)
    # No jupytext pairing: Jupyter with jupytext would otherwise load the .md's raw MyST into this
    # notebook, and write the rendered Markdown back over the source when the reader saves.
    metadata = {
        "kernelspec": dict(source.metadata["kernelspec"]),
        "reader_notebook": {"source": page.docname + ".md", "generated_by": "tools/reader_notebooks.py (make notebooks)"},
    }
    return nbformat.v4.new_notebook(cells=cells, metadata=metadata)


def _cell_id(text: str, seen: set[str]) -> str:
    """Stable ids from the cell's source (not its rendering), unique within the notebook."""
    digest = hashlib.sha1(text.encode()).hexdigest()
    n = 0
    while (cell_id := digest[:8 + n]) in seen:
        n += 1
    seen.add(cell_id)
    return cell_id


def notebook_text(notebook) -> str:
    return nbformat.writes(notebook) + "\n"


def sources(root: Path = ROOT) -> list[Path]:
    return sorted(p for d in NOTEBOOK_DIRS for p in (root / d).glob("*.md"))


def render(md: Path, book: Book, build: Path | None = None, *, mask_machine: bool = False) -> str:
    """The text of ``md``'s reader notebook (``mask_machine``: machine values as a placeholder)."""
    executed = executed_path(md, book.root, build)
    if not executed.exists():
        raise FileNotFoundError(f"{executed} is missing: build the book first (`make notebooks` does both)")
    glue = glued_values(executed)
    if mask_machine:
        glue = {k: (MACHINE if k.startswith(MACHINE_PREFIX) else v) for k, v in glue.items()}
    return notebook_text(reader_notebook(md, book, glue))


def is_current(committed: str, expected_masked: str) -> bool:
    """Does the committed text equal the masked rendering, machine values aside?"""
    pattern = ".+?".join(re.escape(part) for part in expected_masked.split(MACHINE))
    return re.fullmatch(pattern, committed, re.S) is not None


def execute(md: Path, build: Path) -> None:
    """Run one source as the book build does and keep its outputs where ``render`` reads them."""
    import nbclient

    notebook = jupytext.read(md)
    nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(md.parent)}}).execute()
    target = executed_path(md, ROOT, build)
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, target)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="fail if a committed notebook is stale")
    parser.add_argument("--build", type=Path, default=None, help="the book's build folder (default _build)")
    parser.add_argument("--execute", action="store_true",
                        help="execute the given sources here instead of reading the book's build")
    parser.add_argument("paths", nargs="*", type=Path, help=".md sources (default: all)")
    args = parser.parse_args(argv)
    book = load_book()
    paths = [p.resolve() for p in args.paths] or sources()
    if args.execute:
        args.build = Path(tempfile.mkdtemp(prefix="reader-notebooks-"))
        for md in paths:
            execute(md, args.build)
    stale, errors = [], []
    for md in paths:
        ipynb = md.with_suffix(".ipynb")
        try:
            if args.check:
                expected = render(md, book, args.build, mask_machine=True)
                if not ipynb.exists() or not is_current(ipynb.read_text(), expected):
                    stale.append(str(ipynb.relative_to(ROOT)))
            else:
                text = render(md, book, args.build)
                if not ipynb.exists() or ipynb.read_text() != text:
                    ipynb.write_text(text)
                    print(f"wrote {ipynb.relative_to(ROOT)}")
        except (UnsupportedMyST, FileNotFoundError) as error:
            errors.append(f"{md.relative_to(ROOT)}: {error}")
    if errors:
        print("cannot render:", *errors, sep="\n  ", file=sys.stderr)
    if stale:
        print("stale reader notebooks (run `make notebooks`):", *stale, sep="\n  ", file=sys.stderr)
    return 1 if errors or stale else 0


if __name__ == "__main__":
    sys.exit(main())
