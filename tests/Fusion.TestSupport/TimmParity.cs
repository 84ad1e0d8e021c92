using Xunit;

namespace Fusion.Testing;

/// <summary>
/// The checks of a model against timm's logits (exported by a sample's python/export_timm.py), shared by the Swin-T and ViT
/// parity tests: FP32 on the CPU on the first images, FP16 on the GPU on all of them.
/// </summary>
public static class TimmParity
{
    /// <summary>
    /// FP32 on the CPU on the first <paramref name="images"/> inputs (the CPU path is slow at full size) against the same rows of
    /// timm's logits, within <paramref name="atol"/> + <paramref name="rtol"/>·|b|.
    /// </summary>
    public static void CheckFp32OnCpu(IFusedModel model, CpuTensor input, CpuTensor expected, int images, double atol, double rtol, string what)
    {
        images = Math.Min(images, input.Shape[0]);
        int perImage = (int)(input.ElementCount / input.Shape[0]), classes = expected.Shape[1];
        var dims = input.Shape.ToArray();
        dims[0] = images;
        using var head = CpuTensor.FromArray(input.Span<float>()[..(images * perImage)], dims);
        using var logits = model.Run([head]);
        var firstRows = new RefTensor([images, classes], RefTensor.FromCpu(expected).Data[..(images * classes)]);
        Tolerance.AssertClose(logits, firstRows, atol, rtol, $"{what} FP32 CPU logits vs timm");
    }

    /// <summary>
    /// FP16 on the GPU: relative L2 ≤ 1e-2 against timm's FP32 logits, and the same top-1 class for at least 99% of inputs — of the
    /// inputs whose FP32 top-1 leads the runner-up by at least <paramref name="decisiveMargin"/> standard deviations of that input's
    /// logits (0: all of them). Random weights can leave near-ties that any fp16 forward flips (PyTorch's own included), which say
    /// nothing about the engine; the count of such inputs is in the message.
    /// </summary>
    public static void CheckFp16OnGpu(IFusedModel model, CudaBackend backend, CpuTensor input, CpuTensor expected, string what, double decisiveMargin = 0)
    {
        using var half = (CpuTensor)CpuBackend.Instance.Cast(input, DType.Float16);
        using var device = backend.FromHost(half);
        using var output = model.Run([device], backend);
        using var logits = backend.ToHost(output);
        var reference = RefTensor.FromCpu(expected);
        double error = Tolerance.RelativeL2(logits, reference);
        Assert.True(error <= 1e-2, $"{what} FP16 logits: relative L2 {error:E2} > 1e-2");

        var actual = logits.ToFloatArray();
        int classes = expected.Shape[1], images = expected.Shape[0], agree = 0, decisive = 0, agreeAll = 0;
        for (int i = 0; i < images; i++)
        {
            var row = reference.Data.AsSpan(i * classes, classes);
            bool same = ArgMax(actual.AsSpan(i * classes, classes)) == ArgMax<double>(row);
            if (same) agreeAll++;
            if (Margin(row) < decisiveMargin) continue;
            decisive++;
            if (same) agree++;
        }
        Assert.True(agree >= Math.Ceiling(0.99 * decisive),
            $"{what} FP16: top-1 agrees with timm on {agree} of {decisive} decisive inputs ({agreeAll} of {images} in all; relative L2 {error:E2})");
    }

    /// <summary>The top-1 logit's lead over the runner-up, in standard deviations of the row.</summary>
    private static double Margin(ReadOnlySpan<double> row)
    {
        double first = double.NegativeInfinity, second = double.NegativeInfinity, sum = 0, squares = 0;
        foreach (var v in row)
        {
            if (v > first) (first, second) = (v, first);
            else if (v > second) second = v;
            sum += v;
            squares += v * v;
        }
        double mean = sum / row.Length, std = Math.Sqrt(Math.Max(squares / row.Length - mean * mean, 1e-30));
        return (first - second) / std;
    }

    private static int ArgMax<T>(ReadOnlySpan<T> values) where T : IComparable<T>
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++) if (values[i].CompareTo(values[best]) > 0) best = i;
        return best;
    }
}
