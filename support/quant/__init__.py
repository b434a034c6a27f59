"""Part II of the book, quantization.

- :mod:`support.quant.uniform`    integer (uniform) quantization: scales, zero-points, groups, int matmul;
- :mod:`support.quant.codebooks`  non-uniform codes: NF4, bitsandbytes FP4, k-means, blockwise absmax;
- :mod:`support.quant.blocks`     block floating point, the OCP MX formats and NVFP4;
- :mod:`support.quant.theory`     exact quantizer MSE on a density, Δ²/12, MSE-optimal clipping;
- :mod:`support.quant.rotations`  Hadamard and random orthogonal rotations (fast Walsh–Hadamard);
- :mod:`support.quant.outliers`   LLM.int8 decomposition, SmoothQuant and AWQ scaling;
- :mod:`support.quant.gptq`       GPTQ's error-compensating column-by-column quantizer.
"""
