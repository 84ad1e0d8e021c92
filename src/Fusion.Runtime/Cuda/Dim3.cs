namespace Fusion.Cuda;

/// <summary>Grid or block dimensions of a kernel launch.</summary>
public readonly record struct Dim3(uint X, uint Y = 1, uint Z = 1)
{
    public static implicit operator Dim3(uint x) => new(x);

    public static implicit operator Dim3(int x) => new(checked((uint)x));
}
