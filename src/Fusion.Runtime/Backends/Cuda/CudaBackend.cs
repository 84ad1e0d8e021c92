using Fusion.Cuda;
using Fusion.Cuda.Fused;
using Fusion.Cuda.Gemm;
using Fusion.Cuda.Generated;
using static Fusion.OperandChecks;

namespace Fusion;

/// <summary>
/// Every operator of <see cref="IBackend"/> on one CUDA device, for f32 and f16 <see cref="CudaTensor"/>s, with the
/// CPU backend's operand checks and messages (<see cref="OperandRules{T}"/>). Products run through cuBLASLt
/// (float32 accumulation), the rest through backend_ops.cu (float32 math, one rounding on store); a compiled model's
/// generated kernels through the <see cref="GeneratedKernelLauncher"/>, its GEMMs through <see cref="FusedGemm"/> (the template
/// with its epilogue, or cuBLASLt) and the window-attention template through its launcher. All work is queued on the device's
/// default stream; <see cref="Synchronize"/> waits for it. Disposing frees every parameter copy, kernel module
/// and cuBLASLt handle the backend owns (and the device when <see cref="Open"/> opened it).
/// </summary>
public sealed class CudaBackend : IBackend, IDisposable
{
    private const int BlockSize = 256;
    private const int RowsPerBlock = BlockSize / 32;
    private const int MaxGrid = 1 << 20;
    private const string Source = "backend_ops.cu";

    private readonly OperandRules<CudaTensor> _rules;
    private readonly bool _ownsDevice;
    private readonly CublasLt _blas;
    private readonly FusedGemm _gemm;
    private readonly FusedKernelModules _fusedModules;
    private readonly GeneratedKernelLauncher _generated;
    private readonly WindowAttentionLauncher _windowAttention;
    private readonly Dictionary<string, CudaKernel> _kernels = new(StringComparer.Ordinal);
    private readonly Dictionary<(Parameter Parameter, DType DType), (int Version, CudaTensor Copy)> _parameters = [];
    private readonly Lock _lock = new();
    private CudaModule? _module;
    private bool _disposed;

    /// <summary>A backend on <paramref name="device"/>, which the caller keeps and disposes after the backend.</summary>
    public CudaBackend(CudaDevice device, KernelCache? cache = null) : this(device, cache, ownsDevice: false)
    {
    }

    /// <summary>A backend whose fused linear layers always take one GEMM path (tests pin the generated kernel with it).</summary>
    internal CudaBackend(CudaDevice device, KernelCache? cache, GemmPolicy gemmPolicy) : this(device, cache, ownsDevice: false, gemmPolicy)
    {
    }

    private CudaBackend(CudaDevice device, KernelCache? cache, bool ownsDevice, GemmPolicy? gemmPolicy = null)
    {
        ArgumentNullException.ThrowIfNull(device);
        CudaDevice = device;
        _ownsDevice = ownsDevice;
        Name = $"cuda:{device.Ordinal}";
        _rules = new OperandRules<CudaTensor>(Name, t => t.Owner == device);
        Jit = new KernelJit(device, cache ?? new KernelCache());
        _blas = new CublasLt(device);
        _generated = new GeneratedKernelLauncher(Jit);
        _gemm = new FusedGemm(device, Jit, gemmPolicy, cublas: _blas, epilogues: _generated);
        _fusedModules = new FusedKernelModules(Jit);
        _windowAttention = new WindowAttentionLauncher(_fusedModules);
    }

    /// <summary>Opens device <paramref name="ordinal"/> for a backend that owns it (disposing the backend closes it).</summary>
    public static CudaBackend Open(int ordinal = 0, KernelCache? cache = null)
    {
        var device = CudaDevice.Open(ordinal);
        try
        {
            return new CudaBackend(device, cache, ownsDevice: true);
        }
        catch
        {
            device.Dispose();
            throw;
        }
    }

    public string Name { get; }

    public DeviceKind Device => DeviceKind.Cuda;

    /// <summary>The device every tensor of this backend lives on.</summary>
    public CudaDevice CudaDevice { get; }

    /// <summary>The JIT that compiles this backend's kernels and the fused kernels it is given.</summary>
    public KernelJit Jit { get; }

    /// <summary>The GEMM launcher (tests read which path it took and whether it padded the weight).</summary>
    internal FusedGemm Gemms => _gemm;

    /// <summary>The launcher of generated kernels (tests read how many it loaded).</summary>
    internal GeneratedKernelLauncher Generated => _generated;

    /// <summary>
    /// Compiles a model's kernels into the kernel cache in parallel (each GEMM in the variants its policy certainly runs, each
    /// generated kernel once per input/output type it may take), so the first pass only loads them instead of compiling them one
    /// after another. Optional: the first pass compiles whatever is missing.
    /// </summary>
    public void Precompile(IEnumerable<IKernel> kernels)
    {
        ArgumentNullException.ThrowIfNull(kernels);
        var sources = kernels.SelectMany(k => k switch
        {
            GemmKernel g => _gemm.Sources(g),
            GeneratedKernel g => GeneratedKernelLauncher.Variants(g),
            _ => [(k.Name, k.CudaSource, (IReadOnlyList<string>)[])],
        }).DistinctBy(s => s.Name).ToList();
        Jit.Precompile(sources);
    }

    /// <summary>Waits for everything queued on the device's default stream; surfaces asynchronous kernel errors.</summary>
    public void Synchronize() => CudaDevice.DefaultStream.Synchronize();

    public Tensor Param(Parameter parameter, DType dtype)
    {
        ArgumentNullException.ThrowIfNull(parameter);
        FloatDType(dtype, "Param dtype");
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            bool known = _parameters.TryGetValue((parameter, dtype), out var entry);
            if (known && entry.Version == parameter.Version) return entry.Copy;
            using var host = dtype == DType.Float32 ? null : ElementwiseOps.Cast(parameter.Value, dtype);
            var source = host ?? parameter.Value;
            if (known)
            {
                entry.Copy.CopyFromHost(source);
                _gemm.RefreshPaddedWeight(entry.Copy, source); // the generated GEMM's zero-padded copy, if it made one
            }
            var copy = known ? entry.Copy : CudaTensor.FromHost(CudaDevice, source);
            _parameters[(parameter, dtype)] = (parameter.Version, copy);
            return copy;
        }
    }

    public Tensor FromHost(CpuTensor host) => CudaTensor.FromHost(CudaDevice, Host(host, "FromHost host"));

    public CpuTensor ToHost(Tensor tensor) => _rules.Resident(tensor, "ToHost tensor").ToHost();

    public Tensor Cast(Tensor x, DType dtype)
    {
        var input = _rules.Cast(x, dtype);
        var y = CudaTensor.Empty(CudaDevice, dtype, input.Shape);
        if (input.DType == dtype) y.CopyFrom(input);
        else Map($"backend_cast_{Suffix(input.DType)}_{Suffix(dtype)}", input.ElementCount, y, a => a.Pointer(input).Pointer(y).Long(input.ElementCount));
        return y;
    }

    public Tensor Linear(Tensor x, Tensor weight, Tensor? bias)
    {
        var (input, w, b, shape) = _rules.Linear(x, weight, bias);
        int k = input.Shape[-1], n = w.Shape[0];
        return Product(input, w, b, shape, batch: 1, input.ElementCount / Math.Max(k, 1), n, k, transposeB: true, shareB: true);
    }

    public Tensor MatMul(Tensor a, Tensor b, bool transposeB)
    {
        var (left, right, shape) = _rules.MatMul(a, b, transposeB);
        int m = left.Shape[-2], k = left.Shape[-1], n = transposeB ? right.Shape[-2] : right.Shape[-1];
        long batch = left.Shape.Product(0, left.Rank - 2);
        if (batch > int.MaxValue) throw new TensorMismatchException("MatMul a", $"at most {int.MaxValue} matrices", Describe(left));
        return Product(left, right, null, shape, (int)batch, m, n, k, transposeB, shareB: right.Rank == 2);
    }

    public Tensor Add(Tensor a, Tensor b)
    {
        var (left, right, shape) = _rules.Add(a, b);
        var dims = shape.ToArray();
        var axes = Axes.Collapse(dims, [Axes.Broadcast(left.Shape, dims.Length), Axes.Broadcast(right.Shape, dims.Length)], null, "Add");
        var y = CudaTensor.Empty(CudaDevice, left.DType, shape);
        Map($"backend_add_{Suffix(left.DType)}", y.ElementCount, y,
            args => axes.Append(axes.Append(axes.Append(args.Pointer(left).Pointer(right).Pointer(y).Long(y.ElementCount), axes.Dims), axes.Strides[0]), axes.Strides[1]));
        return y;
    }

    public Tensor Mul(Tensor x, float scalar) => Unary(_rules.Float(x, "Mul x"), 0, scalar);

    public Tensor Gelu(Tensor x) => Unary(_rules.Float(x, "Gelu x"), 1, 0);

    public Tensor Relu(Tensor x) => Unary(_rules.Float(x, "Relu x"), 2, 0);

    public Tensor LayerNorm(Tensor x, Tensor weight, Tensor bias, float eps)
    {
        var (input, w, b) = _rules.LayerNorm(x, weight, bias);
        return LayerNorm(input, w, b, eps, input.DType);
    }

    public Tensor LayerNorm(Tensor x, Tensor weight, Tensor bias, float eps, DType dtype)
    {
        var (input, w, b) = _rules.LayerNorm(x, weight, bias, dtype);
        return LayerNorm(input, w, b, eps, dtype);
    }

    /// <summary>One kernel per (x, weight, output) dtype: reads either float type, computes in float32, writes <paramref name="dtype"/>.</summary>
    private CudaTensor LayerNorm(CudaTensor x, CudaTensor w, CudaTensor b, float eps, DType dtype)
    {
        var (rows, cols) = Rows(x);
        return PerRow($"backend_layer_norm_{Suffix(x.DType)}_{Suffix(w.DType)}_{Suffix(dtype)}", x, rows, dtype,
            (args, y) => args.Pointer(x).Pointer(w).Pointer(b).Pointer(y).Int(rows).Int(cols).Float(eps));
    }

    public Tensor Softmax(Tensor x)
    {
        var input = _rules.Softmax(x);
        var (rows, cols) = Rows(input);
        return PerRow($"backend_softmax_{Suffix(input.DType)}", input, rows, input.DType, (args, y) => args.Pointer(input).Pointer(y).Int(rows).Int(cols));
    }

    public Tensor Reshape(Tensor x, Shape shape) => _rules.Reshape(x, shape).View(shape);

    public Tensor Permute(Tensor x, ReadOnlySpan<int> axes)
    {
        var (input, order, shape) = _rules.Permute(x, axes);
        var own = Axes.Contiguous(input.Shape.Dims);
        var strides = new long[order.Length];
        for (int i = 0; i < order.Length; i++) strides[i] = own[order[i]];
        return Gather(input, 0, shape, shape.ToArray(), strides, null, "Permute");
    }

    public Tensor Select(Tensor x, int axis, int index)
    {
        var (input, a, shape) = _rules.Select(x, axis, index);
        var own = Axes.Contiguous(input.Shape.Dims).ToList();
        long offset = index * own[a];
        own.RemoveAt(a);
        return Gather(input, offset, shape, shape.ToArray(), [.. own], null, "Select");
    }

    public Tensor Roll(Tensor x, int shift, ReadOnlySpan<int> axes)
    {
        var (input, shifts) = _rules.Roll(x, shift, axes);
        return Gather(input, 0, input.Shape, input.Shape.ToArray(), Axes.Contiguous(input.Shape.Dims), shifts, "Roll");
    }

    public Tensor WindowPartition(Tensor x, int window)
    {
        var (input, shape) = _rules.WindowPartition(x, window);
        var s = input.Shape;
        int b = s[0], h = s[1], w = s[2], c = s[3];
        // Output [B, H/w, W/w, w, w, C] read from the image [B, H, W, C].
        long row = (long)w * c;
        return Gather(input, 0, shape, [b, h / window, w / window, window, window, c], [h * row, window * row, (long)window * c, row, c, 1], null, "WindowPartition");
    }

    public Tensor WindowReverse(Tensor x, int window, int height, int width)
    {
        var (input, shape) = _rules.WindowReverse(x, window, height, width);
        int b = shape[0], c = shape[3], across = width / window, down = height / window;
        // Output [B, H/w, w, W/w, w, C] read from the windows [B, H/w, W/w, w, w, C].
        long token = c, windowSize = (long)window * window * c;
        return Gather(input, 0, shape, [b, down, window, across, window, c],
            [down * across * windowSize, across * windowSize, window * token, windowSize, token, 1], null, "WindowReverse");
    }

    public Tensor PatchMerging(Tensor x)
    {
        var (input, shape) = _rules.PatchMerging(x);
        var s = input.Shape;
        int b = s[0], h = s[1], w = s[2], c = s[3];
        // Output [B, H/2, W/2, column offset, row offset, C]: channel blocks (0,0), (1,0), (0,1), (1,1) by (row, column).
        long row = (long)w * c;
        return Gather(input, 0, shape, [b, h / 2, w / 2, 2, 2, c], [h * row, 2 * row, 2L * c, c, row, 1], null, "PatchMerging");
    }

    public Tensor Patchify(Tensor x, int patch) => Patchify(x, patch, _rules.Float(x, "Patchify x").DType);

    /// <summary>The gather converts while it moves when <paramref name="dtype"/> is not x's (an input image to fp16 patches).</summary>
    public Tensor Patchify(Tensor x, int patch, DType dtype)
    {
        var (input, shape) = _rules.Patchify(x, patch);
        FloatDType(dtype, "Patchify dtype");
        var s = input.Shape;
        int b = s[0], c = s[1], h = s[2], w = s[3];
        // Output [B, H/p, W/p, C, p, p] read from the image [B, C, H, W].
        long plane = (long)h * w;
        return Gather(input, 0, shape, [b, h / patch, w / patch, c, patch, patch], [c * plane, (long)patch * w, patch, plane, w, 1], null, "Patchify", dtype);
    }

    public Tensor Mean(Tensor x, int firstAxis, int count) => Mean(x, firstAxis, count, _rules.Float(x, "Mean x").DType);

    /// <summary>Summed in float32 and written as <paramref name="dtype"/> (an f32 mean of an f16 feature map for an f32 head).</summary>
    public Tensor Mean(Tensor x, int firstAxis, int count, DType dtype)
    {
        var (input, shape) = _rules.Mean(x, firstAxis, count);
        FloatDType(dtype, "Mean dtype");
        long outer = input.Shape.Product(0, firstAxis), reduce = input.Shape.Product(firstAxis, firstAxis + count);
        long inner = input.Shape.Product(firstAxis + count, input.Rank);
        if (outer > int.MaxValue || reduce > int.MaxValue || inner > int.MaxValue || outer * inner > int.MaxValue)
            throw new TensorMismatchException("Mean x", "fewer than 2³¹ elements in each of the outer, reduced and inner parts", Describe(input));
        var y = CudaTensor.Empty(CudaDevice, dtype, shape);
        Map($"backend_mean_{Suffix(input.DType)}_{Suffix(dtype)}", outer * inner, y, args => args.Pointer(input).Pointer(y).Int((int)outer).Int((int)reduce).Int((int)inner));
        return y;
    }

    /// <summary>A load-time constant: gathered on the host by the CPU backend and uploaded.</summary>
    public Tensor RelativePositionBias(Tensor table, int window)
    {
        var (input, _) = _rules.RelativePositionBias(table, window);
        using var host = input.ToHost();
        using var bias = CpuBackend.Instance.RelativePositionBias(host, window);
        return CudaTensor.FromHost(CudaDevice, (CpuTensor)bias);
    }

    /// <summary>A load-time constant: re-laid out on the host by the CPU backend and uploaded.</summary>
    public Tensor QkvRelayout(Tensor x, int heads)
    {
        var input = _rules.QkvRelayout(x, heads);
        using var host = input.ToHost();
        using var relaid = CpuBackend.Instance.QkvRelayout(host, heads);
        return CudaTensor.FromHost(CudaDevice, (CpuTensor)relaid);
    }

    /// <summary>A load-time constant: computed on the host by the CPU backend and uploaded.</summary>
    public Tensor ShiftedWindowMask(int height, int width, int window, int shift, DType dtype)
    {
        using var mask = CpuBackend.Instance.ShiftedWindowMask(height, width, window, shift, dtype);
        return CudaTensor.FromHost(CudaDevice, (CpuTensor)mask);
    }

    public Tensor[] Run(GeneratedKernel kernel, int batch, DType io, params Tensor[] inputs)
    {
        var outputs = KernelOperands.Check(kernel, batch, io, inputs);
        var buffers = new List<CudaTensor>();
        var scratch = new List<CudaTensor>();
        var results = new List<CudaTensor>();
        try
        {
            var declared = kernel.Ir.Inputs.ToList();
            for (int i = 0; i < inputs.Length; i++)
            {
                var t = _rules.Resident(inputs[i], $"{kernel.Name} input {declared[i].Name}");
                // An accumulator may arrive in either float type; the printed kernel reads the one it declares.
                var want = LoopInterpreter.Resolve(declared[i].Type, io);
                if (t.DType != want)
                {
                    t = (CudaTensor)Cast(t, want);
                    scratch.Add(t);
                }
                buffers.Add(t);
            }
            foreach (var (shape, dtype) in outputs) results.Add(CudaTensor.Empty(CudaDevice, dtype, shape));
            _generated.Launch(kernel, batch, io, buffers.Concat(results).ToList(), CudaDevice.DefaultStream);
            return [.. results];
        }
        catch
        {
            foreach (var r in results) r.Dispose();
            throw;
        }
        finally
        {
            foreach (var t in scratch) t.Dispose();
        }
    }

    /// <summary>
    /// fp16: the GEMM template with the epilogue printed into it, or cuBLASLt (FusedGemm chooses). float32 (the template is fp16): the
    /// product through cuBLASLt, then the epilogue kernel.
    /// </summary>
    public Tensor[] Gemm(GemmKernel kernel, int batch, DType io, Tensor x, Tensor weight, params Tensor[] epilogueInputs)
    {
        var shape = KernelOperands.Product(kernel, x, weight);
        var input = _rules.Resident(x, $"{kernel.Name} x");
        var w = _rules.Resident(weight, $"{kernel.Name} weight");
        if (input.DType == DType.Float32)
        {
            using var product = (CudaTensor)Linear(input, w, null);
            return Run(kernel.Epilogue, batch, io, KernelOperands.EpilogueInputs(kernel, product, epilogueInputs));
        }
        // The epilogue's operands as the epilogue kernel sees them (its accumulator, the product, is made inside).
        KernelOperands.Check(kernel.Epilogue, batch, io, KernelOperands.EpilogueInputs(kernel, null, epilogueInputs));
        var ins = epilogueInputs.Select((t, i) => _rules.Resident(t, $"{kernel.Name} epilogue input {i}")).ToList();
        var results = kernel.Epilogue.Ir.Outputs.Select(b => CudaTensor.Empty(CudaDevice, LoopInterpreter.Resolve(b.Type, io),
            new Shape(b.Shape.Select(d => checked((int)d.At(batch))).ToArray()))).ToList();
        try
        {
            _gemm.Run(kernel, input, w, ins, results, batch, io);
            return [.. results];
        }
        catch
        {
            foreach (var r in results) r.Dispose();
            throw;
        }
    }

    public Tensor WindowAttention(Tensor qkv, Tensor bias, Tensor? mask, int heads, float scale, FusedKernel kernel) =>
        IsFloat32(qkv, "WindowAttention qkv")
        ? FusedChains.WindowAttention(this, qkv, bias, mask, heads, scale)
        : _windowAttention.Run(Fused(qkv, "WindowAttention qkv"), Fused(bias, "WindowAttention bias"),
            mask is null ? null : Fused(mask, "WindowAttention mask"), heads, scale, kernel);

    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed) return;
            _disposed = true;
            foreach (var (_, copy) in _parameters.Values) copy.Dispose();
            _parameters.Clear();
            _kernels.Clear();
        }
        _gemm.Dispose();
        _generated.Dispose();
        _fusedModules.Dispose();
        _module?.Dispose();
        _blas.Dispose();
        if (_ownsDevice) CudaDevice.Dispose();
    }

    /// <summary>An operand of a fused operator: a live float tensor of this device (the launcher checks shapes against its kernel).</summary>
    private CudaTensor Fused(Tensor tensor, string what) => _rules.Float(tensor, what);

    /// <summary>Whether a fused operator's leading operand (a live float tensor of this device) is float32.</summary>
    private bool IsFloat32(Tensor tensor, string what)
    {
        ArgumentNullException.ThrowIfNull(tensor, what);
        return Fused(tensor, what).DType == DType.Float32;
    }

    private static string Suffix(DType dtype) => dtype == DType.Float16 ? "f16" : "f32";

    private static (int Rows, int Cols) Rows(CudaTensor x)
    {
        long rows = x.Shape.Product(0, x.Rank - 1);
        if (rows > int.MaxValue) throw new TensorMismatchException("x", $"fewer than 2³¹ rows", Describe(x));
        return ((int)rows, x.Shape[-1]);
    }

    /// <summary>Returns <paramref name="y"/> once <paramref name="fill"/> has queued the work that writes it; disposes it if that throws.</summary>
    private static CudaTensor Filled(CudaTensor y, Action fill)
    {
        try
        {
            fill();
            return y;
        }
        catch
        {
            y.Dispose();
            throw;
        }
    }

    private CudaTensor Product(CudaTensor a, CudaTensor b, CudaTensor? bias, Shape shape, int batch, long m, int n, int k, bool transposeB, bool shareB)
    {
        var y = CudaTensor.Empty(CudaDevice, a.DType, shape);
        return Filled(y, () =>
        {
            if (y.ElementCount == 0) return;
            if (k == 0)
            {
                // An empty sum: cuBLASLt does not take K = 0, and the product is all zeros (plus the bias).
                y.FillBytes(0);
                if (bias is null) return;
                using var zeros = y.View(new Shape(checked((int)(y.ElementCount / n)), n));
                using var sum = (CudaTensor)Add(zeros, bias);
                using var shaped = sum.View(y.Shape);
                y.CopyFrom(shaped);
                return;
            }
            _blas.MatMul(a, b, bias, y, batch, m, n, k, transposeB, shareB);
        });
    }

    private CudaTensor Unary(CudaTensor x, int op, float scalar)
    {
        var y = CudaTensor.Empty(CudaDevice, x.DType, x.Shape);
        Map($"backend_unary_{Suffix(x.DType)}", x.ElementCount, y, args => args.Pointer(x).Pointer(y).Long(x.ElementCount).Int(op).Float(scalar));
        return y;
    }

    private CudaTensor PerRow(string kernel, CudaTensor x, int rows, DType dtype, Func<KernelArguments, CudaTensor, KernelArguments> arguments)
    {
        var y = CudaTensor.Empty(CudaDevice, dtype, x.Shape);
        if (x.ElementCount == 0) return y;
        return Filled(y, () => Kernel(kernel).Launch(CudaDevice.DefaultStream, (rows + RowsPerBlock - 1) / RowsPerBlock, BlockSize, arguments(new KernelArguments(), y)));
    }

    /// <summary>Launches a grid-stride kernel over <paramref name="work"/> items that writes <paramref name="y"/> (disposed if the launch fails).</summary>
    private void Map(string kernel, long work, CudaTensor y, Func<KernelArguments, KernelArguments> arguments)
    {
        if (work == 0) return;
        long blocks = Math.Min((work + BlockSize - 1) / BlockSize, MaxGrid);
        Filled(y, () => Kernel(kernel).Launch(CudaDevice.DefaultStream, (int)blocks, BlockSize, arguments(new KernelArguments())));
    }

    /// <summary>
    /// y = x gathered through an index map: output element (i₀, …) reads x at offset + Σ ((iₐ − shiftₐ) mod dimₐ)·strideₐ,
    /// over the axes <paramref name="dims"/> whose product is y's element count.
    /// The elements are moved as bits (b16, b32), or converted when <paramref name="dtype"/> is given and differs from x's.
    /// </summary>
    private CudaTensor Gather(CudaTensor x, long offset, Shape shape, int[] dims, long[] strides, int[]? shifts, string op, DType? dtype = null)
    {
        var axes = Axes.Collapse(dims, [strides], shifts, op);
        var to = dtype ?? x.DType;
        var y = CudaTensor.Empty(CudaDevice, to, shape);
        ulong source = x.Pointer + (ulong)(offset * x.DType.SizeInBytes());
        string kernel = to != x.DType ? $"backend_gather_{Suffix(x.DType)}_{Suffix(to)}" : x.DType == DType.Float16 ? "backend_gather_b16" : "backend_gather_b32";
        Map(kernel, y.ElementCount, y,
            args => axes.Append(axes.Append(axes.Append(args.Pointer(source).Pointer(y).Long(y.ElementCount), axes.Dims), axes.Strides[0]), axes.Shifts));
        return y;
    }

    private CudaKernel Kernel(string name)
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_kernels.TryGetValue(name, out var kernel)) return kernel;
            _module ??= Jit.LoadShipped(Source);
            kernel = _module.GetKernel(name);
            _kernels[name] = kernel;
            return kernel;
        }
    }
}
