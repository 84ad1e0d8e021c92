namespace Fusion;

/// <summary>Where a tensor's memory lives.</summary>
public enum DeviceKind
{
    Cpu,
    Cuda,
}
