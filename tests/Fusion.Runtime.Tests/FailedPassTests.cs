using System.Reflection;
using System.Runtime.ExceptionServices;
using Fusion.Testing;

namespace Fusion.Runtime.Tests;

/// <summary>
/// A compiled pass that fails part-way (here: an injected failure at each operator call in turn, standing in for an
/// out-of-memory error or a kernel fault) frees every tensor it made, and the next pass gives the same bits as before
/// (issue 17). The GPU version, a real out-of-memory error, is OutOfMemoryRecoveryTests in the Swin-T tests.
/// </summary>
[Collection(nameof(LiveCountCollection))]
public sealed class FailedPassTests
{
    [Theory]
    [InlineData(Fusion.Precision.Float)]
    [InlineData(Fusion.Precision.Half)]
    public void APassFailingAtAnyStepLeavesNoTensorBehind(Fusion.Precision precision)
    {
        int seed = TestData.NewSeed();
        var random = new Random(seed);
        var model = ReadmeClassifierData.WithRandomWeights(random);
        using var x = CpuTensor.FromArray(ReadmeClassifierData.RandomInput(random), 3, 7, 12);
        var backend = FailingBackend.Wrap(CpuBackend.Instance);
        var session = new ModelSession(model, new SessionOptions(backend, precision));
        var expected = ReadmeClassifierData.Bits(session.Run(x)); // also builds the constants and the parameter copies
        int calls = ((FailingBackend)(object)backend).Calls;
        Assert.True(calls >= 3, $"only {calls} operator calls in a pass");

        for (int failAt = 0; failAt < calls; failAt++)
        {
            ((FailingBackend)(object)backend).FailAfter(failAt);
            long live = CpuTensor.LiveCount;
            var e = Assert.Throws<InvalidOperationException>(() => session.Run(x));
            Assert.Equal($"injected failure at operator call {failAt}", e.Message);
            Assert.True(live == CpuTensor.LiveCount, $"seed {seed}: failing at call {failAt} of {calls} left {CpuTensor.LiveCount - live} tensors alive");
        }
        ((FailingBackend)(object)backend).FailAfter(-1);
        Assert.Equal(expected, ReadmeClassifierData.Bits(session.Run(x)));
    }
}

/// <summary>An <see cref="IBackend"/> that forwards every call and throws at the n-th call that makes a tensor.</summary>
public class FailingBackend : DispatchProxy
{
    private IBackend _inner = null!;
    private int _failAt = -1;

    /// <summary>Operator calls (methods that return tensors, but Param, FromHost and ToHost) since the last FailAfter.</summary>
    public int Calls { get; private set; }

    public static IBackend Wrap(IBackend inner)
    {
        var proxy = Create<IBackend, FailingBackend>();
        ((FailingBackend)(object)proxy)._inner = inner;
        return proxy;
    }

    /// <summary>Throws at operator call <paramref name="n"/> (counted from 0) of what follows; −1: never.</summary>
    public void FailAfter(int n)
    {
        _failAt = n;
        Calls = 0;
    }

    protected override object? Invoke(MethodInfo? method, object?[]? args)
    {
        ArgumentNullException.ThrowIfNull(method);
        bool makesTensors = method.ReturnType == typeof(Tensor) || method.ReturnType == typeof(Tensor[]);
        if (makesTensors && method.Name is not ("Param" or "FromHost" or "ToHost"))
        {
            if (Calls == _failAt) throw new InvalidOperationException($"injected failure at operator call {Calls}");
            Calls++;
        }
        try
        {
            return method.Invoke(_inner, args);
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            ExceptionDispatchInfo.Throw(e.InnerException);
            throw;
        }
    }
}
