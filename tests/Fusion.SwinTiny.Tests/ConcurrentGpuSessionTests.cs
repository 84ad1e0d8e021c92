using System.Runtime.InteropServices;
using Fusion;
using Fusion.Cuda;
using Fusion.Testing;
using SwinTiny;
using SwinTiny.Model;

namespace Fusion.SwinTiny.Tests;

/// <summary>
/// Swin-T (seeded random weights, batch 1, fp16) loaded once and run by eight threads at the same time, each on a stream
/// of its own (<see cref="CudaBackend.OnNewStream"/>) with its own input, 1000 passes each: every output is bit-identical
/// to the same input run alone (issue 17). Once as eager sessions, once as CUDA graphs replayed from the eight streams.
/// </summary>
[Collection(nameof(DeviceAloneCollection))]
public sealed class ConcurrentGpuSessionTests
{
    private const int Threads = 8, Passes = 1000;

    [Fact]
    public void EightSessionsOnTheirOwnStreamsMatchTheSameInputRunAlone()
    {
        using var fixture = new Fixture();
        var options = (CudaBackend sibling) => new SessionOptions(sibling, Precision.Half, HalfInputOutput: true);
        fixture.RunConcurrently("eager sessions", (sibling, input) =>
        {
            var session = new ModelSession(fixture.Model, options(sibling));
            return () =>
            {
                using var output = session.Run(input);
                return Bits(sibling, output);
            };
        });
    }

    [Fact]
    public void EightSessionsSharingOneBackendAndStreamMatchTheSameInputRunAlone()
    {
        // Not the way to run concurrently (the passes serialize on the one stream), but correct: memory freed by one
        // thread's pass and taken by another's is ordered by the stream.
        using var fixture = new Fixture();
        fixture.RunConcurrently("sessions sharing one backend", (_, input) =>
        {
            var session = new ModelSession(fixture.Model, new SessionOptions(fixture.Backend, Precision.Half, HalfInputOutput: true));
            return () =>
            {
                using var output = session.Run(input);
                return Bits(fixture.Backend, output);
            };
        }, passes: 250);
    }

    [Fact]
    public void EightGraphsReplayedFromTheirOwnStreamsMatchTheSameInputRunAlone()
    {
        using var fixture = new Fixture();
        var graphs = new List<GraphedModel>();
        try
        {
            fixture.RunConcurrently("graph replays", (sibling, input) =>
            {
                var graph = GraphedModel.Capture(fixture.Model, sibling, input); // captured one after another, replayed at once
                graphs.Add(graph);
                return () => Bits(sibling, graph.Run(input));
            });
        }
        finally
        {
            foreach (var graph in graphs) graph.Dispose();
        }
    }

    private static int[] Bits(CudaBackend backend, Tensor output)
    {
        using var host = backend.ToHost(output);
        return MemoryMarshal.Cast<float, int>(host.ToFloatArray()).ToArray();
    }

    /// <summary>The model, one backend and its eight stream siblings, eight inputs and each input's output run alone.</summary>
    private sealed class Fixture : IDisposable
    {
        private readonly List<CudaBackend> _siblings = [];
        private readonly List<Tensor> _inputs = [];
        private readonly int[][] _alone;

        public Fixture()
        {
            var device = CudaTestEnvironment.RequireDevice();
            Backend = new CudaBackend(device);
            Seed = TestData.NewSeed();
            RandomWeights.Initialize(Model, Seed);
            for (int t = 0; t < Threads; t++)
            {
                _siblings.Add(Backend.OnNewStream());
                using var host = TestData.Random(Seed + 1 + t, DType.Float16, 1, 3, 224, 224).ToCpu(DType.Float16);
                _inputs.Add(_siblings[t].FromHost(host));
            }
            // Alone: one input at a time on the default stream (the first pass compiles, measures GEMM paths and builds constants).
            _alone = _inputs.Select(input =>
            {
                using var output = Model.Run(input, Backend);
                return Bits(Backend, output);
            }).ToArray();
            Assert.NotEqual(_alone[0], _alone[1]); // distinct inputs give distinct outputs: the comparison can fail
        }

        public SwinTransformerTiny Model { get; } = new();

        /// <summary>The backend on the device's default stream that the siblings came from.</summary>
        public CudaBackend Backend { get; }

        public int Seed { get; }

        /// <summary>
        /// Prepares one pass per thread (given its sibling and its input; on the main thread, in thread order), then starts the
        /// eight threads together; each runs its pass <paramref name="passes"/> times and counts the outputs that differ from its
        /// input's output run alone; asserts that none did.
        /// </summary>
        public void RunConcurrently(string what, Func<CudaBackend, Tensor, Func<int[]>> prepare, int passes = Passes)
        {
            var work = Enumerable.Range(0, Threads).Select(t => prepare(_siblings[t], _inputs[t])).ToList();
            var mismatches = new int[Threads];
            var errors = new Exception?[Threads];
            using var start = new Barrier(Threads);
            var threads = Enumerable.Range(0, Threads).Select(t => new Thread(() =>
            {
                try
                {
                    start.SignalAndWait();
                    for (int pass = 0; pass < passes; pass++)
                        if (!work[t]().AsSpan().SequenceEqual(_alone[t])) mismatches[t]++;
                }
                catch (Exception e)
                {
                    errors[t] = e;
                }
            })).ToList();
            var clock = System.Diagnostics.Stopwatch.StartNew();
            threads.ForEach(t => t.Start());
            threads.ForEach(t => t.Join());
            TestContext.Current.SendDiagnosticMessage(
                $"{what}: {Threads} threads x {passes} passes in {clock.Elapsed.TotalSeconds:F2} s (a test's wall time, not a benchmark)");
            foreach (var e in errors) if (e is not null) throw new AggregateException($"seed {Seed}: a thread failed", e);
            Assert.True(mismatches.All(m => m == 0),
                $"seed {Seed}: {what} differing from the input run alone, per thread: {string.Join(", ", mismatches)}");
        }

        public void Dispose()
        {
            foreach (var input in _inputs) input.Dispose();
            foreach (var sibling in _siblings) sibling.Dispose();
            Backend.Dispose();
        }
    }
}
