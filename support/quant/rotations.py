"""Orthogonal rotations that spread outliers before quantization.

A rotation ``Q`` (with ``Q @ Q.T = I``) leaves a linear layer unchanged when it is
applied to both operands: ``X @ W.T = (X @ Q) @ (W @ Q).T``.  Rotated weights and
activations have their large values spread over many coordinates, so a uniform grid
fits them better (QuIP, QuaRot, QuIP#, SpinQuant).

- :func:`fwht` is the fast Walsh-Hadamard transform: multiplication by the
  orthonormal Sylvester Hadamard matrix in ``O(n log n)``.
- :func:`hadamard_matrix` is that matrix, explicitly.
- :func:`random_orthogonal` draws a Haar-random orthogonal matrix.
- :func:`random_signs`, :func:`random_hadamard` and :func:`hadamard_rotate` give the
  randomized Hadamard rotation ``Q = H diag(s) / sqrt(n)`` used by QuaRot and QuIP#,
  as a matrix and as a fast transform.

Conventions: a rotation acts on the *last* index of a row vector, ``x @ Q``, or on
the axis given by ``axis``.
"""

from __future__ import annotations

import numbers

import numpy as np

from support._validate import flag, integer_in_range, normalize_axis, positive_int, real_array

__all__ = [
    "fwht",
    "hadamard_matrix",
    "random_orthogonal",
    "random_signs",
    "random_hadamard",
    "hadamard_rotate",
]

#: Largest order of the matrices built here (16384 x 16384 float64 is 2 GiB).
MAX_MATRIX_ORDER = 1 << 14
#: Longest vector of random signs.
MAX_VECTOR_LENGTH = 1 << 30


# --------------------------------------------------------------------------- checks


def _check_power_of_two(n: int, what: str) -> None:
    if n < 1 or (n & (n - 1)) != 0:
        raise ValueError(f"{what} must be a power of two (1, 2, 4, 8, ...), got {n}")


def _as_real_float_array(x: object, name: str = "x") -> np.ndarray:
    """Finite real input; integers become float64, float dtypes are kept."""
    return real_array(
        x, name, allow_empty=True, as_float=True,
        why="a rotation would spread a NaN or infinity over every output of its vector",
    )


def _generator(rng: object) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, numbers.Integral) and not isinstance(rng, bool):
        if rng < 0:
            raise ValueError(f"rng, as a seed, must be a non-negative integer, got {rng}")
        return np.random.default_rng(int(rng))
    raise TypeError(
        "rng must be a numpy Generator (np.random.default_rng(seed)) or an integer seed, "
        f"got {type(rng).__name__}"
    )


# --------------------------------------------------------------------------- Hadamard


def fwht(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Orthonormal fast Walsh-Hadamard transform along one axis.

    Equal to multiplying by ``scipy.linalg.hadamard(n) / sqrt(n)`` (Sylvester
    order) along ``axis``, in ``O(n log n)`` operations: ``log2(n)`` stages of
    butterflies ``(a, b) -> (a + b, a - b)``, each one vectorised over the whole
    array.  The transform is symmetric and orthogonal, so it is its own inverse:
    ``fwht(fwht(x)) == x`` up to rounding.

    Parameters
    ----------
    x : array_like
        Real, finite input (NaN and infinities raise: the transform would spread
        them over the whole vector); integers are converted to float64, float
        dtypes are kept.
    axis : int
        The axis to transform; its length must be a power of two.

    Returns
    -------
    numpy.ndarray
        The transformed array, same shape as ``x``.

    Examples
    --------
    >>> fwht(np.array([1.0, 0.0, 0.0, 0.0]))
    array([0.5, 0.5, 0.5, 0.5])
    >>> fwht(fwht(np.array([3.0, -1.0])))
    array([ 3., -1.])
    """
    arr = _as_real_float_array(x)
    if arr.ndim == 0:
        raise ValueError("x must have at least one dimension to transform")
    axis = normalize_axis(axis, arr.ndim)
    n = arr.shape[axis]
    _check_power_of_two(n, f"the length of axis {axis} of x")

    y = np.moveaxis(arr, axis, -1)
    lead = y.shape[:-1]
    y = np.array(y, copy=True).reshape(-1, n)
    h = 1
    while h < n:
        # Pairs (a, b) sit h apart inside blocks of 2h: view them as (blocks, 2, h).
        pairs = y.reshape(-1, n // (2 * h), 2, h)
        a = pairs[:, :, 0, :]
        b = pairs[:, :, 1, :]
        y = np.stack((a + b, a - b), axis=2).reshape(-1, n)
        h *= 2
    y = y * (1.0 / np.sqrt(n)).astype(y.dtype)
    return np.moveaxis(y.reshape(*lead, n), -1, axis)


def hadamard_matrix(n: int) -> np.ndarray:
    """The orthonormal Sylvester Hadamard matrix ``H / sqrt(n)`` (float64).

    Parameters
    ----------
    n : int
        Size, a power of two.

    Examples
    --------
    >>> hadamard_matrix(2) * np.sqrt(2)
    array([[ 1.,  1.],
           [ 1., -1.]])
    """
    n = integer_in_range(n, "n", 1, MAX_MATRIX_ORDER, why="an n x n float64 matrix")
    _check_power_of_two(n, "n")
    return fwht(np.eye(n), axis=0)


# --------------------------------------------------------------------------- random rotations


def random_orthogonal(n: int, rng: np.random.Generator | int) -> np.ndarray:
    """A Haar-distributed random orthogonal ``n x n`` matrix (float64).

    QR-decompose a matrix of standard normal entries and multiply each column of
    ``Q`` by the sign of the matching diagonal entry of ``R``; without that sign fix
    the distribution is not uniform over the orthogonal group (Mezzadri 2007).

    Parameters
    ----------
    n : int
        Size (any positive integer).
    rng : numpy.random.Generator or int
        The generator, or a seed for ``np.random.default_rng``.

    Examples
    --------
    >>> q = random_orthogonal(4, rng=0)
    >>> np.allclose(q @ q.T, np.eye(4))
    True
    """
    n = integer_in_range(n, "n", 1, MAX_MATRIX_ORDER, why="an n x n float64 matrix")
    gen = _generator(rng)
    q, r = np.linalg.qr(gen.standard_normal((n, n)))
    signs = np.sign(np.diag(r))
    signs[signs == 0] = 1.0
    return q * signs


def random_signs(n: int, rng: np.random.Generator | int) -> np.ndarray:
    """``n`` independent random signs ``+-1.0`` (float64), each with probability 1/2.

    Examples
    --------
    >>> s = random_signs(8, rng=0)
    >>> sorted(set(s.tolist())) in ([-1.0, 1.0], [-1.0], [1.0])
    True
    """
    n = integer_in_range(n, "n", 1, MAX_VECTOR_LENGTH)
    gen = _generator(rng)
    return np.where(gen.integers(0, 2, size=n) == 1, 1.0, -1.0)


def random_hadamard(n: int, rng: np.random.Generator | int) -> np.ndarray:
    """The randomized Hadamard rotation ``Q = H diag(s) / sqrt(n)`` as a matrix.

    ``H`` is the Sylvester Hadamard matrix and ``s`` the signs that
    :func:`random_signs` draws from the same ``rng``, so
    ``x @ random_hadamard(n, seed)`` equals
    ``hadamard_rotate(x, random_signs(n, seed))``.  Use the latter for large ``n``.

    Parameters
    ----------
    n : int
        Size, a power of two.
    rng : numpy.random.Generator or int
        The generator, or a seed for ``np.random.default_rng``.

    Examples
    --------
    >>> q = random_hadamard(8, rng=0)
    >>> np.allclose(q @ q.T, np.eye(8)), np.allclose(np.abs(q), 8 ** -0.5)
    (True, True)
    """
    n = integer_in_range(n, "n", 1, MAX_MATRIX_ORDER, why="an n x n float64 matrix")
    _check_power_of_two(n, "n")
    return hadamard_matrix(n) * random_signs(n, rng)


def hadamard_rotate(
    x: np.ndarray, signs: np.ndarray, axis: int = -1, *, inverse: bool = False
) -> np.ndarray:
    """Apply ``Q = H diag(signs) / sqrt(n)`` to ``x`` along ``axis`` in ``O(n log n)``.

    With ``inverse=False`` this computes ``x @ Q`` (for the last axis), which is
    ``fwht(x) * signs``; with ``inverse=True`` it computes ``x @ Q.T``, which is
    ``fwht(x * signs)``.  One undoes the other.

    Rotating both operands of a linear layer, ``y = x @ w.T`` with ``w`` of shape
    ``(out, in)``, along their input dimension leaves the output unchanged:
    ``hadamard_rotate(x, s) @ hadamard_rotate(w, s).T == x @ w.T``.

    Parameters
    ----------
    x : array_like
        Real, finite input; integers are converted to float64.
    signs : array_like
        1-D array of ``+-1`` whose length equals ``x.shape[axis]`` (a power of two),
        e.g. from :func:`random_signs`.
    axis : int
        The axis to rotate.
    inverse : bool
        Apply ``Q.T`` instead of ``Q``.

    Examples
    --------
    >>> s = random_signs(4, rng=0)
    >>> x = np.array([[1.0, 2.0, 3.0, 4.0]])
    >>> np.allclose(hadamard_rotate(x, s), x @ random_hadamard(4, rng=0))
    True
    >>> np.allclose(hadamard_rotate(hadamard_rotate(x, s), s, inverse=True), x)
    True
    """
    arr = _as_real_float_array(x)
    s = _as_real_float_array(signs, "signs")
    if s.ndim != 1:
        raise ValueError(f"signs must be 1-D, got shape {s.shape}")
    if not np.all(np.abs(s) == 1):
        raise ValueError("signs must contain only +1 and -1")
    if arr.ndim == 0:
        raise ValueError("x must have at least one dimension to rotate")
    axis = normalize_axis(axis, arr.ndim)
    inverse = flag(inverse, "inverse")
    if arr.shape[axis] != s.shape[0]:
        raise ValueError(
            f"signs has length {s.shape[0]} but x has length {arr.shape[axis]} along axis {axis}"
        )
    shape = [1] * arr.ndim
    shape[axis] = s.shape[0]
    s = s.astype(arr.dtype).reshape(shape)
    if inverse:
        return fwht(arr * s, axis=axis)
    return fwht(arr, axis=axis) * s
