namespace Fusion.Runtime.Tests.Quantization;

/// <summary>One Linear layer whose sizes cuBLASLt's FP8 product takes (K = 48, N = 40), for the exact checks of the Fp8 plan.</summary>
[FusedModel]
public sealed partial class Fp8OneLinear : Module
{
    public readonly Linear fc = new(48, 40);

    public Tensor Forward([Shape(Dim.Batch, 5, 48)] Tensor x) => F.Linear(x, fc);
}

/// <summary>
/// A transformer MLP block and a head (LayerNorm → fc1 → GELU → fc2 → + x → head) at FP8-sized features, so the Fp8 plan runs the
/// chains Swin-T has: the quantize fused into the norm, fc1's GELU and fc2's quantize in the product's epilogue (an E4M3 output),
/// fc2's residual add as cuBLASLt's C.
/// </summary>
[FusedModel]
public sealed partial class Fp8Mlp : Module
{
    public readonly LayerNorm norm = new(48);
    public readonly Linear fc1 = new(48, 96);
    public readonly Linear fc2 = new(96, 48);
    public readonly Linear head = new(48, 16);

    public Tensor Forward([Shape(Dim.Batch, 7, 48)] Tensor x)
    {
        var h = F.Gelu(F.Linear(F.LayerNorm(x, norm), fc1));
        var y = F.Add(x, F.Linear(h, fc2));
        return F.Linear(y, head);
    }
}
