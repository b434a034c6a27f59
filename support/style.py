"""The house style of every figure in the course.

One call, :func:`use_style`, at the top of a notebook sets a clean theme and the
Okabe-Ito colour-blind-safe palette (Okabe & Ito, 2008), for matplotlib and, when it
is installed, for seaborn (whose statistical plots then draw in the same colours,
fonts and grid).  Colours are also available by name so that a format keeps its
colour across chapters; heatmaps use :data:`SEQUENTIAL_CMAP` (magnitudes) or
:data:`DIVERGING_CMAP` (signed values around zero), both readable with the common
colour-vision deficiencies.

Example
-------
>>> from support.style import use_style, COLORS
>>> use_style()
>>> COLORS["blue"]
'#0072B2'
"""

from __future__ import annotations

import math

import matplotlib as mpl
from cycler import cycler
from matplotlib.ticker import FuncFormatter, LogLocator, NullLocator

__all__ = [
    "COLORS", "PALETTE", "FIELD_COLORS", "SEQUENTIAL_CMAP", "DIVERGING_CMAP",
    "use_style", "format_color", "log_axis",
]

#: Okabe-Ito palette, distinguishable under the common colour-vision deficiencies.
COLORS: dict[str, str] = {
    "blue": "#0072B2",
    "orange": "#E69F00",
    "green": "#009E73",
    "vermillion": "#D55E00",
    "sky": "#56B4E9",
    "purple": "#CC79A7",
    "yellow": "#F0E442",
    "black": "#000000",
    "grey": "#999999",
}

#: The default colour cycle, in the order lines are drawn.
PALETTE: list[str] = [COLORS[k] for k in ("blue", "orange", "green", "vermillion", "purple", "sky", "black", "yellow")]

#: Colormap for magnitudes (errors, counts), perceptually uniform and colour-blind safe.
SEQUENTIAL_CMAP = "viridis"
#: Colormap for signed values around zero (a blue-white-red diverging map).
DIVERGING_CMAP = "vlag"

#: Colours of the fields of a binary encoding (sign, exponent, mantissa / magnitude).
FIELD_COLORS: dict[str, str] = {
    "sign": COLORS["vermillion"],
    "exponent": COLORS["sky"],
    "mantissa": COLORS["green"],
    "integer": COLORS["sky"],
    "fraction": COLORS["green"],
    "magnitude": COLORS["green"],
    "value": COLORS["green"],
}

# float32 first: blue against bfloat16's vermillion, the pair most figures compare (orange and
# vermillion are the palette's closest colours).
_FORMAT_ORDER = [
    "float32", "float64", "tfloat32", "bfloat16", "float16",
    "float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz", "float8_e5m2fnuz", "float8_e4m3",
    "float8_e3m4", "float8_e4m3b11fnuz", "float8_e8m0fnu",
    "float6_e2m3fn", "float6_e3m2fn", "float4_e2m1fn",
    "int8", "int4", "nf4", "int2",
]


def format_color(name: str) -> str:
    """A fixed colour for a named format, so a format looks the same in every chapter.

    Examples
    --------
    >>> format_color("bfloat16")
    '#D55E00'
    """
    readable = [c for c in PALETTE if c != COLORS["yellow"]]  # yellow is too light for lines
    try:
        i = _FORMAT_ORDER.index(name)
    except ValueError:
        i = sum(map(ord, name))  # stable for any other name
    return readable[i % len(readable)]


def use_style() -> None:
    """Apply the course's theme to matplotlib and, if installed, seaborn (idempotent).

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> use_style()
    >>> plt.rcParams["axes.prop_cycle"].by_key()["color"][:2] == [COLORS["blue"], COLORS["orange"]]
    True
    """
    try:
        import seaborn as sns
    except ImportError:  # seaborn is optional: matplotlib alone gets the same rcParams
        sns = None
    if sns is not None:
        sns.set_theme(context="notebook", style="ticks", palette=PALETTE)
    mpl.rcParams.update(
        {
            "figure.figsize": (7.5, 4.2),
            "figure.dpi": 110,
            "savefig.dpi": 150,
            "savefig.bbox": "tight",
            "font.size": 11,
            "axes.titlesize": 12,
            "axes.titleweight": "bold",
            "axes.labelsize": 11,
            "axes.grid": True,
            "grid.alpha": 0.3,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.prop_cycle": cycler(color=PALETTE),
            "legend.frameon": False,
            "legend.fontsize": 10,
            "lines.linewidth": 2.0,
            "image.cmap": "viridis",
        }
    )


def log_axis(ax, which: str, base: int = 10, numticks: int = 6) -> None:
    """Log-scale the x or y axis of ``ax``, ticks at powers of ``base`` labelled like 10⁻⁴⁵.

    Unicode superscripts render much faster than matplotlib's mathtext.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> _ = ax.plot([1e-6, 1e-2], [1, 2])
    >>> log_axis(ax, "x")
    >>> ax.get_xscale()
    'log'
    >>> plt.close(fig)
    """
    from support.notebook import superscript

    if which not in ("x", "y"):
        raise ValueError(f"log_axis: which must be 'x' or 'y', got {which!r}")
    (ax.set_xscale if which == "x" else ax.set_yscale)("log", base=base)
    axis = ax.xaxis if which == "x" else ax.yaxis
    axis.set_major_locator(LogLocator(base=base, numticks=numticks))
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{base}{superscript(round(math.log(v, base)))}"))
    axis.set_minor_locator(NullLocator())
