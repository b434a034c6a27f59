"""support.inference.harness on a tiny random model: weights restored bit for bit, subsets, hooks,
activation fake-quantization, bits and sizes."""

from __future__ import annotations

import functools

import numpy as np
import pytest
import torch

from support.inference import quantizers as Q
from support.inference.harness import (Method, fake_quantize_activations, layer_type, model_bytes,
                                       quantize_layers, storage_bytes, weight_bits_per_weight)
from support.quant import uniform


class Tiny(torch.nn.Module):
    """Two blocks named like a BERT encoder: layer.N.attention.self.query and layer.N.output.dense."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.layer = torch.nn.ModuleList()
        for _ in range(2):
            block = torch.nn.Module()
            block.query = torch.nn.Linear(128, 128)
            block.dense = torch.nn.Linear(128, 128)
            self.layer.append(block)

    def forward(self, x):
        for block in self.layer:
            x = torch.relu(block.query(x)) + block.dense(x)
        return x


def _tiny():
    model = Tiny()
    layers = {}
    for b, block in enumerate(model.layer):
        layers[f"layer.{b}.attention.self.query"] = block.query
        layers[f"layer.{b}.output.dense"] = block.dense
    return model, layers


X = torch.randn(3, 5, 128, generator=torch.Generator().manual_seed(1))
INT4 = Method(Q.int_per_group)
INT8 = Method(functools.partial(Q.int_per_channel, bits=8))


def _weights(layers):
    return {n: l.weight.detach().clone() for n, l in layers.items()}


def test_weights_change_inside_and_come_back_bit_for_bit():
    model, layers = _tiny()
    before, y_before = _weights(layers), model(X)
    with quantize_layers(layers, INT4) as report:
        assert all(not torch.equal(layers[n].weight, before[n]) for n in layers)
        y_q = model(X)
    assert all(torch.equal(layers[n].weight, before[n]) for n in layers)
    assert torch.equal(model(X), y_before)
    assert not torch.equal(y_q, y_before)
    assert report.bits_per_weight == pytest.approx(4.125)
    assert report.n_weights == 4 * 128 * 128


def test_restored_after_an_exception():
    model, layers = _tiny()
    before = _weights(layers)
    with pytest.raises(RuntimeError):
        with quantize_layers(layers, Method(Q.smoothquant_int8, calibrated=True, activations="tensor"),
                             inputs={n: np.ones((4, 128)) for n in layers}):
            raise RuntimeError("boom")
    assert all(torch.equal(layers[n].weight, before[n]) for n in layers)
    assert all(not l._forward_pre_hooks for l in layers.values())


def test_only_the_named_layers_change():
    _, layers = _tiny()
    before = _weights(layers)
    chosen = [n for n in layers if layer_type(n) == "output.dense"]
    with quantize_layers(layers, INT4, names=chosen) as report:
        for n in layers:
            assert torch.equal(layers[n].weight, before[n]) == (n not in chosen)
    assert report.names == tuple(chosen)


def test_quantized_weight_is_the_quantizer_output():
    _, layers = _tiny()
    name = "layer.1.output.dense"
    w = layers[name].weight.detach().numpy().copy()
    with quantize_layers(layers, INT4, names=[name]):
        np.testing.assert_array_equal(layers[name].weight.detach().numpy(),
                                      uniform.fake_quantize(w, 4, axis=1, group_size=128).astype(np.float32))


def test_a_plan_gives_each_layer_its_method():
    _, layers = _tiny()
    plan = {n: INT8 if n.startswith("layer.0.") else INT4 for n in layers}
    with quantize_layers(layers, plan) as report:
        pass
    assert report.per_layer_bits["layer.0.output.dense"] == pytest.approx(8 + 16 / 128)
    assert report.per_layer_bits["layer.1.output.dense"] == pytest.approx(4.125)
    assert report.bits_per_weight == pytest.approx((8 + 16 / 128 + 4.125) / 2)


def test_activation_hook_quantizes_inputs_and_is_removed():
    model, layers = _tiny()
    seen = {}
    probe = layers["layer.0.attention.self.query"]
    with quantize_layers(layers, Method(Q.int_per_channel, activations="tensor"),
                         names=["layer.0.attention.self.query"]):
        handle = probe.register_forward_pre_hook(lambda m, a: seen.setdefault("x", a[0].clone()))
        model(X)
        handle.remove()
        assert len(probe._forward_pre_hooks) == 1
    expected = fake_quantize_activations(X, "tensor")
    assert torch.equal(seen["x"], expected)
    assert not probe._forward_pre_hooks


def test_smoothquant_hook_divides_then_quantizes():
    model, layers = _tiny()
    name = "layer.0.attention.self.query"
    x_cal = X.reshape(-1, 128).numpy()
    q = Q.smoothquant_int8(layers[name].weight.detach().numpy(), x_cal)
    seen = {}
    with quantize_layers(layers, Method(Q.smoothquant_int8, calibrated=True, activations="tensor"), names=[name],
                         inputs={name: x_cal}):
        # hooks run in registration order: the harness's first, then this recorder
        layers[name].register_forward_pre_hook(lambda m, a: seen.setdefault("x", a[0].clone()))
        model(X)
    expected = fake_quantize_activations(X / torch.from_numpy(q.input_divisor), "tensor")
    assert torch.equal(seen["x"], expected)


@pytest.mark.parametrize("granularity", ["tensor", "token"])
@pytest.mark.parametrize("bits", [4, 8])
def test_fake_quantize_activations_matches_uniform(granularity, bits):
    x = torch.randn(4, 7, 32, generator=torch.Generator().manual_seed(bits)) * 3
    axis = None if granularity == "tensor" else 0
    flat = x.reshape(-1, 32).double().numpy()
    ref = uniform.fake_quantize(flat, bits, axis=axis, scale_dtype="float64")
    got = fake_quantize_activations(x, granularity, bits).reshape(-1, 32).double().numpy()
    np.testing.assert_allclose(got, ref.astype(np.float32), rtol=0, atol=1e-6)


def test_fake_quantize_activations_of_zeros_is_zeros():
    assert torch.equal(fake_quantize_activations(torch.zeros(2, 3)), torch.zeros(2, 3))


@pytest.mark.parametrize("args, error", [((np.ones(3),), TypeError), ((torch.ones(3), "channel"), ValueError),
                                         ((torch.ones(3), "tensor", 1), ValueError),
                                         ((torch.ones(3, dtype=torch.int32),), TypeError)])
def test_fake_quantize_activations_rejects(args, error):
    with pytest.raises(error):
        fake_quantize_activations(*args)


def test_calibrated_method_without_inputs_is_refused():
    _, layers = _tiny()
    before = _weights(layers)
    with pytest.raises(ValueError, match="calibration inputs"):
        with quantize_layers(layers, Method(Q.gptq, calibrated=True)):
            pass
    assert all(torch.equal(layers[n].weight, before[n]) for n in layers)


@pytest.mark.parametrize("kwargs, error", [
    ({"method": "int4"}, TypeError),
    ({"method": INT4, "names": ["no.such.layer"]}, ValueError),
    ({"method": INT4, "names": []}, ValueError),
    ({"method": {"layer.0.output.dense": INT4}, "names": ["layer.0.output.dense"]}, ValueError),
    ({"method": {"layer.0.output.dense": "int4"}}, TypeError),
])
def test_bad_arguments(kwargs, error):
    _, layers = _tiny()
    with pytest.raises(error):
        with quantize_layers(layers, **kwargs):
            pass


def test_layers_must_be_linear():
    with pytest.raises(TypeError):
        with quantize_layers({"x": torch.nn.ReLU()}, INT4):
            pass
    with pytest.raises(TypeError):
        with quantize_layers({}, INT4):
            pass


def test_method_validation():
    with pytest.raises(TypeError):
        Method("not callable")
    with pytest.raises(ValueError):
        Method(Q.nf4, activations="channel")
    with pytest.raises(TypeError):
        Method(Q.nf4, calibrated="yes")


def test_model_and_storage_bytes():
    model, layers = _tiny()
    n = sum(p.numel() for p in model.parameters())
    assert model_bytes(model) == 4.0 * n == storage_bytes(model)
    with quantize_layers(layers, INT4) as report:
        pass
    assert model_bytes(model, report) == pytest.approx(4.0 * (n - 4 * 128 * 128) + 4 * 128 * 128 * 4.125 / 8)
    assert weight_bits_per_weight(layers) == 32.0


def test_storage_of_torchao_and_bitsandbytes_layers():
    torchao_q = pytest.importorskip("torchao.quantization")
    bnb = pytest.importorskip("bitsandbytes")
    model, layers = _tiny()
    torchao_q.quantize_(model, torchao_q.Int8WeightOnlyConfig())
    # int8 codes + a float32 scale and an int8 zero-point per row
    assert weight_bits_per_weight(layers) == pytest.approx(8 + (32 + 8) / 128)
    layer = bnb.nn.Linear4bit(128, 128, quant_type="nf4", compute_dtype=torch.float32)
    layer.weight = bnb.nn.Params4bit(torch.randn(128, 128), requires_grad=False, quant_type="nf4")
    layer = layer.to("cpu")
    n = 128 * 128
    # 4-bit codes; an 8-bit absmax per block of 64 and a float32 one per 256 of those (double
    # quantization); the 16-entry NF4 table and the 256-entry table of the 8-bit absmax, in float32
    expected = (n / 2 + n / 64 + 4 * 1 + 4 * 16 + 4 * 256) * 8 / n
    assert weight_bits_per_weight({"fc": layer}) == pytest.approx(expected)


@pytest.mark.parametrize("name, expected", [("layer.0.attention.self.query", "attention.self.query"),
                                            ("layer.11.output.dense", "output.dense")])
def test_layer_type(name, expected):
    assert layer_type(name) == expected


@pytest.mark.parametrize("bad", ["pooler.dense", "layer.x.output.dense", "layer.1"])
def test_layer_type_rejects(bad):
    with pytest.raises(ValueError):
        layer_type(bad)
