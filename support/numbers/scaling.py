"""Per-tensor scaling for narrow float formats: amax scales, scaled casts, delayed scaling.

An FP8 format has a fixed window of magnitudes (E4M3FN: normal numbers from 2**-6 to
448).  A tensor is cast through it with a *scale* ``s``: the format stores
``round(x * s)`` and the tensor is recovered as ``round(x * s) / s``.  The usual choice
maps the tensor's largest magnitude ``amax`` onto the format's largest value,

    s = fmt.max / (amax * 2**margin),

so that nothing overflows and the small values stay as far above the underflow
threshold as possible (``margin`` bits of headroom lower the scale).  This module gives
the pieces the course uses for FP8 recipes:

- :func:`scale_for_amax`  the scale for a given amax (optionally a power of two);
- :func:`amax_scale`      the scale for a tensor (*current* or just-in-time scaling);
- :func:`scaled_round`    ``round(x * s) / s`` in a format, saturating by default;
- :class:`DelayedScaler`  *delayed* scaling as NVIDIA Transformer Engine's
  ``DelayedScaling`` recipe does it: the scale for this step comes from the amax
  history of previous steps (maximum over a window, or the most recent value).

Scales are float64 (Transformer Engine keeps them in float32).  Multiplying by a
power-of-two scale is exact, so then ``scaled_round`` rounds exactly once; any other
scale adds a relative error of at most 2**-53 before the rounding to the narrow format,
which changes a result only for inputs within that distance of a rounding tie.

>>> import numpy as np
>>> x = np.array([0.001, -0.0025, 0.004])
>>> s = amax_scale(x, "float8_e4m3fn")          # 448 / 0.004
>>> round(s, 6)
112000.0
>>> scaled_round(x, s, "float8_e4m3fn").tolist()      # -280 rounds to -288 in E4M3FN
[0.001, -0.0025714285714285713, 0.004]
"""

from __future__ import annotations

import math
import numbers
import sys
from typing import Any

import numpy as np

from support._validate import flag, integer_in_range, one_of, positive_number, real_array, real_number
from support.numbers.formats import FloatFormat, get_format, round_to

__all__ = ["scale_for_amax", "amax_scale", "scaled_round", "DelayedScaler", "AMAX_ALGOS"]

#: How :class:`DelayedScaler` reduces its amax history to one number.
AMAX_ALGOS = ("max", "most_recent")


#: ``margin`` is bounded so that ``fmt.max / 2**margin`` stays a normal float64 for every format.
MAX_MARGIN = 128

#: Longest amax history :class:`DelayedScaler` accepts (Transformer Engine's default is 1024).
MAX_HISTORY_LEN = 1 << 20


def _check_margin(margin: Any) -> int:
    return integer_in_range(margin, "margin", -MAX_MARGIN, MAX_MARGIN, why="bits of headroom, may be negative")


def _finite_format(fmt: str | FloatFormat) -> FloatFormat:
    fmt = get_format(fmt)
    if not fmt.signed:
        raise ValueError(
            f"{fmt.name} is unsigned (a scale format); per-tensor scaling casts signed tensors, "
            "use a signed format such as 'float8_e4m3fn'"
        )
    return fmt


def scale_for_amax(
    amax: Any, fmt: str | FloatFormat, *, margin: int = 0, power_of_two: bool = False
) -> Any:
    """The scale that maps ``amax`` onto ``fmt.max / 2**margin``.

    Parameters
    ----------
    amax : float or array_like
        Largest magnitudes (non-negative and finite).  An ``amax`` of 0 (an all-zero
        tensor) gets the scale 1: every scale reproduces zeros exactly.
    fmt : str or FloatFormat
        The target format, e.g. ``"float8_e4m3fn"``.
    margin : int
        Bits of headroom: the scale is divided by ``2**margin`` (Transformer Engine's
        ``margin``), so a later amax up to ``2**margin`` times larger still fits.
    power_of_two : bool
        Round the scale *down* to a power of two, so that scaling is exact and
        ``amax * scale`` still does not exceed ``fmt.max / 2**margin``.

    Returns
    -------
    float or ndarray
        float64; a Python float for a scalar ``amax``.

    Raises
    ------
    ValueError
        For a negative, NaN or infinite ``amax``, or one so small that the scale
        overflows float64.

    Examples
    --------
    >>> scale_for_amax(3.5, "float8_e4m3fn")
    128.0
    >>> scale_for_amax(3.0, "float8_e4m3fn", margin=1), scale_for_amax(3.0, "float8_e4m3fn", power_of_two=True)
    (74.66666666666667, 128.0)
    """
    fmt = _finite_format(fmt)
    margin = _check_margin(margin)
    power_of_two = flag(power_of_two, "power_of_two")
    is_scalar = isinstance(amax, numbers.Number) or isinstance(amax, np.generic)
    if is_scalar:
        a = np.asarray(real_number(amax, "amax", allow_nan=True, allow_inf=True), dtype=np.float64)
    else:
        a = real_array(amax, "amax", allow_empty=True, allow_nan=True, allow_inf=True).astype(np.float64)
    if not np.isfinite(a).all() or (a < 0).any():
        raise ValueError(
            "scale_for_amax: amax must be finite and >= 0 (it is a largest magnitude); "
            f"got {a[~np.isfinite(a) | (a < 0)].ravel()[:3].tolist()}"
        )
    target = math.ldexp(fmt.max, -margin)
    with np.errstate(divide="ignore", over="ignore"):
        scale = np.where(a > 0, target / np.where(a > 0, a, 1.0), 1.0)
    if not np.isfinite(scale).all():
        raise ValueError(
            f"scale_for_amax: amax {a[~np.isfinite(scale)].ravel()[0]!r} is too small: "
            f"{fmt.max} / amax overflows float64"
        )
    if (scale == 0).any():
        raise ValueError(
            f"scale_for_amax: amax {a[scale == 0].ravel()[0]!r} with margin {margin} is too large: "
            f"the scale {fmt.max} / (2**{margin} * amax) underflows float64 to 0"
        )
    if power_of_two:
        _, exponent = np.frexp(scale)  # scale = m * 2**e, 0.5 <= m < 1
        scale = np.ldexp(1.0, exponent - 1)
    return float(scale) if is_scalar else scale


def amax_scale(x: Any, fmt: str | FloatFormat, *, margin: int = 0, power_of_two: bool = False) -> float:
    """The per-tensor scale of ``x`` (current scaling): ``scale_for_amax(max|x|, fmt)``.

    Parameters
    ----------
    x : array_like
        The tensor (finite values; NaN or inf raise ``ValueError``).
    fmt, margin, power_of_two
        As for :func:`scale_for_amax`.

    Examples
    --------
    >>> amax_scale([0.5, -2.0, 1.0], "float8_e5m2")   # 57344 / 2
    28672.0
    """
    arr = real_array(x, "x", why="its amax, and so its scale, would be meaningless")
    return scale_for_amax(float(np.max(np.abs(arr))), fmt, margin=margin, power_of_two=power_of_two)


def scaled_round(
    x: Any,
    scale: float,
    fmt: str | FloatFormat,
    *,
    saturate: bool = True,
    mode: str = "nearest_even",
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """Cast ``x * scale`` to ``fmt`` and scale back: the values a scaled FP8 tensor holds.

    Parameters
    ----------
    x : array_like
        The tensor (NaN and inf are rounded as :func:`~support.numbers.formats.round_to` rounds them).
    scale : float
        A positive, finite scale (see :func:`scale_for_amax`).
    fmt : str or FloatFormat
        The narrow format.
    saturate : bool
        Clamp overflow to ``±fmt.max`` (default, as Transformer Engine does, and torch
        2.13's ``float8_e4m3fn`` cast; torch 2.11 did not saturate); ``False`` gives the
        format's overflow value (NaN for E4M3FN, inf for E5M2), as ml_dtypes does.
    mode, rng
        Rounding mode, as for :func:`support.numbers.formats.round_to`.

    Returns
    -------
    ndarray
        float64, the shape of ``x``.

    Examples
    --------
    >>> scaled_round([1.0, 3.0, 5.0], 128.0, "float8_e4m3fn").tolist()   # 640 saturates to 448
    [1.0, 3.0, 3.5]
    >>> scaled_round([5.0], 128.0, "float8_e4m3fn", saturate=False).tolist()
    [nan]
    """
    fmt = _finite_format(fmt)
    scale = positive_number(scale, "scale", hint="see scale_for_amax")
    saturate = flag(saturate, "saturate")
    arr = real_array(x, "x", allow_empty=True, allow_nan=True, allow_inf=True).astype(np.float64)
    scaled = arr * float(scale)
    return np.asarray(round_to(scaled, fmt, saturate=saturate, mode=mode, rng=rng), dtype=np.float64) / float(scale)


class DelayedScaler:
    """Delayed per-tensor scaling of one tensor stream, as Transformer Engine does it.

    Each call of :meth:`quantize` casts a tensor with the scale computed at the end of
    the previous call, then records the tensor's amax in a history of the last
    ``history_len`` steps and computes the scale for the next call from it:
    ``fmt.max / (2**margin * reduce(history))``, with ``reduce`` the maximum over the
    window (``algo="max"``, this step included) or this step's amax
    (``algo="most_recent"``).  The cast never reads the amax of the tensor it casts: a
    tensor much larger than the previous ones overflows, which ``saturate=True`` (the
    default) clamps to ``±fmt.max``.

    The edge cases follow Transformer Engine's fused update for PyTorch
    (``transformer_engine/common/recipe/delayed_scaling.cu``):

    - the amax ignores NaN elements (TE reduces with ``fmaxf``), so an all-NaN or
      all-zero tensor has amax 0;
    - an amax of 0 is not recorded: history and scale stay as they are (in TE this is
      also what a module that did not run this step looks like);
    - an infinite reduced amax keeps the previous scale (with ``algo="max"``, for as
      long as the inf stays in the window);
    - a scale too large for a float (an amax near the bottom of the float range)
      becomes the largest float64 (TE: the largest float32) instead of inf.

    The history starts as zeros and the scale as ``initial_scale`` (TE: 1).

    Parameters
    ----------
    fmt : str or FloatFormat
        The narrow format, e.g. ``"float8_e4m3fn"``.
    history_len : int
        Length of the amax window (Transformer Engine's ``amax_history_len``; its
        default is 1024).
    algo : {"max", "most_recent"}
        How the history is reduced (``amax_compute_algo``).
    margin : int
        Bits of headroom (see :func:`scale_for_amax`).
    saturate : bool
        Clamp overflow to ``±fmt.max`` (default) or produce the format's overflow value.
    initial_scale : float
        The scale of the first step(s), before any amax is known.

    Attributes
    ----------
    scale : float
        The scale the next call of :meth:`quantize` will use.
    history : numpy.ndarray
        The recorded amaxes, oldest first (zeros before the first steps).

    Examples
    --------
    >>> scaler = DelayedScaler("float8_e4m3fn", history_len=2)
    >>> _ = scaler.quantize([1.0, -2.0]); scaler.scale          # 448 / 2
    224.0
    >>> _ = scaler.quantize([0.5]); scaler.scale                # window max is still 2
    224.0
    >>> _ = scaler.quantize([0.25]); scaler.scale               # 2 has left the window
    896.0
    """

    def __init__(
        self,
        fmt: str | FloatFormat,
        *,
        history_len: int = 1024,
        algo: str = "max",
        margin: int = 0,
        saturate: bool = True,
        initial_scale: float = 1.0,
    ) -> None:
        self.fmt = _finite_format(fmt)
        history_len = integer_in_range(history_len, "history_len", 1, MAX_HISTORY_LEN)
        algo = one_of(algo, "algo", AMAX_ALGOS)
        initial_scale = positive_number(initial_scale, "initial_scale")
        self.history_len = int(history_len)
        self.algo = algo
        self.margin = _check_margin(margin)
        self.saturate = flag(saturate, "saturate")
        self.scale = float(initial_scale)
        self.history = np.zeros(self.history_len)

    def __repr__(self) -> str:
        return (
            f"DelayedScaler({self.fmt.name!r}, history_len={self.history_len}, algo={self.algo!r}, "
            f"margin={self.margin}, saturate={self.saturate}, scale={self.scale!r})"
        )

    def quantize(
        self, x: Any, *, mode: str = "nearest_even", rng: np.random.Generator | None = None
    ) -> np.ndarray:
        """Cast ``x`` with the current scale, then update the history and the scale.

        Returns ``scaled_round(x, scale, fmt)`` (float64, the shape of ``x``).
        """
        arr = real_array(x, "x", allow_nan=True, allow_inf=True).astype(np.float64)
        out = scaled_round(arr, self.scale, self.fmt, saturate=self.saturate, mode=mode, rng=rng)
        amax = float(np.fmax.reduce(np.abs(arr), axis=None, initial=0.0))  # skips NaN, like fmaxf
        if amax == 0:
            return out  # nothing recorded, scale kept
        self.history = np.roll(self.history, -1)
        self.history[-1] = amax
        reduced = float(np.max(self.history)) if self.algo == "max" else amax
        if math.isfinite(reduced):
            target = math.ldexp(self.fmt.max, -self.margin)
            self.scale = min(target / reduced, sys.float_info.max)  # a tiny amax: the largest float
        return out
