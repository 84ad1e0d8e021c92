using Fusion.Testing;

namespace Fusion.Runtime.Tests;

/// <summary>
/// A plain model.Forward(x) on a [FusedModel] class runs in an EagerScope: the generator intercepts the call in this
/// project (build/Fusion.props opts Fusion.Generated in), so only the result stays alive.
/// </summary>
[Collection(nameof(LiveCountCollection))]
public sealed class EagerForwardInterceptionTests
{
    [Fact]
    public void PlainForward_LeavesOnlyTheResultAlive_AndMatchesTheCompiledRun()
    {
        var (model, input) = NewClassifier();
        using (input)
        using (var compiled = model.Run(input)) // also creates the backend's parameter copies, which it keeps for good
        {
            long before = CpuTensor.LiveCount;
            using (var eager = model.Forward(input))
            {
                Assert.Equal(before + 1, CpuTensor.LiveCount); // the result (a view of the last intermediate), nothing else
                Assert.False(input.IsDisposed);
                Tolerance.AssertClose(compiled, RefTensor.FromCpu((CpuTensor)eager), 1e-5, 1e-5, "plain eager Forward vs compiled");
            }
            Assert.Equal(before, CpuTensor.LiveCount);
        }
    }

    [Fact]
    public void PlainForward_InsideAnOuterScope_HandsItsResultToThatScope()
    {
        var (model, input) = NewClassifier();
        using (input)
        {
            using var warm = model.Forward(input); // the parameter copies eager calls make once, outside the count
            long before = CpuTensor.LiveCount;
            Tensor first, kept;
            using (var outer = new EagerScope())
            {
                first = model.Forward(input);
                Assert.Equal(before + 1, CpuTensor.LiveCount);
                kept = outer.Keep(F.Add(first, 1f));
            }
            Assert.True(first.IsDisposed); // an intermediate of the outer scope, freed with it
            Assert.False(kept.IsDisposed);
            Assert.Equal(before + 1, CpuTensor.LiveCount);
            var expected = ((CpuTensor)warm).ToFloatArray();
            var actual = ((CpuTensor)kept).ToFloatArray();
            Assert.Equal(expected.Length, actual.Length);
            for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i] + 1f, actual[i], 1e-6f);
            kept.Dispose();
            Assert.Equal(before, CpuTensor.LiveCount);
        }
    }

    private static (ReadmeClassifier Model, CpuTensor Input) NewClassifier()
    {
        var model = ReadmeClassifierData.WithRandomWeights(new Random(TestData.NewSeed()));
        return (model, TestData.Random(TestData.NewSeed(), 3, 7, 12).ToCpu());
    }
}
