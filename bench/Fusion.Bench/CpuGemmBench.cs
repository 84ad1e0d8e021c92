using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Fusion.Kernels.Cpu;

namespace Fusion.Bench;

/// <summary>
/// `Fusion.Bench cpu`: the CPU GEMM against the machine's FP32 FMA peak, measured here rather than taken from a data sheet: a
/// loop of independent vector FMAs (12 accumulators, enough to cover the FMA latency on two ports) on one core and on every
/// core at once, in the vector width the GEMM uses. Then C = A·Bᵀ (B [n, k] packed as it goes, and packed once, as a layer's
/// weight is) at 512³, 1024³ and 2048³ on one core (FUSION_CPU_THREADS semantics: Parallelism.Workers = 1) and on all:
/// warm-ups (at least 5 and 0.5 s), median of 5, GFLOP/s = 2·m·n·k / time. `one-core` skips the all-core runs.
/// `rounds [R]` interleaves instead: each of R rounds measures the peak and then, right after it, the packed-once GEMMs (one
/// core, then all), so each efficiency is against the rate the cores reached at that moment; the medians over the rounds are
/// the figures to state on a host whose clock and neighbours move between seconds.
/// `bracketed [R]` goes finer still: per size and core count, R reps of a ~40 ms peak run, two timed GEMM calls back to back, and
/// the peak again, so each rep is judged against the clock of its own second (the mean of the two peaks around it); a rep whose
/// two peaks differ by more than 10 % is unsteady, and its steal time (/proc/stat) is printed beside it. The first call finds the
/// CPU kernels' workers asleep (the 40 ms peak run is far past their spin), so on many cores it includes waking them; the second
/// finds them awake, as every loop of a model pass after the first does. Both are reported; the second is the GEMM's own rate.
/// </summary>
internal static class CpuGemmBench
{
    public static void Run(bool oneCoreOnly)
    {
        bool wide = Vector512.IsHardwareAccelerated;
        int cores = Environment.ProcessorCount;
        double onePeak = Peak(1, wide), measuredAll = oneCoreOnly ? 0 : Peak(cores, wide);
        // The all-core measurement swings on a shared host (other tenants, frequency licences): efficiencies are stated against
        // the larger of it and cores × the one-core peak (which runs at single-core turbo), so they are never flattered.
        double allPeak = Math.Max(measuredAll, cores * onePeak);
        Console.WriteLine($"cpu: {cores} cores, {(wide ? "512" : (Vector<float>.Count * 32).ToString())}-bit FMA; peak measured: 1 core {onePeak:F1} GFLOP/s"
            + (oneCoreOnly ? "" : $", {cores} cores {measuredAll:F1} GFLOP/s; all-core efficiency against {allPeak:F1} GFLOP/s"));
        foreach (int size in new[] { 512, 1024, 2048 })
        {
            var random = new Random(size);
            float[] a = Random(random, size * size), b = Random(random, size * size), c = new float[size * size];
            var packed = Gemm.Pack(b, size, size, transposeB: true);
            foreach (int workers in oneCoreOnly ? new[] { 1 } : new[] { 1, cores })
            {
                Parallelism.Workers = workers;
                double asGoes = Median(() => Gemm.Multiply(a, b, c, size, size, size, transposeB: true));
                double once = Median(() => Gemm.Multiply(a, packed, c, size));
                double flop = 2.0 * size * size * size, peak = workers == 1 ? onePeak : allPeak;
                Console.WriteLine($"gemm {size}³ on {workers,2} core(s): B packed as it goes {flop / asGoes / 1e6,7:F1} GFLOP/s ({100 * flop / asGoes / 1e6 / peak,3:F0} % of peak), "
                    + $"packed once {flop / once / 1e6,7:F1} GFLOP/s ({100 * flop / once / 1e6 / peak,3:F0} %)");
            }
        }
        Parallelism.Workers = cores;
    }

    /// <summary>
    /// `cpu shapes [M,N,K …]`: C [M, N] = A [M, K] · Bᵀ with B [N, K] packed once (a layer's weight), on all cores, against the
    /// all-core peak measured first; median of 5 after warm-ups; with B in cache (the same B each run) and from memory (copies of B
    /// rotated, as each layer's weight is read once a pass). By default the shapes of ResNet-50's and ConvNeXt-T's batch-1
    /// GEMMs that take most of their CPU time (small M late in the network, small K early), and a square one for comparison.
    /// </summary>
    public static void RunShapes(IReadOnlyList<(int M, int N, int K)> shapes)
    {
        bool wide = Vector512.IsHardwareAccelerated;
        int cores = Environment.ProcessorCount;
        double peak = Math.Max(Peak(cores, wide), cores * Peak(1, wide));
        Console.WriteLine($"cpu: {cores} cores, all-core FMA peak {peak:F1} GFLOP/s (the larger of measured and cores × one core)");
        if (shapes.Count == 0)
            shapes = [(1024, 1024, 1024), (3136, 64, 64), (3136, 256, 64), (3136, 64, 576), (784, 128, 1152), (784, 512, 128), (196, 256, 2304),
                (196, 1024, 256), (49, 512, 4608), (49, 2048, 512), (3136, 384, 96), (3136, 96, 384), (196, 1536, 384), (196, 384, 1536)];
        foreach (var (m, n, k) in shapes)
        {
            var random = new Random(m ^ n ^ k);
            float[] a = Random(random, m * k), c = new float[m * n];
            var packed = Gemm.Pack(Random(random, n * k), n, k, transposeB: true);
            double ms = Median(() => Gemm.Multiply(a, packed, c, m));
            // Cold: B from memory, as a layer's weight is once a pass; copies rotated so their total passes 256 MB.
            var copies = Enumerable.Range(0, (int)Math.Max(2, (256L << 20) / (4L * n * k))).Select(_ => Gemm.Pack(Random(random, n * k), n, k, transposeB: true)).ToArray();
            int next = 0;
            double cold = Median(() => Gemm.Multiply(a, copies[next++ % copies.Length], c, m));
            double rate = 2.0 * m * n * k / ms / 1e6, coldRate = 2.0 * m * n * k / cold / 1e6;
            Console.WriteLine($"gemm M {m,5} N {n,5} K {k,5}: B in cache {ms,7:F3} ms {rate,6:F1} GFLOP/s ({100 * rate / peak,3:F0} %), "
                + $"B from memory {cold,7:F3} ms {coldRate,6:F1} GFLOP/s ({100 * coldRate / peak,3:F0} %)");
        }
    }

    public static void RunRounds(int rounds)
    {
        bool wide = Vector512.IsHardwareAccelerated;
        int cores = Environment.ProcessorCount;
        int[] sizes = [512, 1024, 2048];
        var operands = sizes.Select(size =>
        {
            var random = new Random(size);
            float[] a = Random(random, size * size), b = Random(random, size * size);
            return (a, packed: Gemm.Pack(b, size, size, transposeB: true), c: new float[size * size]);
        }).ToArray();
        // Efficiencies per round: one core against that round's one-core peak; all cores against that round's all-core
        // measurement and against cores × the one-core peak.
        var one = sizes.Select(_ => new List<double>()).ToArray();
        var all = sizes.Select(_ => new List<double>()).ToArray();
        var allStrict = sizes.Select(_ => new List<double>()).ToArray();
        Console.WriteLine($"cpu rounds: {cores} cores, {(wide ? "512" : (Vector<float>.Count * 32).ToString())}-bit FMA, {rounds} rounds of peak then GEMM (packed once, median of 5)");
        for (int round = 0; round < rounds; round++)
        {
            Parallelism.Workers = 1;
            double onePeak = Peak(1, wide);
            var line = new System.Text.StringBuilder($"round {round + 1}: 1 core peak {onePeak:F0}:");
            for (int i = 0; i < sizes.Length; i++)
            {
                double rate = Rate(sizes[i], operands[i].a, operands[i].packed, operands[i].c);
                one[i].Add(rate / onePeak);
                line.Append($" {sizes[i]}³ {rate:F0} ({100 * rate / onePeak:F0} %)");
            }
            Parallelism.Workers = cores;
            double allPeak = Peak(cores, wide);
            line.Append($"; {cores} cores peak {allPeak:F0} (cores × 1-core {cores * onePeak:F0}):");
            for (int i = 0; i < sizes.Length; i++)
            {
                double rate = Rate(sizes[i], operands[i].a, operands[i].packed, operands[i].c);
                all[i].Add(rate / allPeak);
                allStrict[i].Add(rate / (cores * onePeak));
                line.Append($" {sizes[i]}³ {rate:F0} ({100 * rate / allPeak:F0} % / {100 * rate / (cores * onePeak):F0} %)");
            }
            Console.WriteLine(line);
        }
        Parallelism.Workers = cores;
        for (int i = 0; i < sizes.Length; i++)
            Console.WriteLine($"median {sizes[i]}³: 1 core {100 * MedianOf(one[i]):F0} % of its peak; {cores} cores {100 * MedianOf(all[i]):F0} % of the measured all-core peak, "
                + $"{100 * MedianOf(allStrict[i]):F0} % of cores × the one-core peak");
    }

    public static void RunBracketed(int reps)
    {
        bool wide = Vector512.IsHardwareAccelerated;
        int cores = Environment.ProcessorCount;
        bool hasStat = StealMs() is not null;
        Console.WriteLine($"cpu bracketed: {cores} cores, {(wide ? "512" : (Vector<float>.Count * 32).ToString())}-bit FMA, {reps} reps of "
            + $"peak ({BracketSeconds * 1000:F0} ms), two GEMM calls back to back (packed once), peak; efficiency = the second call ÷ mean of the two peaks; "
            + $"unsteady = peaks more than {100 * UnsteadySpread:F0} % apart; steal: {(hasStat ? "/proc/stat, all CPUs, during the GEMM call" : "n/a (no /proc/stat)")}");
        var table = new List<string>();
        foreach (int size in new[] { 512, 1024, 2048 })
        {
            var random = new Random(size);
            float[] a = Random(random, size * size), b = Random(random, size * size), c = new float[size * size];
            var packed = Gemm.Pack(b, size, size, transposeB: true);
            double flop = 2.0 * size * size * size;
            var cells = new List<string>();
            foreach (int workers in new[] { 1, cores })
            {
                Parallelism.Workers = workers;
                WarmUp(() => Gemm.Multiply(a, packed, c, size));
                // The default peak run warms the FMA loop (and the thread pool) and gives the rate that sizes the short runs.
                long iterations = Math.Max(1, (long)(BracketSeconds * Peak(workers, wide) * 1e9 / (workers * FlopPerIteration(wide))));
                var gemmRates = new List<double>();
                var peaks = new List<double>();
                var efficiencies = new List<double>();
                var firstEfficiencies = new List<double>();
                var steady = new List<double>();
                double? steal = hasStat ? 0 : null;
                for (int rep = 0; rep < reps; rep++)
                {
                    double before = Peak(workers, wide, runs: 1, iterations);
                    double? stealBefore = StealMs();
                    var clock = Stopwatch.StartNew();
                    Gemm.Multiply(a, packed, c, size);
                    double firstMs = clock.Elapsed.TotalMilliseconds;
                    clock.Restart();
                    Gemm.Multiply(a, packed, c, size);
                    double ms = clock.Elapsed.TotalMilliseconds;
                    double? stealMs = StealMs() - stealBefore;
                    double after = Peak(workers, wide, runs: 1, iterations);

                    double rate = flop / ms / 1e6, peak = (before + after) / 2, efficiency = rate / peak, spread = Math.Abs(before - after) / peak;
                    double firstEfficiency = flop / firstMs / 1e6 / peak;
                    gemmRates.Add(rate);
                    peaks.Add(peak);
                    efficiencies.Add(efficiency);
                    firstEfficiencies.Add(firstEfficiency);
                    if (spread <= UnsteadySpread) steady.Add(efficiency);
                    steal += stealMs;
                    Console.WriteLine($"  {size}³ {workers,2} core(s) rep {rep + 1,2}: peak {before,6:F1} | first call {firstMs,7:F2} ms ({100 * firstEfficiency,3:F0} %), "
                        + $"second {rate,6:F1} GFLOP/s ({ms,7:F2} ms) | peak {after,6:F1}"
                        + $" -> {100 * efficiency,3:F0} % (spread {100 * spread,4:F1} %{(spread > UnsteadySpread ? ", unsteady" : "")}; steal {Steal(stealMs)})");
                }
                string steadyMedian = steady.Count > 0 ? $"{100 * MedianOf(steady):F0} %" : "n/a";
                Console.WriteLine($"gemm {size}³ on {workers,2} core(s): second call median {MedianOf(gemmRates):F1} GFLOP/s, median peak {MedianOf(peaks):F1}; "
                    + $"efficiency median {100 * MedianOf(efficiencies):F0} % (all {reps}), {steadyMedian} (steady {steady.Count}/{reps}), "
                    + $"min {100 * efficiencies.Min():F0} %, max {100 * efficiencies.Max():F0} %; first call median {100 * MedianOf(firstEfficiencies):F0} %; "
                    + $"steal {Steal(steal)} in total");
                cells.Add($"{100 * MedianOf(efficiencies):F0} % (steady {steady.Count}/{reps}: {steadyMedian}; first call {100 * MedianOf(firstEfficiencies):F0} %)");
            }
            table.Add($"| {size}³ | {cells[0]} | {cells[1]} |");
        }
        Parallelism.Workers = cores;
        Console.WriteLine();
        Console.WriteLine($"| size | one core: second call, median % (steady n/R; first call) | all {cores} cores: second call, median % (steady n/R; first call) |");
        Console.WriteLine("|---|---|---|");
        foreach (string row in table) Console.WriteLine(row);

        static string Steal(double? ms) => ms is { } value ? $"{value:F0} ms" : "n/a";
    }

    /// <summary>
    /// `cpu variants [R]`: the GEMM's blocking choices against each other in one process, on one core and on all: per size, R
    /// rounds, each timing every variant in turn (a ~40 ms peak run, two calls back to back, the second timed, the peak again), so
    /// a neighbour's burst on a shared host falls on all variants alike; medians of each variant's efficiencies against its own
    /// bracketing peaks. Variants: the depth block (KC: how deep the B panel the micro-kernel keeps in L1 is) and whether A's block
    /// is read in place or copied to rows KC apart first.
    /// </summary>
    public static void RunVariants(int rounds)
    {
        bool wide = Vector512.IsHardwareAccelerated;
        int cores = Environment.ProcessorCount;
        (string Name, int DepthBlock, bool CopyA)[] variants = [("KC 256, A in place", 256, false), ("KC 128, A in place", 128, false),
            ("KC 256, A copied", 256, true), ("KC 128, A copied", 128, true)];
        Console.WriteLine($"cpu variants: {cores} cores, {(wide ? "512" : (Vector<float>.Count * 32).ToString())}-bit FMA, {rounds} rounds; "
            + $"each round times every variant: peak ({BracketSeconds * 1000:F0} ms), two calls (packed once), the second timed, peak");
        var table = new List<string>();
        foreach (int size in new[] { 512, 1024, 2048 })
        {
            var random = new Random(size);
            float[] a = Random(random, size * size), b = Random(random, size * size), c = new float[size * size];
            var packed = variants.Select(v => Gemm.Pack(b, size, size, transposeB: true, wide, v.DepthBlock)).ToArray();
            double flop = 2.0 * size * size * size;
            foreach (int workers in new[] { 1, cores }.Distinct())
            {
                Parallelism.Workers = workers;
                for (int v = 0; v < variants.Length; v++) WarmUp(() => Gemm.Multiply(a, packed[v], c, size, default, variants[v].CopyA));
                long iterations = Math.Max(1, (long)(BracketSeconds * Peak(workers, wide) * 1e9 / (workers * FlopPerIteration(wide))));
                var efficiencies = variants.Select(_ => new List<double>()).ToArray();
                for (int round = 0; round < rounds; round++)
                {
                    var line = new System.Text.StringBuilder($"  {size}³ {workers,2} core(s) round {round + 1,2}:");
                    for (int v = 0; v < variants.Length; v++)
                    {
                        double before = Peak(workers, wide, runs: 1, iterations);
                        Gemm.Multiply(a, packed[v], c, size, default, variants[v].CopyA);
                        var clock = Stopwatch.StartNew();
                        Gemm.Multiply(a, packed[v], c, size, default, variants[v].CopyA);
                        double ms = clock.Elapsed.TotalMilliseconds;
                        double after = Peak(workers, wide, runs: 1, iterations);
                        double efficiency = flop / ms / 1e6 / ((before + after) / 2);
                        efficiencies[v].Add(efficiency);
                        line.Append($" {100 * efficiency,3:F0} %");
                    }
                    Console.WriteLine(line);
                }
                table.Add($"| {size}³ | {workers} | " + string.Join(" | ", efficiencies.Select(e => $"{100 * MedianOf(e):F0} % ({100 * e.Min():F0}–{100 * e.Max():F0})")) + " |");
            }
        }
        Parallelism.Workers = cores;
        Console.WriteLine();
        Console.WriteLine("| size | cores | " + string.Join(" | ", variants.Select(v => v.Name)) + " |");
        Console.WriteLine("|---|---|" + string.Concat(variants.Select(_ => "---|")));
        foreach (string row in table) Console.WriteLine(row);
    }

    /// <summary>Length of each bracketing peak run: short, so the peak is the rate of the same second as the GEMM call.</summary>
    private const double BracketSeconds = 0.040;

    /// <summary>Bracketing peaks further apart than this (relative to their mean) mark the clock as moving during the rep.</summary>
    private const double UnsteadySpread = 0.10;

    /// <summary>
    /// Steal time so far in ms, summed over all CPUs: the 8th value of /proc/stat's aggregate `cpu` line, in USER_HZ ticks
    /// (100 a second on Linux, so 10 ms resolution); null where there is no /proc/stat (not Linux).
    /// </summary>
    private static double? StealMs()
    {
        if (!File.Exists("/proc/stat")) return null;
        string[] fields = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return fields is ["cpu", _, _, _, _, _, _, _, var steal, ..] ? long.Parse(steal, System.Globalization.CultureInfo.InvariantCulture) * 10.0 : null;
    }

    private static double MedianOf(List<double> values) => values.Order().ElementAt(values.Count / 2);

    /// <summary>GFLOP/s of C = A·Bᵀ with B packed once, median of 5 after warm-ups.</summary>
    private static double Rate(int size, float[] a, PackedMatrix packed, float[] c) =>
        2.0 * size * size * size / Median(() => Gemm.Multiply(a, packed, c, size)) / 1e6;

    private static float[] Random(Random random, int count)
    {
        var values = new float[count];
        for (int i = 0; i < count; i++) values[i] = (float)(random.NextDouble() * 2 - 1);
        return values;
    }

    /// <summary>
    /// Median milliseconds of 5 runs after warm-ups: at least 5 and at least half a second of them, since the JIT replaces a
    /// method's first code with optimized code only after some 30 calls and a short delay.
    /// </summary>
    private static double Median(Action work)
    {
        WarmUp(work);
        var times = new double[5];
        for (int i = 0; i < times.Length; i++)
        {
            var clock = Stopwatch.StartNew();
            work();
            times[i] = clock.Elapsed.TotalMilliseconds;
        }
        Array.Sort(times);
        return times[times.Length / 2];
    }

    /// <summary>At least 5 runs and at least half a second of them (see <see cref="Median"/>).</summary>
    private static void WarmUp(Action work)
    {
        var warm = Stopwatch.StartNew();
        for (int i = 0; i < 5 || warm.Elapsed.TotalMilliseconds < 500; i++) work();
    }

    /// <summary>
    /// GFLOP/s of independent FMAs on <paramref name="threads"/> threads at once: the best of <paramref name="runs"/> runs of
    /// <paramref name="iterations"/> loop iterations per thread.
    /// </summary>
    private static double Peak(int threads, bool wide, int runs = 3, long iterations = 20_000_000)
    {
        double best = 0;
        for (int run = 0; run < runs; run++)
        {
            var sums = new float[threads]; // results kept, so the JIT cannot drop the loops
            var clock = Stopwatch.StartNew();
            Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
                sums[t] = wide ? Fma512(iterations) : FmaVector(iterations));
            double seconds = clock.Elapsed.TotalSeconds;
            if (sums.Any(float.IsNaN)) Console.WriteLine("(peak loop produced NaN)");
            best = Math.Max(best, threads * iterations * FlopPerIteration(wide) / seconds / 1e9);
        }
        return best;
    }

    /// <summary>FLOP of one iteration of the peak loop: 12 FMAs (2 FLOP each) per lane.</summary>
    private static double FlopPerIteration(bool wide) => 12.0 * 2 * (wide ? 16 : Vector<float>.Count);

    // Optimized from the first call: otherwise each call enters Tier0 code and switches to OSR code mid-loop until the
    // method is re-jitted at Tier1 some 30 calls in, which would change the loop the bracketed reps time part-way through.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float Fma512(long iterations)
    {
        var x = Vector512.Create(1.0000001f);
        var y = Vector512.Create(0.9999999f);
        // Twelve distinct chains (different starting values), so no two can be recognised as the same computation.
        Vector512<float> c0 = Vector512.Create(0f), c1 = Vector512.Create(1f), c2 = Vector512.Create(2f), c3 = Vector512.Create(3f);
        Vector512<float> c4 = Vector512.Create(4f), c5 = Vector512.Create(5f), c6 = Vector512.Create(6f), c7 = Vector512.Create(7f);
        Vector512<float> c8 = Vector512.Create(8f), c9 = Vector512.Create(9f), c10 = Vector512.Create(10f), c11 = Vector512.Create(11f);
        for (long i = 0; i < iterations; i++)
        {
            c0 = Vector512.FusedMultiplyAdd(x, y, c0); c1 = Vector512.FusedMultiplyAdd(x, y, c1); c2 = Vector512.FusedMultiplyAdd(x, y, c2);
            c3 = Vector512.FusedMultiplyAdd(x, y, c3); c4 = Vector512.FusedMultiplyAdd(x, y, c4); c5 = Vector512.FusedMultiplyAdd(x, y, c5);
            c6 = Vector512.FusedMultiplyAdd(x, y, c6); c7 = Vector512.FusedMultiplyAdd(x, y, c7); c8 = Vector512.FusedMultiplyAdd(x, y, c8);
            c9 = Vector512.FusedMultiplyAdd(x, y, c9); c10 = Vector512.FusedMultiplyAdd(x, y, c10); c11 = Vector512.FusedMultiplyAdd(x, y, c11);
        }
        return (c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11).GetElement(0); // keeps the loop alive
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float FmaVector(long iterations)
    {
        var x = new Vector<float>(1.0000001f);
        var y = new Vector<float>(0.9999999f);
        Vector<float> c0 = new(0f), c1 = new(1f), c2 = new(2f), c3 = new(3f), c4 = new(4f), c5 = new(5f);
        Vector<float> c6 = new(6f), c7 = new(7f), c8 = new(8f), c9 = new(9f), c10 = new(10f), c11 = new(11f);
        for (long i = 0; i < iterations; i++)
        {
            c0 = Vector.FusedMultiplyAdd(x, y, c0); c1 = Vector.FusedMultiplyAdd(x, y, c1); c2 = Vector.FusedMultiplyAdd(x, y, c2);
            c3 = Vector.FusedMultiplyAdd(x, y, c3); c4 = Vector.FusedMultiplyAdd(x, y, c4); c5 = Vector.FusedMultiplyAdd(x, y, c5);
            c6 = Vector.FusedMultiplyAdd(x, y, c6); c7 = Vector.FusedMultiplyAdd(x, y, c7); c8 = Vector.FusedMultiplyAdd(x, y, c8);
            c9 = Vector.FusedMultiplyAdd(x, y, c9); c10 = Vector.FusedMultiplyAdd(x, y, c10); c11 = Vector.FusedMultiplyAdd(x, y, c11);
        }
        return (c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11)[0];
    }
}
