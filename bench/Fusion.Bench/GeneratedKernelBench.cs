using System.Globalization;
using Fusion.Cuda;
using Fusion.Cuda.Generated;

namespace Fusion.Bench;

/// <summary>
/// Every generated kernel of a model (its own and its GEMMs' epilogues) at one batch, in the fp16 plan's io type, once as its CUDA C
/// (NVRTC) and once as its ILGPU C#: the GPU's time alone (each run behind a <see cref="StreamHold"/>, 3 warm-ups, median of 21,
/// rotating among three input sets so no run reads what the one before left in L2) and the fraction of its floor, the time its
/// buffers take to move once (every input read, every output written) at the bandwidth of a 1 GiB device-to-device copy measured in
/// the same run. Random inputs in [−1, 1). Then the model's fp16 GEMMs with their epilogues the same way: the CUDA template in
/// its default tile (NVRTC), the ILGPU template (the same tile) and cuBLASLt (with its own epilogue, or the epilogue kernel after it);
/// then its window attentions and (ViT) flash attentions, NVRTC and ILGPU.
/// </summary>
internal static class GeneratedKernelBench
{
    public static void Run(string name, int batch)
    {
        using var backend = CudaBackend.Open(0);
        var device = backend.CudaDevice;
        var stream = device.DefaultStream;
        IFusedModel model = name switch
        {
            "swin-t" => new SwinTiny.Model.SwinTransformerTiny(),
            "vit-b16" => new ViT.Model.VisionTransformerBase16(),
            _ => throw new ArgumentException($"no model '{name}' (swin-t, vit-b16)", nameof(name)),
        };
        Console.WriteLine($"device: {device}; {name} generated kernels at batch {batch}, io f16; {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
        using var bigSource = CudaTensor.Empty(device, DType.Float16, 1 << 29);
        using var bigTarget = CudaTensor.Empty(device, DType.Float16, 1 << 29);
        bigSource.FillBytes(0x3C);
        double copyMs = EventTimer.MedianMilliseconds(device, stream, () => bigTarget.CopyFrom(bigSource), warmup: 3, repeats: 20);
        double bytesPerMs = 2.0 * bigSource.SizeInBytes / copyMs;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"floor bandwidth: 1 GiB copy at {bytesPerMs / 1e6:F0} GB/s"));
        Console.WriteLine($"{"kernel",-58} {"MB",7} {"floor us",9} {"nvrtc us",9} {"ilgpu us",9} {"ilgpu/nvrtc",11} {"nvrtc floor",11} {"ilgpu floor",11}");
        using var launcher = new GeneratedKernelLauncher(backend.Jit, KernelLanguage.Nvrtc);
        using var hold = new StreamHold(backend.Jit);
        double nvrtcTotal = 0, ilgpuTotal = 0, worst = 0;
        var rng = new Random(5);
        foreach (var kernel in GeneratedKernel.AllIn(model.Kernels).DistinctBy(k => k.Name).Where(k => k.IlgpuKernels is not null))
        {
            var io = DType.Float16;
            var sets = Enumerable.Range(0, 3).Select(_ => Buffers(kernel, batch, io, device, rng)).ToList();
            long bytes = sets[0].Sum(t => t.SizeInBytes);
            int turn = 0;
            double Time(KernelLanguage language)
            {
                launcher.Language = language;
                return 1000.0 * hold.MedianMilliseconds(device, stream, () => launcher.Launch(kernel, batch, io, sets[turn++ % sets.Count], stream), 3, 21);
            }
            double nvrtc = Time(KernelLanguage.Nvrtc), ilgpu = Time(KernelLanguage.Ilgpu);
            double floor = 1000.0 * bytes / bytesPerMs;
            nvrtcTotal += nvrtc;
            ilgpuTotal += ilgpu;
            worst = Math.Max(worst, ilgpu / nvrtc);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{kernel.Name,-58} {bytes / 1e6,7:F2} {floor,9:F1} {nvrtc,9:F1} {ilgpu,9:F1} {ilgpu / nvrtc,11:F2} {floor / nvrtc,11:P0} {floor / ilgpu,11:P0}"));
            foreach (var set in sets)
                foreach (var t in set) t.Dispose();
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"sum of one launch each: nvrtc {nvrtcTotal:F1} us, ilgpu {ilgpuTotal:F1} us ({ilgpuTotal / nvrtcTotal:F2}x); worst kernel {worst:F2}x"));
        Gemms(model, batch, backend, launcher, hold, bytesPerMs, rng);
        WindowAttentions(model, batch, backend, launcher, hold, bytesPerMs, rng);
        if (name == "vit-b16") Attentions(model, batch, heads: 12, tokens: 197, backend, launcher, hold, bytesPerMs, rng);
    }

    /// <summary>
    /// The flash attentions with ILGPU versions, on a packed projection [B, tokens, 3·heads·d] into heads merged (ViT's layout; the
    /// kernel's constants hold only the head dim, so the model's heads and tokens are given): NVRTC and ILGPU.
    /// </summary>
    private static void Attentions(IFusedModel model, int batch, int heads, int tokens, CudaBackend backend, GeneratedKernelLauncher launcher, StreamHold hold,
        double bytesPerMs, Random rng)
    {
        var device = backend.CudaDevice;
        var stream = device.DefaultStream;
        var kernels = model.Kernels.OfType<FusedKernel>().Where(k => k.Pattern == AttentionKernels.Pattern && k.IlgpuKernels is not null && k.Epilogue is null)
            .DistinctBy(k => k.Name).ToList();
        using var modules = new Cuda.Fused.FusedKernelModules(backend.Jit);
        using var attention = new Cuda.Fused.AttentionLauncher(modules, launcher);
        Console.WriteLine($"{"attention",-40} {"batch",8} {"MB",7} {"floor us",9} {"nvrtc us",9} {"ilgpu us",9} {"ilgpu/nvrtc",11} {"nvrtc floor",11} {"ilgpu floor",11}");
        foreach (var kernel in kernels)
        {
            int d = kernel.Constant("HEAD_DIM");
            var layout = new AttentionLayout(Packed: true, Merged: true, Heads: heads, HeadDim: d);
            var sets = Enumerable.Range(0, 3).Select(_ => BenchData.RandomHalves(device, rng, batch, tokens, 3 * heads * d)).ToList();
            using var output = CudaTensor.Empty(device, DType.Float16, batch, tokens, heads * d);
            long bytes = sets[0].SizeInBytes + output.SizeInBytes;
            int turn = 0;
            double Time(KernelLanguage language)
            {
                launcher.Language = language;
                return 1000.0 * hold.MedianMilliseconds(device, stream, () =>
                {
                    var qkv = sets[turn++ % sets.Count];
                    attention.Run(qkv, qkv, qkv, null, layout, 1 / MathF.Sqrt(d), false, kernel, output, stream);
                }, 3, 21);
            }
            double nvrtc = Time(KernelLanguage.Nvrtc), ilgpu = Time(KernelLanguage.Ilgpu);
            if (!attention.LastRanIlgpu) throw new InvalidOperationException($"{kernel.Name}: the ILGPU kernel did not run");
            double floor = 1000.0 * bytes / bytesPerMs;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{kernel.Name,-40} {batch,8} {bytes / 1e6,7:F2} {floor,9:F1} {nvrtc,9:F1} {ilgpu,9:F1} {ilgpu / nvrtc,11:F2} {floor / nvrtc,11:P0} {floor / ilgpu,11:P0}"));
            foreach (var set in sets) set.Dispose();
        }
        launcher.Language = KernelLanguage.Nvrtc;
    }

    /// <summary>
    /// The window attentions with ILGPU versions: the NVRTC template and the ILGPU one, over batch · windows-per-image windows (a masked
    /// kernel's mask count; an unmasked one takes the count of the masked kernel with its head count, Swin's pairing of the two blocks of a stage).
    /// </summary>
    private static void WindowAttentions(IFusedModel model, int batch, CudaBackend backend, GeneratedKernelLauncher launcher, StreamHold hold, double bytesPerMs, Random rng)
    {
        var device = backend.CudaDevice;
        var stream = device.DefaultStream;
        var kernels = model.Kernels.OfType<FusedKernel>().Where(k => k.Pattern == Cuda.Fused.WindowAttentionLauncher.Pattern && k.IlgpuKernels is not null && k.Epilogue is null).ToList();
        if (kernels.Count == 0) return;
        using var modules = new Cuda.Fused.FusedKernelModules(backend.Jit);
        using var attention = new Cuda.Fused.WindowAttentionLauncher(modules, launcher);
        Console.WriteLine($"{"window attention",-40} {"windows",8} {"MB",7} {"floor us",9} {"nvrtc us",9} {"ilgpu us",9} {"ilgpu/nvrtc",11} {"nvrtc floor",11} {"ilgpu floor",11}");
        double nvrtcTotal = 0, ilgpuTotal = 0;
        foreach (var kernel in kernels)
        {
            var (heads, d, tokens) = (kernel.Constant("HEADS"), kernel.Constant("HEAD_DIM"), kernel.Constant("TOKENS"));
            bool masked = kernel.Constant("HAS_MASK") != 0;
            int perImage = masked ? kernel.Constant("WINDOWS")
                : kernels.FirstOrDefault(k => k.Constant("HAS_MASK") != 0 && k.Constant("HEADS") == heads)?.Constant("WINDOWS") ?? 1;
            int windows = batch * perImage;
            var sets = Enumerable.Range(0, 3).Select(_ => BenchData.RandomHalves(device, rng, windows, tokens, 3 * heads * d)).ToList();
            using var bias = BenchData.RandomHalves(device, rng, heads, tokens, tokens);
            using var mask = masked ? BenchData.RandomHalves(device, rng, perImage, tokens, tokens) : null;
            using var output = CudaTensor.Empty(device, DType.Float16, windows, tokens, heads * d);
            long bytes = sets[0].SizeInBytes + bias.SizeInBytes + (mask?.SizeInBytes ?? 0) + output.SizeInBytes;
            int turn = 0;
            double Time(KernelLanguage language)
            {
                launcher.Language = language;
                return 1000.0 * hold.MedianMilliseconds(device, stream, () =>
                    attention.Run(sets[turn++ % sets.Count], bias, mask, heads, 1 / MathF.Sqrt(d), output, kernel, stream), 3, 21);
            }
            double nvrtc = Time(KernelLanguage.Nvrtc), ilgpu = Time(KernelLanguage.Ilgpu);
            if (!attention.LastRanIlgpu) throw new InvalidOperationException($"{kernel.Name}: the ILGPU kernel did not run");
            double floor = 1000.0 * bytes / bytesPerMs;
            nvrtcTotal += nvrtc;
            ilgpuTotal += ilgpu;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{kernel.Name,-40} {windows,8} {bytes / 1e6,7:F2} {floor,9:F1} {nvrtc,9:F1} {ilgpu,9:F1} {ilgpu / nvrtc,11:F2} {floor / nvrtc,11:P0} {floor / ilgpu,11:P0}"));
            foreach (var set in sets) set.Dispose();
        }
        launcher.Language = KernelLanguage.Nvrtc;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"window attentions, sum of one launch each: nvrtc {nvrtcTotal:F1} us, ilgpu {ilgpuTotal:F1} us ({ilgpuTotal / nvrtcTotal:F2}x)"));
    }

    /// <summary>The fp16 GEMMs (x·wᵀ with the epilogue): the NVRTC template, the ILGPU template, cuBLASLt.</summary>
    private static void Gemms(IFusedModel model, int batch, CudaBackend backend, GeneratedKernelLauncher launcher, StreamHold hold, double bytesPerMs, Random rng)
    {
        var device = backend.CudaDevice;
        var stream = device.DefaultStream;
        using var gemm = new Cuda.Gemm.FusedGemm(device, backend.Jit, Cuda.Gemm.GemmPolicy.Generated, epilogues: launcher);
        Console.WriteLine($"{"gemm",-40} {"m",8} {"MB",7} {"floor us",9} {"nvrtc us",9} {"ilgpu us",9} {"cublas us",9} {"ilgpu/nvrtc",11} {"ilgpu floor",11}");
        double nvrtcTotal = 0, ilgpuTotal = 0, cublasTotal = 0;
        foreach (var kernel in model.Kernels.OfType<GemmKernel>().DistinctBy(k => k.Name).Where(k => k.IlgpuKernels is not null))
        {
            var acc = kernel.Epilogue.Ir.Buffers.Single(b => b.Role == Compiler.BufferRole.Accumulator);
            if (acc.Type != Compiler.FloatType.F16) continue; // the float32 plan's GEMMs run on cuBLASLt only
            var io = DType.Float16;
            var xShape = acc.Shape.Select(d => checked((int)d.At(batch))).ToArray();
            xShape[^1] = kernel.K;
            int at = kernel.Epilogue.Ir.Buffers.ToList().IndexOf(acc);
            var sets = Enumerable.Range(0, 3).Select(_ =>
            {
                var buffers = Buffers(kernel.Epilogue, batch, io, device, rng);
                buffers[at].Dispose();
                var x = BenchData.RandomHalves(device, rng, xShape);
                return (X: x, Others: buffers.Where((_, i) => i != at).ToList());
            }).ToList();
            using var w = BenchData.RandomHalves(device, rng, kernel.N, kernel.K);
            int inputs = kernel.Epilogue.Ir.Buffers.Count(b => b.Role == Compiler.BufferRole.Input);
            long bytes = sets[0].X.SizeInBytes + w.SizeInBytes + sets[0].Others.Sum(t => t.SizeInBytes);
            int m = checked((int)(sets[0].X.ElementCount / kernel.K));
            int turn = 0;
            double Time(Cuda.Gemm.GemmPath path, KernelLanguage language)
            {
                launcher.Language = language;
                return 1000.0 * hold.MedianMilliseconds(device, stream, () =>
                {
                    var set = sets[turn++ % sets.Count];
                    gemm.RunWith(path, kernel, set.X, w, set.Others.Take(inputs).ToList(), set.Others.Skip(inputs).ToList(), batch, io, stream);
                }, 3, 21);
            }
            double nvrtc = Time(Cuda.Gemm.GemmPath.Generated, KernelLanguage.Nvrtc);
            double ilgpu = Time(Cuda.Gemm.GemmPath.Generated, KernelLanguage.Ilgpu);
            if (!gemm.LastRanIlgpu) throw new InvalidOperationException($"{kernel.Name}: the ILGPU template did not run");
            double cublas = Time(Cuda.Gemm.GemmPath.CublasLt, KernelLanguage.Nvrtc);
            double floor = 1000.0 * bytes / bytesPerMs;
            nvrtcTotal += nvrtc;
            ilgpuTotal += ilgpu;
            cublasTotal += cublas;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{kernel.Name,-40} {m,8} {bytes / 1e6,7:F2} {floor,9:F1} {nvrtc,9:F1} {ilgpu,9:F1} {cublas,9:F1} {ilgpu / nvrtc,11:F2} {floor / ilgpu,11:P0}"));
            foreach (var set in sets)
            {
                set.X.Dispose();
                foreach (var t in set.Others) t.Dispose();
            }
        }
        launcher.Language = KernelLanguage.Nvrtc;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"gemms, sum of one launch each: nvrtc template {nvrtcTotal:F1} us, ilgpu template {ilgpuTotal:F1} us ({ilgpuTotal / nvrtcTotal:F2}x), cublaslt {cublasTotal:F1} us"));
    }

    /// <summary>Random inputs and empty outputs for <paramref name="kernel"/> at <paramref name="batch"/>, in IR order.</summary>
    private static List<CudaTensor> Buffers(GeneratedKernel kernel, int batch, DType io, CudaDevice device, Random rng) =>
        kernel.Ir.Buffers.Select(b =>
        {
            var shape = b.Shape.Select(d => checked((int)d.At(batch))).ToArray();
            var type = LoopInterpreter.Resolve(b.Type, io);
            if (b.Role != Compiler.BufferRole.Input) return CudaTensor.Empty(device, type, new Shape(shape));
            var values = new float[shape.Aggregate(1L, (n, d) => n * d)];
            for (int i = 0; i < values.Length; i++) values[i] = (float)(rng.NextDouble() * 2 - 1);
            using var host = CpuTensor.FromArray(values, shape);
            using var typed = (CpuTensor)CpuBackend.Instance.Cast(host, type);
            return CudaTensor.FromHost(device, typed);
        }).ToList();
}
