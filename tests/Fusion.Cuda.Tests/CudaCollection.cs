namespace Fusion.Cuda.Tests;

/// <summary>GPU tests run one at a time: they share one device and time-sensitive capture state.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class CudaCollection
{
    public const string Name = "cuda";
}
