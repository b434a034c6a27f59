"""Support code for the executable course *Number Formats for AI*.

Every notebook of the course imports this package, so that chapters stay
short and readable: the machinery lives here, tested, and the cells show the
ideas.  Modules are named for what they hold:

- :mod:`support.formats`   bit-exact rounding, encoding and decoding of every float format;
- :mod:`support.integers`  positional notation, two's complement, fixed point, bit packing;
- :mod:`support.uniform`, :mod:`support.codebooks`, :mod:`support.blocks`,
  :mod:`support.rotations`, :mod:`support.outliers`, :mod:`support.gptq`: quantization;
- :mod:`support.metrics`   error metrics (MSE, SQNR, ...), one definition each;
- :mod:`support.style`     the house style of every figure;
- :mod:`support.notebook`  glue that works without myst_nb, and environment checks;
- :mod:`support.exercises` the exercise API (``q1.check(answer)``, ``q1.hint()``, ...).

Only the light helpers are imported here; import the others by name, e.g.
``from support import formats``.
"""

from support.notebook import glue, on_colab, table

__version__ = "0.1.0"

__all__ = ["glue", "table", "on_colab", "__version__"]
