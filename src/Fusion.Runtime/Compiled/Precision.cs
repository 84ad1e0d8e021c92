namespace Fusion;

/// <summary>How a compiled model computes.</summary>
public enum Precision
{
    /// <summary>Every activation and parameter in float32.</summary>
    Float,

    /// <summary>
    /// Mixed precision: fp16 storage and fp16 (tensor-core) kernels for the operators that support it, with float32
    /// accumulation in GEMMs, attention and reductions; operators on the model's keep-list stay float32. The
    /// generated file's precision report lists each operator's precision and each cast.
    /// </summary>
    Half,

    /// <summary>
    /// INT8: the Half plan with each Linear layer (but the patch embedding and those on the keep-list) run as an exact int8 GEMM:
    /// its input quantized with the per-tensor scale of a calibration (the model's <c>Int8Scales</c>, loaded from a scale file
    /// that <c>fusion-run calibrate</c> writes; the quantize is fused into the kernel producing the input), its weight per
    /// output channel at load, and the int32 sums dequantized, biased and activated in the GEMM's generated epilogue.
    /// </summary>
    Int8,

    /// <summary>
    /// FP8 E4M3 (sm_89 and newer on the GPU): as <see cref="Int8"/>, with E4M3 codes and per-tensor scales (the calibrated threshold
    /// / 448 for an input, from the same scale file; max |w| / 448 for a weight), each Linear whose K is a multiple of 16 and N of 8
    /// run as cuBLASLt's FP8 product with the dequantize, bias, activation and the next layer's quantize in its epilogue.
    /// </summary>
    Fp8,
}
