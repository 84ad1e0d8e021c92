using System.Diagnostics;
using Fusion.Ilgpu;

namespace Fusion.Bench;

/// <summary>
/// How long ILGPU takes to compile a model's generated kernels to PTX (the first half of a cold start with
/// FUSION_KERNELS=ilgpu; the driver's PTX JIT at load is the other): every ILGPU method (each io variant; the GEMM and window-attention templates too) once in a row, then
/// all again in parallel on <see cref="IlgpuPtxCompiler"/>'s context pool. Needs no GPU.
/// </summary>
internal static class IlgpuCompileBench
{
    public static void Run(string name, string? ptxDirectory = null)
    {
        IFusedModel model = name switch
        {
            "swin-t" => new SwinTiny.Model.SwinTransformerTiny(),
            "vit-b16" => new ViT.Model.VisionTransformerBase16(),
            _ => throw new ArgumentException($"no model '{name}' (swin-t, vit-b16)", nameof(name)),
        };
        var methods = GeneratedKernel.AllIn(model.Kernels).SelectMany(k => k.IoTypes.Select(io => (k.Name, Method: k.IlgpuMethod(io)!, Cuda: k.CudaSource)))
            .Concat(model.Kernels.OfType<GemmKernel>().Where(k => k.IlgpuKernels is not null)
                .SelectMany(k => k.Epilogue.IoTypes.Select(io => (k.Name, Method: k.IlgpuMethod(io)!, Cuda: k.CudaSource))))
            .Concat(model.Kernels.OfType<FusedKernel>().Where(k => k.IlgpuKernels is not null)
                .SelectMany(k => k.IoTypes.Select(io => (k.Name, Method: k.IlgpuMethod(io)!, Cuda: k.CudaSource)))).ToList();
        Console.WriteLine($"{name}: {methods.Count} ILGPU kernel methods; {Environment.ProcessorCount} cores, pool of {IlgpuPtxCompiler.MaxContexts} contexts; "
            + $"ILGPU {IlgpuPtxCompiler.Version}; {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
        var times = new List<(string Name, double Ms)>();
        var all = Stopwatch.StartNew();
        foreach (var (kernel, method, _) in methods)
        {
            var one = Stopwatch.StartNew();
            IlgpuPtxCompiler.Compile(method, kernel);
            times.Add((method.Name, one.Elapsed.TotalMilliseconds));
        }
        Console.WriteLine($"one after another: {all.Elapsed.TotalSeconds:F2} s (the first, with ILGPU's own start-up: {times[0].Ms:F0} ms; "
            + $"median {times.Select(t => t.Ms).Order().ElementAt(times.Count / 2):F0} ms)");
        foreach (var (method, ms) in times.Skip(1).OrderByDescending(t => t.Ms).Take(5)) Console.WriteLine($"  {method,-60} {ms,8:F0} ms");
        all.Restart();
        Parallel.ForEach(methods, m => IlgpuPtxCompiler.Compile(m.Method, m.Name));
        Console.WriteLine($"in parallel: {all.Elapsed.TotalSeconds:F2} s");
        if (ptxDirectory is null) return;
        // For reading what ILGPU made of each method beside the CUDA C it shadows (compile that with clang-19 or nvcc to compare).
        Directory.CreateDirectory(ptxDirectory);
        foreach (var (kernel, method, cuda) in methods)
        {
            File.WriteAllText(Path.Combine(ptxDirectory, method.Name + ".ptx"), IlgpuPtxCompiler.Compile(method, kernel).Ptx);
            File.WriteAllText(Path.Combine(ptxDirectory, kernel + ".cu"), cuda);
        }
        Console.WriteLine($"PTX and CUDA C of every kernel in {ptxDirectory}");
    }
}
