using System;
using System.Globalization;

namespace Fusion.Compiler
{
    /// <summary>
    /// How a printed kernel is launched: <see cref="Threads"/> a block and one block per <see cref="UnitsPerBlock"/> work units,
    /// where a run of batch N has <see cref="UnitsPerBatch"/>·N units (<see cref="UnitsPerBatch"/> when the kernel has no batch axis).
    /// The printer decides it with the kernel's text; the generator writes it beside the source and the runtime launches by it.
    /// </summary>
    internal sealed record LaunchShape(int Threads, long UnitsPerBlock, long UnitsPerBatch, bool Batched)
    {
        public long Units(long batch) => Batched ? UnitsPerBatch * batch : UnitsPerBatch;

        public long Blocks(long batch) => (Units(batch) + UnitsPerBlock - 1) / UnitsPerBlock;

        /// <summary>"256 threads, 1024 units a block, 37·N units".</summary>
        public override string ToString() => string.Format(CultureInfo.InvariantCulture, "{0} threads, {1} units a block, {2}{3} units",
            Threads, UnitsPerBlock, UnitsPerBatch, Batched ? "·N" : "");

        /// <summary>The form the generated code passes to the runtime: "threads,unitsPerBlock,unitsPerBatch,batched".</summary>
        public string Encode() => string.Format(CultureInfo.InvariantCulture, "{0},{1},{2},{3}", Threads, UnitsPerBlock, UnitsPerBatch, Batched ? 1 : 0);

        public static LaunchShape Decode(string text)
        {
            var p = text.Split(',');
            if (p.Length != 4) throw new FormatException($"launch shape '{text}' is not 'threads,unitsPerBlock,unitsPerBatch,batched'");
            return new LaunchShape(int.Parse(p[0], CultureInfo.InvariantCulture), long.Parse(p[1], CultureInfo.InvariantCulture),
                long.Parse(p[2], CultureInfo.InvariantCulture), p[3] == "1");
        }
    }

    /// <summary>A kernel printed for one target: its complete source and how to launch it.</summary>
    internal sealed record PrintedKernel(string Source, LaunchShape Launch, string Strategy);
}
