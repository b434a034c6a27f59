"""``llm_int8_matmul(..., variant="bitsandbytes")`` against bitsandbytes' own LLM.int8().

The reference is ``bnb.nn.Linear8bitLt(has_fp16_weights=False, threshold=...)`` in eval mode,
the inference layer of bitsandbytes (on the CPU its int8 product runs through
``int8_vectorwise_quant``, ``int8_mixed_scaled_mm`` and ``int8_mm_dequant``).
"""

import logging

import numpy as np
import pytest

from support.quant.outliers import _bitsandbytes_rowwise_int8, llm_int8_matmul

torch = pytest.importorskip("torch")
logging.getLogger("bitsandbytes").setLevel(logging.ERROR)  # an offline kernel hub's notice
bnb = pytest.importorskip("bitsandbytes", reason="the cross-check needs bitsandbytes")
F = pytest.importorskip("bitsandbytes.functional")


def _bnb_linear8bit(w16: "torch.Tensor", threshold: float) -> "torch.nn.Module":
    """bitsandbytes' inference LLM.int8() layer holding ``w16`` (out, in) as int8."""
    layer = bnb.nn.Linear8bitLt(w16.shape[1], w16.shape[0], bias=False, has_fp16_weights=False,
                                threshold=threshold)
    layer.weight = bnb.nn.Int8Params(w16.clone(), requires_grad=False, has_fp16_weights=False)
    return layer.to("cpu").eval()  # moving the layer to a device quantizes the weights


def _layer(case: str, tokens: int, features: int, out: int, threshold: float, seed: int):
    """Float16 activations (tokens, in) and weights (out, in) with no, some or only outlier columns."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(tokens, features))
    w = rng.normal(scale=0.1, size=(out, features))
    if case == "none":
        x = np.clip(x, -0.9 * threshold, 0.9 * threshold)
    elif case == "some":
        cols = rng.choice(features, size=max(1, features // 16), replace=False)
        x[:, cols] *= threshold                           # sub-threshold values stay in most tokens
        x[rng.integers(tokens), cols] = 1.5 * threshold   # and every such column gets one outlier
    else:  # "all": every column holds at least one outlier
        x[rng.integers(tokens, size=features), np.arange(features)] = -2 * threshold
    return x.astype(np.float16), w.astype(np.float16)


CASES = [(case, tokens, features, out, threshold, seed)
         for seed, (case, tokens, features, out, threshold) in enumerate([
             ("none", 16, 64, 8, 6.0),
             ("none", 1, 32, 4, 6.0),
             ("some", 16, 64, 8, 6.0),
             ("some", 37, 96, 24, 6.0),
             ("some", 1, 32, 4, 6.0),
             ("some", 64, 128, 32, 3.0),
             ("some", 8, 48, 16, 1.5),
             ("all", 16, 64, 8, 6.0),
             ("all", 8, 32, 4, 2.0),
         ])]


@pytest.mark.parametrize("case, tokens, features, out, threshold, seed", CASES)
def test_output_and_outlier_columns_equal_linear8bitlt(case, tokens, features, out, threshold, seed):
    x, w = _layer(case, tokens, features, out, threshold, seed)
    layer = _bnb_linear8bit(torch.from_numpy(w), threshold)
    with torch.no_grad():
        expected = layer(torch.from_numpy(x)).double().numpy()
    ours = llm_int8_matmul(x, w, threshold, variant="bitsandbytes")

    n_outliers = {"none": 0, "some": None, "all": features}[case]
    if n_outliers is not None:
        assert ours.outlier_columns.size == n_outliers
    np.testing.assert_array_equal(ours.outlier_columns, layer.state.idx.numpy())
    # bitsandbytes returns float16 after two roundings (int8 part, then addmm with the outlier
    # part): allow one float16 step relative to the largest term that can be rounded.
    magnitude = (np.abs(x.astype(np.float64)) @ np.abs(w.astype(np.float64)).T).max()
    np.testing.assert_allclose(ours.output, expected, rtol=0, atol=2.0**-10 * magnitude)


@pytest.mark.parametrize("seed", range(3))
def test_float32_inputs_agree_to_the_dequantization_constant(seed):
    # With float32 inputs bitsandbytes returns float32 and multiplies by 6.200124e-05, not
    # 1 / 127**2 = 6.2000124e-05: a relative difference of 1.8e-5, which the tolerance allows.
    x, w = (a.astype(np.float32) for a in _layer("some", 32, 64, 16, 6.0, seed))
    layer = _bnb_linear8bit(torch.from_numpy(w).half(), 6.0)
    with torch.no_grad():
        expected = layer(torch.from_numpy(x)).double().numpy()
    ours = llm_int8_matmul(x, w, variant="bitsandbytes").output
    magnitude = (np.abs(x.astype(np.float64)) @ np.abs(w.astype(np.float64)).T).max()
    np.testing.assert_allclose(ours, expected, rtol=0, atol=3e-5 * magnitude)
    assert np.abs(ours - expected).max() > 0  # the constant shows at float32 precision


@pytest.mark.parametrize("threshold", [0.0, 1.0, 6.0])
@pytest.mark.parametrize("seed", range(3))
def test_codes_and_scales_equal_int8_vectorwise_quant_bit_for_bit(threshold, seed):
    x = np.random.default_rng(seed).normal(scale=2.0, size=(64, 96)).astype(np.float16)
    x[3] = 0  # an all-zero row: codes 0
    codes_bnb, absmax_bnb, cols = F.int8_vectorwise_quant(torch.from_numpy(x.copy()), threshold=threshold)
    x32 = x.astype(np.float32)
    is_big = np.abs(x32) >= threshold if threshold > 0 else np.zeros(x.shape, bool)
    codes, absmax = _bitsandbytes_rowwise_int8(np.where(is_big, 0.0, x32))
    if cols is not None:
        codes[:, cols.numpy()] = 0
    np.testing.assert_array_equal(absmax, absmax_bnb.numpy())
    np.testing.assert_array_equal(codes, codes_bnb.numpy())


@pytest.mark.parametrize("case, tokens, features, out, threshold, seed", [c for c in CASES if c[0] != "none"])
def test_the_paper_variant_misses_bitsandbytes(case, tokens, features, out, threshold, seed):
    # The cross-check can fail: with outliers, the paper's choices (scales from the regular
    # columns only, float weights for the outlier columns) miss bitsandbytes' output by more
    # than twice the tolerance above (without outliers the two variants are the same).
    x, w = _layer(case, tokens, features, out, threshold, seed)
    layer = _bnb_linear8bit(torch.from_numpy(w), threshold)
    with torch.no_grad():
        expected = layer(torch.from_numpy(x)).double().numpy()
    magnitude = (np.abs(x.astype(np.float64)) @ np.abs(w.astype(np.float64)).T).max()
    paper = llm_int8_matmul(x, w, threshold, variant="paper").output
    assert np.abs(paper - expected).max() > 2 * 2.0**-10 * magnitude


def test_bitsandbytes_variant_refuses_values_beyond_float16():
    with pytest.raises(ValueError, match="^x has values beyond float16"):
        llm_int8_matmul(np.full((2, 2), 1e5), np.ones((2, 2)), variant="bitsandbytes")
    with pytest.raises(ValueError, match="variant"):
        llm_int8_matmul(np.ones((2, 2)), np.ones((2, 2)), variant="bnb")
