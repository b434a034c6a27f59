"""Support code for the executable course *Number Formats for AI*.

Every notebook of the course imports this package, so that chapters stay
short and readable: the machinery lives here, tested, and the cells show the
ideas.  The package is laid out like the book:

- :mod:`support.numbers`   Part I, representing numbers (formats, integers, summation,
  statistics, scaling);
- :mod:`support.quant`     Part II, quantization (uniform, codebooks, blocks, rotations,
  outliers, gptq);
- :mod:`support.training`  Part III, numerical stability and mixed-precision training;
- :mod:`support.inference` Part III, hardware, serving and the practical guide;
- :mod:`support.metrics`   error metrics (MSE, SQNR, ...), one definition each, used by every part;
- :mod:`support.models`    the real pretrained model of the course, loaded offline;
- :mod:`support.notebook`, :mod:`support.style`, :mod:`support.diagrams`: the book's own
  machinery (glue, tables, the figure theme, bit-layout diagrams);
- :mod:`support.exercises` the exercise API (``q1.check(answer)``, ``q1.hint()``, ...).

Only the light helpers are imported here; import the others by name, e.g.
``from support.numbers import formats``.
"""

from support.notebook import glue, on_colab, table

__version__ = "0.1.0"

__all__ = ["glue", "table", "on_colab", "__version__"]
