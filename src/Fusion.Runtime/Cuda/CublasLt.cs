using Fusion.Cuda.Native;

namespace Fusion.Cuda;

/// <summary>
/// FP16 and FP32 matrix products through cuBLASLt with float32 accumulation and a fused epilogue, and the exact int8 product
/// (int32 accumulation, for the int8 Linear) and the FP8 E4M3 one (per-tensor scales, float32 accumulation, fp16 out with the epilogue).
/// Fusion's tensors are row-major; cuBLASLt is column-major, so Y = X·Wᵀ is computed as
/// Yᵀ = W·Xᵀ, which reads the same memory without any transpose copies. The descriptors and the
/// heuristic's algorithm of each (shape, epilogue) are made once and kept: building them costs the host
/// far more than a small product costs the GPU, and eager small-batch runs are bound by that host time. One handle serves
/// every stream (calls are serialized on the host: a plan's bias is set per call); each stream gets a workspace of its own,
/// since two streams' products in one workspace would overwrite each other's partial results.
/// The heuristic is asked for up to <see cref="Candidates"/> algorithms per plan, best guess first; a product runs the first
/// unless its caller names another (<c>algorithm</c>: an index into that list), which fast-run does after timing them all
/// (<see cref="Gemm.FusedGemm"/>): the first guess was up to 1.5× slower than the best of the list at Swin-T's shapes (docs/perf.md).
/// </summary>
public sealed unsafe class CublasLt : IDisposable
{
    private readonly CudaDevice _device;
    private readonly long _workspaceBytes;
    private readonly Dictionary<CudaStream, DeviceMemory> _workspaces = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<(MatmulShape Shape, MatmulEpilogue Epilogue), (MatmulPlan Plan, CublasLtMatmulAlgo[] Algos)> _plans = [];
    private readonly Lock _lock = new();
    private IntPtr _handle;

    [ThreadStatic]
    private static int t_lastAlgorithmCount;

    /// <summary>The environment variable that sets <see cref="Candidates"/> (1 … 16; 1 runs the heuristic's first guess only).</summary>
    public const string CandidatesVariable = "FUSION_CUBLASLT_ALGOS";

    /// <summary>Algorithms asked of the heuristic per product when <see cref="CandidatesVariable"/> is not set.</summary>
    public const int DefaultCandidates = 8;

    public CublasLt(CudaDevice device, long workspaceBytes = 32L << 20, int? candidates = null)
    {
        Candidates = candidates ?? CandidatesFromEnvironment();
        if (Candidates is < 1 or > 16) throw new ArgumentOutOfRangeException(nameof(candidates), Candidates, "cuBLASLt algorithm candidates: 1 … 16");
        CudaLibraryResolver.Load(CudaLibraryResolver.CublasLt);
        _device = device;
        device.MakeCurrent();
        CudaCheck.Cublas(CublasLtApi.cublasLtCreate(out _handle), "cublasLtCreate");
        _workspaceBytes = workspaceBytes;
    }

    /// <summary>How many algorithms the heuristic is asked for per product (it may offer fewer).</summary>
    public int Candidates { get; }

    /// <summary>
    /// How many algorithms the heuristic offered for the last product this thread ran through any instance: the valid
    /// <c>algorithm</c> indices of that product are 0 … this − 1.
    /// </summary>
    public static int LastAlgorithmCount => t_lastAlgorithmCount;

    /// <summary><see cref="CandidatesVariable"/>'s value, else <see cref="DefaultCandidates"/>; a value that is not 1 … 16 is refused by name.</summary>
    public static int CandidatesFromEnvironment() => ParseCandidates(Environment.GetEnvironmentVariable(CandidatesVariable));

    /// <summary><see cref="CandidatesFromEnvironment"/> on the variable's text (null or blank: the default).</summary>
    public static int ParseCandidates(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return DefaultCandidates;
        if (!int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int value) || value is < 1 or > 16)
            throw new FusionException($"{CandidatesVariable}={text}: expected a count of cuBLASLt algorithms to try per product, 1 … 16");
        return value;
    }

    /// <summary>cuBLASLt's version number (e.g. 130100 for 13.1.0).</summary>
    public static long Version
    {
        get
        {
            CudaLibraryResolver.Load(CudaLibraryResolver.CublasLt);
            return (long)CublasLtApi.cublasLtGetVersion();
        }
    }

    /// <summary>
    /// y[M, N] = epilogue(x[M, K] · weight[N, K]ᵀ + bias[N]); x may have any leading dims (flattened into M).
    /// All operands are float16; bias is required by every epilogue but <see cref="MatmulEpilogue.None"/>.
    /// With <paramref name="addend"/> (shaped like y), cuBLASLt's C operand with beta = 1: y = epilogue(x·wᵀ + addend + bias),
    /// so the activation of a RELU/GELU epilogue sees the sum (exact for a residual only with None or Bias).
    /// </summary>
    public void Linear(CudaTensor x, CudaTensor weight, CudaTensor? bias, CudaTensor y, MatmulEpilogue epilogue, CudaStream? stream = null,
        CudaTensor? addend = null, int algorithm = 0)
    {
        var (n, k, m) = LinearOperands(x, weight);
        x.Expect("x", x.Shape, DType.Float16);
        weight.Expect("weight", weight.Shape, DType.Float16);
        y.Expect("y", x.Shape.With(-1, n), DType.Float16);
        CheckBias(epilogue, bias, n);
        addend?.Expect("addend", y.Shape, DType.Float16);
        Run(new MatmulShape(MatmulTypes.Half, 1, m, n, k, TransposeB: true, 0), weight, x, y, epilogue, bias, addend, stream, algorithm);
    }

    /// <summary>
    /// The exact int8 product sums[M, N] = x[M, K] · weight[N, K]ᵀ in int32 (int8 tensor cores, integer accumulation: every sum
    /// exact, bit for bit <see cref="Fusion.Kernels.Cpu.Int8Gemm"/>); x may have any leading dims. cuBLASLt's int8 products take
    /// this "TN" layout with K and N multiples of 4 (cuBLASLt's condition for its int8 tensor-core kernels); other sizes are refused
    /// by name (pad the layer's features).
    /// </summary>
    public void LinearInt8(CudaTensor x, CudaTensor weight, CudaTensor sums, CudaStream? stream = null)
    {
        var (n, k, m) = LinearOperands(x, weight);
        if (k % 4 != 0 || n % 4 != 0)
            throw new TensorMismatchException("weight", "K (input features) and N (output features) multiples of 4 for cuBLASLt's int8 product", weight.Shape.ToString());
        if (k > Fusion.Kernels.Cpu.Int8Gemm.MaxDepth)
            throw new TensorMismatchException("weight", $"K at most {Fusion.Kernels.Cpu.Int8Gemm.MaxDepth}, so no int32 sum can overflow", weight.Shape.ToString());
        if (_device.ComputeCapability < 75)
            throw new FusionException($"int8 products need int8 tensor cores (sm_75 or newer); {_device.Name} is {_device.Architecture}");
        x.Expect("x", x.Shape, DType.Int8);
        weight.Expect("weight", weight.Shape, DType.Int8);
        sums.Expect("sums", x.Shape.With(-1, n), DType.Int32);
        Run(new MatmulShape(MatmulTypes.Int8, 1, m, n, k, TransposeB: true, 0), weight, x, sums, MatmulEpilogue.None, null, null, stream, 0);
    }

    /// <summary>
    /// The FP8 product y[M, N] = epilogue(sₓ·s_w·(x[M, K] · weight[N, K]ᵀ) + addend + bias[N]) on FP8 tensor cores (sm_89 and newer):
    /// x and weight E4M3 codes, <paramref name="inputScale"/> sₓ and <paramref name="weightScale"/> s_w on the device, float32
    /// accumulation. y is float16 (bias and <paramref name="addend"/>, cuBLASLt's C with beta = 1, float16 too), float32 (no bias, no
    /// addend: the bare product for an epilogue kernel), or E4M3 codes of the result times <paramref name="outputScale"/> (cuBLASLt's D
    /// scale: the next layer's quantize; bias float16). cuBLASLt's FP8 products take this "TN" layout with K a multiple of 16 and N of
    /// 8. Each scale is a float32 [1] of its own (an allocation of its own, so aligned as cuBLASLt reads it).
    /// </summary>
    public void LinearFp8(CudaTensor x, CudaTensor weight, CudaTensor inputScale, CudaTensor weightScale, CudaTensor? bias, CudaTensor y,
        MatmulEpilogue epilogue, CudaStream? stream = null, CudaTensor? addend = null, CudaTensor? outputScale = null, int algorithm = 0)
    {
        var (n, k, m) = LinearOperands(x, weight);
        if (_device.ComputeCapability < 89)
            throw new FusionException($"FP8 products need FP8 tensor cores (sm_89 or newer: Ada, Hopper); {_device.Name} is {_device.Architecture}");
        if (k % 16 != 0 || n % 8 != 0)
            throw new TensorMismatchException("weight", "K (input features) a multiple of 16 and N a multiple of 8 for cuBLASLt's FP8 product", weight.Shape.ToString());
        x.Expect("x", x.Shape, DType.Float8E4M3);
        weight.Expect("weight", weight.Shape, DType.Float8E4M3);
        inputScale.Expect("input scale", new Shape(1), DType.Float32);
        weightScale.Expect("weight scale", new Shape(1), DType.Float32);
        var types = y.DType switch
        {
            DType.Float16 => MatmulTypes.Fp8,
            DType.Float32 when epilogue == MatmulEpilogue.None && addend is null => MatmulTypes.Fp8ToFloat,
            DType.Float8E4M3 when outputScale is not null => MatmulTypes.Fp8ToFp8,
            _ => throw new TensorMismatchException("y", "f16, f32 (the bare product) or e4m3 (with an output scale)", $"{y.DType.ShortName()}{y.Shape}"),
        };
        y.Expect("y", x.Shape.With(-1, n), y.DType);
        if (outputScale is not null && y.DType != DType.Float8E4M3)
            throw new ArgumentException("an output scale is for an E4M3 result", nameof(outputScale));
        outputScale?.Expect("output scale", new Shape(1), DType.Float32);
        CheckBias(epilogue, bias, n);
        addend?.Expect("addend", y.Shape, DType.Float16);
        Run(new MatmulShape(types, 1, m, n, k, TransposeB: true, 0), weight, x, y, epilogue, bias, addend, stream, algorithm, (inputScale, weightScale), outputScale);
    }

    /// <summary>
    /// Row-major batched product y[i] = a[i] · b[i] (b[i]ᵀ when <paramref name="transposeB"/>), f16 or f32 (all operands
    /// alike) with float32 accumulation: a [batch·M, K] as <paramref name="batch"/> matrices [M, K], b [N, K] or [K, N] per
    /// matrix (one shared by the whole batch when <paramref name="shareB"/>), y [batch·M, N]; bias [N] is added when given.
    /// </summary>
    public void MatMul(CudaTensor a, CudaTensor b, CudaTensor? bias, CudaTensor y, int batch, long m, int n, int k, bool transposeB, bool shareB,
        CudaStream? stream = null)
    {
        ObjectDisposedException.ThrowIf(_handle == IntPtr.Zero, this);
        var type = a.DType switch
        {
            DType.Float16 => MatmulTypes.Half,
            DType.Float32 => MatmulTypes.Float,
            _ => throw new TensorMismatchException("a", "f16 or f32", a.DType.ShortName()),
        };
        ArgumentOutOfRangeException.ThrowIfLessThan(batch, 1);
        long matrixB = (long)k * n;
        Elements(a, "a", a.DType, batch * m * k);
        Elements(b, "b", a.DType, shareB ? matrixB : batch * matrixB);
        Elements(y, "y", a.DType, batch * m * n);
        if (bias is not null) Elements(bias, "bias", a.DType, n);
        if (batch > 1 && m > int.MaxValue) throw new ArgumentOutOfRangeException(nameof(m), m, "a batched product needs M < 2³¹");
        var shape = new MatmulShape(type, batch, m, n, k, transposeB, shareB ? 0 : matrixB);
        Run(shape, b, a, y, bias is null ? MatmulEpilogue.None : MatmulEpilogue.Bias, bias, null, stream, 0);
    }

    /// <summary>A Linear's N and K from its weight [N, K], checked against x [..., K], and M (x's rows).</summary>
    private (int N, int K, long M) LinearOperands(CudaTensor x, CudaTensor weight)
    {
        ObjectDisposedException.ThrowIf(_handle == IntPtr.Zero, this);
        if (weight.Rank != 2) throw new TensorMismatchException("weight", "a rank-2 [N, K] tensor", weight.ToString());
        int n = weight.Shape[0], k = weight.Shape[1];
        if (x.Rank < 1 || x.Shape[-1] != k) throw new TensorMismatchException("x", $"[..., {k}]", x.Shape.ToString());
        return (n, k, x.ElementCount / Math.Max(1, k));
    }

    /// <summary>Every epilogue but None needs an fp16 bias of [N].</summary>
    private static void CheckBias(MatmulEpilogue epilogue, CudaTensor? bias, int n)
    {
        if (epilogue == MatmulEpilogue.None) return;
        if (bias is null) throw new ArgumentNullException(nameof(bias), $"the {epilogue} epilogue needs a bias of [{n}]");
        bias.Expect("bias", new Shape(n), DType.Float16);
    }

    private static void Elements(CudaTensor t, string what, DType dtype, long count)
    {
        if (t.DType != dtype || t.ElementCount != count)
            throw new TensorMismatchException(what, $"{count} {dtype.ShortName()} elements", $"{t.DType.ShortName()}{t.Shape}");
    }

    /// <summary>
    /// cuBLASLt's A is the row-major right operand, its B the left one: D[N, M] (column-major) = Y[M, N] (row-major). Runs the
    /// heuristic's algorithm number <paramref name="algorithm"/> of its list for this plan.
    /// </summary>
    private void Run(MatmulShape shape, CudaTensor right, CudaTensor left, CudaTensor y, MatmulEpilogue epilogue, CudaTensor? bias, CudaTensor? addend,
        CudaStream? stream, int algorithm, (CudaTensor Left, CudaTensor Right)? scales = null, CudaTensor? outputScale = null)
    {
        _device.MakeCurrent();
        // The scalars are in the product's scale type: float32, or int32 for the int8 product (alpha 1, beta 0: the sums as they are).
        float alpha = 1, beta = addend is null ? 0 : 1;
        int alphaInt = 1, betaInt = 0;
        void* alphaPointer = shape.Types.Scale == CudaDataType.R32I ? &alphaInt : &alpha;
        void* betaPointer = shape.Types.Scale == CudaDataType.R32I ? &betaInt : &beta;
        lock (_lock) // a plan's bias attribute is set per call: one call at a time per plan
        {
            // Callers pass a bias with every epilogue but None (Linear checks it; MatMul picks Bias only with one).
            if (!_plans.TryGetValue((shape, epilogue), out var entry))
                _plans.Add((shape, epilogue), entry = MakePlan(shape, epilogue, bias));
            else if (epilogue != MatmulEpilogue.None)
                entry.Plan.SetBias(bias!);
            var (plan, algos) = entry;
            t_lastAlgorithmCount = algos.Length;
            if ((uint)algorithm >= (uint)algos.Length)
                throw new ArgumentOutOfRangeException(nameof(algorithm), algorithm, $"cuBLASLt offers {algos.Length} algorithm(s) for {shape}, {epilogue}");
            var algo = algos[algorithm];
            if (scales is { } s8) plan.SetScales(s8.Left, s8.Right); // per call, as the bias: a plan serves every layer of its shape
            if (outputScale is not null) plan.SetOutputScale(outputScale);
            var s = stream ?? y.Stream;
            var workspace = Workspace(s);
            // Without an addend C is not read (beta = 0), but C = D counts as in place, which cuBLASLt takes only when C's type is D's:
            // an E4M3 result (C f16) is given x's memory as its unread C.
            ulong c = addend?.Pointer ?? (plan.C == plan.D ? y.Pointer : left.Pointer);
            CudaCheck.Cublas(CublasLtApi.cublasLtMatmul(_handle, plan.Operation, alphaPointer, right.Pointer, plan.A, left.Pointer, plan.B, betaPointer,
                c, plan.C, y.Pointer, plan.D, &algo, workspace.Pointer, (nuint)_workspaceBytes, s.Handle),
                $"cublasLtMatmul({shape}, {epilogue})");
        }
    }

    /// <summary>A new plan pointed at <paramref name="bias"/> (so the heuristic sees a complete descriptor) and the heuristic's algorithms for it.</summary>
    private (MatmulPlan Plan, CublasLtMatmulAlgo[] Algos) MakePlan(MatmulShape shape, MatmulEpilogue epilogue, CudaTensor? bias)
    {
        var plan = new MatmulPlan(shape, epilogue);
        try
        {
            if (epilogue != MatmulEpilogue.None) plan.SetBias(bias!);
            return (plan, plan.Algorithms(_handle, _workspaceBytes, Candidates));
        }
        catch
        {
            plan.Dispose();
            throw;
        }
    }

    /// <summary>The workspace of <paramref name="stream"/>, made on its first product there. Under the lock.</summary>
    private DeviceMemory Workspace(CudaStream stream)
    {
        if (!_workspaces.TryGetValue(stream, out var workspace)) _workspaces.Add(stream, workspace = _device.Allocator.Allocate(_workspaceBytes, stream));
        return workspace;
    }

    /// <summary>Frees the workspace of a stream that is going away (its products must have run).</summary>
    public void ReleaseWorkspace(CudaStream stream)
    {
        lock (_lock)
        {
            if (_workspaces.Remove(stream, out var workspace)) workspace.Dispose();
        }
    }

    public void Dispose()
    {
        var h = Interlocked.Exchange(ref _handle, IntPtr.Zero);
        if (h == IntPtr.Zero) return;
        lock (_lock)
        {
            foreach (var (plan, _) in _plans.Values) plan.Dispose();
            _plans.Clear();
        }
        foreach (var workspace in _workspaces.Values) workspace.Dispose();
        _workspaces.Clear();
        _device.TryMakeCurrent();
        int status = CublasLtApi.cublasLtDestroy(h);
        if (status != CublasLtApi.Success) Console.Error.WriteLine($"fusion: warning: cublasLtDestroy returned {CublasLtApi.StatusName(status)}");
    }

    /// <summary>
    /// One product's geometry: <see cref="Batch"/> row-major products [M, K] · [K, N] (or · [N, K]ᵀ when
    /// <see cref="TransposeB"/>), the right operand's matrices <see cref="StrideB"/> elements apart (0: shared).
    /// </summary>
    private readonly record struct MatmulShape(MatmulTypes Types, int Batch, long M, int N, int K, bool TransposeB, long StrideB)
    {
        public override string ToString() =>
            $"{Types.Name}, M={M}, N={N}, K={K}{(TransposeB ? ", Bᵀ" : "")}{(Batch > 1 ? $", batch {Batch}, B stride {StrideB}" : "")}";
    }

    /// <summary>
    /// A product's element types: of its operands, of its result, of its accumulation, of its alpha and beta, and of its C (the
    /// result's type, but for an E4M3 result, whose C is f16).
    /// </summary>
    private readonly record struct MatmulTypes(string Name, CudaDataType Operands, CudaDataType Result, CublasComputeType Compute, CudaDataType Scale)
    {
        public CudaDataType Addend => Result == CudaDataType.R8FE4M3 ? CudaDataType.R16F : Result;

        public static readonly MatmulTypes Half = new("f16", CudaDataType.R16F, CudaDataType.R16F, CublasComputeType.Compute32F, CudaDataType.R32F);
        public static readonly MatmulTypes Float = new("f32", CudaDataType.R32F, CudaDataType.R32F, CublasComputeType.Compute32F, CudaDataType.R32F);
        public static readonly MatmulTypes Int8 = new("i8→i32", CudaDataType.R8I, CudaDataType.R32I, CublasComputeType.Compute32I, CudaDataType.R32I);
        public static readonly MatmulTypes Fp8 = new("e4m3→f16", CudaDataType.R8FE4M3, CudaDataType.R16F, CublasComputeType.Compute32F, CudaDataType.R32F);
        public static readonly MatmulTypes Fp8ToFloat = new("e4m3→f32", CudaDataType.R8FE4M3, CudaDataType.R32F, CublasComputeType.Compute32F, CudaDataType.R32F);
        public static readonly MatmulTypes Fp8ToFp8 = new("e4m3→e4m3", CudaDataType.R8FE4M3, CudaDataType.R8FE4M3, CublasComputeType.Compute32F, CudaDataType.R32F);
    }

    /// <summary>The descriptors of one product, column-major: D[N, M] = op(A = right operand)ᵀ · B (left operand as K×M).</summary>
    private sealed class MatmulPlan : IDisposable
    {
        private readonly string _shape;

        internal MatmulPlan(MatmulShape shape, MatmulEpilogue epilogue)
        {
            _shape = $"{shape}, {epilogue}";
            var (types, n, m, k) = (shape.Types, shape.N, shape.M, shape.K);
            var type = types.Operands;
            try
            {
                CudaCheck.Cublas(CublasLtApi.cublasLtMatmulDescCreate(out var op, types.Compute, types.Scale), "cublasLtMatmulDescCreate");
                Operation = op;
                SetAttribute(CublasLtMatmulDescAttribute.TransA, (int)(shape.TransposeB ? CublasOperation.T : CublasOperation.N));
                SetAttribute(CublasLtMatmulDescAttribute.TransB, (int)CublasOperation.N);
                SetAttribute(CublasLtMatmulDescAttribute.Epilogue, (int)epilogue);
                // An FP8 product's bias is f16 whatever its result (cuBLASLt's default follows D, and an E4M3 bias is refused).
                if (types.Operands == CudaDataType.R8FE4M3 && epilogue != MatmulEpilogue.None) SetAttribute(CublasLtMatmulDescAttribute.BiasDataType, (int)CudaDataType.R16F);
                // Row-major [N, K] is column-major K×N (transposed by TransA); row-major [K, N] is column-major N×K.
                A = shape.TransposeB ? Layout(type, (ulong)k, (ulong)n, k) : Layout(type, (ulong)n, (ulong)k, n);
                B = Layout(type, (ulong)k, (ulong)m, k);
                D = Layout(types.Result, (ulong)n, (ulong)m, n);
                C = types.Addend == types.Result ? D : Layout(types.Addend, (ulong)n, (ulong)m, n);
                if (shape.Batch > 1)
                {
                    Batched(A, shape.Batch, shape.StrideB);
                    Batched(B, shape.Batch, m * k);
                    Batched(D, shape.Batch, m * n);
                }
            }
            catch
            {
                Dispose();
                throw;
            }
        }

        internal IntPtr Operation { get; }

        internal IntPtr A { get; }

        internal IntPtr B { get; }

        internal IntPtr D { get; }

        /// <summary>C's layout: D's, but for an E4M3 result (its C is f16).</summary>
        internal IntPtr C { get; }

        /// <summary>Points the epilogue at this call's bias (the plan is shared by every call of its shape).</summary>
        internal void SetBias(CudaTensor bias)
        {
            ulong ptr = bias.Pointer;
            CudaCheck.Cublas(CublasLtApi.cublasLtMatmulDescSetAttribute(Operation, CublasLtMatmulDescAttribute.BiasPointer, &ptr, sizeof(ulong)),
                "cublasLtMatmulDescSetAttribute(BIAS_POINTER)");
        }

        /// <summary>Points an FP8 product at this call's per-tensor scales: the left operand's (x, cuBLASLt's B) and the right one's (the weight, its A).</summary>
        internal void SetScales(CudaTensor leftScale, CudaTensor rightScale)
        {
            ulong left = leftScale.Pointer, right = rightScale.Pointer;
            CudaCheck.Cublas(CublasLtApi.cublasLtMatmulDescSetAttribute(Operation, CublasLtMatmulDescAttribute.AScalePointer, &right, sizeof(ulong)),
                "cublasLtMatmulDescSetAttribute(A_SCALE_POINTER)");
            CudaCheck.Cublas(CublasLtApi.cublasLtMatmulDescSetAttribute(Operation, CublasLtMatmulDescAttribute.BScalePointer, &left, sizeof(ulong)),
                "cublasLtMatmulDescSetAttribute(B_SCALE_POINTER)");
        }

        /// <summary>Points an E4M3 result at this call's output scale (cuBLASLt's D scale: D = scale · result).</summary>
        internal void SetOutputScale(CudaTensor scale)
        {
            ulong pointer = scale.Pointer;
            CudaCheck.Cublas(CublasLtApi.cublasLtMatmulDescSetAttribute(Operation, CublasLtMatmulDescAttribute.DScalePointer, &pointer, sizeof(ulong)),
                "cublasLtMatmulDescSetAttribute(D_SCALE_POINTER)");
        }

        /// <summary>Up to <paramref name="candidates"/> algorithms for this product, the heuristic's best guess first; at least one, or an error naming the product.</summary>
        internal CublasLtMatmulAlgo[] Algorithms(IntPtr handle, long workspaceBytes, int candidates)
        {
            CudaCheck.Cublas(CublasLtApi.cublasLtMatmulPreferenceCreate(out var pref), "cublasLtMatmulPreferenceCreate");
            try
            {
                ulong ws = (ulong)workspaceBytes;
                CudaCheck.Cublas(CublasLtApi.cublasLtMatmulPreferenceSetAttribute(pref, CublasLtPreferenceAttribute.MaxWorkspaceBytes, &ws, sizeof(ulong)),
                    "cublasLtMatmulPreferenceSetAttribute(MAX_WORKSPACE_BYTES)");
                var results = stackalloc CublasLtHeuristicResult[candidates];
                CudaCheck.Cublas(CublasLtApi.cublasLtMatmulAlgoGetHeuristic(handle, Operation, A, B, C, D, pref, candidates, results, out var count),
                    $"cublasLtMatmulAlgoGetHeuristic({_shape})");
                if (count == 0)
                    throw new CudaException("CUBLAS_STATUS_NOT_SUPPORTED", "no algorithm fits this product", $"cublasLtMatmulAlgoGetHeuristic({_shape})", 15);
                var algos = new CublasLtMatmulAlgo[count];
                for (int i = 0; i < count; i++) algos[i] = results[i].Algo;
                return algos;
            }
            finally
            {
                CublasLtApi.cublasLtMatmulPreferenceDestroy(pref);
            }
        }

        public void Dispose()
        {
            if (C != IntPtr.Zero && C != D) CublasLtApi.cublasLtMatrixLayoutDestroy(C);
            if (D != IntPtr.Zero) CublasLtApi.cublasLtMatrixLayoutDestroy(D);
            if (B != IntPtr.Zero) CublasLtApi.cublasLtMatrixLayoutDestroy(B);
            if (A != IntPtr.Zero) CublasLtApi.cublasLtMatrixLayoutDestroy(A);
            if (Operation != IntPtr.Zero) CublasLtApi.cublasLtMatmulDescDestroy(Operation);
        }

        private void SetAttribute(CublasLtMatmulDescAttribute attribute, int value)
            => CudaCheck.Cublas(CublasLtApi.cublasLtMatmulDescSetAttribute(Operation, attribute, &value, sizeof(int)), $"cublasLtMatmulDescSetAttribute({attribute})");

        private static IntPtr Layout(CudaDataType type, ulong rows, ulong cols, long ld)
        {
            CudaCheck.Cublas(CublasLtApi.cublasLtMatrixLayoutCreate(out var layout, type, rows, cols, ld), "cublasLtMatrixLayoutCreate");
            return layout;
        }

        private static void Batched(IntPtr layout, int count, long stride)
        {
            CudaCheck.Cublas(CublasLtApi.cublasLtMatrixLayoutSetAttribute(layout, CublasLtMatrixLayoutAttribute.BatchCount, &count, sizeof(int)),
                "cublasLtMatrixLayoutSetAttribute(BATCH_COUNT)");
            CudaCheck.Cublas(CublasLtApi.cublasLtMatrixLayoutSetAttribute(layout, CublasLtMatrixLayoutAttribute.StridedBatchOffset, &stride, sizeof(long)),
                "cublasLtMatrixLayoutSetAttribute(STRIDED_BATCH_OFFSET)");
        }
    }
}
