"""Softmax, log-sum-exp, cross-entropy and normalisation, naive and stable, in a chosen precision.

Every function computes in float64 and rounds the result of each elementwise operation
(subtraction, ``exp``, ``log``, division, square root, ...) to ``precision`` with
:func:`support.numbers.formats.round_to` (round to nearest even, IEEE overflow to ±inf),
so that ``"float32"``, ``"bfloat16"`` and ``"float16"`` arithmetic is simulated on any
machine, and ``"float64"`` is the reference.  The input is first rounded to ``precision``
(a tensor stored in that format).  Reductions (sum, mean) are accumulated in float64 and
rounded once, as kernels that accumulate in a wider format do; the maximum is exact in any
format.  Results are float64 arrays holding values of ``precision`` (a Python float for a
reduction to one number).

- :func:`softmax`, :func:`log_softmax`, :func:`logsumexp`: ``stable=False`` is the
  textbook formula, ``stable=True`` subtracts the maximum first;
- :func:`cross_entropy` (per example, from logits and class indices) and
  :func:`bce_with_logits` (per element), naive and stable;
- :func:`online_softmax`: one pass over blocks with a running maximum and a rescaled
  running sum, as fused attention kernels compute it;
- :func:`layer_norm` (two-pass or one-pass variance) and :func:`rms_norm`, without affine
  parameters.

Examples
--------
>>> from support.training.stability import softmax
>>> softmax([89.0, 89.1, 89.2], precision="float32", stable=False).tolist()
[nan, nan, nan]
>>> softmax([89.0, 89.1, 89.2], precision="float32").round(4).tolist()
[0.3006, 0.3322, 0.3672]
"""

from __future__ import annotations

from typing import Any

import numpy as np

from support._validate import flag, integer_array, integer_in_range, normalize_axis, one_of, positive_number, real_array
from support.numbers.formats import round_to

__all__ = ["PRECISIONS", "softmax", "log_softmax", "logsumexp", "cross_entropy", "bce_with_logits",
           "online_softmax", "layer_norm", "rms_norm"]

PRECISIONS = ("float64", "float32", "bfloat16", "float16")
"""The precisions the functions simulate (``"float64"``: no rounding, the reference)."""


class _Arith:
    """Rounds every result to one precision (nothing for float64)."""

    def __init__(self, precision: object) -> None:
        self.precision = one_of(precision, "precision", PRECISIONS)

    def __call__(self, x: Any) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        if self.precision == "float64":
            return x
        return np.asarray(round_to(x, self.precision), dtype=np.float64)

    def exp(self, x: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):
            return self(np.exp(x))

    def log(self, x: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return self(np.log(x))

    def div(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return self(np.divide(a, b))

    def sub(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            return self(np.subtract(a, b))

    def sum(self, x: np.ndarray, axis: int) -> np.ndarray:
        with np.errstate(invalid="ignore", over="ignore"):
            return self(np.sum(x, axis=axis, keepdims=True))

    def mean(self, x: np.ndarray, axis: int) -> np.ndarray:
        with np.errstate(invalid="ignore", over="ignore"):
            return self(np.mean(x, axis=axis, keepdims=True))


def _logits(x: object, name: str, axis: object, precision: object) -> tuple[np.ndarray, int, _Arith]:
    arith = _Arith(precision)
    a = real_array(x, name, as_float=True)
    ax = normalize_axis(axis, max(a.ndim, 1))
    return arith(np.atleast_1d(a)), ax, arith


def _out(y: np.ndarray) -> Any:
    """A 0-d result as a Python float, else the array."""
    return float(y) if y.ndim == 0 else y


def softmax(x: object, *, axis: int = -1, precision: str = "float32", stable: bool = True) -> np.ndarray:
    """Softmax along ``axis``: ``exp(x) / sum(exp(x))``, naive or with the maximum subtracted.

    Parameters
    ----------
    x : array_like
        Finite logits.
    axis : int
        The axis that sums to one.
    precision : str
        One of :data:`PRECISIONS`; each operation is rounded to it.
    stable : bool
        Subtract the maximum along ``axis`` before ``exp`` (the result is the same in exact
        arithmetic; ``exp`` then never overflows).

    Returns
    -------
    ndarray
        The probabilities, shape of ``x`` (NaN where the naive form computes inf/inf or 0/0).

    Examples
    --------
    >>> softmax([1000.0, 1000.0], precision="float32").tolist()
    [0.5, 0.5]
    >>> softmax([1000.0, 1000.0], precision="float32", stable=False).tolist()
    [nan, nan]
    """
    a, ax, r = _logits(x, "x", axis, precision)
    if flag(stable, "stable"):
        a = r.sub(a, np.max(a, axis=ax, keepdims=True))
    e = r.exp(a)
    return r.div(e, r.sum(e, ax)).reshape(np.shape(x))


def logsumexp(x: object, *, axis: int = -1, precision: str = "float32", stable: bool = True) -> Any:
    """``log(sum(exp(x)))`` along ``axis``; stable: ``m + log(sum(exp(x - m)))`` with ``m = max(x)``.

    Parameters
    ----------
    x : array_like
        Finite logits.
    axis : int
        The axis reduced.
    precision : str
        One of :data:`PRECISIONS`.
    stable : bool
        Factor out the maximum.

    Returns
    -------
    float or ndarray
        The reduction (``axis`` removed); a float for 1-D input.

    Examples
    --------
    >>> logsumexp([1000.0, 1000.0], precision="float32")
    1000.6931762695312
    >>> logsumexp([1000.0, 1000.0], precision="float32", stable=False)
    inf
    """
    a, ax, r = _logits(x, "x", axis, precision)
    if flag(stable, "stable"):
        m = np.max(a, axis=ax, keepdims=True)
        out = r(m + r.log(r.sum(r.exp(r.sub(a, m)), ax)))
    else:
        out = r.log(r.sum(r.exp(a), ax))
    return _out(np.squeeze(out, axis=ax) if np.ndim(x) else out.reshape(()))


def log_softmax(x: object, *, axis: int = -1, precision: str = "float32", stable: bool = True) -> np.ndarray:
    """Log-probabilities along ``axis``: naive ``log(softmax(x))`` or stable ``(x - m) - log(sum(exp(x - m)))``.

    The naive form is the logarithm of the (already maximum-subtracted) softmax: it gives
    ``-inf`` wherever a probability underflows to 0, though its logarithm is finite.

    Parameters
    ----------
    x : array_like
        Finite logits.
    axis : int
        The axis normalised.
    precision : str
        One of :data:`PRECISIONS`.
    stable : bool
        Compute ``(x - m) - log(sum(exp(x - m)))`` instead of ``log(softmax(x))``.

    Returns
    -------
    ndarray
        The log-probabilities, shape of ``x``.

    Examples
    --------
    >>> log_softmax([0.0, 200.0], precision="float32").tolist()
    [-200.0, 0.0]
    >>> log_softmax([0.0, 200.0], precision="float32", stable=False).tolist()
    [-inf, 0.0]
    """
    if not flag(stable, "stable"):
        p = softmax(x, axis=axis, precision=precision, stable=True)
        return _Arith(precision).log(p)
    a, ax, r = _logits(x, "x", axis, precision)
    shifted = r.sub(a, np.max(a, axis=ax, keepdims=True))
    return r.sub(shifted, r.log(r.sum(r.exp(shifted), ax))).reshape(np.shape(x))


def cross_entropy(logits: object, target: object, *, precision: str = "float32", stable: bool = True) -> Any:
    """Cross-entropy ``-log p[target]`` of each row of ``logits`` (classes on the last axis).

    Naive: ``-log(softmax(logits)[target])`` with the textbook softmax; stable:
    ``logsumexp(logits) - logits[target]``, as ``torch.nn.functional.cross_entropy`` computes it.

    Parameters
    ----------
    logits : array_like
        Shape ``(classes,)`` or ``(n, classes)``.
    target : int or array_like of int
        The true class of each row, in ``0..classes-1``.
    precision : str
        One of :data:`PRECISIONS`.
    stable : bool
        Use the log-sum-exp form.

    Returns
    -------
    float or ndarray
        The loss of each row (no reduction): a float for one row.

    Examples
    --------
    >>> cross_entropy([[0.0, 100.0]], [0], precision="float32").tolist()
    [100.0]
    >>> cross_entropy([[0.0, 100.0]], [0], precision="float32", stable=False).tolist()
    [inf]
    """
    a, _, r = _logits(logits, "logits", -1, precision)
    if a.ndim > 2:
        raise ValueError(f"logits must have shape (classes,) or (n, classes), got shape {a.shape}")
    rows = a.reshape(-1, a.shape[-1])
    t = integer_array(target, "target", allow_empty=False).reshape(-1)
    if t.size != rows.shape[0]:
        raise ValueError(f"target must hold one class per row of logits ({rows.shape[0]}), got {t.size}")
    if t.min() < 0 or t.max() >= rows.shape[1]:
        raise ValueError(f"target must be class indices in 0..{rows.shape[1] - 1}, got {t.min()}..{t.max()}")
    picked = rows[np.arange(rows.shape[0]), t]
    if flag(stable, "stable"):
        loss = r.sub(logsumexp(rows, precision=precision), picked)
    else:
        p = softmax(rows, precision=precision, stable=False)[np.arange(rows.shape[0]), t]
        loss = -r.log(p)
    loss = np.atleast_1d(loss)
    return float(loss[0]) if np.ndim(logits) == 1 else loss


def bce_with_logits(z: object, y: object, *, precision: str = "float32", stable: bool = True) -> np.ndarray:
    """Binary cross-entropy of labels ``y`` given logits ``z``, per element.

    Naive: ``-(y log s + (1 - y) log(1 - s))`` with ``s = 1 / (1 + exp(-z))``; stable:
    ``max(z, 0) - z y + log1p(exp(-|z|))``, as
    ``torch.nn.functional.binary_cross_entropy_with_logits`` computes it.

    Parameters
    ----------
    z : array_like
        Finite logits.
    y : array_like
        Labels (or target probabilities) in [0, 1], broadcastable against ``z``.
    precision : str
        One of :data:`PRECISIONS`.
    stable : bool
        Use the ``log1p`` form.

    Returns
    -------
    ndarray
        The loss of each element.

    Examples
    --------
    >>> bce_with_logits([-100.0, 3.0], [1.0, 1.0], precision="float32").round(4).tolist()
    [100.0, 0.0486]
    >>> bce_with_logits([-100.0, 3.0], [1.0, 1.0], precision="float32", stable=False).round(4).tolist()
    [inf, 0.0486]
    """
    r = _Arith(precision)
    zz = r(real_array(z, "z", as_float=True))
    yy = real_array(y, "y", as_float=True)
    if yy.min() < 0 or yy.max() > 1:
        raise ValueError(f"y must be labels in [0, 1], got values from {yy.min()} to {yy.max()}")
    try:
        zz, yy = np.broadcast_arrays(zz, r(yy))
    except ValueError:
        raise ValueError(f"y must have a shape that broadcasts against z's {zz.shape}, got {yy.shape}") from None
    if flag(stable, "stable"):
        soft = r(np.log1p(r.exp(-np.abs(zz))))
        return r(r(np.maximum(zz, 0) - r(zz * yy)) + soft)
    s = r.div(1.0, r(1.0 + r.exp(-zz)))
    one_minus = r(1.0 - s)
    with np.errstate(invalid="ignore"):
        pos = r(yy * r.log(s))
        neg = r(r(1.0 - yy) * r.log(one_minus))
        return -r(np.where(yy == 0, 0.0, pos) + np.where(yy == 1, 0.0, neg))


def online_softmax(x: object, *, block: int = 128, precision: str = "float32") -> np.ndarray:
    """Softmax along the last axis in one pass over blocks, with a running maximum.

    For each block the running maximum ``m`` and the running sum ``l = sum(exp(x - m))`` are
    updated: ``m' = max(m, max(block))``, ``l' = l exp(m - m') + sum(exp(block - m'))``.  The
    blocks' exponentials are kept (a fused kernel multiplies them by values at once) and
    rescaled by ``exp(m_block - m_final) / l`` at the end.

    Parameters
    ----------
    x : array_like
        Finite logits, softmax over the last axis.
    block : int
        Columns per block, 1 to 2**20.
    precision : str
        One of :data:`PRECISIONS`.

    Returns
    -------
    ndarray
        The probabilities, shape of ``x``.

    Examples
    --------
    >>> x = [3.0, 1.0, 1000.0, 2.0, -5.0]
    >>> bool(abs(online_softmax(x, block=2, precision="float64") - softmax(x, precision="float64")).max() < 1e-15)
    True
    """
    a, ax, r = _logits(x, "x", -1, precision)
    b = integer_in_range(block, "block", 1, 2**20)
    rows = a.reshape(-1, a.shape[-1])
    m = np.full((rows.shape[0], 1), -np.inf)
    total = np.zeros((rows.shape[0], 1))
    pieces, maxima = [], []
    for start in range(0, rows.shape[1], b):
        chunk = rows[:, start:start + b]
        new_m = np.maximum(m, chunk.max(axis=1, keepdims=True))
        e = r.exp(r.sub(chunk, new_m))
        total = r(r(total * r.exp(r.sub(m, new_m))) + r.sum(e, 1)) if start else r.sum(e, 1)
        m = new_m
        pieces.append(e)
        maxima.append(new_m)
    out = np.concatenate([r.div(r(e * r.exp(r.sub(mb, m))), total) for e, mb in zip(pieces, maxima)], axis=1)
    return out.reshape(np.shape(x))


def layer_norm(x: object, *, precision: str = "float32", eps: float = 1e-5, variance: str = "two_pass") -> np.ndarray:
    """LayerNorm over the last axis without affine parameters: ``(x - mean) / sqrt(var + eps)``.

    Parameters
    ----------
    x : array_like
        Finite activations, normalised over the last axis.
    precision : str
        One of :data:`PRECISIONS`.
    eps : float
        Added to the variance, >= 0 (torch's default is 1e-5).
    variance : str
        ``"two_pass"``: the mean, then the mean of squared deviations (what torch computes,
        up to its accumulation order); ``"one_pass"``: ``mean(x²) - mean(x)²``, which cancels.

    Returns
    -------
    ndarray
        The normalised activations, shape of ``x`` (NaN where a one-pass variance is negative).

    Examples
    --------
    >>> x = [1e4 + 1.0, 1e4 - 1.0]
    >>> layer_norm(x, precision="float32", eps=0.0).tolist()
    [1.0, -1.0]
    >>> layer_norm(x, precision="float32", eps=0.0, variance="one_pass").tolist()
    [inf, -inf]
    """
    a, _, r = _logits(x, "x", -1, precision)
    e = positive_number(eps, "eps", allow_zero=True)
    how = one_of(variance, "variance", ("two_pass", "one_pass"))
    mu = r.mean(a, -1)
    centred = r.sub(a, mu)
    if how == "two_pass":
        var = r.mean(r(centred * centred), -1)
    else:
        var = r.sub(r.mean(r(a * a), -1), r(mu * mu))
    with np.errstate(invalid="ignore"):
        std = r(np.sqrt(r(var + e)))
    return r.div(centred, std).reshape(np.shape(x))


def rms_norm(x: object, *, precision: str = "float32", eps: float = 1e-6) -> np.ndarray:
    """RMSNorm over the last axis without a gain: ``x / sqrt(mean(x²) + eps)``.

    Parameters
    ----------
    x : array_like
        Finite activations, normalised over the last axis.
    precision : str
        One of :data:`PRECISIONS`.
    eps : float
        Added to the mean square, >= 0.

    Returns
    -------
    ndarray
        The normalised activations, shape of ``x``.

    Examples
    --------
    >>> rms_norm([3.0, 4.0], precision="float32", eps=0.0).round(4).tolist()
    [0.8485, 1.1314]
    """
    a, _, r = _logits(x, "x", -1, precision)
    e = positive_number(eps, "eps", allow_zero=True)
    ms = r.mean(r(a * a), -1)
    return r.div(a, r(np.sqrt(r(ms + e)))).reshape(np.shape(x))
