"""Handling activation outliers in int8 / int4 matrix multiplication.

Large language models have a few *feature channels* of the activations whose values
are 10-100x larger than the rest.  A shared int8 scale sized for them leaves almost no
levels for everything else.  Three classic remedies, each in a few lines:

- SmoothQuant (Xiao et al. 2023): move part of the range from the activations into the
  weights with a per-input-channel scale, :func:`smoothquant_scales` and :func:`smooth`.
- LLM.int8() (Dettmers et al. 2022): keep the outlier channels in high precision and
  multiply the rest in int8, :func:`llm_int8_matmul` (plain int8 in :func:`int8_matmul`).
- AWQ (Lin et al. 2024): scale the weight channels that meet large activations up
  before weight quantization, choosing the strength by the output error,
  :func:`awq_search`.

Convention in this module, as in :mod:`support.quant.gptq`, :mod:`support.quant.rotations` and
PyTorch's ``nn.Linear``: a linear layer is ``y = x @ w.T`` with activations ``x`` of
shape ``(tokens, in)`` and weights ``w`` of shape ``(out, in)``.  A per-input-channel
quantity (a smoothing factor, an outlier feature) indexes the columns of ``x`` *and*
the columns of ``w`` (its axis 1); a per-output-channel one indexes the rows of ``w``.
(The papers write ``Y = X W`` with ``W`` of shape ``(in, out)``, i.e. our ``w.T``:
SmoothQuant's ``diag(s) W`` is our ``w @ diag(s)``, a scale per column.)
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

from support.quant import uniform
from support._validate import check_fields, flag, integer_in_range, one_of, positive_int, positive_number, real_array

__all__ = [
    "smoothquant_scales",
    "smooth",
    "int8_matmul",
    "llm_int8_matmul",
    "Int8MatmulResult",
    "awq_search",
    "AWQResult",
]

#: Most grid points :func:`awq_search` tries (the reference uses 20).
MAX_GRID = 1000


# --------------------------------------------------------------------------- checks


def _float_array(x: object, name: str) -> np.ndarray:
    """Finite real input; integers become float64, float dtypes are kept."""
    return real_array(x, name, allow_empty=True, as_float=True)


def _check_layer(x: object, w: object) -> tuple[np.ndarray, np.ndarray]:
    xa = _float_array(x, "x")
    wa = _float_array(w, "w")
    if xa.ndim != 2 or wa.ndim != 2:
        raise ValueError(
            f"x must be 2-D (tokens, in) and w 2-D (out, in), got shapes {xa.shape} and {wa.shape}"
        )
    if xa.shape[1] != wa.shape[1]:
        raise ValueError(
            f"x has {xa.shape[1]} features but w has {wa.shape[1]} input columns; "
            "w must have shape (out, in) so that y = x @ w.T (the nn.Linear layout)"
        )
    return xa, wa


def _check_fraction(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must lie in [0, 1], got {value}")
    return float(value)


# --------------------------------------------------------------------------- SmoothQuant


def smoothquant_scales(
    act_absmax: np.ndarray, weight_absmax: np.ndarray, alpha: float = 0.5
) -> np.ndarray:
    """SmoothQuant's per-input-channel smoothing factors.

    ``s_j = max|X_j|**alpha / max|W_j|**(1 - alpha)``, where ``X_j`` is input
    channel ``j`` of the activations (column ``j`` of ``x``) and ``W_j`` the weights
    that multiply it (column ``j`` of ``w``).  After :func:`smooth`, channel ``j``
    of the activations has maximum ``m_j**(1 - alpha)`` and its weight column
    ``m_j**alpha``, with ``m_j = max|X_j| * max|W_j|``: ``alpha = 1`` moves all of
    the range into the weights, 0.5 splits it evenly, and ``alpha = 0`` is not "no
    smoothing" (it flattens the weight columns and puts their range into the
    activations).  As in the reference implementation, the weight maxima
    and the factors are clamped below at 1e-5 so that a channel of zeros gives a
    finite factor.

    Parameters
    ----------
    act_absmax : array_like, shape (in,)
        ``max |x[:, j]|`` over calibration tokens.
    weight_absmax : array_like, shape (in,)
        ``max |w[:, j]|`` over output channels, i.e. ``np.abs(w).max(axis=0)``.
    alpha : float in [0, 1]
        Migration strength.

    Returns
    -------
    numpy.ndarray, shape (in,)
        The factors ``s``, all positive.

    Examples
    --------
    >>> smoothquant_scales(np.array([16.0, 1.0]), np.array([1.0, 1.0]))
    array([4., 1.])
    """
    a = _float_array(act_absmax, "act_absmax")
    w = _float_array(weight_absmax, "weight_absmax")
    if a.ndim != 1 or w.shape != a.shape:
        raise ValueError(
            "act_absmax and weight_absmax must be 1-D arrays of the same length (in,), "
            f"got shapes {a.shape} and {w.shape}"
        )
    if np.any(a < 0) or np.any(w < 0):
        raise ValueError("act_absmax and weight_absmax are absolute maxima and must be >= 0")
    alpha = _check_fraction(alpha, "alpha")
    scales = a**alpha / np.maximum(w, 1e-5) ** (1.0 - alpha)
    return np.maximum(scales, 1e-5)


def smooth(x: np.ndarray, w: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Apply smoothing factors: ``x diag(s)^-1`` and ``w diag(s)``; ``x @ w.T`` is unchanged.

    Column ``j`` of ``x`` is divided by ``s_j`` and column ``j`` of ``w`` (the
    weights that input channel meets) multiplied by it, as the reference
    implementation does (``fc.weight.mul_(scales.view(1, -1))``).

    Parameters
    ----------
    x : array_like, shape (tokens, in)
    w : array_like, shape (out, in)
    s : array_like, shape (in,)
        Positive factors, e.g. from :func:`smoothquant_scales`.

    Returns
    -------
    (x_smooth, w_smooth) : tuple of numpy.ndarray

    Examples
    --------
    >>> x = np.array([[8.0, 1.0]]); w = np.array([[1.0, 1.0]])
    >>> xs, ws = smooth(x, w, np.array([4.0, 1.0]))
    >>> xs, ws, (xs @ ws.T).item()
    (array([[2., 1.]]), array([[4., 1.]]), 9.0)
    """
    xa, wa = _check_layer(x, w)
    sa = _float_array(s, "s")
    if sa.shape != (xa.shape[1],):
        raise ValueError(f"s must have shape ({xa.shape[1]},), one factor per feature, got {sa.shape}")
    if np.any(sa <= 0):
        raise ValueError("smoothing factors s must all be positive")
    return xa / sa, wa * sa[None, :]


# --------------------------------------------------------------------------- int8 matmul


def _int8_product(x: np.ndarray, w: np.ndarray, per_vector: bool) -> np.ndarray:
    """``x @ w.T`` from symmetric absmax int8 codes (scales stored in float32).

    Per vector: one scale per row of ``x`` (token) and per row of ``w`` (output channel).
    """
    out = np.zeros((x.shape[0], w.shape[0]))
    if out.size == 0 or x.shape[1] == 0:
        return out
    axis = 0 if per_vector else None
    quantized = []
    for name, values in (("x", x), ("w", w)):
        try:
            quantized.append(uniform.quantize(values, 8, axis=axis, scale_dtype="float32"))
        except uniform.ScaleRangeError as exc:  # this function has no scale_dtype to widen
            raise exc.reworded(name, values, "int8 operands have float32 scales here") from None
    qx, qw = quantized
    # The codes are integers; float64 sums of int8 products are exact (below 2**53).
    acc = qx.codes.astype(np.float64) @ qw.codes.astype(np.float64).T
    return acc * qx.scale * qw.scale.T


def int8_matmul(x: np.ndarray, w: np.ndarray, *, granularity: str = "vector") -> np.ndarray:
    """``x @ w.T`` computed with symmetric absmax int8 operands and exact integer accumulation.

    The codes are ``round(127 x / absmax)`` (:func:`support.quant.uniform.quantize` with 8
    bits, float32 scales ``absmax / 127``); an all-zero row gets codes 0.

    Parameters
    ----------
    x : array_like, shape (tokens, in)
    w : array_like, shape (out, in)
    granularity : {"vector", "tensor"}
        ``"vector"``: one scale per row of ``x`` (token) and per row of ``w`` (output
        channel), both taken along the inner dimension ``in`` (the vector-wise
        quantization of LLM.int8()); ``"tensor"``: one scale each.

    Returns
    -------
    numpy.ndarray, shape (tokens, out), float64

    Examples
    --------
    >>> x = np.array([[1.0, -0.5]]); w = np.array([[2.0, 1.0]])
    >>> np.round(int8_matmul(x, w), 4)  # exact: 1.5; -0.5 * 127 = -63.5 rounds to -64
    array([[1.4921]])
    """
    xa, wa = _check_layer(x, w)
    granularity = one_of(granularity, "granularity", ("vector", "tensor"))
    return _int8_product(xa, wa, per_vector=granularity == "vector")


@dataclass(frozen=True)
class Int8MatmulResult:
    """The result of :func:`llm_int8_matmul`.

    Attributes
    ----------
    output : numpy.ndarray
        Shape (tokens, out): the int8 part plus high-precision part.
    outlier_columns : numpy.ndarray of int
        Indices of the feature columns of ``x`` kept in high precision.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(4, 8))
    >>> x[:, 2] *= 20  # an outlier feature
    >>> r = llm_int8_matmul(x, rng.normal(size=(3, 8)))
    >>> r.outlier_columns, r.output.shape
    (array([2]), (4, 3))
    """

    output: np.ndarray
    outlier_columns: np.ndarray

    def __post_init__(self) -> None:
        """Check the fields: a 2-D output and distinct, non-negative column indices."""
        check_fields(self, output="finite", outlier_columns="codes")
        if self.output.ndim != 2:
            raise ValueError(f"output must be 2-D (tokens, out), got shape {self.output.shape}")
        columns = self.outlier_columns
        if columns.ndim != 1 or (columns < 0).any() or np.unique(columns).size != columns.size:
            raise ValueError(f"outlier_columns must be distinct column indices >= 0, got {columns}")


def _bitsandbytes_rowwise_int8(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise absmax int8 codes with bitsandbytes' float32 arithmetic.

    The codes are ``round(x * (127 * (1 / absmax)))`` in float32, the reciprocal first, as
    torch evaluates ``127.0 / absmax``; dividing by ``absmax / 127`` instead changes about one
    code in 10 000 of real weights (at ties).  An all-zero row gets codes 0.
    """
    absmax = np.abs(values).max(axis=1, initial=0.0).astype(np.float32)
    with np.errstate(divide="ignore"):
        factor = np.where(absmax > 0, np.float32(1) / absmax, np.float32(0)) * np.float32(127)
    codes = np.rint(values.astype(np.float32) * factor[:, None]).astype(np.int64)
    return codes, absmax


def _llm_int8_bitsandbytes(xa: np.ndarray, wa: np.ndarray, threshold: float) -> Int8MatmulResult:
    """:func:`llm_int8_matmul` with ``variant="bitsandbytes"`` (see its docstring)."""
    for name, values in (("x", xa), ("w", wa)):
        if values.size and np.abs(values).max() > np.finfo(np.float16).max:
            raise ValueError(f"{name} has values beyond float16's largest finite value 65504; "
                             "bitsandbytes quantizes float16 copies, so they must fit float16")
    x16 = xa.astype(np.float16).astype(np.float32)
    is_big = np.abs(x16) >= threshold
    outliers = np.flatnonzero(is_big.any(axis=0))
    codes_x, absmax_x = _bitsandbytes_rowwise_int8(np.where(is_big, 0.0, x16))
    codes_x[:, outliers] = 0
    codes_w, absmax_w = _bitsandbytes_rowwise_int8(wa.astype(np.float16).astype(np.float32))
    # Exact integer products (float64 sums of int8 products are exact below 2**53).
    acc = codes_x.astype(np.float64) @ codes_w.astype(np.float64).T
    low = acc * (absmax_x[:, None] * absmax_w[None, :].astype(np.float64)) / 127**2
    w_outliers = codes_w[:, outliers] * (absmax_w[:, None].astype(np.float64) / 127)
    high = xa[:, outliers].astype(np.float64) @ w_outliers.T
    return Int8MatmulResult(output=low + high, outlier_columns=outliers)


def llm_int8_matmul(
    x: np.ndarray, w: np.ndarray, threshold: float = 6.0, *, variant: str = "paper"
) -> Int8MatmulResult:
    """LLM.int8() mixed-precision decomposition of ``x @ w.T``.

    Feature columns ``j`` of ``x`` with any ``|x[:, j]| >= threshold`` (and the
    matching columns of ``w``) are multiplied in floating point; all other columns go
    through vector-wise int8 (one absmax scale per row of ``x``, one per row of ``w``)
    with exact integer accumulation.  The output is the sum of both parts.

    Parameters
    ----------
    x : array_like, shape (tokens, in)
    w : array_like, shape (out, in)
    threshold : float
        Outlier magnitude, > 0 (the paper uses 6.0).
    variant : {"paper", "bitsandbytes"}
        ``"paper"`` (default): the decomposition as Dettmers et al. (2022) write it.  The
        outlier columns use ``x`` and ``w`` as given; the int8 part is
        :func:`int8_matmul` of the regular columns, so both absmax scales are taken over
        the regular columns only.

        ``"bitsandbytes"``: the arithmetic of bitsandbytes 0.50.2 (``bnb.nn.Linear8bitLt``
        with ``has_fp16_weights=False``, ``bnb.matmul`` with ``MatmulLtState``), which
        stores the weights as int8 once, before any input is seen:

        - the outlier test and both quantizations read float16 copies of ``x`` and ``w``
          (values beyond 65504 are refused);
        - ``w`` is quantized row-wise over *all* its columns (it cannot know the outlier
          columns in advance), and its outlier columns are multiplied from those int8
          codes, dequantized;
        - each row of ``x`` takes its absmax after zeroing only the entries with
          ``|x| >= threshold``, so sub-threshold entries of an outlier column still set the
          row's scale, and the outlier columns' codes are then zeroed;
        - codes are ``round(x * (127 * (1 / absmax)))`` in float32, half to even, and the
          int8 part is dequantized as ``acc * absmax_x * absmax_w / 127**2``.

        Codes, scales and outlier columns equal bitsandbytes' bit for bit.  What differs is
        the last rounding: the output here is float64, while bitsandbytes rounds the int8
        part to the input's dtype, adds the outlier part (its weights rounded to that
        dtype) with ``addmm`` and returns that dtype; and its CPU backend multiplies by
        ``6.200124e-05`` where ``1 / 127**2 = 6.2000124e-05`` (relatively 1.8e-5 too large, below
        float16's resolution).  Measured on the float16 inputs of block 2's FFN layer of
        all-MiniLM-L6-v2 (524 held-out tokens, outputs up to 17.8, chapter 11): the
        largest difference is 0.0071, under half a float16 step there (0.0078); with
        float32 inputs it is 1.5e-4, all of it from that constant.
        ``tests/test_llm_int8_bitsandbytes.py`` checks the agreement on random layers with
        no, some and only outlier columns.

    Returns
    -------
    Int8MatmulResult
        ``output`` (float64) and ``outlier_columns``.

    Examples
    --------
    >>> x = np.array([[0.5, 20.0], [-1.0, 3.0]]); w = np.eye(2)
    >>> r = llm_int8_matmul(x, w)
    >>> r.outlier_columns, np.round(r.output[:, 0], 4)
    (array([1]), array([ 0.5, -1. ]))
    >>> # bitsandbytes: the 3.0 of outlier column 1 sets row 1's int8 scale
    >>> np.round(llm_int8_matmul(x, w, variant="bitsandbytes").output[:, 0], 4)
    array([ 0.5   , -0.9921])
    """
    xa, wa = _check_layer(x, w)
    positive_number(threshold, "threshold")  # validated, used as given
    variant = one_of(variant, "variant", ("paper", "bitsandbytes"))
    if variant == "bitsandbytes":
        return _llm_int8_bitsandbytes(xa, wa, threshold)

    is_outlier = np.any(np.abs(xa) >= threshold, axis=0)
    outliers = np.flatnonzero(is_outlier)
    regular = np.flatnonzero(~is_outlier)

    high = xa[:, outliers] @ wa[:, outliers].T
    low = _int8_product(xa[:, regular], wa[:, regular], per_vector=True)
    return Int8MatmulResult(output=low + high, outlier_columns=outliers)


# --------------------------------------------------------------------------- AWQ


@dataclass(frozen=True)
class AWQResult:
    """The result of :func:`awq_search`.

    Attributes
    ----------
    alpha : float
        The best exponent found.
    scales : numpy.ndarray
        Shape (in,): ``s = mean|x_j|**alpha``, normalised so that ``max(s) * min(s) = 1``.
    weight : numpy.ndarray
        Shape (out, in).  The effective weights ``Q(w diag(s)) diag(s)^-1`` (``x @ weight.T`` is the
        quantized layer's output).
    alphas : numpy.ndarray
        Every exponent tried.
    errors : numpy.ndarray
        The mean squared output error of each exponent in ``alphas``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> r = awq_search(rng.normal(size=(64, 8)), rng.normal(size=(4, 8)), bits=4)
    >>> r.alphas[:3], r.errors.shape
    (array([0.  , 0.05, 0.1 ]), (20,))
    """

    alpha: float
    scales: np.ndarray
    weight: np.ndarray
    alphas: np.ndarray
    errors: np.ndarray

    def __post_init__(self) -> None:
        """Check that the fields fit together (one scale per input column, one error per alpha)."""
        check_fields(self, alpha="number", scales="finite", weight="finite", alphas="finite", errors="finite")
        if self.weight.ndim != 2 or self.scales.shape != self.weight.shape[1:]:
            raise ValueError(f"scales {self.scales.shape} must hold one value per column of weight {self.weight.shape}")
        if not (self.scales > 0).all():
            raise ValueError("scales must be positive")
        if self.alphas.ndim != 1 or self.errors.shape != self.alphas.shape:
            raise ValueError(f"errors {self.errors.shape} must hold one value per value of alphas {self.alphas.shape}")
        if not 0 <= self.alpha <= 1:
            raise ValueError(f"alpha must lie in [0, 1], got {self.alpha}")


def _group_fake_quantize(w: np.ndarray, bits: int, group_size: int | None, symmetric: bool) -> np.ndarray:
    """Round-to-nearest of ``w`` (out, in): per output row, in groups of input columns.

    As the reference's ``w.reshape(-1, q_group_size)``: groups run along the last
    axis (``in``); without ``group_size`` one scale per output row.
    """
    try:
        if group_size is None:
            return uniform.fake_quantize(w, bits, axis=0, symmetric=symmetric)
        return uniform.fake_quantize(w, bits, axis=1, group_size=group_size, symmetric=symmetric)
    except uniform.ScaleRangeError as exc:  # awq_search has no scale_dtype to widen
        raise exc.reworded("w", w, "AWQ stores its group scales in float16") from None


def awq_search(
    x: np.ndarray,
    w: np.ndarray,
    bits: int = 4,
    *,
    group_size: int | None = None,
    symmetric: bool = False,
    n_grid: int = 20,
) -> AWQResult:
    """AWQ's activation-aware weight scaling with a grid search over its exponent.

    Weights that meet large activations matter most.  AWQ multiplies input column
    ``j`` of ``w`` by ``s_j = mean|x_j|**alpha`` before round-to-nearest
    quantization and divides it out afterwards (in practice ``1/s`` is folded into the
    previous operation), so salient weights get a relatively finer grid.  The
    exponent ``alpha`` is the one among ``0, 1/n_grid, ..., (n_grid-1)/n_grid``
    with the smallest mean squared error of ``x @ w.T``; ``alpha = 0`` is plain RTN.

    Parameters
    ----------
    x : array_like, shape (tokens, in)
        Calibration activations.
    w : array_like, shape (out, in)
    bits : int
        Weight bits (1 to 16, see :func:`support.quant.uniform.quantize`).
    group_size : int, optional
        Consecutive input columns per scale in each output row (groups along the last
        axis, as in the reference implementation); it must divide ``in``.  ``None``:
        one scale per output row.
    symmetric : bool
        AWQ uses an asymmetric grid (with zero-point) by default.
    n_grid : int
        Number of exponents tried.

    Returns
    -------
    AWQResult

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(64, 32)) * np.where(np.arange(32) < 2, 20.0, 1.0)
    >>> w = rng.normal(size=(16, 32))
    >>> r = awq_search(x, w, 3)
    >>> bool(r.errors.min() < r.errors[0])  # scaling beats plain RTN (alpha = 0)
    True
    """
    xa, wa = _check_layer(x, w)
    if xa.size == 0 or wa.size == 0:
        raise ValueError(
            "awq_search needs at least one token and one feature in x and one output row in w, "
            f"got shapes {xa.shape} and {wa.shape}"
        )
    n_grid = integer_in_range(n_grid, "n_grid", 1, MAX_GRID, why="exponents tried")
    symmetric = flag(symmetric, "symmetric")
    group_size = positive_int(group_size, "group_size", allow_none=True)
    if group_size is not None and wa.shape[1] % group_size != 0:
        raise ValueError(
            f"group_size {group_size} must divide the number of input columns of w, {wa.shape[1]} "
            "(groups run along the last axis of w, shape (out, in))"
        )
    mean_abs = np.mean(np.abs(xa), axis=0)
    if np.any(mean_abs == 0):
        raise ValueError("every input feature needs a non-zero activation in x (mean |x_j| > 0)")

    # The output error x (w_hat - w)^T has the norm of r (w_hat - w)^T, where x = q r and q has
    # orthonormal columns: with more tokens than input features, r is the smaller matrix.
    factor = np.linalg.qr(xa, mode="r") if xa.shape[0] > xa.shape[1] else xa
    n_outputs = xa.shape[0] * wa.shape[0]
    alphas = np.arange(n_grid) / n_grid
    errors = np.empty(n_grid)
    best = None
    for k, alpha in enumerate(alphas):
        s = mean_abs**alpha
        s = s / np.sqrt(s.max() * s.min())
        effective = _group_fake_quantize(wa * s, bits, group_size, symmetric) / s
        errors[k] = np.sum((factor @ (effective - wa).T) ** 2) / n_outputs    # mean over x @ w.T
        if best is None or errors[k] < errors[best[0]]:
            best = (k, s, effective)
    k, s, effective = best
    return AWQResult(alpha=float(alphas[k]), scales=s, weight=effective, alphas=alphas, errors=errors)
