using Fusion.Cuda.Gemm;

namespace Fusion.Cuda.Fused;

/// <summary>
/// What the fused MLP kernels (<see cref="FusedMlp"/>, <see cref="ClusterMlp"/>) ask of the two GEMMs they replace and of their
/// operands, whatever the kernel's own shapes: plain fp16 Linears (no quantization, no convolution, no padded K), the up projection's
/// epilogue bias + GELU and the down projection's bias + a residual added last (cuBLASLt's forms, as the fp16 plan writes them), an
/// fp16 result, and operands whose shapes chain: x [rows, C], w1 [H, C], w2 [C, H], the residual like x.
/// </summary>
internal static class MlpOperands
{
    /// <summary>Why the pair cannot run as one kernel (an English reason), or null when it can as far as the operands go.</summary>
    public static string? WhyNot(GemmKernel up, GemmKernel down, DType io, CudaTensor x, CudaTensor w1, CudaTensor w2,
        IReadOnlyList<CudaTensor> upInputs, IReadOnlyList<CudaTensor> downInputs)
    {
        if (up.Int8 || up.Fp8 || up.Conv is not null || down.Int8 || down.Fp8 || down.Conv is not null) return "quantized or convolution GEMMs";
        if (up.KW != up.K || down.KW != down.K || down.K != up.N || down.N != up.K)
            return $"{up.K} → {up.N} features, then {down.K} → {down.N}: not an MLP's chain of unpadded Linears";
        if (up.Cublas is not { Activation: Activation.Gelu or Activation.GeluTanh, Bias: >= 0, Residual: < 0, Scale: < 0, OutScale: < 0 } u || upInputs.Count != 1)
            return $"{up.Name}'s epilogue is not bias + GELU";
        if (down.Cublas is not { Activation: Activation.None, Bias: >= 0, Residual: >= 0, ResidualFirst: false, Scale: < 0, OutScale: < 0 } d || downInputs.Count != 2)
            return $"{down.Name}'s epilogue is not bias + a residual";
        if (d.ToIo && io != DType.Float16) return $"{down.Name} stores the run's io type, {io.ShortName()}";
        var (b1, b2, residual) = (upInputs[u.Bias], downInputs[d.Bias], downInputs[d.Residual]);
        if (x.DType != DType.Float16 || w1.DType != DType.Float16 || w2.DType != DType.Float16 || b1.DType != DType.Float16 || b2.DType != DType.Float16
            || residual.DType != DType.Float16)
            return "operands not all fp16";
        int c = up.K, h = up.N;
        if (x.Rank == 0 || x.Shape[-1] != c || residual.ElementCount != x.ElementCount || residual.Shape[-1] != c
            || w1.Shape != new Shape(h, c) || w2.Shape != new Shape(c, h) || b1.ElementCount != h || b2.ElementCount != c)
            return $"operand shapes x {x.Shape}, w1 {w1.Shape}, w2 {w2.Shape}, residual {residual.Shape}";
        if (x.ElementCount / c > int.MaxValue / c) return $"{x.ElementCount / c} rows: the kernels index rows in 32 bits";
        return null;
    }
}
