"""Helpers for running the course notebooks anywhere: locally, in the book build, on Colab.

The book's prose shows computed numbers with MyST's ``{glue:text}`name``` role.
``myst_nb`` provides the glue, but it is not installed on Colab or Binder, so the
notebooks import :func:`glue` from here: it forwards to ``myst_nb`` when that is
present and otherwise does nothing (the number is still shown by the cell that
computed it).

Only strings are glued.  numpy 2 scalars break glue's format specs (their repr is
``np.float64(1.5)``), so the value is formatted here, once, and the prose pastes
the string as it is.
"""

from __future__ import annotations

import numbers
import sys
from typing import Iterable, Sequence

__all__ = ["glue", "table", "minus", "superscript", "sci", "on_colab", "torch_device"]


def _format(value: object, fmt: str | None) -> str:
    if isinstance(value, str):
        if fmt is not None:
            raise TypeError("glue: `fmt` formats a number; the value is already a string")
        return value
    if fmt is None:
        raise TypeError(
            f"glue: got {type(value).__name__} {value!r} without a format; pass fmt "
            "(e.g. fmt='.3g') or a string, so the prose shows exactly what you chose"
        )
    if isinstance(value, (bool,)) or not isinstance(value, numbers.Number):
        raise TypeError(f"glue: fmt applies to numbers, got {type(value).__name__}")
    # Python scalars format predictably; numpy scalars are converted first.
    plain = int(value) if isinstance(value, numbers.Integral) else float(value)
    return format(plain, fmt)


def glue(name: str, value: object, fmt: str | None = None, *, display: bool = False) -> None:
    """Store a pre-formatted string under ``name`` for the prose to paste.

    Parameters
    ----------
    name : str
        The key used in the text, as ``{glue:text}`name```.
    value : str or number
        A string is glued as it is; a number needs ``fmt``.
    fmt : str, optional
        A format spec (as for ``format``) applied to a numeric ``value``.
    display : bool
        Also show the value in the cell output.

    Returns nothing, so that a cell ending in ``glue(...)`` shows no output;
    use ``format`` on the value if the cell needs the string too.  Outside a Jupyter
    kernel, or without myst_nb (Colab, Binder), there is no page to glue into: the value
    is only checked and formatted.

    Examples
    --------
    >>> glue("eps_fp16", 2**-10, fmt=".3g")   # the prose shows 0.000977
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"glue: name must be an identifier-like string, got {name!r}")
    text = _format(value, fmt)
    try:
        from IPython import get_ipython
        from myst_nb import glue as _myst_glue
    except ImportError:  # Colab, Binder, plain Python: nothing to glue into
        _myst_glue = None
    if _myst_glue is None or get_ipython() is None:  # no kernel (a script, a doctest): no page
        if display:
            print(text)
        return
    _myst_glue(name, text, display=display)


def table(header: Sequence[str], rows: Iterable[Sequence[object]], *, align: str | None = None):
    """A Markdown table of computed values, displayable in a notebook and in the book.

    Parameters
    ----------
    header : sequence of str
        Column titles.
    rows : iterable of sequences
        One sequence per row; each value is shown with ``str``, so format
        numbers before passing them (a table, like the prose, shows what you chose).
    align : str, optional
        One character per column: ``l``, ``c`` or ``r`` (default: left).

    Returns
    -------
    IPython.display.Markdown
        Shown when it is the last value of a cell; ``.data`` is the Markdown text.

    Examples
    --------
    >>> table(["format", "bits"], [["float16", 16], ["bfloat16", 16]]).data.splitlines()[1]
    '| :-- | :-- |'
    """
    from IPython.display import Markdown

    def cell(value: object) -> str:
        return str(value).replace("|", "\\|")  # a bare | would end the cell

    header = [cell(h) for h in header]
    rows = [[cell(v) for v in row] for row in rows]
    if any(len(row) != len(header) for row in rows):
        raise ValueError(f"table: every row needs {len(header)} values, one per column of {header}")
    align = align or "l" * len(header)
    if len(align) != len(header) or set(align) - set("lcr"):
        raise ValueError(f"table: align needs one of l, c, r per column ({len(header)}), got {align!r}")
    rule = {"l": ":--", "c": ":-:", "r": "--:"}
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(rule[a] for a in align) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return Markdown("\n".join(lines))


def minus(value: object) -> str:
    """A number or text as prose shows it, with a true minus sign (−) for ``-``.

    >>> minus(-42)
    '−42'
    """
    return str(value).replace("-", "−")


def superscript(n: int) -> str:
    """An integer exponent as Unicode superscript digits.

    >>> superscript(-4)
    '⁻⁴'
    """
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise TypeError(f"superscript: needs an integer, got {type(n).__name__}")
    return str(int(n)).translate(str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹"))


def sci(x: float, digits: int = 4) -> str:
    """A number in scientific notation for prose, with ``digits`` significant digits.

    >>> sci(3.4028234663852886e38)
    '3.403 × 10³⁸'
    """
    if not isinstance(digits, int) or digits < 1:
        raise ValueError(f"sci: digits must be a positive integer, got {digits!r}")
    mantissa, exponent = f"{float(x):.{digits - 1}e}".split("e")
    return f"{minus(mantissa)} × 10{superscript(int(exponent))}"


def on_colab() -> bool:
    """True when running inside Google Colab.

    Examples
    --------
    >>> on_colab()  # in a local Python
    False
    """
    return "google.colab" in sys.modules


def torch_device() -> tuple[str, str]:
    """The best available torch device and a sentence saying which it is.

    Returns ``("cuda", "...")`` when a CUDA GPU is present, otherwise
    ``("cpu", "...")``; cells that need a GPU use this to fall back to the CPU
    and say so.  Raises ImportError with a clear message if torch is missing.

    Examples
    --------
    >>> device, sentence = torch_device()
    >>> device in ("cuda", "cpu")
    True
    """
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - torch is installed in the course env
        raise ImportError("this cell needs PyTorch: pip install torch") from exc
    if torch.cuda.is_available():
        return "cuda", f"Running on the GPU: {torch.cuda.get_device_name(0)}."
    return "cpu", "No GPU found: running the CPU path (numbers differ from a GPU's, conclusions do not)."
