"""Part III of the book, second half: hardware rooflines, quantized serving, the practical guide.

Modules are added here as chapters 15–17 need them.

- :mod:`support.inference.hardware`   datasheet numbers of accelerators (dense rates, bandwidth, memory, each
  cited), the roofline, arithmetic intensity of GEMV/GEMM/attention, the decode bound, energy;
- :mod:`support.inference.measure`    the roofline of the machine running the notebook: GEMM rate and triad
  bandwidth, best of a few repeats (CUDA events on a GPU);
- :mod:`support.inference.quantizers` one weight quantizer per method (INT8/INT4 RTN, GPTQ, AWQ,
  SmoothQuant, Hadamard + INT4, NF4, FP8, MXFP4, NVFP4), scales counted in the bits;
- :mod:`support.inference.harness`    apply them to a real model's linear layers (and INT8 to their
  inputs), measure bits, size and time, and restore the FP32 weights;
- :mod:`support.inference.retrieval`  a retrieval task with a known answer, recall@k and MRR;
- :mod:`support.inference.kvcache`    KV-cache size (MHA/GQA/MQA/MLA), KV quantization per channel or per
  token (as KIVI), and the attention output that judges it;
- :mod:`support.inference.planning`   a mixed-precision plan for a bits-per-weight budget, with reasons.
"""
