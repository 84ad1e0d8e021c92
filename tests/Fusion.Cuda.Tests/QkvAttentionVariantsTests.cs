using Fusion.Cuda.Fused;

namespace Fusion.Cuda.Tests;

/// <summary>
/// Which QKV-prologue forms of the window attention a model's precompilation compiles (no GPU needed): one per attention and channel
/// count of a bias-only projection making exactly its q, k, v, in the x buffers the GPU's shared memory allows, none where the form
/// does not fit or the GPU has no mma.sync.
/// </summary>
public sealed class QkvAttentionVariantsTests
{
    private const int HopperSharedMemory = 227 * 1024;

    private static readonly FusedKernel s_stage1 = FusedKernelTests.Specialize("window_attention", ("HEADS", 3), ("HEAD_DIM", 32), ("TOKENS", 49), ("WINDOWS", 1), ("HAS_MASK", 0));
    private static readonly FusedKernel s_stage3 = FusedKernelTests.Specialize("window_attention", ("HEADS", 12), ("HEAD_DIM", 32), ("TOKENS", 49), ("WINDOWS", 4), ("HAS_MASK", 1));
    private static readonly FusedKernel s_stage4 = FusedKernelTests.Specialize("window_attention", ("HEADS", 24), ("HEAD_DIM", 32), ("TOKENS", 49), ("WINDOWS", 1), ("HAS_MASK", 0));

    private static IKernel[] Kernels() =>
    [
        s_stage1, s_stage3, s_stage4,
        GemmKernels.Linear(288, 96, bias: true, Activation.None, residual: false),
        GemmKernels.Linear(288, 96, bias: true, Activation.None, residual: false, DType.Float32), // the float plan's: the same form
        GemmKernels.Linear(1152, 384, bias: true, Activation.None, residual: false),
        GemmKernels.Linear(2304, 768, bias: true, Activation.None, residual: false),
        GemmKernels.Linear(1152, 384, bias: true, Activation.Gelu, residual: false), // not a projection the prologue takes
        GemmKernels.Linear(384, 96, bias: true, Activation.Gelu, residual: false),
    ];

    [Fact]
    public void EachAttentionGetsTheFormsOfItsProjectionsThatFit()
    {
        var names = QkvWindowAttention.Variants(Kernels(), 9, HopperSharedMemory, norm: FormMode.On, output: FormMode.Off).Select(v => v.Name).ToList();
        Assert.Equal([$"{s_stage1.Name}_qkv_c96_x2", $"{s_stage3.Name}_qkv_c384_x2"], names);
        var options = QkvWindowAttention.Variants(Kernels(), 9, HopperSharedMemory, norm: FormMode.On, output: FormMode.Off).First().Options;
        Assert.Equal(["-DFUSION_WA_PROJECT=96", "-DFUSION_WA_X_BUFFERS=2"], options);
    }

    /// <summary>
    /// A model with a LayerNorm + window-partition kernel of an attention's channels (Swin's norm1) also gets that attention's form
    /// with the norm prologue where the norm forms are asked for (FUSION_QKV_NORM); the other attention's channels have no such kernel.
    /// </summary>
    [Fact]
    public void ANormAndPartitionKernelAddsTheNormFormOfItsChannels()
    {
        var norm = IlgpuKernels.SwinBlock("layer_norm_roll_window_partition_f16_64nx49x96");
        var variants = QkvWindowAttention.Variants([.. Kernels(), norm], 9, HopperSharedMemory, norm: FormMode.On, output: FormMode.Off).ToList();
        Assert.Equal([$"{s_stage1.Name}_qkv_c96_x2", $"{s_stage1.Name}_norm_qkv_c96_x2", $"{s_stage3.Name}_qkv_c384_x2"], variants.Select(v => v.Name).ToList());
        Assert.Equal(["-DFUSION_WA_PROJECT=96", "-DFUSION_WA_X_BUFFERS=2", "-DFUSION_WA_NORM=7"], variants[1].Options);
        Assert.Equal([$"{s_stage1.Name}_qkv_c96_x2", $"{s_stage3.Name}_qkv_c384_x2"],
            QkvWindowAttention.Variants([.. Kernels(), norm], 9, HopperSharedMemory, norm: FormMode.Off, output: FormMode.Off).Select(v => v.Name).ToList());
    }

    /// <summary>
    /// Where the output projection's forms are asked for (FUSION_QKV_OUT) on a GPU with clusters, an attention whose model has a square
    /// bias-only projection of its C = heads · d channels also gets each form with it (shared memory allowing), the norm form too;
    /// not without clusters, and not for 24 heads (a cluster holds 16).
    /// </summary>
    [Fact]
    public void ASquareProjectionAddsTheOutputFormsOfItsChannels()
    {
        var norm = IlgpuKernels.SwinBlock("layer_norm_roll_window_partition_f16_64nx49x96");
        IKernel[] kernels = [.. Kernels(), norm, GemmKernels.Linear(96, 96, bias: true, Activation.None, residual: false),
            GemmKernels.Linear(384, 384, bias: true, Activation.None, residual: false), GemmKernels.Linear(768, 768, bias: true, Activation.None, residual: false)];
        var variants = QkvWindowAttention.Variants(kernels, 9, HopperSharedMemory, norm: FormMode.On, output: FormMode.On).ToList();
        Assert.Equal([$"{s_stage1.Name}_qkv_c96_x2", $"{s_stage1.Name}_norm_qkv_c96_x2", $"{s_stage1.Name}_qkv_out_c96_x2", $"{s_stage1.Name}_norm_qkv_out_c96_x2",
            $"{s_stage3.Name}_qkv_c384_x2", $"{s_stage3.Name}_qkv_out_c384_x2"], variants.Select(v => v.Name).ToList());
        Assert.Equal(["-DFUSION_WA_PROJECT=96", "-DFUSION_WA_X_BUFFERS=2", "-DFUSION_WA_NORM=7", "-DFUSION_WA_OUT=1"], variants[3].Options);
        Assert.DoesNotContain(QkvWindowAttention.Variants(kernels, 8, HopperSharedMemory, norm: FormMode.On, output: FormMode.On), v => v.Name.Contains("_out_"));
    }

    /// <summary>
    /// In auto the norm and output forms are compiled only for attentions of at most six heads, the only ones auto may
    /// take: stage 1's here, not stage 3's (12 heads), whose plain QKV form stays.
    /// </summary>
    [Fact]
    public void AutoCompilesTheRepeatingFormsForFewHeadsOnly()
    {
        var norm3 = IlgpuKernels.SwinBlock("layer_norm_roll_window_partition_f16_64nx49x96");
        IKernel[] kernels = [.. Kernels(), norm3, GemmKernels.Linear(96, 96, bias: true, Activation.None, residual: false),
            GemmKernels.Linear(384, 384, bias: true, Activation.None, residual: false)];
        var names = QkvWindowAttention.Variants(kernels, 9, HopperSharedMemory, norm: FormMode.Auto, output: FormMode.Auto).Select(v => v.Name).ToList();
        Assert.Equal([$"{s_stage1.Name}_qkv_c96_x2", $"{s_stage1.Name}_norm_qkv_c96_x2", $"{s_stage1.Name}_qkv_out_c96_x2", $"{s_stage1.Name}_norm_qkv_out_c96_x2",
            $"{s_stage3.Name}_qkv_c384_x2"], names);
    }

    [Fact]
    public void LessSharedMemoryTakesOneXBufferOrNone()
    {
        // An sm_86-class block (99 KB): stage 1 keeps two buffers (62 KB), stage 3 fits with neither.
        var names = QkvWindowAttention.Variants(Kernels(), 8, 99 * 1024, norm: FormMode.On, output: FormMode.On).Select(v => v.Name).ToList();
        Assert.Equal([$"{s_stage1.Name}_qkv_c96_x2"], names);
        Assert.Empty(QkvWindowAttention.Variants(Kernels(), 7, HopperSharedMemory, norm: FormMode.On, output: FormMode.On));
    }
}
