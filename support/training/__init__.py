"""Part III of the book, first half: numerical stability and mixed-precision training.

Modules are added here as chapters 12–14 need them:

- :mod:`support.training.stability`     softmax, log-sum-exp, cross-entropy, BCE and norms,
  naive and stable, in simulated FP32/BF16/FP16; online softmax;
- :mod:`support.training.harness`       a tiny byte-level transformer LM and a training loop
  with precision modes (FP32, BF16 mixed/pure, FP16 with loss scaling, simulated FP8);
- :mod:`support.training.loss_scaling`  a dynamic loss scaler with GradScaler's rules;
- :mod:`support.training.rounding`      BF16 weight updates: nearest, stochastic, Kahan;
- :mod:`support.training.fp8`           simulated FP8 linear layers with delayed scaling;
- :mod:`support.training.memory`        training and inference memory per GPU, ZeRO stages.
"""
