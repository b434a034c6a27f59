"""Tests for support.training: the harness, loss scaling, BF16 rounding and simulated FP8."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from support.numbers.formats import round_to  # noqa: E402
from support.numbers.scaling import DelayedScaler, scaled_round  # noqa: E402
from support.training.fp8 import DelayedCast, fake_cast  # noqa: E402
from support.training.harness import Adam, LMConfig, TrainConfig, autocast_dtypes, train  # noqa: E402
from support.training.loss_scaling import DynamicLossScaler  # noqa: E402
from support.training.rounding import kahan_add_bf16, nearest_bf16, stochastic_round_bf16  # noqa: E402

SMALL = LMConfig(d_model=32, n_heads=2, n_layers=1, seq_len=16)


# ----------------------------------------------------------------- optimizer
@pytest.mark.parametrize("wd", [0.0, 0.1])
def test_adam_equals_torch_adamw_bit_for_bit(wd):
    torch.manual_seed(0)
    a = torch.nn.Parameter(torch.randn(50, 7))
    b = torch.nn.Parameter(a.detach().clone())
    ours = Adam([a], lr=1e-2, betas=(0.9, 0.95), weight_decay=wd)
    ref = torch.optim.AdamW([b], lr=1e-2, betas=(0.9, 0.95), weight_decay=wd)
    for step in range(5):
        g = torch.randn(50, 7, generator=torch.Generator().manual_seed(step))
        a.grad, b.grad = g.clone(), g.clone()
        ours.step()
        ref.step()
        assert torch.equal(a, b)


def test_adam_bf16_nearest_loses_small_updates():
    p = torch.nn.Parameter(torch.ones(1000, dtype=torch.bfloat16))
    opt = Adam([p], lr=1e-3)                 # first step moves each weight by about lr = 1e-3 < ulp(1)/2
    p.grad = torch.ones_like(p)
    opt.step()
    assert opt.updates_lost == 1.0 and torch.all(p == 1)


def test_adam_rejects_invalid():
    p = [torch.nn.Parameter(torch.ones(2))]
    with pytest.raises(ValueError):
        Adam(p, lr=-1)
    with pytest.raises(ValueError):
        Adam(p, update_rounding="up")
    with pytest.raises(ValueError):
        Adam(p, betas=(1.0, 0.9))


# ----------------------------------------------------------------- harness
def test_training_is_repeatable_and_learns():
    cfg = TrainConfig(steps=20, batch_size=8)
    r1, r2 = train(SMALL, cfg), train(SMALL, cfg)
    assert np.array_equal(r1.losses, r2.losses)
    assert r1.losses[-5:].mean() < r1.losses[:5].mean()
    assert "CPU" in r1.path


def test_seed_changes_the_run():
    r1 = train(SMALL, TrainConfig(steps=5, batch_size=8, seed=0))
    r2 = train(SMALL, TrainConfig(steps=5, batch_size=8, seed=1))
    assert not np.array_equal(r1.losses, r2.losses)


def test_course_scaler_makes_gradscalers_decisions():
    kw = dict(steps=40, batch_size=8, precision="fp16-mixed", growth_interval=5)
    ours = train(SMALL, TrainConfig(loss_scale="dynamic", **kw))
    ref = train(SMALL, TrainConfig(loss_scale="torch", **kw))
    assert np.array_equal(ours.loss_scale, ref.loss_scale)
    assert np.array_equal(ours.skipped, ref.skipped)
    assert np.array_equal(ours.losses, ref.losses)
    assert ours.skipped.any() and len(set(ours.loss_scale)) > 2     # it grew and backed off


def test_fp16_without_scaling_loses_gradients():
    kw = dict(steps=10, batch_size=8, precision="fp16-mixed")
    unscaled = train(SMALL, TrainConfig(loss_scale=None, **kw))
    scaled = train(SMALL, TrainConfig(loss_scale=2.0**12, **kw))
    assert unscaled.zero_grad_fraction.mean() > scaled.zero_grad_fraction.mean()


@pytest.mark.parametrize("precision", ["bf16-mixed", "bf16-pure", "fp8-sim"])
def test_precisions_run_and_learn(precision):
    r = train(SMALL, TrainConfig(steps=20, batch_size=8, precision=precision))
    assert np.all(np.isfinite(r.losses)) and r.losses[-5:].mean() < r.losses[:5].mean()


@pytest.mark.parametrize("rounding", ["stochastic", "kahan"])
def test_bf16_pure_roundings_keep_more_updates(rounding):
    state = train(SMALL, TrainConfig(steps=10, batch_size=8)).model.state_dict()
    kw = dict(steps=10, batch_size=8, precision="bf16-pure", lr=1e-4, warmup=0, min_lr_ratio=1.0)
    nearest = train(SMALL, TrainConfig(**kw), initial_state=state)
    other = train(SMALL, TrainConfig(update_rounding=rounding, **kw), initial_state=state)
    assert other.updates_lost.mean() < nearest.updates_lost.mean()


def test_autocast_inspection():
    d = autocast_dtypes("cpu", "bfloat16")
    assert d["matmul"] == "torch.bfloat16" and d["cross_entropy"] == "torch.float32"


@pytest.mark.parametrize(
    "kwargs",
    [dict(precision="fp64"), dict(steps=0), dict(update_rounding="stochastic"), dict(loss_scale="static"),
     dict(loss_scale=-1.0), dict(state_dtype="int8"), dict(device="tpu"), dict(grad_clip=0.0)],
)
def test_train_config_rejects_invalid(kwargs):
    with pytest.raises((ValueError, TypeError)):
        TrainConfig(**kwargs)


def test_lm_config_rejects_invalid():
    with pytest.raises(ValueError):
        LMConfig(d_model=30, n_heads=4)
    with pytest.raises(TypeError):
        LMConfig(qk_norm="yes")


def test_bf16_capable():
    from support.training.harness import bf16_capable

    assert bf16_capable("cpu") is True
    assert bf16_capable("cuda") == (torch.cuda.is_available() and torch.cuda.get_device_capability() >= (8, 0))
    with pytest.raises(ValueError):
        bf16_capable("tpu")


def test_cuda_refused_without_gpu():
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(ValueError):
        train(SMALL, TrainConfig(steps=1, device="cuda"))


# ----------------------------------------------------------------- loss scaler
def test_dynamic_loss_scaler_rules():
    s = DynamicLossScaler(init_scale=4.0, growth_interval=3)
    decisions = [s.update(f) for f in (False, False, False, True, False)]
    assert decisions == [True, True, True, False, True]
    assert s.history == [4.0, 4.0, 4.0, 8.0, 4.0] and s.scale == 4.0 and s.skipped == 1


@pytest.mark.parametrize("kwargs", [dict(init_scale=0), dict(growth_factor=1.0), dict(backoff_factor=1.5),
                                    dict(growth_interval=0)])
def test_dynamic_loss_scaler_rejects_invalid(kwargs):
    with pytest.raises(ValueError):
        DynamicLossScaler(**kwargs)


def test_dynamic_loss_scaler_flag():
    with pytest.raises(TypeError):
        DynamicLossScaler().update(1)


# ----------------------------------------------------------------- BF16 rounding
def test_nearest_bf16_equals_course_round_to():
    x = torch.randn(10_000, generator=torch.Generator().manual_seed(1)) * 10.0 ** torch.randint(-5, 5, (10_000,))
    ours = nearest_bf16(x).float().numpy()
    assert np.array_equal(ours, round_to(x.numpy(), "bfloat16"))


def test_stochastic_rounding_neighbours_and_unbiased():
    x = torch.randn(2000, generator=torch.Generator().manual_seed(2)).float()
    g = torch.Generator().manual_seed(3)
    draws = torch.stack([stochastic_round_bf16(x, g).float() for _ in range(400)]).numpy()
    xs = x.numpy().astype(np.float64)
    lo, hi = round_to(xs, "bfloat16", mode="down"), round_to(xs, "bfloat16", mode="up")
    assert np.all((draws == lo) | (draws == hi))
    p_up = (draws == hi).mean(axis=0)
    expected = np.where(hi > lo, (xs - lo) / np.where(hi > lo, hi - lo, 1), 0.0)
    assert np.abs(p_up - expected).max() < 0.1                        # 400 draws: sd <= 0.025
    # the course's stochastic round_to has the same distribution
    ref = round_to(np.repeat(xs[None], 400, 0), "bfloat16", mode="stochastic", rng=np.random.default_rng(0))
    assert abs(draws.mean() - ref.mean()) < 1e-3


def test_stochastic_rounding_keeps_specials():
    x = torch.tensor([float("inf"), float("-inf"), float("nan"), 0.0, -0.0, 1.0])
    out = stochastic_round_bf16(x, torch.Generator()).float()
    assert out[0] == float("inf") and out[1] == float("-inf") and torch.isnan(out[2])
    assert out[3:].tolist() == [0.0, -0.0, 1.0]


def test_stochastic_rounding_rejects():
    with pytest.raises(TypeError):
        stochastic_round_bf16(torch.ones(2, dtype=torch.float64), torch.Generator())
    with pytest.raises(TypeError):
        stochastic_round_bf16(torch.ones(2), None)


def test_kahan_tracks_the_exact_sum():
    w = torch.ones(1, dtype=torch.bfloat16)
    c = torch.zeros(1, dtype=torch.bfloat16)
    for _ in range(10_000):
        w, c = kahan_add_bf16(w, torch.full((1,), 1e-3), c)
    exact = 1 + 10_000 * np.float32(1e-3).astype(np.float64)
    # round to nearest stays at 1 (1e-3 < ulp(1)/2); Kahan ends within two BF16 spacings (2**-4 at 11)
    assert (torch.ones(1, dtype=torch.bfloat16) + 1e-3).item() == 1.0
    assert abs(float(w) - exact) <= 2 * 2.0**-4


# ----------------------------------------------------------------- FP8
@pytest.mark.parametrize("fmt", ["float8_e4m3fn", "float8_e5m2"])
@pytest.mark.parametrize("scale", [1.0, 2.0**10, 37.5, 1e-3])
def test_fake_cast_equals_scaled_round(fmt, scale):
    x = torch.randn(5000, generator=torch.Generator().manual_seed(4)) * 10.0 ** torch.randint(-6, 4, (5000,))
    ours = fake_cast(x.double(), scale, fmt).numpy()
    assert np.array_equal(ours, scaled_round(x.double().numpy(), scale, fmt, saturate=True))


def test_delayed_cast_follows_delayed_scaler():
    cast, ref = DelayedCast("float8_e4m3fn", history_len=3), DelayedScaler("float8_e4m3fn", history_len=3)
    rng = np.random.default_rng(5)
    for k in range(8):
        x = rng.normal(size=100) * 2.0 ** rng.integers(-4, 4)
        ours = cast(torch.from_numpy(x)).numpy()
        assert np.array_equal(ours, ref.quantize(x))
        assert cast.scale == ref.scale


def test_fake_cast_rejects():
    with pytest.raises(ValueError):
        fake_cast(torch.ones(2), 0.0, "float8_e4m3fn")
    with pytest.raises(ValueError):
        fake_cast(torch.ones(2), 1.0, "float8_e3m4")
    with pytest.raises(TypeError):
        fake_cast([1.0], 1.0, "float8_e5m2")


# ----------------------------------------------------------------- GPU (skipped without CUDA)
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


@needs_cuda
@pytest.mark.parametrize("precision", ["fp32", "bf16-mixed", "bf16-pure", "fp16-mixed", "fp8-sim"])
def test_cuda_runs(precision):
    from support.training.harness import bf16_capable

    if precision.startswith("bf16") and not bf16_capable("cuda"):
        pytest.skip("no BF16 tensor cores")
    r = train(SMALL, TrainConfig(steps=20, batch_size=8, precision=precision, device="cuda"))
    assert np.all(np.isfinite(r.losses)) and r.losses[-5:].mean() < r.losses[:5].mean() and "GPU" in r.path


@needs_cuda
def test_cuda_course_scaler_matches_gradscaler():
    kw = dict(steps=30, batch_size=8, precision="fp16-mixed", growth_interval=5, device="cuda")
    ours, ref = train(SMALL, TrainConfig(loss_scale="dynamic", **kw)), train(SMALL, TrainConfig(loss_scale="torch", **kw))
    assert np.array_equal(ours.loss_scale, ref.loss_scale) and np.array_equal(ours.skipped, ref.skipped)


@needs_cuda
def test_real_fp8_matmul_matches_simulation():
    if torch.cuda.get_device_capability() < (8, 9):
        pytest.skip("FP8 tensor cores need compute capability 8.9")
    cfg = LMConfig(d_model=64, n_heads=4, n_layers=1, seq_len=32)      # sizes multiples of 16
    kw = dict(steps=10, batch_size=8, precision="fp8-sim", device="cuda")
    real = train(cfg, TrainConfig(fp8_real_matmul=True, **kw))
    sim = train(cfg, TrainConfig(**kw))
    assert "torch._scaled_mm" in real.path
    assert np.allclose(real.losses, sim.losses, rtol=1e-3)    # same FP8 values, accumulation order differs


# ----------------------------------------------------------------- the fast paths equal the plain computations
def test_adam_foreach_update_equals_adamw_over_several_tensors():
    torch.manual_seed(1)
    shapes = [(7, 5), (5,), (3, 4, 2)]
    ours_p = [torch.nn.Parameter(torch.randn(s)) for s in shapes]
    ref_p = [torch.nn.Parameter(p.detach().clone()) for p in ours_p]
    ours = Adam(ours_p, lr=3e-3, weight_decay=0.1)
    ref = torch.optim.AdamW(ref_p, lr=3e-3, weight_decay=0.1, foreach=False)
    for step in range(4):
        for a, b in zip(ours_p, ref_p):
            a.grad = torch.randn(a.shape, generator=torch.Generator().manual_seed(step))
            b.grad = a.grad.clone()
        ours.step()
        ref.step()
    assert all(torch.equal(a, b) for a, b in zip(ours_p, ref_p))


def test_norm_and_zero_fraction_equal_the_plain_computation():
    from support.training.harness import _norm_and_zero_fraction

    gen = torch.Generator().manual_seed(2)
    for dtype in (torch.float32, torch.bfloat16, torch.float16):
        grads = [(torch.randn(s, generator=gen) * (torch.rand(s, generator=gen) > 0.3)).to(dtype)
                 for s in [(6, 4), (9,), (2, 3, 5)]]
        grads[1][0] = float("nan")
        norm, fraction = _norm_and_zero_fraction(grads)
        plain = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g.float()) for g in grads]))
        assert torch.equal(norm, plain) or (norm.isnan() and plain.isnan())
        assert fraction == sum(int((g == 0).sum()) for g in grads) / sum(g.numel() for g in grads)


def test_future_mask_is_the_complement_of_the_causal_mask():
    from support.training.harness import _future_mask

    assert torch.equal(_future_mask(5, torch.device("cpu")), ~torch.ones(5, 5, dtype=torch.bool).tril())


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float16, torch.float64])
def test_fp8_amax_equals_nan_to_num_max(dtype):
    from support.training.fp8 import _amax

    x = torch.randn(200, generator=torch.Generator().manual_seed(3)).to(dtype)
    cases = [x, x.clone().fill_(0), torch.cat([x, torch.tensor([float("nan")], dtype=dtype)]),
             torch.cat([x, torch.tensor([float("-inf")], dtype=dtype)]), torch.tensor([float("nan")], dtype=dtype)]
    for t in cases:
        wide = torch.promote_types(dtype, torch.float32)
        assert _amax(t) == float(torch.nan_to_num(t.abs().to(wide), nan=0.0).max())


def test_delayed_cast_records_the_history_as_the_scaler_does():
    """Zeros (not recorded), a NaN element, an infinite element and a tiny amax, as DelayedScaler.quantize."""
    cast, ref = DelayedCast("float8_e5m2", history_len=3), DelayedScaler("float8_e5m2", history_len=3)
    tensors = [[1.0, -3.0], [0.0, 0.0], [float("nan"), 0.5], [2.0, float("inf")], [1e-300, 0.0], [7.0], [0.25]]
    for values in tensors:
        x = torch.tensor(values, dtype=torch.float64)
        out = cast(x).numpy()
        magnitude = np.nan_to_num(np.abs(values), nan=0.0, posinf=np.finfo(np.float64).max)
        with np.errstate(over="ignore"):         # the amax the cast records (inf: float64's largest)
            ref.quantize(magnitude)
        assert np.array_equal(cast.scaler.history, ref.history) and cast.scale == ref.scale
        assert out.shape == x.shape


def test_adam_does_not_import_torch_dynamo():
    """torch.optim.Optimizer's dynamo-disabled methods import torch._dynamo (seconds) on first call."""
    import subprocess
    import sys
    from pathlib import Path

    code = ("import sys, torch\nfrom support.training.harness import Adam\n"
            "p = torch.nn.Parameter(torch.ones(2)); opt = Adam([p]); p.grad = torch.ones(2); opt.step()\n"
            "opt.zero_grad()\nprint('torch._dynamo' in sys.modules)")
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root)
    assert out.stdout.strip() == "False"
