"""Quantize the linear layers of a real PyTorch model, measure it, and put it back.

The harness applies a weight quantizer of :mod:`support.inference.quantizers` to every
``nn.Linear`` of a model, or to a chosen subset (one layer, one layer type), for the
duration of a ``with`` block, and restores the FP32 weights afterwards, bit for bit:

>>> import torch
>>> from support.inference import quantizers
>>> torch.manual_seed(0)  # doctest: +ELLIPSIS
<torch._C.Generator object at ...>
>>> layers = {"fc": torch.nn.Linear(256, 8)}
>>> before = layers["fc"].weight.detach().clone()
>>> with quantize_layers(layers, Method(quantizers.int_per_group)) as report:
...     changed = not torch.equal(layers["fc"].weight, before)
>>> changed, report.bits_per_weight, torch.equal(layers["fc"].weight, before)
(True, 4.125, True)

A :class:`Method` is a weight quantizer, whether it needs calibration inputs, and an
optional *activation* quantizer: dynamic symmetric INT8 fake quantization of each
layer's input, per tensor or per token, applied by a forward pre-hook (for W8A8
methods such as SmoothQuant, whose pre-hook also divides the input by the smoothing
factors).  :class:`QuantizationReport` gives the bits per weight including scales,
the size of the quantized weights, and the time the quantization took;
:func:`model_bytes` the size of the whole model (parameters that are not quantized
weights stay in FP32).

torch is imported inside the functions that need it.
"""

from __future__ import annotations

import time
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np

from support._validate import flag, integer_in_range, one_of, positive_int, positive_number

__all__ = [
    "Method",
    "QuantizationReport",
    "quantize_layers",
    "fake_quantize_activations",
    "model_bytes",
    "storage_bytes",
    "weight_bits_per_weight",
    "layer_type",
]

ACTIVATION_GRANULARITIES = ("tensor", "token")


@dataclass(frozen=True)
class Method:
    """How to quantize one linear layer.

    Attributes
    ----------
    weight : collections.abc.Callable
        ``weight(w, x) -> QuantizedWeight``: ``w`` the FP32 weight (out, in) as a numpy
        array, ``x`` the layer's calibration inputs (tokens, in) or ``None``; see
        :mod:`support.inference.quantizers`.
    calibrated : bool
        The quantizer needs calibration inputs (GPTQ, AWQ, SmoothQuant).
    activations : str or None
        ``'tensor'`` or ``'token'`` to quantize each layer's input too: dynamic symmetric INT8 with one scale per
        tensor (per batch) or one per token.  ``None``: weights only.

    Examples
    --------
    >>> from support.inference.quantizers import gptq, int_per_channel
    >>> Method(int_per_channel).calibrated, Method(gptq, calibrated=True).calibrated
    (False, True)
    """

    weight: Callable[..., Any]
    calibrated: bool = False
    activations: str | None = None

    def __post_init__(self) -> None:
        if not callable(self.weight):
            raise TypeError(f"Method.weight must be a quantizer function, got {self.weight!r}")
        flag(self.calibrated, "calibrated")
        if self.activations is not None:
            one_of(self.activations, "activations", ACTIVATION_GRANULARITIES)


@dataclass(frozen=True)
class QuantizationReport:
    """What one application of :func:`quantize_layers` cost.

    Attributes
    ----------
    names : tuple of str
        The layers quantized.
    n_weights : int
        Their number of weights.
    weight_bits : float
        Their storage after quantization, in bits, scales included.
    seconds : float
        Wall time spent in the weight quantizers (calibration activations not included).
    per_layer_bits : dict
        Bits per weight of each quantized layer.

    Examples
    --------
    >>> r = QuantizationReport(names=("fc",), n_weights=256, weight_bits=2112.0, seconds=0.0,
    ...                        per_layer_bits={"fc": 8.25})
    >>> r.bits_per_weight, r.weight_bytes
    (8.25, 264.0)
    """

    names: tuple[str, ...]
    n_weights: int
    weight_bits: float
    seconds: float
    per_layer_bits: Mapping[str, float]

    def __post_init__(self) -> None:
        if (not isinstance(self.names, tuple) or not self.names
                or not all(isinstance(n, str) for n in self.names)):
            raise TypeError(f"names must be a non-empty tuple of layer names, got {self.names!r}")
        positive_int(self.n_weights, "n_weights")
        positive_number(self.weight_bits, "weight_bits")
        positive_number(self.seconds, "seconds", allow_zero=True)
        if (not isinstance(self.per_layer_bits, Mapping) or set(self.per_layer_bits) != set(self.names)):
            raise ValueError("per_layer_bits must be a dict with one entry for each of names")
        for name, bits in self.per_layer_bits.items():
            positive_number(bits, f"per_layer_bits[{name!r}]")

    @property
    def bits_per_weight(self) -> float:
        """Average storage per quantized weight, scales included."""
        return self.weight_bits / self.n_weights

    @property
    def weight_bytes(self) -> float:
        """Storage of the quantized weights in bytes."""
        return self.weight_bits / 8


def layer_type(name: str) -> str:
    """The type of a layer named like ``layer.3.attention.self.query``: the part after the block number.

    Examples
    --------
    >>> layer_type("layer.3.attention.self.query"), layer_type("layer.0.output.dense")
    ('attention.self.query', 'output.dense')
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a layer name (str), got {type(name).__name__}")
    parts = name.split(".")
    if len(parts) < 3 or parts[0] != "layer" or not parts[1].isdigit():
        raise ValueError(f"expected a name like 'layer.<block>.<type>', got {name!r}")
    return ".".join(parts[2:])


def fake_quantize_activations(x: Any, granularity: str = "tensor", bits: int = 8) -> Any:
    """Dynamic symmetric INT-b fake quantization of a torch tensor, per tensor or per token.

    ``scale = max|x| / (2**(bits-1) - 1)`` over the whole tensor or over the last axis
    (one scale per token), computed in float64 and kept in full precision;
    ``x_hat = round_half_even(x / scale) * scale``, returned in ``x``'s dtype.  The same
    as :func:`support.quant.uniform.fake_quantize` with ``scale_dtype="float32"``
    (up to the rounding of the scale to float32).

    Examples
    --------
    >>> import torch
    >>> fake_quantize_activations(torch.tensor([[1.0, -0.5, 127.0]])).tolist()
    [[1.0, -0.0, 127.0]]
    """
    import torch

    granularity = one_of(granularity, "granularity", ACTIVATION_GRANULARITIES)
    bits = integer_in_range(bits, "bits", 2, 16)
    if not torch.is_tensor(x) or not x.is_floating_point():
        raise TypeError(f"x must be a floating-point torch tensor, got {type(x).__name__}")
    qmax = 2 ** (bits - 1) - 1
    x = x.detach()
    # max|x| is exact in x's own dtype; the scale and the rounding are computed in float64,
    # in place on one float64 copy (the activations of a whole batch can be large).
    amax = (x.abs().amax() if granularity == "tensor" else x.abs().amax(dim=-1, keepdim=True)).double()
    scale = torch.where(amax > 0, amax / qmax, torch.ones_like(amax))
    xd = x.double()
    return xd.div_(scale).round_().clamp_(-qmax, qmax).mul_(scale).to(x.dtype)


def _check_layers(layers: object) -> Mapping[str, Any]:
    import torch

    if not isinstance(layers, Mapping) or not layers:
        raise TypeError("layers must be a non-empty dict {name: torch.nn.Linear}, e.g. support.models.linear_layers(model)")
    for name, layer in layers.items():
        if not isinstance(layer, torch.nn.Linear):
            raise TypeError(f"layers[{name!r}] must be a torch.nn.Linear, got {type(layer).__name__}")
    return layers


def _plan(layers: Mapping[str, Any], method: object, names: Sequence[str] | None) -> dict[str, Method]:
    if names is not None and (isinstance(names, str) or not isinstance(names, Sequence)
                              or not all(isinstance(n, str) for n in names)):
        raise TypeError(f"names must be a list of layer names, got {names!r}")
    if isinstance(method, Method):
        chosen = list(layers) if names is None else list(names)
        plan = {name: method for name in chosen}
    elif isinstance(method, Mapping):
        if names is not None:
            raise ValueError("give names only with a single Method; a plan {name: Method} names its layers")
        plan = dict(method)
        for name, m in plan.items():
            if not isinstance(m, Method):
                raise TypeError(f"plan[{name!r}] must be a Method, got {type(m).__name__}")
    else:
        raise TypeError(f"method must be a Method or a dict {{name: Method}}, got {type(method).__name__}")
    if not plan:
        raise ValueError("no layer to quantize: names is empty")
    unknown = [n for n in plan if n not in layers]
    if unknown:
        raise ValueError(f"unknown layer name(s) {unknown[:3]}; allowed: the keys of layers, e.g. {next(iter(layers))!r}")
    return plan


def quantize_layers(
    layers: Mapping[str, Any],
    method: Method | Mapping[str, Method],
    *,
    names: Sequence[str] | None = None,
    inputs: Mapping[str, np.ndarray] | None = None,
) -> AbstractContextManager[QuantizationReport]:
    """Quantize linear layers in place for the duration of a ``with`` block.

    The arguments are checked when the function is called; the weights change when the
    ``with`` block is entered.

    Parameters
    ----------
    layers : dict of str to torch.nn.Linear
        The model's linear layers, e.g. ``support.models.linear_layers(model)``.
    method : Method or dict of str to Method
        One method for the layers in ``names`` (all layers by default), or a plan
        giving each layer to quantize its own method (mixed precision).
    names : sequence of str, optional
        With a single method: the layers to quantize (one layer, one layer type...).
    inputs : dict of str to numpy.ndarray, optional
        Calibration inputs of each layer, shape (tokens, in), e.g. from
        ``support.models.capture_linear_inputs``; required by calibrated methods.

    Returns
    -------
    contextlib.AbstractContextManager
        Entering it quantizes the layers and gives a :class:`QuantizationReport`.

    Notes
    -----
    On exit, normal or by an exception, every weight gets its FP32 values back
    (the same bits) and every hook is removed.

    Examples
    --------
    >>> import torch
    >>> from support.inference.quantizers import int_per_channel
    >>> _ = torch.manual_seed(0)
    >>> layers = {"fc": torch.nn.Linear(64, 4, bias=False)}
    >>> before = layers["fc"].weight.detach().clone()
    >>> with quantize_layers(layers, Method(int_per_channel)) as report:
    ...     report.bits_per_weight, bool((layers["fc"].weight != before).any())
    (8.25, True)
    >>> bool(torch.equal(layers["fc"].weight, before))   # the FP32 weights are back
    True
    """
    layers = _check_layers(layers)
    plan = _plan(layers, method, names)
    if inputs is not None and not isinstance(inputs, Mapping):
        raise TypeError(f"inputs must be a dict {{layer name: calibration inputs}}, got {type(inputs).__name__}")
    return _quantized(layers, plan, inputs)


@contextmanager
def _quantized(layers: Mapping[str, Any], plan: Mapping[str, Method],
               inputs: Mapping[str, np.ndarray] | None) -> Iterator[QuantizationReport]:
    """The body of :func:`quantize_layers`, once its arguments are checked."""
    import torch

    saved: dict[str, Any] = {}
    hooks = []
    per_layer: dict[str, float] = {}
    weight_bits, n_weights, seconds = 0.0, 0, 0.0
    try:
        for name, m in plan.items():
            layer = layers[name]
            x = None
            if m.calibrated:
                if inputs is None or name not in inputs:
                    raise ValueError(f"the method for {name!r} needs calibration inputs: pass inputs={{name: x}}")
                x = inputs[name]
            w = layer.weight.detach().cpu().numpy()
            start = time.perf_counter()
            q = m.weight(w, x) if m.calibrated else m.weight(w)
            seconds += time.perf_counter() - start
            saved[name] = layer.weight.detach().clone()
            with torch.no_grad():
                layer.weight.copy_(torch.from_numpy(q.weight))
            per_layer[name] = q.bits_per_weight
            weight_bits += q.bits_per_weight * w.size
            n_weights += w.size
            if q.input_divisor is not None or m.activations is not None:
                hooks.append(layer.register_forward_pre_hook(_input_hook(q.input_divisor, m.activations)))
        yield QuantizationReport(names=tuple(plan), n_weights=n_weights, weight_bits=weight_bits,
                                 seconds=seconds, per_layer_bits=per_layer)
    finally:
        for hook in hooks:
            hook.remove()
        with torch.no_grad():
            for name, weight in saved.items():
                layers[name].weight.copy_(weight)


def _input_hook(divisor: np.ndarray | None, activations: str | None) -> Callable:
    import torch

    div = None if divisor is None else torch.from_numpy(divisor)

    def hook(module, args):
        (x, *rest) = args
        if div is not None:
            x = x / div.to(x.dtype)
        if activations is not None:
            x = fake_quantize_activations(x, activations)
        return (x, *rest)

    return hook


def model_bytes(model: Any, report: QuantizationReport | None = None) -> float:
    """Size of a model's parameters in bytes: FP32, except the weights ``report`` quantized.

    Examples
    --------
    >>> import torch
    >>> model_bytes(torch.nn.Linear(4, 2))  # (8 weights + 2 biases) * 4 bytes
    40.0
    """
    import torch

    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    total = sum(p.numel() for p in model.parameters())
    if report is None:
        return 4.0 * total
    if not isinstance(report, QuantizationReport):
        raise TypeError(f"report must be a QuantizationReport, got {type(report).__name__}")
    return 4.0 * (total - report.n_weights) + report.weight_bytes


def _tensor_bytes(t: Any) -> int:
    """Bytes of a tensor, looking inside tensor subclasses (torchao) and bitsandbytes 4-bit weights."""
    import torch

    if hasattr(t, "quant_state") and t.quant_state is not None:  # bitsandbytes Params4bit
        state = t.quant_state.as_dict(packed=False)
        inner = [v for v in state.values() if torch.is_tensor(v)]
        return t.data.numel() * t.data.element_size() + sum(v.numel() * v.element_size() for v in inner)
    if type(t) not in (torch.Tensor, torch.nn.Parameter) and hasattr(t, "__tensor_flatten__"):
        names, _ = t.__tensor_flatten__()  # a tensor subclass made of inner tensors (torchao)
        return sum(_tensor_bytes(getattr(t, name)) for name in names)
    return t.numel() * t.element_size()


def storage_bytes(model: Any) -> int:
    """Bytes that a model's parameters really occupy, whatever their type.

    Plain tensors count ``numel * element_size``; a tensor subclass that stores its
    data in inner tensors (torchao's ``Int8Tensor``: int8 codes, scales, zero-points)
    counts those; a bitsandbytes ``Params4bit`` counts its packed codes and every
    tensor of its quantization state (block scales, their own scales, code tables).

    Examples
    --------
    >>> import torch
    >>> storage_bytes(torch.nn.Linear(4, 2))
    40
    """
    import torch

    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    return int(sum(_tensor_bytes(t) for t in model.parameters()))


def weight_bits_per_weight(layers: Mapping[str, Any]) -> float:
    """Average storage per weight of linear layers' weights (biases excluded), in bits.

    Works for FP32 layers, torchao-quantized layers and bitsandbytes ``Linear4bit``
    layers alike (see :func:`storage_bytes`).

    Examples
    --------
    >>> import torch
    >>> weight_bits_per_weight({"fc": torch.nn.Linear(4, 2)})
    32.0
    """
    layers = _check_layers(layers)
    bits = sum(8 * _tensor_bytes(layer.weight) for layer in layers.values())
    count = sum(layer.in_features * layer.out_features for layer in layers.values())
    return bits / count
