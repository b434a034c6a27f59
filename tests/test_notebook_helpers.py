"""support.notebook (glue, table), support.style and support.diagrams."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from support import glue, table
from support.diagrams import bit_layout
from support.notebook import _format
from support.style import PALETTE, format_color, use_style


@pytest.mark.parametrize(
    "value,fmt,text",
    [(np.float64(1.5), ".3g", "1.5"), (np.float32(0.1), ".2f", "0.10"), (np.int64(42), "d", "42"),
     (2**-10, ".3g", "0.000977"), ("2^-10", None, "2^-10"), (7, ",", "7")],
)
def test_glue_formats_numbers_once(value, fmt, text):
    assert _format(value, fmt) == text


def test_glue_refuses_unformatted_numbers_and_bad_names():
    with pytest.raises(TypeError, match="without a format"):
        glue("x", np.float64(1.5))
    with pytest.raises(TypeError, match="already a string"):
        glue("x", "1.5", fmt=".2f")
    with pytest.raises(TypeError, match="applies to numbers"):
        glue("x", True, fmt="d")
    with pytest.raises(ValueError, match="identifier"):
        glue("not a name", "1")


def test_glue_outside_a_notebook_returns_nothing():
    assert glue("x", 1.5, fmt=".1f") is None


def test_table_builds_markdown_and_checks_shape():
    md = table(["format", "max"], [["float16", "65504"], ["a|b", 1]], align="lr").data.splitlines()
    assert md == ["| format | max |", "| :-- | --: |", "| float16 | 65504 |", "| a\\|b | 1 |"]
    with pytest.raises(ValueError, match="every row needs 2 values"):
        table(["a", "b"], [[1]])
    with pytest.raises(ValueError, match="align"):
        table(["a", "b"], [[1, 2]], align="x")


def test_style_palette_and_format_colours():
    use_style()
    assert matplotlib.rcParams["axes.prop_cycle"].by_key()["color"] == PALETTE
    assert format_color("bfloat16") == format_color("bfloat16") != format_color("float16")
    assert all(format_color(n) != "#F0E442" for n in ["float4_e2m1fn", "int4", "nf4", "x", "y", "zz"])  # no yellow lines
    assert format_color("a-format-not-listed") in PALETTE


def test_bit_layout_draws_one_box_per_bit_and_validates():
    ax = bit_layout("0 10000001 01000000000000000000000", [("sign", 1), ("exponent", 8), ("mantissa", 23)],
                    notes=["+", "2", "1.25"], title="5.0")
    assert len(ax.patches) == 32
    plt.close("all")
    with pytest.raises(ValueError, match="add up to the 4 bits"):
        bit_layout("0101", [("a", 3)])
    with pytest.raises(ValueError, match="0s and 1s"):
        bit_layout("012", [("a", 3)])
    with pytest.raises(ValueError, match="one note per field"):
        bit_layout("01", [("a", 1), ("b", 1)], notes=["x"])


def test_prose_number_helpers():
    from support.notebook import minus, sci, superscript

    assert minus(-42) == "−42" and minus("1e-5") == "1e−5"
    assert superscript(-45) == "⁻⁴⁵" and superscript(10) == "¹⁰"
    assert sci(3.4028234663852886e38) == "3.403 × 10³⁸" and sci(-1.5e-5, 2) == "−1.5 × 10⁻⁵"
    with pytest.raises(TypeError):
        superscript(1.5)
    with pytest.raises(ValueError):
        sci(1.0, 0)


def test_log_axis_labels_powers():
    from support.style import log_axis

    fig, ax = plt.subplots()
    ax.plot([1e-3, 1e3], [1, 2])
    log_axis(ax, "x")
    assert ax.get_xscale() == "log"
    assert ax.xaxis.get_major_formatter()(1e-3, 0) == "10⁻³"
    with pytest.raises(ValueError, match="'x' or 'y'"):
        log_axis(ax, "z")
    plt.close(fig)
