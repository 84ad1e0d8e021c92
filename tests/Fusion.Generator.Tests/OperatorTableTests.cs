using Fusion.Compiler;

namespace Fusion.Generator.Tests;

/// <summary>
/// docs/operators.md is the operator registry as tables (<see cref="OperatorTable"/>), written from the descriptors so it
/// cannot drift: a changed registry fails here with the text it should be (accept with FUSION_ACCEPT_SNAPSHOTS=1).
/// </summary>
public sealed class OperatorTableTests
{
    [Fact]
    public void DocsListEveryOperator()
    {
        var path = Path.Combine(RepoPaths.Root, "docs", "operators.md");
        var expected = OperatorTable.Markdown();
        if (Environment.GetEnvironmentVariable("FUSION_ACCEPT_SNAPSHOTS") == "1") File.WriteAllText(path, expected);
        var doc = File.Exists(path) ? File.ReadAllText(path).ReplaceLineEndings("\n") : "";
        Assert.True(doc == expected, $"docs/operators.md is not the registry's table; it should read:\n{expected}");
    }

    [Fact]
    public void EveryUserOperatorHasAnFMethod()
    {
        var missing = Ops.All.Where(d => IsUserOperator(d) && OperatorSignatures.Of(d.Name).Count == 0).Select(d => d.Name).ToList();
        Assert.True(missing.Count == 0, "operators without an F method: " + string.Join(", ", missing));
    }

    /// <summary>Views, reductions and templates each shape their output their own way: the class's rule alone would say too little.</summary>
    [Fact]
    public void EveryOperatorStatesItsShapeRule()
    {
        var vague = Ops.All.Where(d => d.ShapeRule.Trim().Length == 0
                || d.Class is OpClass.View or OpClass.Reduction or OpClass.Template && d.ShapeRule == OpDescriptor.ClassShapeRule(d.Class))
            .Select(d => d.Name).ToList();
        Assert.True(vague.Count == 0, "operators without a shape rule of their own: " + string.Join(", ", vague));
    }

    [Fact]
    public void SignaturesAreFsOverloadsWithDefaultsAndParams()
    {
        Assert.Equal(new[] { "F.MatMul(Tensor a, Tensor b, bool transposeB = false)" }, OperatorSignatures.Of("MatMul"));
        Assert.Equal(new[] { "F.Roll(Tensor x, int shift, params int[] axes)" }, OperatorSignatures.Of("Roll"));
        Assert.Equal(new[] { "F.Sub(Tensor a, Tensor b)", "F.Sub(Tensor a, float b)", "F.Sub(float a, Tensor b)" }, OperatorSignatures.Of("Sub"));
        Assert.Equal(new[] { "F.Pad(Tensor x, int[] pads, float value = 0)" }, OperatorSignatures.Of("Pad"));
        Assert.Empty(OperatorSignatures.Of(Ops.Cast.Name));
    }

    /// <summary>A cast also runs on the run's own type (io) and to int8 codes, which are no compute types: the column lists only f32 and f16.</summary>
    [Fact]
    public void DtypesListComputeTypesPerBackend() =>
        Assert.Equal("f32, f16 / f32, f16", OperatorTable.Dtypes(Ops.Cast, new[] { BackendKind.Cpu, BackendKind.Cuda }));

    /// <summary>Pointwise operators (a cast among them) join GEMM epilogues; the GEMM of MatMul takes none, Linear's does.</summary>
    [Fact]
    public void FusionTextFollowsTheSchedulerRules()
    {
        Assert.Contains("epilogue of the Attention, Linear or WindowAttention", OperatorFusion.FusesWith(Ops.Cast));
        Assert.StartsWith("nothing: a call of its own", OperatorFusion.FusesWith(Ops.MatMul));
        Assert.Contains("as its generated epilogue", OperatorFusion.FusesWith(Ops.Linear));
        Assert.DoesNotContain("epilogue", OperatorFusion.FusesWith(Ops.Permute));
        Assert.Equal("—", OperatorFusion.FusesWith(Ops.Input));
    }

    /// <summary>Pointwise, view and reduction operators, but Cast: the precision pass places casts, users pick a precision plan.</summary>
    /// <summary>Cast, Int8Scale and Fp8Scale are written by the precision pass only (the quantized plans' quantize and weight scales).</summary>
    private static bool IsUserOperator(OpDescriptor d) =>
        d.Class is OpClass.Pointwise or OpClass.View or OpClass.Reduction && d.Name != Ops.Cast.Name && d.Name != Ops.Int8Scale.Name && d.Name != Ops.Fp8Scale.Name;
}
