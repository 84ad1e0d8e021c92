namespace Fusion.Bench;

/// <summary>
/// `Fusion.Bench gemm-sources DIR`: the GEMM template specialized for Swin-T's stage-1 and stage-4 Linear shapes (fp16 and int8,
/// bias, GELU on fc1, fp16 out) and for an odd shape with a residual (N = 37, K = 13: scalar x, padded w, the last odd column),
/// one file a kernel, named as bench/cuda/gemm_epilogue_variants.py and .cu expect (h_ fp16, s_ int8); and deep-K ones (ResNet-50's
/// stage-3 3×3 convolution as a GEMM, N = 256, K = 2304; Swin-T's stage-4 fc2, N = 768, K = 3072; ResNet-50's stage-1, -2 and -4 ones, N = 64, 128, 512, K = 576, 1152, 4608) for
/// gemm_tile_variants.cu. No GPU needed.
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
            ("h_deep", GemmKernels.Linear(256, 2304, bias: true, Activation.None, residual: false)),
            ("h_fc2_4", GemmKernels.Linear(768, 3072, bias: true, Activation.None, residual: false)),
            ("h_n64", GemmKernels.Linear(64, 576, bias: true, Activation.None, residual: false)),
            ("h_s2", GemmKernels.Linear(128, 1152, bias: true, Activation.None, residual: false)),
            ("h_s4", GemmKernels.Linear(512, 4608, bias: true, Activation.None, residual: false)),
            ("s_qkv1", GemmKernels.LinearInt8(288, 96, bias: true, Activation.None, residual: false)),
            ("s_fc1_1", GemmKernels.LinearInt8(384, 96, bias: true, Activation.Gelu, residual: false)),
            ("s_fc2_1", GemmKernels.LinearInt8(96, 384, bias: true, Activation.None, residual: false)),
            ("s_fc1_4", GemmKernels.LinearInt8(3072, 768, bias: true, Activation.Gelu, residual: false)),
            ("s_odd", GemmKernels.LinearInt8(37, 13, bias: false, Activation.Relu, residual: true)),
            ("s_deep", GemmKernels.LinearInt8(256, 2304, bias: true, Activation.None, residual: false)),
            ("s_fc2_4", GemmKernels.LinearInt8(768, 3072, bias: true, Activation.None, residual: false)),
        };
        foreach (var (tag, kernel) in kernels)
        {
            File.WriteAllText(Path.Combine(dir, tag + ".cu"), kernel.CudaSource);
            Console.WriteLine($"{tag}.cu: {kernel.Name}");
        }
    }
}
