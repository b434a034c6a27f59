"""Dynamic loss scaling for FP16 training, written out so that each decision can be read.

FP16's smallest subnormal is 2**-24 (about 6e-8): gradients below half of it become zero.
Loss scaling multiplies the loss by a factor ``S`` before the backward pass, so that every
gradient is ``S`` times larger and lands in FP16's range, and divides the gradients by
``S`` before the optimizer step.  A *dynamic* scaler chooses ``S`` as it goes
(Micikevicius et al., 2018; PyTorch's ``torch.amp.GradScaler``):

- if any gradient is inf or NaN, the step is skipped and ``S`` is multiplied by
  ``backoff_factor`` (0.5);
- after ``growth_interval`` consecutive good steps, ``S`` is multiplied by
  ``growth_factor`` (2), to use as much of the range as possible.

:class:`DynamicLossScaler` takes the same four parameters as ``GradScaler`` with the same
defaults, and makes the same decisions step by step (``tests/test_training_loss_scaling.py``
and chapter 13 check this on a real FP16 run).

>>> scaler = DynamicLossScaler(init_scale=8.0, growth_interval=2)
>>> [scaler.update(found_inf) for found_inf in (False, False, True, False)]
[True, True, False, True]
>>> scaler.history
[8.0, 8.0, 16.0, 8.0]
>>> scaler.scale
8.0
"""

from __future__ import annotations

from support._validate import flag, positive_int, positive_number

__all__ = ["DynamicLossScaler"]


class DynamicLossScaler:
    """A dynamic loss scale with GradScaler's rules (growth, backoff, skipped steps).

    Parameters
    ----------
    init_scale : float
        The first scale (GradScaler: 2**16).
    growth_factor : float
        Multiplies the scale after ``growth_interval`` good steps in a row (> 1; default 2).
    backoff_factor : float
        Multiplies the scale after a step with an inf or NaN gradient (in (0, 1); default 0.5).
    growth_interval : int
        Good steps in a row before the scale grows (default 2000).

    Attributes
    ----------
    scale : float
        The scale the next backward pass should use.
    history : list of float
        The scale used at each step so far (before that step's update).
    skipped : int
        Steps skipped because a gradient overflowed.

    Examples
    --------
    >>> s = DynamicLossScaler()
    >>> s.scale, s.update(found_inf=True), s.scale
    (65536.0, False, 32768.0)
    """

    def __init__(
        self,
        init_scale: float = 2.0**16,
        *,
        growth_factor: float = 2.0,
        backoff_factor: float = 0.5,
        growth_interval: int = 2000,
    ) -> None:
        self.scale = positive_number(init_scale, "init_scale")
        self.growth_factor = positive_number(growth_factor, "growth_factor")
        self.backoff_factor = positive_number(backoff_factor, "backoff_factor")
        if self.growth_factor <= 1:
            raise ValueError(f"growth_factor must be > 1, got {growth_factor!r}")
        if self.backoff_factor >= 1:
            raise ValueError(f"backoff_factor must be < 1, got {backoff_factor!r}")
        self.growth_interval = positive_int(growth_interval, "growth_interval")
        self.history: list[float] = []
        self.skipped = 0
        self._good_steps = 0

    def __repr__(self) -> str:
        return f"DynamicLossScaler(scale={self.scale!r}, steps={len(self.history)}, skipped={self.skipped})"

    def update(self, found_inf: bool) -> bool:
        """Record one step and adjust the scale; return True if the step should be applied.

        ``found_inf`` says whether any unscaled gradient of this step is inf or NaN.
        """
        found_inf = flag(found_inf, "found_inf")
        self.history.append(self.scale)
        if found_inf:
            self.scale *= self.backoff_factor
            self._good_steps = 0
            self.skipped += 1
            return False
        self._good_steps += 1
        if self._good_steps == self.growth_interval:
            self.scale *= self.growth_factor
            self._good_steps = 0
        return True
