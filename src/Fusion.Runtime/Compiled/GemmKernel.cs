using Fusion.Compiler;

namespace Fusion;

/// <summary>
/// A Linear layer's GEMM with the pointwise chain after it as its epilogue: the GEMM template specialized for N and K with the
/// epilogue printed into it (<see cref="CudaSource"/>), the same epilogue as a kernel of its own (<see cref="Epilogue"/>, which
/// reads the product from its "acc" buffer: the CPU twin, and the second kernel of the cuBLASLt path), and the cuBLASLt epilogue
/// doing the same work when cuBLASLt has one (<see cref="Cublas"/>). An <see cref="Int8"/> kernel is the template's int8 variant: x and
/// the weight int8, exact int32 sums, each rounded to a float for the epilogue (whose first link is typically the dequantize); it runs
/// on the template alone (no cuBLASLt epilogue, no ILGPU version). An <see cref="Fp8"/> kernel is the Fp8 plan's product of FP8 E4M3
/// codes: cuBLASLt's FP8 product alone (no template source), with its own epilogue (<see cref="Cublas"/>: the scales, bias,
/// activation, residual, output quantize) or the epilogue kernel after a float32 product.
/// </summary>
public sealed class GemmKernel : IKernel
{
    private readonly Lazy<string> _sourceHash;

    public GemmKernel(string name, int n, int k, int kw, string cudaSource, GeneratedKernel epilogue, CublasEpilogue? cublas, Type? ilgpuKernels = null,
        bool int8 = false, bool fp8 = false, ConvolutionShape? conv = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(cudaSource);
        ArgumentNullException.ThrowIfNull(epilogue);
        if (n <= 0 || k <= 0) throw new FusionException($"GEMM kernel {name}: N = {n} and K = {k} must be positive");
        if (fp8)
        {
            if (int8) throw new FusionException($"GEMM kernel {name} cannot be both int8 and FP8");
            if (k % 16 != 0 || n % 8 != 0 || kw != k)
                throw new FusionException($"GEMM kernel {name} is FP8 with N = {n}, K = {k}, KW = {kw}: cuBLASLt's FP8 product needs K a multiple of 16, N of 8 and the weight unpadded (KW = K)");
            if (cudaSource.Length > 0 || ilgpuKernels is not null)
                throw new FusionException($"GEMM kernel {name} is FP8: it runs on cuBLASLt alone, so it has no template source and no ILGPU version");
            if (cublas is { Scale: < 0 } form)
                throw new FusionException($"GEMM kernel {name} is FP8: its cuBLASLt epilogue needs the dequantize factor (Scale = {form.Scale})");
        }
        else if (cublas is { Scale: >= 0 } or { OutScale: >= 0 })
            throw new FusionException($"GEMM kernel {name}: only an FP8 product's cuBLASLt epilogue takes a scale or an output scale");
        else if (kw != GemmRows.Stride(k, int8))
            throw new FusionException($"GEMM kernel {name} reads the weight with row stride KW = {kw}, expected {GemmRows.Stride(k, int8)} "
                + $"(K = {k} rounded up to a multiple of {GemmRows.Vector(int8)}{(int8 ? " for int8" : "")})");
        if (int8)
        {
            // cuBLASLt's int8 products have no per-channel dequantize (no alpha vector, no bias epilogue, no float output): the int8
            // variant runs on the template alone (its CUDA C, or its ILGPU version where the generator printed one).
            if (cublas is not null)
                throw new FusionException($"GEMM kernel {name} is int8: it has no cuBLASLt epilogue (cuBLASLt cannot dequantize per channel), so none may be given");
            if (k > Fusion.Kernels.Cpu.Int8Gemm.MaxDepth)
                throw new FusionException($"GEMM kernel {name} is int8 with K = {k}: at most {Fusion.Kernels.Cpu.Int8Gemm.MaxDepth}, so no int32 sum can overflow");
        }
        if (conv is not null)
        {
            if (fp8)
                throw new FusionException($"GEMM kernel {name} is an implicit-GEMM convolution: fp16 or int8 on the templates (or cuBLASLt after a gather) only");
            if (!ConvGemm.Fits(conv.Channels, int8) || k != conv.Geometry.Depth || conv.OutHeight < 1 || conv.OutWidth < 1)
                throw new FusionException($"GEMM kernel {name}: convolution {conv.Geometry} needs channels a multiple of {ConvGemm.ChunkChannels(int8)}{(int8 ? " (int8)" : "")}, K = k·k·C = {conv.Geometry.Depth} (K is {k}) and a window that fits");
        }
        Conv = conv;
        Int8 = int8;
        Fp8 = fp8;
        Name = name;
        N = n;
        K = k;
        KW = kw;
        CudaSource = cudaSource;
        Epilogue = epilogue;
        Cublas = cublas;
        IlgpuKernels = ilgpuKernels;
        _sourceHash = new Lazy<string>(() => Cuda.KernelCache.Key(cudaSource, epilogue.CudaSource)[..16]);
        _ilgpuMethods = new PerIoType<System.Reflection.MethodInfo?>(FindIlgpuMethod);
    }

    private readonly PerIoType<System.Reflection.MethodInfo?> _ilgpuMethods;

    /// <summary>A short hash of the template source and the epilogue's, computed once: part of the fast-run key built at every run.</summary>
    internal string SourceHash => _sourceHash.Value;

    public string Name { get; }

    /// <summary>Output features (the weight's rows).</summary>
    public int N { get; }

    /// <summary>Input features (the weight's columns).</summary>
    public int K { get; }

    /// <summary>The weight row stride the template reads: K rounded up to a multiple of 8, or of 16 for int8 (the weight is zero-padded to it once).</summary>
    public int KW { get; }

    /// <summary>Whether this is the template's int8 variant: x and the weight <see cref="DType.Int8"/>, int32 sums handed to the epilogue as floats.</summary>
    public bool Int8 { get; }

    /// <summary>An implicit-GEMM convolution's shape: x is then its channels-last image, not [.., K]; null for a plain GEMM.</summary>
    public ConvolutionShape? Conv { get; }

    /// <summary>Whether this is the Fp8 plan's product: x and the weight <see cref="DType.Float8E4M3"/>, run by cuBLASLt alone.</summary>
    public bool Fp8 { get; }

    /// <summary>The dtype of x and the weight: int8 or FP8 codes for an <see cref="Int8"/> or <see cref="Fp8"/> kernel, else float16 (the template's).</summary>
    internal DType OperandType => Int8 ? DType.Int8 : Fp8 ? DType.Float8E4M3 : DType.Float16;

    public string CudaSource { get; }

    /// <summary>The epilogue as a kernel of its own: buffer "acc" is the product x·wᵀ, the other inputs are the GEMM's epilogue inputs.</summary>
    public GeneratedKernel Epilogue { get; }

    /// <summary>cuBLASLt's own epilogue for the same work, or null when the epilogue needs the second kernel.</summary>
    public CublasEpilogue? Cublas { get; }

    /// <summary>
    /// The generated class holding this GEMM as an ILGPU kernel (the template printed with its epilogue, one method per io
    /// variant), or null for a GEMM built at run time.
    /// </summary>
    public Type? IlgpuKernels { get; }

    /// <summary>The ILGPU method for io type <paramref name="io"/> (the epilogue's io buffers in that type), or null when there is none.</summary>
    public System.Reflection.MethodInfo? IlgpuMethod(DType io) => _ilgpuMethods.Get(io);

    private System.Reflection.MethodInfo? FindIlgpuMethod(DType io) => IlgpuKernels is null ? null
        : GeneratedKernel.FindIlgpuMethod(IlgpuKernels, $"GEMM kernel {Name}",
            IlgpuEpiloguePrinter.MethodName(Name, Epilogue.Ir, io == DType.Float16 ? FloatType.F16 : FloatType.F32));

    public override string ToString() => Name;
}

/// <summary>
/// An epilogue cuBLASLt does itself: bias (epilogue input <see cref="Bias"/>, or -1), then <see cref="Activation"/>, then a residual
/// (epilogue input <see cref="Residual"/>, or -1) added last, or before the activation when <see cref="ResidualFirst"/>. cuBLASLt's GELU is the tanh form, within 5e-4 of the erf form. An FP8
/// product's epilogue first multiplies by <see cref="Scale"/> (a one-element epilogue input: the dequantize factor) and, when
/// <see cref="OutScale"/> is not -1, stores E4M3 codes of the result times that one-element input (the next layer's quantize).
/// </summary>
public sealed record CublasEpilogue(Activation Activation, int Bias, int Residual)
{
    /// <summary>
    /// The residual is added before the activation: activation(x·wᵀ + bias + residual), a ResNet block's end. cuBLASLt adds its C
    /// (beta = 1) before its activation, so this form is one cuBLASLt call; a residual added after an activation needs an add after it.
    /// </summary>
    public bool ResidualFirst { get; init; }

    /// <summary>The epilogue input (one element) the FP8 product is scaled by first, or -1.</summary>
    public int Scale { get; init; } = -1;

    /// <summary>The epilogue input (one element) the FP8 product's result is multiplied by before its E4M3 store, or -1 for an f16 result.</summary>
    public int OutScale { get; init; } = -1;

    /// <summary>
    /// The epilogue ends with a cast to the run's io type (a model's last Linear): this form serves only where the output is the
    /// product's own type (fp16 io on an fp16 GEMM); otherwise the product and the epilogue kernel run.
    /// </summary>
    public bool ToIo { get; init; }

    /// <summary>Whether this form finishes a call whose product is <paramref name="product"/> and whose output is <paramref name="output"/> (see <see cref="ToIo"/>).</summary>
    public bool Finishes(DType product, DType output) => !ToIo || output == product;
}
