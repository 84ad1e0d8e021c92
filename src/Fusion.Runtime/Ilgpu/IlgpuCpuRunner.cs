using System.Reflection;
using System.Runtime.InteropServices;
using Fusion.Compiler;
using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;

namespace Fusion.Ilgpu;

/// <summary>
/// Runs a generated kernel's ILGPU version (<see cref="GeneratedKernel.IlgpuMethod"/>) on ILGPU's CPU accelerator, which simulates
/// an NVIDIA GPU's groups and 32-lane warps with .NET threads: the very kernel the GPU runs, on small shapes, where a debugger can
/// step through it (docs/ilgpu.md). Launched on the same grid as on the GPU (<see cref="GeneratedKernel.Launch"/>). Slow: for
/// tests and debugging, not a backend.
/// </summary>
public sealed class IlgpuCpuRunner : IDisposable
{
    private readonly Context _context;
    private readonly CPUAccelerator _accelerator;
    private readonly Dictionary<MethodInfo, Kernel> _kernels = [];
    private readonly Lock _lock = new();

    public IlgpuCpuRunner()
    {
        // The Nvidia-like CPU device: 32-lane warps and up to 1024 threads a group, as the printed kernels assume.
        _context = Context.Create(builder => builder.CPU(CPUDeviceKind.Nvidia).EnableAlgorithms());
        _accelerator = _context.CreateCPUAccelerator(0);
    }

    /// <summary>The kernel's outputs for <paramref name="inputs"/> (its input buffers in IR order) at <paramref name="batch"/>, as <see cref="IBackend.Run"/> gives them.</summary>
    public CpuTensor[] Run(GeneratedKernel kernel, int batch, DType io, params CpuTensor[] inputs)
    {
        var outputs = KernelOperands.Check(kernel, batch, io, inputs);
        var method = kernel.IlgpuMethod(io) ?? throw new FusionException($"kernel {kernel.Name} has no ILGPU version (only kernels a [FusedModel] generated have one)");
        var results = outputs.Select(o => CpuTensor.Zeros(o.DType, o.Shape)).ToArray();
        lock (_lock)
        {
            if (!_kernels.TryGetValue(method, out var compiled)) _kernels[method] = compiled = Compile(kernel, method);
            var buffers = new List<MemoryBuffer>();
            try
            {
                var args = new List<object>();
                foreach (var tensor in inputs.Concat(results))
                {
                    var (buffer, view) = Upload(tensor);
                    buffers.Add(buffer);
                    args.Add(view);
                }
                args.Add(batch);
                long blocks = kernel.Launch.Blocks(batch);
                if (blocks > 0) compiled.Launch(_accelerator.DefaultStream, new KernelConfig(checked((int)blocks), kernel.Launch.Threads), args.ToArray());
                _accelerator.Synchronize();
                for (int i = 0; i < results.Length; i++) Download(buffers[inputs.Length + i], results[i]);
            }
            catch
            {
                foreach (var r in results) r.Dispose();
                throw;
            }
            finally
            {
                foreach (var b in buffers) b.Dispose();
            }
        }
        return results;
    }

    private Kernel Compile(GeneratedKernel kernel, MethodInfo method)
    {
        try
        {
            return _accelerator.LoadKernel(method);
        }
        catch (Exception e) when (e is not FusionException)
        {
            throw new FusionException($"ILGPU could not compile kernel {kernel.Name} ({method.Name}) for its CPU accelerator: {e.Message}", e);
        }
    }

    /// <summary>A buffer holding the tensor's elements and the kernel's view of it (float or ILGPU's half).</summary>
    private (MemoryBuffer Buffer, object View) Upload(CpuTensor tensor)
    {
        if (tensor.DType == DType.Float16)
        {
            var buffer = _accelerator.Allocate1D<ILGPU.Half>(tensor.Shape.ElementCount);
            buffer.View.AsContiguous().CopyFromCPU(MemoryMarshal.Cast<System.Half, ILGPU.Half>(tensor.Span<System.Half>()));
            return (buffer, buffer.View.AsContiguous());
        }
        if (tensor.DType != DType.Float32) throw new TensorMismatchException("ILGPU kernel buffer", "f32 or f16", tensor.DType.ShortName());
        var floats = _accelerator.Allocate1D<float>(tensor.Shape.ElementCount);
        floats.View.AsContiguous().CopyFromCPU(tensor.Span<float>());
        return (floats, floats.View.AsContiguous());
    }

    private static void Download(MemoryBuffer buffer, CpuTensor into)
    {
        if (buffer is MemoryBuffer1D<ILGPU.Half, Stride1D.Dense> halves)
            halves.View.AsContiguous().CopyToCPU(MemoryMarshal.Cast<System.Half, ILGPU.Half>(into.Span<System.Half>()));
        else
            ((MemoryBuffer1D<float, Stride1D.Dense>)buffer).View.AsContiguous().CopyToCPU(into.Span<float>());
    }

    public void Dispose()
    {
        _accelerator.Dispose();
        _context.Dispose();
    }
}
