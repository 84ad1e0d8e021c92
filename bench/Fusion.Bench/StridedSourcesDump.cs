using Fusion.Compiler;

namespace Fusion.Bench;

/// <summary>
/// `Fusion.Bench strided-sources DIR`: ConvNeXt-T's fp16 depthwise convolutions (the strided kernels whose threads take several
/// pixels) printed on the mapping the printer chooses and on the others worth comparing (V outputs along the channels × P pixels,
/// <see cref="KernelMapping.StridedVariant"/>), one file a variant named KERNEL__VxP.cu, each ending with its launch as
/// bench/cuda/strided_variants.cu reads it; the one-pixel variant with the widest vector (8x1 where the channels allow) is that
/// harness's reference. No GPU needed.
/// </summary>
internal static class StridedSourcesDump
{
    private static readonly (int Vector, int Slide)[] s_variants = [(8, 1), (8, 2), (8, 4), (8, 7), (4, 4), (4, 7), (4, 8), (2, 7), (2, 8)];

    public static void Write(string dir)
    {
        Directory.CreateDirectory(dir);
        var kernels = GeneratedKernel.AllIn(ConvNeXtSample.Model.ConvNeXtTiny.Kernels)
            .Select(k => k.Ir)
            .Where(ir => ir.Buffers.All(b => b.Type == FloatType.F16) && ir.Name.Contains("conv_windows", StringComparison.Ordinal)
                && KernelMapping.Of(ir).Kind == MappingKind.Strided)
            .DistinctBy(ir => ir.Name);
        foreach (var ir in kernels)
        {
            var chosen = KernelMapping.Of(ir);
            var written = new HashSet<KernelMapping>();
            foreach (var (vector, slide) in s_variants)
            {
                var mapping = KernelMapping.StridedVariant(ir, vector, slide);
                if (!written.Add(mapping)) continue; // a variant the extent turned into one already written
                var printed = CudaKernelPrinter.Print(ir, mapping);
                var file = $"{ir.Name}__{mapping.Vector}x{mapping.Slide}.cu";
                File.WriteAllText(Path.Combine(dir, file), printed.Source + $"\n// LAUNCH {printed.Launch.UnitsPerBatch} {printed.Launch.Threads}\n");
                Console.WriteLine($"{file}: V = {mapping.Vector}, P = {mapping.Slide}{(mapping == chosen ? " (chosen)" : "")}");
            }
        }
    }
}
