"""GPTQ: quantize one linear layer column by column, compensating each error.

Round-to-nearest (RTN) quantizes every weight on its own.  GPTQ (Frantar et al. 2023,
Algorithm 1) quantizes the columns of ``W`` (shape ``(out, in)``) one at a time and
spreads each column's rounding error over the columns not yet quantized, weighted by
the inverse Hessian of the layer's output error on calibration inputs ``X``::

    H = 2 X^T X / n            (the Hessian of ||X W^T - X W_hat^T||^2 / n per row)
    H += damp * mean(diag(H)) * I
    U = cholesky(H^-1), upper triangular
    for each column j:
        q_j   = quantize(w_j)
        e_j   = (w_j - q_j) / U[j, j]
        w_k  -= e_j * U[j, k]          for k > j

With lazy batching (``block_size``) the updates of the columns beyond the current
block are deferred and applied at once, which gives the same result up to rounding.

The quantization grid is :func:`support.quant.uniform.scale_zero_point` with ``axis=0``
(one scale per output row) over a group of ``group_size`` input columns, computed
when the group starts from the weights as they are *then*, after the updates from
the columns already quantized, as the reference implementation does.  (The reference
reads slightly stale weights when a group starts inside a lazy batch, i.e. when
``block_size`` is not a divisor of ``group_size``; here every group start is also a
batch boundary, so the result never depends on ``block_size``.)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg

from support.quant import uniform
from support._validate import check_fields, flag, integer_in_range, positive_int, positive_number, real_array

__all__ = ["gptq_quantize", "GPTQResult", "hessian"]

MIN_BITS, MAX_BITS = 2, 8


# --------------------------------------------------------------------------- checks


def _real_matrix(a: object, name: str, shape_hint: str) -> np.ndarray:
    """``a`` as a new finite float64 array of shape ``shape_hint`` (the caller may modify it)."""
    arr = real_array(a, name, allow_empty=True)
    if arr.ndim != 2 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty 2-D array {shape_hint}, got shape {arr.shape}")
    return arr.astype(np.float64)  # always a copy


# --------------------------------------------------------------------------- pieces


def hessian(x_calib: np.ndarray) -> np.ndarray:
    """The layer-wise Hessian ``H = 2 X^T X / n`` of calibration inputs ``X`` (n, in).

    It is the Hessian of the mean squared output error ``||X (W - W_hat)^T||^2 / n``
    with respect to each row of ``W``; GPTQ's result does not depend on its scale.

    Examples
    --------
    >>> hessian(np.array([[1.0, 0.0], [1.0, 2.0]]))
    array([[2., 2.],
           [2., 4.]])
    """
    x = _real_matrix(x_calib, "x_calib", "(n, in)")
    with np.errstate(over="ignore", invalid="ignore"):
        h = 2.0 * (x.T @ x) / x.shape[0]
    if not np.isfinite(h).all():
        raise ValueError(
            f"the Hessian 2 X^T X / n of x_calib overflows float64 (the largest |x_calib| is "
            f"{np.abs(x).max():.3g}); rescale x_calib (GPTQ's result does not depend on its scale)"
        )
    return h


def _upper_cholesky_of_inverse(h: np.ndarray, damp: float) -> np.ndarray:
    """``U`` upper triangular with ``U^T U = (H + damp * mean(diag H) * I)^-1``."""
    h = h.copy()
    h[np.diag_indices_from(h)] += damp * np.mean(np.diag(h))
    try:
        lower = scipy.linalg.cholesky(h, lower=True)
    except np.linalg.LinAlgError as exc:
        raise ValueError(
            "the dampened Hessian is not positive definite (the calibration inputs do not "
            "span the input space); use a larger damp, e.g. 0.01 to 0.1, or more samples"
        ) from exc
    # H^-1 from the Cholesky factor (LAPACK potri, the reference's torch.cholesky_inverse), which
    # fills the lower triangle only: a third of the work of solving H X = I.
    inverse_lower, info = scipy.linalg.lapack.dpotri(lower, lower=True)
    if info != 0:  # pragma: no cover - the factor of a positive definite H has a non-zero diagonal
        raise ValueError(f"LAPACK dpotri failed (info={info}) on the dampened Hessian; use a larger damp")
    h_inv = np.tril(inverse_lower) + np.tril(inverse_lower, -1).T
    return scipy.linalg.cholesky(h_inv, lower=False)


def _block_bounds(n: int, block_size: int, group_size: int) -> list[tuple[int, int]]:
    """Lazy-batch blocks; every group start is also a block start, so that the
    group's scale is computed from fully updated weights."""
    starts = sorted(set(range(0, n, block_size)) | set(range(0, n, group_size)))
    return list(zip(starts, starts[1:] + [n]))


def _code_dtype(symmetric: bool) -> np.dtype:
    """Codes of at most 8 bits: int8 when symmetric, uint8 otherwise (as support.quant.uniform)."""
    return np.dtype(np.int8 if symmetric else np.uint8)


# --------------------------------------------------------------------------- result


@dataclass(frozen=True)
class GPTQResult:
    """A layer quantized by :func:`gptq_quantize`.

    Attributes
    ----------
    weight : numpy.ndarray of float64
        Shape (out, in).  The dequantized weights ``W_hat``, in the original column order.
    codes : numpy.ndarray
        Shape (out, in).  Integer codes (int8 when symmetric, uint8 otherwise).
    scale : numpy.ndarray of float64
        Shape (out, n_groups).  One scale per output row and group (values exact in float16).
    zero_point : numpy.ndarray of int64
        Shape (out, n_groups).  All zeros when symmetric.
    group_index : numpy.ndarray of int64
        Shape (in,).  The group of each input column: ``W_hat[:, j] = (codes[:, j] -
        zero_point[:, g]) * scale[:, g]`` with ``g = group_index[j]``.  Without
        ``act_order`` it is ``j // group_size``.
    order : numpy.ndarray of int64
        Shape (in,).  The order in which the columns were quantized.
    bits : int
        Bits per code.
    symmetric : bool
        Whether the codes are symmetric around zero (zero-points all 0).
    group_size : int
        Input columns per scale (``in`` for per-channel scales).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> r = gptq_quantize(rng.normal(size=(4, 8)), rng.normal(size=(64, 8)), bits=4)
    >>> r.codes.shape, r.scale.shape, bool(np.allclose(r.dequantize(), r.weight))
    ((4, 8), (4, 1), True)
    """

    weight: np.ndarray
    codes: np.ndarray
    scale: np.ndarray
    zero_point: np.ndarray
    group_index: np.ndarray
    order: np.ndarray
    bits: int
    symmetric: bool
    group_size: int

    def __post_init__(self) -> None:
        """Check that the fields fit together (codes of the weight's shape, one scale per group)."""
        check_fields(self, weight="finite", codes="codes", scale="finite", zero_point="codes",
                     group_index="codes", order="codes", symmetric="flag", group_size="positive")
        integer_in_range(self.bits, "bits", MIN_BITS, MAX_BITS)
        if self.weight.ndim != 2 or self.codes.shape != self.weight.shape:
            raise ValueError(f"codes {self.codes.shape} and weight {self.weight.shape} must be the same 2-D shape")
        n_out, n_in = self.weight.shape
        if n_in % self.group_size:
            raise ValueError(f"group_size {self.group_size} must divide the {n_in} input columns")
        groups = (n_out, n_in // self.group_size)
        for name in ("scale", "zero_point"):
            if getattr(self, name).shape != groups:
                raise ValueError(f"{name} has shape {getattr(self, name).shape}; one per (row, group) needs {groups}")
        if self.group_index.shape != (n_in,) or not ((0 <= self.group_index) & (self.group_index < groups[1])).all():
            raise ValueError(f"group_index must give each of the {n_in} columns a group in [0, {groups[1]})")
        if not np.array_equal(np.sort(self.order), np.arange(n_in)):
            raise ValueError(f"order must be a permutation of the {n_in} input columns")

    def dequantize(self) -> np.ndarray:
        """``(codes - zero_point) * scale`` per column's group; equals ``weight``."""
        g = self.group_index
        return uniform.dequantize_with(self.codes, self.scale[:, g], self.zero_point[:, g])

    @property
    def bits_per_value(self) -> float:
        """Code bits plus a float16 scale (and for asymmetric grids a zero-point) per group.

        Examples
        --------
        >>> rng = np.random.default_rng(0)
        >>> gptq_quantize(rng.normal(size=(4, 256)), rng.normal(size=(512, 256)), 4,
        ...               group_size=128).bits_per_value
        4.125
        """
        per_group = 16 + (0 if self.symmetric else self.bits)
        return self.bits + per_group * self.scale.size / self.codes.size


# --------------------------------------------------------------------------- GPTQ


def gptq_quantize(
    w: np.ndarray,
    x_calib: np.ndarray,
    bits: int,
    *,
    group_size: int | None = None,
    symmetric: bool = True,
    damp: float = 0.01,
    block_size: int = 128,
    act_order: bool = False,
) -> GPTQResult:
    """Quantize the weights of one linear layer with GPTQ.

    Parameters
    ----------
    w : array_like, shape (out, in)
        Weights of ``y = x @ w.T`` (PyTorch ``nn.Linear`` layout).
    x_calib : array_like, shape (n, in)
        Calibration inputs of the layer.
    bits : int
        2 to 8.
    group_size : int, optional
        Input columns per scale; must divide ``in``.  ``None``: one scale per row.
    symmetric : bool
        Symmetric grid (zero-point 0, codes ``[-(2**(b-1)-1), 2**(b-1)-1]``) or
        asymmetric (codes ``[0, 2**b - 1]``), as in :mod:`support.quant.uniform`.
    damp : float
        Dampening: ``damp * mean(diag(H))`` is added to the diagonal of ``H``.
    block_size : int
        Columns per lazy batch (any value gives the same result up to rounding).
    act_order : bool
        Quantize the columns in order of decreasing ``diag(H)`` (largest input
        energy first); groups are then formed in that order, as in the reference.

    Returns
    -------
    GPTQResult

    Notes
    -----
    ``H = 2 X^T X / n``.  Columns that no input ever reaches (``diag(H) = 0``) are
    set to zero and their diagonal to 1, as in the reference implementation.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(256, 64)) @ rng.normal(size=(64, 64))  # correlated inputs
    >>> w = rng.normal(size=(16, 64))
    >>> result = gptq_quantize(w, x, 4)
    >>> rtn = uniform.fake_quantize(w, 4, axis=0)
    >>> err = lambda w_hat: np.linalg.norm(x @ (w - w_hat).T)
    >>> bool(err(result.weight) < err(rtn))
    True
    """
    weights = _real_matrix(w, "w", "(out, in)")
    x = _real_matrix(x_calib, "x_calib", "(n, in)")
    n_out, n_in = weights.shape
    if x.shape[1] != n_in:
        raise ValueError(
            f"x_calib has {x.shape[1]} features but w has {n_in} input columns; "
            "w must have shape (out, in) and x_calib shape (n, in)"
        )
    bits = integer_in_range(bits, "bits", MIN_BITS, MAX_BITS)
    group_size = positive_int(group_size, "group_size", allow_none=True)
    group = n_in if group_size is None else group_size
    if n_in % group != 0:
        raise ValueError(f"group_size {group} must divide the number of input columns {n_in}")
    block_size = positive_int(block_size, "block_size")
    damp = positive_number(damp, "damp", allow_zero=True, hint="typically 0.01")
    symmetric = flag(symmetric, "symmetric")
    act_order = flag(act_order, "act_order")

    _, exponent = np.frexp(np.abs(x).max())
    h = hessian(np.ldexp(x, -exponent))  # exact rescaling: x near 1e200 would overflow X^T X
    dead = np.diag(h) == 0
    h[dead, dead] = 1.0
    weights[:, dead] = 0.0

    order = np.argsort(-np.diag(h), kind="stable") if act_order else np.arange(n_in)
    weights = weights[:, order]
    u = _upper_cholesky_of_inverse(h[np.ix_(order, order)], damp)

    n_groups = n_in // group
    codes = np.zeros((n_out, n_in), dtype=np.int64)
    scale = np.zeros((n_out, n_groups))
    zero_point = np.zeros((n_out, n_groups), dtype=np.int64)

    qmin, qmax = uniform.integer_range(bits, symmetric=symmetric)
    for start, stop in _block_bounds(n_in, block_size, group):
        # The block transposed, (columns, out): each column is a contiguous row, so the per-column
        # update of the columns after it touches one contiguous piece of memory.
        block = weights[:, start:stop].T.copy()
        errors = np.empty_like(block)
        for i, j in enumerate(range(start, stop)):
            g = j // group
            if j % group == 0:  # a group starts at a block start: weights[:, j:] is up to date
                try:
                    s, z = uniform.scale_zero_point(weights[:, j : j + group], bits, symmetric=symmetric, axis=0)
                except uniform.ScaleRangeError as exc:  # gptq_quantize has no scale_dtype to widen
                    raise exc.reworded("w", weights, "GPTQ stores its scales in float16") from None
                scale[:, g], zero_point[:, g] = s[:, 0], z[:, 0]
            # The rules of uniform.quantize_with and dequantize_with without their argument
            # checks, which would cost more per column than the arithmetic (checked above).
            column_codes = uniform._codes(block[i], scale[:, g], zero_point[:, g], qmin, qmax)
            codes[:, j] = column_codes
            quantized = uniform._values(column_codes, scale[:, g], zero_point[:, g])
            errors[i] = (block[i] - quantized) / u[j, j]
            block[i + 1 :] -= np.outer(u[j, j + 1 : stop], errors[i])
        weights[:, stop:] -= errors.T @ u[start:stop, stop:]  # the deferred (lazy) update

    inverse = np.argsort(order)
    group_index = (np.arange(n_in) // group)[inverse]
    codes = codes[:, inverse].astype(_code_dtype(symmetric))
    weight = uniform.dequantize_with(codes, scale[:, group_index], zero_point[:, group_index])
    return GPTQResult(
        weight=weight, codes=codes, scale=scale, zero_point=zero_point, group_index=group_index,
        order=order, bits=bits, symmetric=symmetric, group_size=group,
    )
