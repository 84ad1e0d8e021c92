using Microsoft.CodeAnalysis;

namespace Fusion.Generator.Tests;

/// <summary>
/// The operators' shape rules as compiler errors (FUS004) with the exact span of the call: each descriptor's InferShape names what
/// does not fit, so a bad broadcast, concatenation, reduction or padding never reaches run time.
/// </summary>
public sealed class OperatorDiagnosticTests
{
    private const string Usings = "using Fusion;\nnamespace Demo;\n";

    public static TheoryData<string, string, string> Mistakes => new()
    {
        { "F.Add(x, y)", "[N, 7, 5] and [N, 7, 6] do not broadcast (axis 2: 5 vs 6)", "[Shape(Dim.Batch, 7, 6)] Tensor y" },
        { "F.Where(y, x, x)", "do not broadcast", "[Shape(Dim.Batch, 3, 5)] Tensor y" },
        { "F.Concat(1, x, y)", "tensor 1 [N, 7, 6] differs from tensor 0 [N, 7, 5] on axis 2, which is not the concatenation axis 1", "[Shape(Dim.Batch, 7, 6)] Tensor y" },
        { "F.Concat(0, x, y)", "cannot concatenate along the batch axis", "[Shape(Dim.Batch, 7, 5)] Tensor y" },
        { "F.Sum(x, 0)", "cannot reduce over the batch axis of [N, 7, 5]", "" },
        { "F.Mean(x, new[] { 1, 1 }, true)", "lists an axis twice", "" },
        { "F.Softmax(x, 3)", "an axis of axis 3 is outside [N, 7, 5]", "" },
        { "F.Pad(x, new[] { 1, 1, 0, 0, 2, 2 })", "cannot pad the batch axis of [N, 7, 5]", "" },
        { "F.Pad(x, new[] { -1, 0 })", "must not be negative", "" },
        { "F.Slice(x, 2, 4, 2)", "select nothing of axis 2", "" },
        { "F.Narrow(x, 2, 3, 4)", "4 elements from 3 run past axis 2 of size 5 (Narrow does not clamp)", "" },
        { "F.Expand(x, 3, 7, 5)", "axis 0 of [N, 7, 5] is N, not 1", "" },
        { "F.Transpose(x, 1, 4)", "axes 1 and 4 are outside [N, 7, 5]", "" },
        { "F.Flatten(x, 2, 1)", "are not a range of [N, 7, 5]", "" },
        { "F.Permute(x, 0, 2, 2)", "[0, 2, 2] is not a permutation of the 3 axes of [N, 7, 5]", "" },
        { "F.ExpandAs(y, x)", "axis 0 of [3, 5] is 3, neither 1 nor the 7 of [N, 7, 5]", "[Shape(Dim.Batch, 3, 5)] Tensor y" },
        { "F.MaskedFill(x, y, 0f)", "do not broadcast", "[Shape(Dim.Batch, 4, 5)] Tensor y" },
        { "F.Im2col(x, 3)", "expects [B, C, H, W] (NCHW) with the batch first, got [N, 7, 5]", "" },
        { "F.MaxPool2d(x, 3, 2)", "expects [B, C, H, W] (NCHW) with the batch first, got [N, 7, 5]", "" },
        { "F.Im2col(y, 5)", "a 5×5 window (dilation 1, padding 0) does not fit the 4×6 image", "[Shape(Dim.Batch, 2, 4, 6)] Tensor y" },
    };

    [Theory]
    [MemberData(nameof(Mistakes))]
    public void ShapeMistakes_AreCompileErrorsAtTheCall(string call, string message, string extraInput)
    {
        // ExpandAs's y is a fixed [3, 5] in its case; elsewhere the extra input (when any) carries the batch.
        var inputs = "[Shape(Dim.Batch, 7, 5)] Tensor x" + (extraInput.Length > 0 ? ", " + extraInput : "");
        if (call.StartsWith("F.ExpandAs", StringComparison.Ordinal)) inputs = "[Shape(Dim.Batch, 7, 5)] Tensor x, [Shape(3, 5)] Tensor y";
        var source = Usings + $$"""
            [FusedModel]
            public partial class Bad : Module
            {
                public Tensor Forward({{inputs}}) => {{call}};
            }
            """;
        var result = GeneratorHarness.Run(source);
        var d = Assert.Single(result.Diagnostics, d => d.Id == "FUS004");
        Assert.Equal(DiagnosticSeverity.Error, d.Severity);
        Assert.Contains(message, d.GetMessage());
        Assert.Equal(source.IndexOf(call, StringComparison.Ordinal), d.Location.SourceSpan.Start);
        Assert.Equal(call.Length, d.Location.SourceSpan.Length);
    }

    /// <summary>Every new operator compiles into a model (fused into generated kernels) and the model's generated code compiles.</summary>
    [Fact]
    public void EveryOperatorCompilesInAModel()
    {
        var source = Usings + """
            [FusedModel]
            public partial class AllOps : Module
            {
                public readonly RmsNorm rms = new(6);
                public readonly Parameter scale = new(6);

                public Tensor Forward([Shape(Dim.Batch, 5, 6)] Tensor x, [Shape(Dim.Batch, 5, 6)] Tensor y)
                {
                    var a = F.Div(F.Sub(F.Add(x, 1f), y), F.Add(F.Abs(y), 2f));
                    var b = F.Mul(F.Exp(F.Neg(a)), F.Log(F.Add(F.Sqrt(F.Abs(a)), 1f)));
                    var c = F.Add(F.Rsqrt(F.Add(F.Pow(a, 2f), 1f)), F.Tanh(b));
                    var d = F.Add(F.Sigmoid(c), F.Silu(F.GeluTanh(F.HardSwish(F.Clamp(c, -2f, float.PositiveInfinity)))));
                    var e = F.Where(F.Relu(d), d, F.Gelu(c));
                    var f = F.MaskedFill(e, F.Relu(x), -1f);
                    var g = F.Mul(F.RmsNorm(f, rms), scale);
                    var h = F.Add(F.Softmax(g, 1), F.Sum(g, new[] { 1 }, true));
                    var i = F.Concat(2, F.Max(h, new[] { 2 }, true), F.Mean(h, new[] { 2 }, true), h);
                    var j = F.Pad(F.Slice(i, 2, 1, 8, 2), new[] { 1, 2 }, 0.5f);
                    var k = F.Transpose(F.Expand(F.Narrow(j, 1, 0, 1), -1, 5, -1), 1, 2);
                    return F.Flatten(k, 1, 2);
                }
            }
            """;
        var result = GeneratorHarness.Run(source);
        Assert.DoesNotContain(result.Diagnostics, d => d.Severity >= DiagnosticSeverity.Warning);
        Assert.Empty(result.CompileErrors);
        Assert.DoesNotContain("be.Add(", result.Source); // everything runs in generated kernels
        Assert.Contains("be.Run(", result.Source);
    }
}
