using Fusion.Testing;

namespace Fusion.Runtime.Tests;

/// <summary>EagerScope frees an eager Forward's intermediates and nothing else.</summary>
[Collection(nameof(LiveCountCollection))]
public sealed class EagerScopeTests
{
    [Fact]
    public void EagerForward_InAScope_LeavesOnlyTheResultAlive()
    {
        var model = ReadmeClassifierData.WithRandomWeights(new Random(TestData.NewSeed()));
        using var input = TestData.Random(TestData.NewSeed(), 3, 7, 12).ToCpu();
        using var compiled = model.Run(input); // also creates the backend's parameter copies, which it keeps for good

        // A plain model.Forward(input) runs in a scope of its own (EagerForwardInterceptionTests); a call through a
        // delegate is not intercepted, so without a scope every intermediate stays alive.
        Func<Tensor, Tensor> forward = model.Forward;
        long before = CpuTensor.LiveCount;
        var leaked = forward(input);
        Assert.True(CpuTensor.LiveCount - before > 1, $"{CpuTensor.LiveCount - before} tensors");
        leaked.Dispose();

        before = CpuTensor.LiveCount;
        using (var eager = EagerScope.Run(() => model.Forward(input)))
        {
            Assert.Equal(before + 1, CpuTensor.LiveCount); // the result, a view of the last intermediate, still readable
            Assert.False(input.IsDisposed);
            Tolerance.AssertClose(compiled, RefTensor.FromCpu((CpuTensor)eager), 1e-5, 1e-5, "eager in a scope vs compiled");
        }
        Assert.Equal(before, CpuTensor.LiveCount);
        using var again = model.Run(input); // parameters are untouched
        Tolerance.AssertClose(compiled, RefTensor.FromCpu((CpuTensor)again), 0, 0, "a second compiled run");
    }

    [Fact]
    public void NestedScopes_HandWhatTheyKeepToTheOuterScope()
    {
        using var x = CpuTensor.FromArray([1f, -2f, 3f], 3);
        long before = CpuTensor.LiveCount;
        Tensor inner, outerResult;
        using (var outer = new EagerScope())
        {
            inner = EagerScope.Run(() => F.Relu(F.Neg(x)));
            Assert.Equal(before + 1, CpuTensor.LiveCount);
            outerResult = outer.Keep(F.Add(inner, 1f));
        }
        Assert.True(inner.IsDisposed); // an intermediate of the outer scope
        Assert.False(outerResult.IsDisposed);
        Assert.Equal([1f, 3f, 1f], ((CpuTensor)outerResult).ToFloatArray());
        outerResult.Dispose();
        Assert.Equal(before, CpuTensor.LiveCount);
    }

    [Fact]
    public void TensorsMadeOutsideAScope_AreNotTracked()
    {
        using var x = CpuTensor.FromArray([1f, 2f], 2);
        using var made = F.Exp(x);
        using (new EagerScope())
        {
        }
        Assert.False(made.IsDisposed);
    }
}
