namespace Fusion.Cuda.Tests;

/// <summary>
/// Programmatic dependent launch (<see cref="ProgrammaticLaunch"/>, forced on here): a kernel whose source waits for the previous grid first is launched
/// programmatically right behind another Fusion kernel, on sm_90 and newer, and never behind anything else; a chain of such launches
/// still sees each step's complete output, directly and replayed from a graph.
/// </summary>
public sealed class ProgrammaticLaunchTests : GpuTestBase
{
    // out = in + (i mod 7 + 1) over n floats: integers stay exact, so the chain's result is known to the bit. One block per SM at
    // most a few strides, so blocks of the next step are resident (and waiting) while this one's last blocks still run.
    private const string Step = """
        #include "prelude.cuh"
        extern "C" __global__ void pdl_step(const float* __restrict__ in, float* __restrict__ out, int n)
        {
            FUSION_AWAIT_PREVIOUS_GRID();
            for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x)
                out[i] = in[i] + (float)(i % 7 + 1);
        }
        """;

    // The same step without the wait: it must never be launched programmatically.
    private const string StepWithoutWait = """
        #include "prelude.cuh"
        extern "C" __global__ void pdl_step_plain(const float* __restrict__ in, float* __restrict__ out, int n)
        {
            for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x)
                out[i] = in[i] + (float)(i % 7 + 1);
        }
        """;

    // Each test forces programmatic launches on (off by default until timed on a GPU); the device must be sm_90 for them.
    private readonly IDisposable _forced = ProgrammaticLaunch.Force(true);

    private bool Expected => ProgrammaticLaunch.AppliesTo(Device);

    public override void Dispose()
    {
        _forced.Dispose();
        base.Dispose();
    }

    [Fact]
    public void AChainOfWaitingKernelsIsLaunchedProgrammaticallyAndKeepsItsOrder()
    {
        int n = 200_000 + Rng.Next(1, 50_000), steps = 40 + Rng.Next(0, 30);
        var input = Enumerable.Range(0, n).Select(_ => (float)Rng.Next(-1000, 1000)).ToArray();
        using var module = Jit.Load("pdl_step", Step);
        Assert.True(module.AwaitsPreviousGrid);
        var kernel = module.GetKernel("pdl_step");
        using var stream = new CudaStream(Device);
        using var a = Upload(input);
        using var b = CudaTensor.Empty(Device, DType.Float32, n);

        var programmatic = new bool[steps];
        for (int s = 0; s < steps; s++)
            programmatic[s] = kernel.Launch(stream, 132, 256, Arguments(s % 2 == 0 ? a : b, s % 2 == 0 ? b : a, n));
        stream.Synchronize();

        Assert.False(programmatic[0]); // behind the upload, not behind a kernel
        Assert.All(programmatic.Skip(1), p => Assert.Equal(Expected, p));
        AssertChainResult(input, Download(steps % 2 == 0 ? a : b), steps);
    }

    [Fact]
    public void AGraphOfProgrammaticLaunchesReplaysInOrder()
    {
        int n = 150_000 + Rng.Next(1, 50_000), steps = 2 * (20 + Rng.Next(0, 10));
        var input = Enumerable.Range(0, n).Select(_ => (float)Rng.Next(-1000, 1000)).ToArray();
        using var module = Jit.Load("pdl_step", Step);
        var kernel = module.GetKernel("pdl_step");
        using var stream = new CudaStream(Device);
        using var a = Upload(input);
        using var b = CudaTensor.Empty(Device, DType.Float32, n);
        int launchedProgrammatically = 0;

        // An even number of steps: each replay reads a and leaves its result in a.
        using var graph = CudaGraph.Capture(stream, s =>
        {
            for (int i = 0; i < steps; i++)
                if (kernel.Launch(s, 132, 256, Arguments(i % 2 == 0 ? a : b, i % 2 == 0 ? b : a, n))) launchedProgrammatically++;
        });
        Assert.Equal(Expected ? steps - 1 : 0, launchedProgrammatically);
        const int replays = 3;
        for (int r = 0; r < replays; r++) graph.Launch(stream);
        stream.Synchronize();
        AssertChainResult(input, Download(a), replays * steps);
    }

    [Fact]
    public void TurnedOffNothingIsLaunchedProgrammatically()
    {
        using var off = ProgrammaticLaunch.Force(false);
        using var module = Jit.Load("pdl_step", Step);
        var kernel = module.GetKernel("pdl_step");
        using var stream = new CudaStream(Device);
        using var a = Upload(new float[1000]);
        using var b = CudaTensor.Empty(Device, DType.Float32, 1000);
        for (int s = 0; s < 4; s++) Assert.False(kernel.Launch(stream, 4, 256, Arguments(s % 2 == 0 ? a : b, s % 2 == 0 ? b : a, 1000)));
        stream.Synchronize();
    }

    [Fact]
    public void OnlyRightBehindAFusionKernelAndOnlyAWaitingOne()
    {
        const int n = 4099;
        using var waiting = Jit.Load("pdl_step", Step);
        using var plainModule = Jit.Load("pdl_step_plain", StepWithoutWait);
        Assert.False(plainModule.AwaitsPreviousGrid);
        var step = waiting.GetKernel("pdl_step");
        var plain = plainModule.GetKernel("pdl_step_plain");
        using var stream = new CudaStream(Device);
        using var a = Upload(new float[n]);
        using var b = CudaTensor.Empty(Device, DType.Float32, n);
        using var marker = new CudaEvent(Device, timing: false);
        var args = Arguments(a, b, n);

        Assert.False(step.Launch(stream, 8, 256, args));                 // first on the stream
        Assert.Equal(Expected, step.Launch(stream, 8, 256, args));       // behind a waiting kernel
        Assert.False(plain.Launch(stream, 8, 256, args));                // it does not wait, so never
        Assert.Equal(Expected, step.Launch(stream, 8, 256, args));       // behind a kernel that does not wait: still a kernel
        b.FillBytes(0, stream);
        Assert.False(step.Launch(stream, 8, 256, args));                 // behind a memset
        marker.Record(stream);
        Assert.False(step.Launch(stream, 8, 256, args));                 // behind an event
        using var other = new CudaStream(Device);
        using var c = CudaTensor.Empty(Device, DType.Float32, n);
        step.Launch(other, 8, 256, Arguments(a, c, n));
        stream.WaitFor(other);
        Assert.False(step.Launch(stream, 8, 256, args));                 // behind a wait for another stream
        stream.Synchronize();
        other.Synchronize();
    }

    private static KernelArguments Arguments(CudaTensor input, CudaTensor output, int n) =>
        new KernelArguments().Pointer(input).Pointer(output).Int(n);

    private CudaTensor Upload(float[] data)
    {
        using var host = CpuTensor.FromArray(data, data.Length);
        return CudaTensor.FromHost(Device, host);
    }

    private static void AssertChainResult(float[] input, float[] actual, int steps)
    {
        for (int i = 0; i < input.Length; i++)
        {
            float expected = input[i] + steps * (i % 7 + 1);
            if (actual[i] != expected) Assert.Fail($"element {i}: {actual[i]}, expected {expected} after {steps} steps");
        }
    }
}
