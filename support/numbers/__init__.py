"""Part I of the book, representing numbers.

- :mod:`support.numbers.formats`    bit-exact rounding, encoding and decoding of every float format;
- :mod:`support.numbers.integers`   positional notation, two's complement, fixed point, bit packing;
- :mod:`support.numbers.summation`  naive, pairwise, Kahan and exact sums in a working precision;
- :mod:`support.numbers.statistics` mean and variance: textbook, two-pass and Welford;
- :mod:`support.numbers.scaling`    per-tensor scaling for FP8: amax scales and delayed scaling.
"""
