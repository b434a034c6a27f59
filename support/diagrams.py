"""Diagrams that recur across chapters: the bit layout of a value.

Example
-------
>>> from support.diagrams import bit_layout
>>> ax = bit_layout("0 10000001 01000000000000000000000",
...                 [("sign", 1), ("exponent", 8), ("mantissa", 23)],
...                 notes=["+", "129 − 127 = 2", "1.25"], title="5.0 in float32")
"""

from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.patches import Rectangle

from support.style import COLORS, FIELD_COLORS

__all__ = ["bit_layout"]


def _field_color(name: str, index: int) -> str:
    key = name.lower().split()[0]
    if key in FIELD_COLORS:
        return FIELD_COLORS[key]
    cycle = [COLORS["sky"], COLORS["green"], COLORS["orange"], COLORS["purple"]]
    return cycle[index % len(cycle)]


def bit_layout(
    bits: str,
    fields: Sequence[tuple[str, int]],
    *,
    notes: Sequence[str] | None = None,
    title: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Draw a bit string as a row of boxes, coloured and labelled by field.

    Parameters
    ----------
    bits : str
        The bits, most significant first; spaces, ``_`` and ``|`` are ignored.
    fields : sequence of (name, width)
        Fields from the most significant end; widths must add up to the number of bits.
        Names starting with sign / exponent / mantissa / integer / fraction / magnitude
        get the course's field colours.
    notes : sequence of str, optional
        One line per field, written under its label (e.g. the field's value).
    title : str, optional
        The figure title (state the finding).
    ax : matplotlib Axes, optional
        Where to draw; a new figure sized to the number of bits by default.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")  # no window: a test or a script
    >>> ax = bit_layout("0 01111 1000000000", [("sign", 1), ("exponent", 5), ("mantissa", 10)])
    >>> len(ax.texts) >= 3
    True
    """
    clean = "".join(ch for ch in bits if ch not in " _|")
    if not clean or set(clean) - {"0", "1"}:
        raise ValueError(f"bit_layout: bits must be a string of 0s and 1s, got {bits!r}")
    widths = [int(w) for _, w in fields]
    if any(w <= 0 for w in widths) or sum(widths) != len(clean):
        raise ValueError(
            f"bit_layout: field widths {widths} must be positive and add up to the {len(clean)} bits given"
        )
    if notes is not None and len(notes) != len(fields):
        raise ValueError(f"bit_layout: give one note per field ({len(fields)}), got {len(notes)}")

    n = len(clean)
    if ax is None:
        _, ax = plt.subplots(figsize=(max(4.0, 0.32 * n + 1.0), 1.9))
    start = 0
    for k, (name, width) in enumerate(fields):
        color = _field_color(name, k)
        for i in range(start, start + width):
            ax.add_patch(Rectangle((i, 0), 1, 1, facecolor=color, alpha=0.35, edgecolor="black", linewidth=0.8))
            ax.text(i + 0.5, 0.5, clean[i], ha="center", va="center", fontsize=10, family="monospace")
        middle = start + width / 2
        label = f"{name} ({width})" if width > 1 else name
        ax.text(middle, -0.35, label, ha="center", va="top", fontsize=9, fontweight="bold")
        if notes is not None and notes[k]:
            ax.text(middle, -0.95, notes[k], ha="center", va="top", fontsize=9)
        start += width
    for i in range(n):  # bit numbers, most significant = n-1
        ax.text(i + 0.5, 1.12, str(n - 1 - i), ha="center", va="bottom", fontsize=6, color=COLORS["grey"])
    ax.set_xlim(-0.2, n + 0.2)
    ax.set_ylim(-1.7 if notes is not None else -1.0, 1.6)
    ax.set_aspect("equal")
    ax.axis("off")
    if title:
        ax.set_title(title)
    return ax
