namespace Fusion.Compiler
{
    /// <summary>The backend kinds the precision pass plans for (a kernel's precision support depends on it).</summary>
    internal enum BackendKind
    {
        Cpu,
        Cuda,
    }
}
