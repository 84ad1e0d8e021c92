namespace Fusion.Devices;

/// <summary>Which device a program asks for: auto picks CUDA when it is usable, otherwise the CPU.</summary>
public enum DevicePreference
{
    Auto,
    Cpu,
    Cuda,
}
