namespace Fusion.Bench;

/// <summary>
/// `Fusion.Bench gemm-sources DIR`: the GEMM template specialized for Swin-T's stage-1 and stage-4 Linear shapes (fp16 and int8,
/// bias, GELU on fc1, fp16 out) and for an odd shape with a residual (N = 37, K = 13: scalar x, padded w, the last odd column),
/// one file a kernel, named as bench/cuda/gemm_epilogue_variants.py and .cu expect (h_ fp16, s_ int8). No GPU needed.
/// </summary>
internal static class GemmSourcesDump
{
    public static void Write(string dir)
    {
        Directory.CreateDirectory(dir);
        var kernels = new (string Tag, GemmKernel Kernel)[]
        {
            ("h_qkv1", GemmKernels.Linear(288, 96, bias: true, Activation.None, residual: false)),
            ("h_fc1_1", GemmKernels.Linear(384, 96, bias: true, Activation.Gelu, residual: false)),
            ("h_fc2_1", GemmKernels.Linear(96, 384, bias: true, Activation.None, residual: false)),
            ("h_fc1_4", GemmKernels.Linear(3072, 768, bias: true, Activation.Gelu, residual: false)),
            ("h_odd", GemmKernels.Linear(37, 13, bias: false, Activation.Relu, residual: true)),
            ("s_qkv1", GemmKernels.LinearInt8(288, 96, bias: true, Activation.None, residual: false)),
            ("s_fc1_1", GemmKernels.LinearInt8(384, 96, bias: true, Activation.Gelu, residual: false)),
            ("s_fc2_1", GemmKernels.LinearInt8(96, 384, bias: true, Activation.None, residual: false)),
            ("s_fc1_4", GemmKernels.LinearInt8(3072, 768, bias: true, Activation.Gelu, residual: false)),
            ("s_odd", GemmKernels.LinearInt8(37, 13, bias: false, Activation.Relu, residual: true)),
        };
        foreach (var (tag, kernel) in kernels)
        {
            File.WriteAllText(Path.Combine(dir, tag + ".cu"), kernel.CudaSource);
            Console.WriteLine($"{tag}.cu: {kernel.Name}");
        }
    }
}
