"""Summation and dot products in a simulated floating-point format.

Every algorithm here computes in one format ``fmt`` (any signed format of
:mod:`support.numbers.formats`): each addition is rounded to ``fmt`` (round to nearest,
ties to even), exactly as hardware working in that format would round it.  The
inputs ``x`` are first rounded to ``fmt``, as storing them in that format would.

- :func:`naive_sum`           recursive summation, left to right: ``s = fl(s + x[i])``;
- :func:`pairwise_sum`        a balanced tree of additions (optionally over blocks);
- :func:`numpy_pairwise_sum`  numpy's own partial pairwise algorithm, replicated;
- :func:`blocked_sum`         blocks summed one after the other (a reduction on T threads);
- :func:`kahan_sum`           compensated summation (Kahan, 1965);
- :func:`dot`                 dot products with one input format and another accumulator format;
- :func:`exact_sum`           the correctly rounded sum (a long accumulator): reproducible;
- :func:`prerounded_sum`      a reproducible sum in the working format (Demmel & Nguyen's idea);
- :func:`gamma`, :func:`unit_roundoff`  the constants of the error bounds.

Every function takes one sum as a 1-D array (and returns a float) or a batch of
independent sums as a 2-D array of shape ``(batch, n)`` (and returns an array of
``batch`` results); the loops run over ``n`` and each step works on the whole batch.

How the rounding is done
------------------------
The definition is "compute in float64, then :func:`support.numbers.formats.round_to` after
every operation".  That is exact: the sum of two numbers of a format with at most
25 significant bits is rounded correctly by first rounding it to float64 (53 bits)
and then to the format, because 53 >= 2p + 2 (double rounding is innocuous, Figueroa
1995).  But ``round_to`` costs tens of microseconds per call, so the four formats with
a numpy dtype (float64, float32, float16 and ml_dtypes' bfloat16) use that dtype's
own arithmetic, which rounds every operation correctly (float16 and bfloat16 compute
in float32 and round once more, innocuous for the same reason); ``np.cumsum`` in
these dtypes adds sequentially.  The tests check that both paths give the same bits.

A fused dot product adds an *exact* product ``a*b`` (not a value of the format) to the
accumulator with a single rounding.  There double rounding is not innocuous, so the
sum is first rounded *to odd* in a wider format (the error-free TwoSum gives the exact
remainder, and an inexact result with an even last bit moves one step toward it), then
to nearest-even in the target: correct whenever the wider format has at least p + 2 bits
(Boldo & Melquiond, 2008).

Examples
--------
>>> x = np.full(1000, 0.1)
>>> naive_sum(x, "bfloat16"), pairwise_sum(x, "bfloat16"), kahan_sum(x, "bfloat16")
(32.0, 100.0, 100.0)
>>> exact_sum(x, "bfloat16")       # the bfloat16 value of 0.1 is 0.10009765625
100.0
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from support._validate import as_numpy, flag, integer_in_range, positive_int, real_array, real_number
from support.numbers.formats import FloatFormat, get_format, round_to

__all__ = [
    "naive_sum",
    "pairwise_sum",
    "numpy_pairwise_sum",
    "blocked_sum",
    "kahan_sum",
    "dot",
    "exact_sum",
    "prerounded_sum",
    "gamma",
    "unit_roundoff",
]

#: Most levels :func:`prerounded_sum` accepts; each level keeps at least one more bit of every value.
MAX_LEVELS = 64

#: Formats with a numpy (or ml_dtypes) dtype whose arithmetic rounds every operation correctly.
NATIVE_FORMATS = ("float64", "float32", "float16", "bfloat16")

# numpy's pairwise summation (numpy/_core/src/umath/loops_utils.h.src): blocks of at
# most 128 elements, summed with 8 interleaved accumulators.
_NUMPY_BLOCK = 128
_NUMPY_UNROLL = 8


# --------------------------------------------------------------------------- arguments


def _check_format(fmt: str | FloatFormat, name: str = "fmt") -> FloatFormat:
    try:
        f = get_format(fmt)
    except (TypeError, ValueError) as exc:
        if name == "fmt":
            raise
        raise type(exc)(f"{name}: {exc}") from None
    if not (f.signed and f.has_zero):
        raise ValueError(
            f"{f.name} cannot hold a sum: summation needs a signed format with a zero "
            "(float8_e8m0fnu holds only positive powers of two; it is a scale format)"
        )
    return f


def _as_batch(x: ArrayLike, name: str = "x") -> tuple[np.ndarray, bool]:
    """``x`` as a C-contiguous float64 array of shape (batch, n), and whether it was 1-D."""
    if isinstance(x, (bool, np.bool_)):
        raise TypeError(f"{name}: booleans are not numbers here; pass an array of floats")
    arr = as_numpy(x, name)  # the input policy: ml_dtypes arrays become float32 exactly, torch tensors too
    if arr.dtype == np.bool_ or arr.dtype.kind not in "iuf":
        raise TypeError(f"{name} must hold real numbers (integers or floats), got dtype {arr.dtype}")
    if arr.ndim not in (1, 2):
        raise ValueError(
            f"{name} must be 1-D (one sum) or 2-D of shape (batch, n) (a batch of sums); "
            f"got {arr.ndim} dimensions, shape {arr.shape}"
        )
    if arr.shape[-1] == 0 or arr.size == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape}); give at least one number to sum")
    out = np.ascontiguousarray(arr, dtype=np.float64)
    if arr.dtype.kind in "iu" and np.abs(arr).max() > 2**53:
        raise ValueError(f"{name}: integers beyond 2**53 are not exact in float64; convert them yourself")
    bad = ~np.isfinite(out)
    if bad.any():
        raise ValueError(
            f"{name} contains {int(bad.sum())} NaN or infinite value(s); summation is studied here "
            "for finite inputs only (a NaN or inf would make every algorithm return NaN or inf)"
        )
    return (out[None, :] if arr.ndim == 1 else out), arr.ndim == 1


def _round_inputs(x64: np.ndarray, fmt: FloatFormat, name: str = "x") -> np.ndarray:
    """``x64`` rounded to ``fmt`` (float64 array); refuses values that overflow."""
    values = _round_values(x64, fmt)
    if not np.isfinite(values).all():
        raise ValueError(
            f"{name}: {int((~np.isfinite(values)).sum())} value(s) overflow {fmt.name} "
            f"(largest finite value {fmt.max:g}); scale the inputs first"
        )
    return values


def _round_values(x64: np.ndarray, fmt: FloatFormat) -> np.ndarray:
    """float64 ``x64`` rounded once to ``fmt`` (to nearest even), as float64.

    numpy's casts from float64 to float32 and float16 round once, correctly; ml_dtypes'
    bfloat16 cast rounds float64 through float32 (twice), so it is used only when the
    values are float32 numbers already.  Everything else goes through ``round_to``.
    """
    dtype = _native_dtype(fmt)
    if dtype is not None and fmt.name != "bfloat16":
        with np.errstate(over="ignore"):
            return x64.astype(dtype).astype(np.float64)
    if dtype is not None:
        with np.errstate(over="ignore"):
            x32 = x64.astype(np.float32)
        if np.array_equal(x32, x64):
            return x32.astype(dtype).astype(np.float64)
    return np.asarray(round_to(x64, fmt), dtype=np.float64)


def _result(values: np.ndarray, one: bool) -> Any:
    values = np.asarray(values, dtype=np.float64)
    return float(values[0]) if one else values


# --------------------------------------------------------------------------- arithmetic


def _native_dtype(fmt: FloatFormat) -> np.dtype | None:
    if fmt.name in NATIVE_FORMATS and fmt == get_format(fmt.name):
        return fmt.numpy_dtype
    return None


class _Arithmetic:
    """Rounded arithmetic in one format: the format's own dtype, or float64 + round_to.

    Values travel in ``self.dtype`` (the native dtype, or float64 holding values of the
    format).  ``native=False`` forces the round_to path (the tests compare the two).
    """

    def __init__(self, fmt: FloatFormat, native: bool = True):
        self.fmt = fmt
        dtype = _native_dtype(fmt) if native else None
        self.native = dtype is not None
        self.dtype = dtype if dtype is not None else np.dtype(np.float64)

    def cast(self, values: np.ndarray) -> np.ndarray:
        """Values already in the format (float64) to the working dtype (exact)."""
        return values.astype(self.dtype)

    def to64(self, a: np.ndarray) -> np.ndarray:
        return np.asarray(a).astype(np.float64)

    def zeros(self, shape) -> np.ndarray:
        return np.zeros(shape, self.dtype)

    def round(self, a: np.ndarray) -> np.ndarray:
        return a if self.native else np.asarray(round_to(a, self.fmt), dtype=np.float64)

    def add(self, a, b):
        return a + b if self.native else self.round(a + b)

    def sub(self, a, b):
        return a - b if self.native else self.round(a - b)

    @property
    def exact_container(self) -> np.dtype:
        """The dtype in which :meth:`add_exact` takes and returns its operands.

        bfloat16 works in float32 (its own arithmetic's width; the caller checks that the
        addends are float32 values), everything else in float64.
        """
        return np.dtype(np.float32) if self.native and self.fmt.name == "bfloat16" else np.dtype(np.float64)

    def add_exact(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """``fl(a + b)`` for operands that need not be values of the format (one rounding).

        ``a`` and ``b`` are arrays of :attr:`exact_container`; so is the result.  The sum is
        rounded to odd in the container (53 or 24 bits), then to nearest in the format:
        correct because the container has at least p + 2 bits.
        """
        if self.native and self.fmt.name == "float64":
            return a + b
        odd = _odd_sum(a, b)
        if self.native:  # numpy and ml_dtypes round float64 / float32 to the dtype directly
            return odd.astype(self.dtype).astype(odd.dtype)
        return np.asarray(round_to(odd, self.fmt), dtype=np.float64)


def _odd_sum(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a + b`` rounded to odd in the dtype of ``a`` and ``b`` (float32 or float64).

    TwoSum gives the rounded sum ``s`` and the exact remainder ``err``.  If the sum is
    inexact, the odd one of its two neighbours is found from the bits: step ``s`` toward
    zero when the exact sum is smaller in magnitude (truncation), then set the last bit.
    """
    s = a + b
    bb = s - a
    err = (a - (s - bb)) + (b - bb)  # exact: a + b == s + err (Knuth's TwoSum)
    uint = np.uint32 if s.dtype == np.float32 else np.uint64
    inexact = (err != 0).astype(uint)
    toward_zero = ((err < 0) != (s < 0)).astype(uint) & inexact
    return ((s.view(uint) - toward_zero) | inexact).view(s.dtype)


# --------------------------------------------------------------------------- sequential loops


def _sequential(x: np.ndarray, ar: _Arithmetic, cumulative: bool) -> np.ndarray:
    """Recursive summation of the rows of ``x`` (working dtype); float64 results."""
    if ar.native:
        # np.cumsum adds left to right, rounding each partial sum to the dtype.
        partial = np.cumsum(x, axis=1, dtype=ar.dtype)
        return ar.to64(partial if cumulative else partial[:, -1])
    batch, n = x.shape
    out = np.empty((batch, n)) if cumulative else None
    s = x[:, 0].copy()
    if cumulative:
        out[:, 0] = s
    for i in range(1, n):
        s = ar.add(s, x[:, i])
        if cumulative:
            out[:, i] = s
    return out if cumulative else s


def _sequential_exact_addends(q: np.ndarray, ar: _Arithmetic, cumulative: bool) -> np.ndarray:
    """``s = fl(s + q[:, i])`` from ``s = 0``, one rounding per step, for float64 addends ``q``."""
    batch, n = q.shape
    q = q.astype(ar.exact_container)
    out = np.empty((batch, n)) if cumulative else None
    s = np.zeros(batch, ar.exact_container)
    for i in range(n):
        s = ar.add_exact(s, q[:, i])
        if cumulative:
            out[:, i] = s
    return out if cumulative else s.astype(np.float64)


def _tree(v: np.ndarray, ar: _Arithmetic, first=None) -> np.ndarray:
    """Sum the columns of ``v`` by a balanced tree: adjacent pairs, level by level.

    An odd column out is carried to the next level unchanged.  ``first`` replaces the
    addition on the first level (used for exact products).
    """
    level = 0
    while v.shape[1] > 1:
        carry = v[:, -1:] if v.shape[1] % 2 else None
        even = v[:, : v.shape[1] - (carry is not None)]
        add = first if (level == 0 and first is not None) else ar.add
        v = add(even[:, 0::2], even[:, 1::2])
        if carry is not None:
            v = np.concatenate([v, carry.astype(v.dtype)], axis=1)
        level += 1
    return v[:, 0]


# --------------------------------------------------------------------------- public sums


def naive_sum(x: ArrayLike, fmt: str | FloatFormat = "float32", *, cumulative: bool = False) -> Any:
    """Recursive (left-to-right) summation in ``fmt``: ``s = fl(s + x[i])``.

    The computed sum satisfies ``|s_hat - s| <= gamma(n - 1, u) * sum(|x|)``
    (Higham 2002, ch. 4), and the error of each step is at most half an ulp of the
    running sum: once the sum is large, small addends are lost ("stagnation").

    Parameters
    ----------
    x : array_like, shape (n,) or (batch, n)
        Finite numbers; rounded to ``fmt`` first.
    fmt : str or FloatFormat
        The format of the accumulator and of every addition.
    cumulative : bool
        Return every partial sum (the array of ``s`` after each step), same shape as ``x``.

    Returns
    -------
    float or ndarray
        The sum (a float for 1-D ``x``, an array of ``batch`` sums for 2-D ``x``), or the
        partial sums with ``cumulative=True``; values of ``fmt``, as float64.

    Examples
    --------
    >>> naive_sum(np.ones(300), "bfloat16")   # 256 + 1 rounds back to 256
    256.0
    """
    f = _check_format(fmt)
    cumulative = flag(cumulative, "cumulative")
    x64, one = _as_batch(x)
    ar = _Arithmetic(f)
    out = _sequential(ar.cast(_round_inputs(x64, f)), ar, cumulative)
    if cumulative:
        return out[0] if one else out
    return _result(out, one)


def pairwise_sum(x: ArrayLike, fmt: str | FloatFormat = "float32", *, block: int = 1) -> Any:
    """Pairwise (cascade) summation in ``fmt``.

    The elements are cut into consecutive blocks of ``block`` elements (the last one may
    be shorter), each block is summed left to right, and the block sums are added by a
    balanced tree: adjacent pairs, level by level, an odd one out carried up unchanged.
    With ``block=1`` this is plain pairwise summation, whose error is at most
    ``gamma(ceil(log2 n), u) * sum(|x|)`` (Higham 2002, ch. 4); with blocks of ``b``,
    ``gamma(b - 1 + ceil(log2(n / b)), u) * sum(|x|)``.

    Parameters
    ----------
    x : array_like, shape (n,) or (batch, n)
        Finite numbers; rounded to ``fmt`` first.
    fmt : str or FloatFormat
        The format of every addition.
    block : int
        Length of the leaves summed sequentially (1: a pure tree).

    Examples
    --------
    >>> pairwise_sum(np.ones(300), "bfloat16")
    300.0
    """
    f = _check_format(fmt)
    block = positive_int(block, "block")
    x64, one = _as_batch(x)
    block = min(block, x64.shape[1])  # a block longer than x is one block
    ar = _Arithmetic(f)
    v = ar.cast(_round_inputs(x64, f))
    if block > 1:
        v = _block_sums(v, ar, block)
    return _result(ar.to64(_tree(v, ar)), one)


def _block_sums(v: np.ndarray, ar: _Arithmetic, block: int) -> np.ndarray:
    """Sequential sums of consecutive blocks of ``block`` columns, shape (batch, nblocks)."""
    batch, n = v.shape
    nblocks = -(-n // block)
    pad = nblocks * block - n
    if pad:  # adding zeros is exact: fl(s + 0) = s
        v = np.concatenate([v, ar.zeros((batch, pad))], axis=1)
    blocks = v.reshape(batch * nblocks, block)
    sums = _sequential(blocks, ar, cumulative=False)
    return ar.cast(sums.reshape(batch, nblocks))


def blocked_sum(x: ArrayLike, fmt: str | FloatFormat = "float32", *, block: int) -> Any:
    """Blocked summation: blocks of ``block`` elements summed left to right, then the
    block sums added left to right (Higham 2002, ch. 4).

    This is what a reduction on ``T`` threads does with ``block = ceil(n / T)``: each
    thread sums its own chunk, then one thread adds the ``T`` partial sums.  Its error is
    at most ``gamma(block - 1 + ceil(n / block) - 1, u) * sum(|x|)``.

    Examples
    --------
    >>> blocked_sum(np.ones(1000), "bfloat16", block=250)
    1000.0
    """
    f = _check_format(fmt)
    block = positive_int(block, "block")
    x64, one = _as_batch(x)
    block = min(block, x64.shape[1])  # a block longer than x is one block
    ar = _Arithmetic(f)
    sums = _block_sums(ar.cast(_round_inputs(x64, f)), ar, block)
    return _result(_sequential(sums, ar, cumulative=False), one)


def kahan_sum(x: ArrayLike, fmt: str | FloatFormat = "float32", *, cumulative: bool = False) -> Any:
    """Kahan's compensated summation in ``fmt`` (Kahan 1965; Higham 2002, ch. 4).

    A second variable ``c`` carries the rounding error of the last addition, recovered
    exactly as ``(t - s) - y``, and subtracts it from the next addend::

        y = x[i] - c;  t = s + y;  c = (t - s) - y;  s = t

    The error is at most ``(2u + O(n u**2)) * sum(|x|)``, independent of ``n`` to first
    order (Knuth, TAOCP vol. 2, 4.2.2; Higham 2002, ch. 4).

    Examples
    --------
    >>> kahan_sum(np.ones(300), "bfloat16")
    300.0
    """
    f = _check_format(fmt)
    cumulative = flag(cumulative, "cumulative")
    x64, one = _as_batch(x)
    ar = _Arithmetic(f)
    v = ar.cast(_round_inputs(x64, f))
    batch, n = v.shape
    # One sum: numpy scalars are about ten times faster than 1-element arrays.
    columns = v[0] if batch == 1 else v.T
    s = ar.zeros(()) if batch == 1 else ar.zeros(batch)
    c = ar.zeros(()) if batch == 1 else ar.zeros(batch)
    out = np.empty((n, batch)) if cumulative else None
    if ar.native:  # the same loop with the dtype's own operators: no call overhead
        for i, xi in enumerate(columns):
            y = xi - c
            t = s + y
            c = (t - s) - y
            s = t
            if cumulative:
                out[i] = s
    else:
        add, sub = ar.add, ar.sub
        for i, xi in enumerate(columns):
            y = sub(xi, c)
            t = add(s, y)
            c = sub(sub(t, s), y)
            s = t
            if cumulative:
                out[i] = s
    if cumulative:
        return out[:, 0] if one else np.ascontiguousarray(out.T)
    return _result(np.atleast_1d(ar.to64(s)), one)


# --------------------------------------------------------------------------- numpy's algorithm


def _numpy_tree(start: int, n: int, leaves: list, nodes: list) -> int:
    """Build numpy's recursion tree; returns the node id (leaves first are numbered later)."""
    if n <= _NUMPY_BLOCK:
        leaves.append((start, n))
        return -len(leaves)  # leaves get negative ids -1, -2, ...
    half = n // 2
    half -= half % _NUMPY_UNROLL
    left = _numpy_tree(start, half, leaves, nodes)
    right = _numpy_tree(start + half, n - half, leaves, nodes)
    nodes.append((left, right))
    return len(nodes) - 1


def _numpy_leaf(v: np.ndarray, ar: _Arithmetic) -> np.ndarray:
    """numpy's sum of a short run, for a stack of runs of equal length (rows of ``v``)."""
    rows, n = v.shape
    if n < _NUMPY_UNROLL:
        s = ar.zeros(rows)
        for i in range(n):
            s = ar.add(s, v[:, i])
        return s
    m = n - n % _NUMPY_UNROLL
    r = v[:, :_NUMPY_UNROLL].copy()
    for i in range(_NUMPY_UNROLL, m, _NUMPY_UNROLL):
        r = ar.add(r, v[:, i : i + _NUMPY_UNROLL])
    a = ar.add
    s = a(a(a(r[:, 0], r[:, 1]), a(r[:, 2], r[:, 3])), a(a(r[:, 4], r[:, 5]), a(r[:, 6], r[:, 7])))
    for i in range(m, n):
        s = a(s, v[:, i])
    return s


def numpy_pairwise_sum(x: ArrayLike, fmt: str | FloatFormat = "float32") -> Any:
    """numpy's summation algorithm (``np.sum`` along a contiguous axis), in any format.

    numpy does not add left to right, nor by a full binary tree: runs of more than 128
    elements are halved (at a multiple of 8) recursively; a run of 8 to 128 elements is
    summed with 8 interleaved accumulators (element ``i`` goes to accumulator ``i % 8``),
    which are then combined as ``((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))`` and
    the last ``n % 8`` elements added one by one; shorter runs are summed left to right
    (``numpy/_core/src/umath/loops_utils.h.src``).  For float32 and float64 the result
    equals ``np.sum`` bit for bit (the tests check it).

    Examples
    --------
    >>> x = np.full(10**4, 0.1, dtype=np.float32)
    >>> numpy_pairwise_sum(x, "float32") == float(np.sum(x))
    True
    """
    f = _check_format(fmt)
    x64, one = _as_batch(x)
    ar = _Arithmetic(f)
    v = ar.cast(_round_inputs(x64, f))
    batch, n = v.shape
    leaves: list[tuple[int, int]] = []
    nodes: list[tuple[int, int]] = []
    root = _numpy_tree(0, n, leaves, nodes)
    leaf_values = np.empty((batch, len(leaves)), ar.dtype)
    starts = np.array([s for s, _ in leaves])
    lengths = np.array([m for _, m in leaves])
    for length in np.unique(lengths):  # all leaves of one length at once
        which = np.flatnonzero(lengths == length)
        index = starts[which][:, None] + np.arange(length)  # (leaves, length)
        runs = v[:, index].reshape(batch * len(which), length)
        leaf_values[:, which] = _numpy_leaf(runs, ar).reshape(batch, len(which))
    if root < 0:
        return _from_identity(leaf_values[:, 0], ar, one)
    # Internal nodes, deepest first: all nodes of one height are added at once.
    height = np.zeros(len(nodes), int)
    for k, (left, right) in enumerate(nodes):  # children come before parents
        height[k] = 1 + max(height[left] if left >= 0 else 0, height[right] if right >= 0 else 0)
    values = np.empty((batch, len(nodes)), ar.dtype)
    left_ids = np.array([a for a, _ in nodes])
    right_ids = np.array([b for _, b in nodes])

    def gather(ids: np.ndarray) -> np.ndarray:
        out = np.empty((batch, len(ids)), ar.dtype)
        leaf = ids < 0
        out[:, leaf] = leaf_values[:, -ids[leaf] - 1]
        out[:, ~leaf] = values[:, ids[~leaf]]
        return out

    for h in range(1, height.max() + 1):
        k = np.flatnonzero(height == h)
        values[:, k] = ar.add(gather(left_ids[k]), gather(right_ids[k]))
    return _from_identity(values[:, root], ar, one)


def _from_identity(total: np.ndarray, ar: _Arithmetic, one: bool) -> Any:
    """numpy adds the tree's sum to the reduction's identity, +0.0: exact, except that
    a sum of negative zeros comes out as +0.0."""
    return _result(ar.to64(ar.add(ar.zeros(total.shape), total)), one)


# --------------------------------------------------------------------------- dot products


def dot(
    a: ArrayLike,
    b: ArrayLike,
    *,
    inputs: str | FloatFormat = "bfloat16",
    accumulate: str | FloatFormat = "float32",
    method: str = "naive",
    fused: bool = True,
    cumulative: bool = False,
) -> Any:
    """Dot product of inputs stored in one format, accumulated in another.

    ``a`` and ``b`` are rounded to ``inputs``; their products are exact (computed in
    float64, which holds the product of two values with at most 26 significant bits;
    with ``inputs="float64"`` the products are rounded to float64).  With
    ``fused=True`` each product is added to the accumulator with a single rounding to
    ``accumulate`` (a multiply-accumulate unit, or an FMA); with ``fused=False`` each
    product is first rounded to ``accumulate`` and then added (two roundings).

    Parameters
    ----------
    a, b : array_like, shape (n,) or (batch, n)
        The vectors (same shape); a batch computes ``batch`` independent dot products.
    inputs, accumulate : str or FloatFormat
        The storage format of ``a`` and ``b``, and the format of the accumulator.
    method : {"naive", "pairwise"}
        Sequential accumulation, or a balanced tree over the products.
    fused : bool
        One rounding per multiply-add (True) or two (False).
    cumulative : bool
        With ``method="naive"``: return every partial dot product, same shape as ``a``.

    Examples
    --------
    >>> a = np.full(4096, 0.5); b = np.full(4096, 0.5)
    >>> dot(a, b, accumulate="bfloat16"), dot(a, b, accumulate="float32")
    (64.0, 1024.0)
    """
    fin, facc = _check_format(inputs, "inputs"), _check_format(accumulate, "accumulate")
    fused, cumulative = flag(fused, "fused"), flag(cumulative, "cumulative")
    if method not in ("naive", "pairwise"):
        raise ValueError(f"method must be 'naive' or 'pairwise', got {method!r}")
    if cumulative and method != "naive":
        raise ValueError("cumulative=True needs method='naive' (a tree has no partial sums in order)")
    a64, one = _as_batch(a, "a")
    b64, _ = _as_batch(b, "b")
    if a64.shape != b64.shape:
        raise ValueError(f"a and b must have the same shape, got {np.shape(a)} and {np.shape(b)}")
    products = _round_inputs(a64, fin, "a") * _round_inputs(b64, fin, "b")
    if not np.isfinite(products).all():
        raise ValueError("a product overflows float64; scale the inputs first")
    ar = _Arithmetic(facc)
    rounded = _round_values(products, facc)
    if not np.isfinite(rounded).all():
        raise ValueError(f"a product overflows {facc.name}; scale the inputs first")
    if not fused or np.array_equal(rounded, products):
        # Unfused, or every product is a value of the accumulator format: plain summation.
        v = ar.cast(rounded)
        if method == "naive":
            out = _sequential(v, ar, cumulative)
            return (out[0] if one else out) if cumulative else _result(out, one)
        return _result(ar.to64(_tree(v, ar)), one)
    if ar.native and facc.name == "bfloat16":
        with np.errstate(over="ignore"):
            if not np.array_equal(products.astype(np.float32), products):
                ar = _Arithmetic(facc, native=False)  # the fast path needs float32 products
    if method == "naive":
        out = _sequential_exact_addends(products, ar, cumulative)
        return (out[0] if one else out) if cumulative else _result(out, one)
    if products.shape[1] % 2:  # pair every product on the first level: q + 0 = one rounding of q
        products = np.concatenate([products, np.zeros((products.shape[0], 1))], axis=1)
    container = ar.exact_container

    def first(p: np.ndarray, q: np.ndarray) -> np.ndarray:  # exact products, one rounding
        return ar.cast(ar.add_exact(p.astype(container), q.astype(container)).astype(np.float64))

    return _result(ar.to64(_tree(products, ar, first=first)), one)


# --------------------------------------------------------------------------- reproducible sums

# float64 values are m * 2**e with m an integer, |m| < 2**53 and e >= -1074 - 52.
_E_LOW = -1074 - 53
_HALF = 26  # significands are split into two halves of at most 27 bits
_NBUCKETS = 1024 + 53 - _E_LOW + _HALF + 2


def exact_sum(x: ArrayLike, fmt: str | FloatFormat = "float64") -> Any:
    """The exact sum of ``x`` (rounded to ``fmt`` first), rounded once to ``fmt``.

    A *long accumulator* (Kulisch): every value is an integer times a power of two, so
    the values are added as integers, exactly, one integer per power of two, and the
    exact total is rounded once, to nearest even.  The result depends only on the
    multiset of values, not on their order: it is reproducible.  For ``fmt="float64"``
    it equals ``math.fsum`` (which is also correctly rounded, by Shewchuk's algorithm).

    Examples
    --------
    >>> exact_sum([1e16, 1.0, -1e16]), sum([1e16, 1.0, -1e16])
    (1.0, 0.0)
    """
    f = _check_format(fmt)
    x64, one = _as_batch(x)
    values = _round_inputs(x64, f)
    batch, n = values.shape
    if n > 2**25:
        raise ValueError(f"exact_sum: at most 2**25 values per sum (got {n}); split the sum")
    mant, expo = np.frexp(values)  # values = mant * 2**expo, 0.5 <= |mant| < 1
    m = (mant * 2.0**53).astype(np.int64)  # exact integer significands
    e = np.where(values == 0, 0, expo - 53) - _E_LOW  # bucket index >= 0
    hi = m >> _HALF  # m = hi * 2**26 + lo, 0 <= lo < 2**26
    lo = m - (hi << _HALF)
    rows = np.arange(batch)[:, None] * _NBUCKETS
    # Sums of at most 2**25 integers below 2**27 are exact in float64, in any order.
    buckets = np.bincount((rows + e).ravel(), weights=lo.ravel().astype(np.float64), minlength=batch * _NBUCKETS)
    buckets += np.bincount((rows + e + _HALF).ravel(), weights=hi.ravel().astype(np.float64), minlength=batch * _NBUCKETS)
    buckets = buckets.reshape(batch, _NBUCKETS)
    totals = np.empty(batch)
    for r in range(batch):
        nonzero = np.flatnonzero(buckets[r])
        integer = sum(int(buckets[r, k]) << int(k) for k in nonzero)  # value * 2**-_E_LOW
        totals[r] = _round_exact(Fraction(integer, 2 ** (-_E_LOW)), f)
    return _result(np.asarray(round_to(totals, f), dtype=np.float64) if f.name != "float64" else totals, one)


def _round_exact(value: Fraction, fmt: FloatFormat) -> float:
    """``value`` as a float64 rounded to odd (or to nearest for float64 itself).

    Rounding to odd at 53 bits and then to nearest at ``p <= 51`` bits is the correct
    rounding to nearest at ``p`` bits (Boldo & Melquiond 2008).
    """
    try:
        near = float(value)  # correctly rounded (CPython divides integers exactly)
    except OverflowError:
        return math.copysign(math.inf, value)
    if fmt.man_bits >= 52 or Fraction(near) == value:
        return near
    if int(np.float64(near).view(np.uint64)) & 1 == 0:  # even: move toward the exact value
        near = math.nextafter(near, math.inf if value > near else -math.inf)
    return near


def prerounded_sum(x: ArrayLike, fmt: str | FloatFormat = "float32", *, levels: int = 3) -> Any:
    """A reproducible sum computed in ``fmt`` itself, by pre-rounding (Demmel & Nguyen 2013).

    Each level rounds every ``x[i]`` to a multiple of a common power of two with one
    addition and one subtraction of ``M = 1.5 * 2**k``, where ``2**k >= n max|x|``::

        q = fl(fl(M + x) - M)      # x rounded to a multiple of ulp(M); the residual x - q is exact

    The ``q`` are multiples of ``ulp(M)`` and every partial sum of them stays below
    ``2**(k+1)``, so they add *exactly*, in any order.  The residuals ``x - q`` go to the
    next level; the level sums are added in a fixed order.  The result depends only on
    the multiset of values, not on their order.  With ``p`` significand bits, each level
    captures ``p - 1 - ceil(log2 n)`` more bits of every value, so ``n`` may be at most
    ``2**(p - 2)`` (4 194 304 in float32, 64 in bfloat16).

    Examples
    --------
    >>> x = np.random.default_rng(0).standard_normal(1000)
    >>> prerounded_sum(x) == prerounded_sum(x[::-1])
    True
    """
    f = _check_format(fmt)
    levels = integer_in_range(levels, "levels", 1, MAX_LEVELS, why="Demmel and Nguyen use 2 or 3")
    x64, one = _as_batch(x)
    r = _round_inputs(x64, f)
    batch, n = r.shape
    p = f.man_bits + 1
    log2n = max((n - 1).bit_length(), 1)  # 2**log2n >= n, and at least 2
    if log2n > p - 2:
        raise ValueError(
            f"prerounded_sum in {f.name} ({p} significand bits) sums at most 2**{p - 2} = "
            f"{2 ** (p - 2)} values (each level keeps p - 1 - ceil(log2 n) bits); got {n}"
        )
    ar = _Arithmetic(f)
    total = None
    for _ in range(levels):
        amax = np.abs(r).max(axis=1)
        _, e = np.frexp(amax)  # amax < 2**e
        k = np.where(amax > 0, e + log2n, f.emin + p)  # n * amax < 2**k, amax <= 2**(k-1)
        if (k + 1 > f.emax).any():
            raise ValueError(f"prerounded_sum: the values are too large for {f.name} (M = 1.5 * 2**k overflows)")
        big = ar.cast(np.ldexp(1.5, k)[:, None])
        q = ar.to64(ar.sub(ar.add(big, ar.cast(r)), big))
        level_sum = ar.cast(q.sum(axis=1))  # exact in float64 (and in fmt), in any order
        total = level_sum if total is None else ar.add(total, level_sum)
        r = r - q  # exact
        if not r.any():  # nothing left for the next levels
            break
    return _result(ar.to64(total), one)


# --------------------------------------------------------------------------- error bounds


def unit_roundoff(fmt: str | FloatFormat) -> float:
    """The unit roundoff ``u = 2**-p`` (half the machine epsilon) of a format.

    Examples
    --------
    >>> unit_roundoff("bfloat16"), unit_roundoff("float32")
    (0.00390625, 5.960464477539063e-08)
    """
    return get_format(fmt).eps / 2


def gamma(n: ArrayLike, u: float) -> Any:
    """Higham's constant ``gamma_n = n u / (1 - n u)``; ``inf`` where ``n u >= 1`` (no bound).

    Recursive summation of ``n`` numbers has ``|error| <= gamma(n - 1, u) * sum(|x|)``.

    Examples
    --------
    >>> gamma(10, 2**-24) < 10 * 2**-24 * 1.000001
    True
    >>> gamma(300, 2**-8)
    inf
    """
    u = real_number(u, "u", hint="a unit roundoff in (0, 1)")
    if not 0 < u < 1:
        raise ValueError(f"u must be a unit roundoff in (0, 1), got {u!r}")
    arr = real_array(n, "n", allow_empty=True, allow_inf=True).astype(np.float64)
    if (arr < 0).any() or not np.isfinite(arr).all():
        raise ValueError("n must be non-negative and finite")
    nu = arr * u
    with np.errstate(divide="ignore"):
        out = np.where(nu < 1, nu / np.where(nu < 1, 1 - nu, 1.0), np.inf)
    return float(out) if out.ndim == 0 else out
