using Fusion;

namespace Fusion.Runtime.Tests;

/// <summary>
/// A small network using every convolution-family operator, for <see cref="CompiledConvNetTests"/>: a strided stem without bias,
/// batch norm, ReLU, max pooling, a depthwise 5×5, the channels-first LayerNorm, a 1×1 conv with GELU, a dilated grouped conv,
/// a 1×1 stride-2 shortcut with a bias and batch norm added back, average pooling, global pooling and a Linear head. Odd sizes throughout (17×15 image,
/// 3 → 12 → 20 channels).
/// </summary>
[FusedModel]
public sealed partial class SmallConvNet : Module
{
    public readonly Conv2d stem = new(3, 12, 3, stride: 2, padding: 1, bias: false);
    public readonly BatchNorm2d bn1 = new(12);
    public readonly Conv2d dw = new(12, 12, 5, padding: 2, groups: 12);
    public readonly LayerNorm norm = new(12, eps: 1e-6f);
    public readonly Conv2d pw = new(12, 20, 1);
    public readonly Conv2d grouped = new(20, 20, 3, padding: 2, dilation: 2, groups: 4);
    public readonly BatchNorm2d bn2 = new(20);
    public readonly Conv2d shortcut = new(12, 20, 1, stride: 2);
    public readonly BatchNorm2d bn3 = new(20, eps: 1e-3f);
    public readonly Linear head = new(20, 10);

    public Tensor Forward([Shape(Dim.Batch, 3, 17, 15)] Tensor image)
    {
        var x = F.Relu(F.BatchNorm2d(F.Conv2d(image, stem), bn1));   // [B, 12, 9, 8]
        x = F.MaxPool2d(x, 3, 1, 1);                                  // [B, 12, 9, 8]
        var y = F.LayerNorm2d(F.Conv2d(x, dw), norm);
        y = F.Gelu(F.Conv2d(y, pw));                                  // [B, 20, 9, 8]
        y = F.AvgPool2d(F.BatchNorm2d(F.Conv2d(y, grouped), bn2), 3, 2, 1); // [B, 20, 5, 4]
        x = F.Relu(F.Add(y, F.BatchNorm2d(F.Conv2d(x, shortcut), bn3))); // [B, 20, 5, 4]
        var pooled = F.Flatten(F.AdaptiveAvgPool2d(x, 1), 1);         // [B, 20]
        return F.Linear(pooled, head);
    }
}

/// <summary>
/// Convolutions the GEMM template reads as implicit GEMMs (channels-last inputs with channels a multiple of 8): a 3×3 after a 3×3,
/// a strided one, a dilated one and a 1×1 stride-2 shortcut, each with batch norm folded and an epilogue (ReLU, residual add). The
/// first convolution reads the NCHW image: the Half plan copies it channels-last first (ConvChannelPadding), the Float plan gathers
/// its im2col matrix. Odd image sizes (9×11). The global pool after the last convolution is summed in that convolution's GEMM
/// epilogue (PoolInGemmEpilogue), so every plan and GEMM path runs an epilogue that accumulates.
/// </summary>
[FusedModel(PoolInGemmEpilogue = true)]
public sealed partial class ImplicitConvNet : Module
{
    public readonly Conv2d conv1 = new(16, 24, 3, padding: 1, bias: false);
    public readonly BatchNorm2d bn1 = new(24);
    public readonly Conv2d conv2 = new(24, 24, 3, padding: 1);
    public readonly Conv2d conv3 = new(24, 40, 3, stride: 2, padding: 1, bias: false);
    public readonly BatchNorm2d bn3 = new(40);
    public readonly Conv2d shortcut = new(24, 40, 1, stride: 2, bias: false);
    public readonly Conv2d conv4 = new(40, 8, 3, padding: 2, dilation: 2);
    public readonly Linear head = new(8, 5);

    public Tensor Forward([Shape(Dim.Batch, 16, 9, 11)] Tensor image)
    {
        var x = F.Relu(F.BatchNorm2d(F.Conv2d(image, conv1), bn1));                    // [B, 24, 9, 11], gathered im2col
        x = F.Relu(F.Add(F.Conv2d(x, conv2), x));                                       // implicit, residual in the epilogue
        var y = F.Relu(F.Add(F.BatchNorm2d(F.Conv2d(x, conv3), bn3), F.Conv2d(x, shortcut))); // [B, 40, 5, 6], both implicit
        y = F.Gelu(F.Conv2d(y, conv4));                                                  // [B, 8, 5, 6], dilated
        return F.Linear(F.Flatten(F.AdaptiveAvgPool2d(y, 1), 1), head);
    }
}

/// <summary>
/// Convolutions for the Int8 plan, each taking its quantize where the plan puts it: over the NCHW image (its codes gathered into
/// windows), implicit int8 GEMMs over channels-last codes with channels a multiple of 16 (a 3×3 with a residual, a strided one and
/// its 1×1 stride-2 shortcut sharing their input, 64 wide so that the wide and Hopper tiles serve them too, a dilated one), a 3×3 over 24 channels (not whole 16-byte chunks: its codes'
/// windows gathered) and a 1×1 stride-1 (a plain Linear over channels-last codes). Odd image sizes (9×11).
/// </summary>
[FusedModel]
public sealed partial class Int8ConvNet : Module
{
    public readonly Conv2d conv1 = new(16, 32, 3, padding: 1, bias: false);
    public readonly BatchNorm2d bn1 = new(32);
    public readonly Conv2d conv2 = new(32, 32, 3, padding: 1);
    public readonly Conv2d conv3 = new(32, 64, 3, stride: 2, padding: 1, bias: false);
    public readonly BatchNorm2d bn3 = new(64);
    public readonly Conv2d shortcut = new(32, 64, 1, stride: 2, bias: false);
    public readonly Conv2d conv4 = new(64, 24, 3, padding: 2, dilation: 2);
    public readonly Conv2d conv5 = new(24, 16, 3, padding: 1);
    public readonly Conv2d pw = new(16, 20, 1);
    public readonly Linear head = new(20, 5);

    public Tensor Forward([Shape(Dim.Batch, 16, 9, 11)] Tensor image)
    {
        var x = F.Relu(F.BatchNorm2d(F.Conv2d(image, conv1), bn1));                          // [B, 32, 9, 11]
        x = F.Relu(F.Add(F.Conv2d(x, conv2), x));                                             // residual in the epilogue
        var y = F.Relu(F.Add(F.BatchNorm2d(F.Conv2d(x, conv3), bn3), F.Conv2d(x, shortcut))); // [B, 64, 5, 6]
        y = F.Gelu(F.Conv2d(y, conv4));                                                        // [B, 24, 5, 6], dilated
        y = F.Relu(F.Conv2d(y, conv5));                                                        // [B, 16, 5, 6]
        y = F.Conv2d(y, pw);                                                                   // [B, 20, 5, 6]
        return F.Linear(F.Flatten(F.AdaptiveAvgPool2d(y, 1), 1), head);
    }
}

/// <summary>Random weights for convolution test models: ±1/√fan-in for kernels and matrices, ±0.5 for vectors, running variances in [0.5, 1.5).</summary>
public static class ConvNetWeights
{
    public static void Initialize(IFusedModel model, int seed)
    {
        var random = new Random(seed);
        foreach (var (key, parameter) in model.NamedParameters())
        {
            var shape = parameter.Shape;
            if (key.EndsWith("running_var", StringComparison.Ordinal))
            {
                var values = Enumerable.Range(0, (int)shape.ElementCount).Select(_ => 0.5f + (float)random.NextDouble()).ToArray();
                parameter.Load(values, key);
            }
            else if (shape.Rank == 1)
            {
                parameter.InitUniform(random, 0.5f);
            }
            else
            {
                parameter.InitUniform(random, 1f / MathF.Sqrt(shape.Product(1, shape.Rank)));
            }
        }
    }
}
