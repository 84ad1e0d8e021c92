namespace Fusion.Run;

/// <summary>Everything one fusion-run invocation measured, for the console and the JSON report.</summary>
internal sealed record RunResult(
    RunOptions Options,
    string Device,
    string DeviceReason,
    string Precision,
    string ModelName,
    int OperatorCount,
    int GeneratedKernels,
    long ParameterCount,
    string WeightsSource,
    IReadOnlyList<string> InputDescriptions,
    string? GemmPolicy,
    double LoadMs,
    double PreparationMs,
    IReadOnlyList<IterationRecord> Warmups,
    IReadOnlyList<IterationRecord> Iterations,
    TimingStats Wall,
    TimingStats? DeviceTime,
    string OutputDescription,
    KernelProfile? Profile,
    long? DeviceMemoryBytes = null,
    Fusion.Cuda.GraphNodeCount? GraphNodes = null);
