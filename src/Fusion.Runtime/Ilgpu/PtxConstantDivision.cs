using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Fusion.Ilgpu;

/// <summary>
/// Rewrites ILGPU's <c>div.s32</c> and <c>rem.s32</c> by an immediate into the multiply-and-shift sequences a C compiler makes of a
/// division by a constant (Granlund and Montgomery; Hacker's Delight 10-1). ILGPU writes the division as it is and ptxas does not
/// specialize it: each becomes the general integer division (I2F, MUFU.RCP, F2I and a correction, about 20 instructions, and
/// registers), where NVRTC's front end leaves a mul.hi and two shifts. The generated kernels' index math is full of them (a row's
/// (window, token) decomposition, a lane's sub-index): a LayerNorm+partition kernel ran 1.36× its CUDA C's time on the H200 for
/// this. Exact for every int32 dividend, negative ones included (C#'s truncating division and remainder).
/// </summary>
internal static partial class PtxConstantDivision
{
    /// <summary>The multiplier and shift of a division by <see cref="Divisor"/> ≥ 2 that is not a power of two; <see cref="AddDividend"/> when the multiplier's top bit needs the dividend added back (it is negative as an int).</summary>
    internal readonly record struct Magic(int Divisor, int Multiplier, int Shift)
    {
        public bool AddDividend => Multiplier < 0;
    }

    /// <summary>Hacker's Delight's magic number for signed division by <paramref name="d"/> ≥ 2.</summary>
    internal static Magic For(int d)
    {
        if (d < 2) throw new ArgumentOutOfRangeException(nameof(d), d, "a divisor of 2 or more");
        const uint two31 = 0x80000000u;
        uint ad = (uint)d, t = two31, anc = t - 1 - t % ad;
        int p = 31;
        uint q1 = two31 / anc, r1 = two31 - q1 * anc, q2 = two31 / ad, r2 = two31 - q2 * ad, delta;
        do
        {
            p++;
            q1 *= 2;
            r1 *= 2;
            if (r1 >= anc)
            {
                q1++;
                r1 -= anc;
            }
            q2 *= 2;
            r2 *= 2;
            if (r2 >= ad)
            {
                q2++;
                r2 -= ad;
            }
            delta = ad - r2;
        }
        while (q1 < delta || (q1 == delta && r1 == 0));
        return new Magic(d, unchecked((int)(q2 + 1)), p - 32);
    }

    /// <summary>What the emitted sequence computes for <paramref name="x"/> / <paramref name="d"/>, in C# (the tests check it against x / d).</summary>
    internal static int Divide(int x, int d)
    {
        if ((d & (d - 1)) == 0)
        {
            int k = System.Numerics.BitOperations.Log2((uint)d);
            return (x + (int)((uint)(x >> 31) >> (32 - k))) >> k;
        }
        var m = For(d);
        int q = (int)(((long)m.Multiplier * x) >> 32);
        if (m.AddDividend) q += x;
        q >>= m.Shift;
        return q + (int)((uint)x >> 31);
    }

    /// <summary><paramref name="ptx"/> with every div.s32/rem.s32 by a positive immediate replaced, each in a scope of its own.</summary>
    public static string Rewrite(string ptx) => Instruction().Replace(ptx, match =>
    {
        string op = match.Groups["op"].Value, target = match.Groups["d"].Value, x = match.Groups["a"].Value;
        if (!int.TryParse(match.Groups["imm"].Value, NumberStyles.Integer, CultureInfo.InvariantCulture, out int d) || d < 1) return match.Value;
        string indent = match.Groups["indent"].Value;
        if (d == 1) return $"{indent}mov.b32 {target}, {(op == "div" ? x : "0")};"; // a loop over one chunk: x / 1 and x % 1
        var s = new StringBuilder();
        void Line(string text) => s.Append(indent).Append(text).Append('\n');
        Line("{");
        Line(".reg .b32 %fusion_q, %fusion_t;");
        if ((d & (d - 1)) == 0)
        {
            // Round toward zero: add d − 1 to a negative dividend before the arithmetic shift.
            int k = System.Numerics.BitOperations.Log2((uint)d);
            Line($"shr.s32 %fusion_t, {x}, 31;");
            Line($"shr.u32 %fusion_t, %fusion_t, {32 - k};");
            Line($"add.s32 %fusion_q, {x}, %fusion_t;");
            Line($"shr.s32 %fusion_q, %fusion_q, {k};");
        }
        else
        {
            var m = For(d);
            Line($"mul.hi.s32 %fusion_q, {x}, {m.Multiplier.ToString(CultureInfo.InvariantCulture)};");
            if (m.AddDividend) Line($"add.s32 %fusion_q, %fusion_q, {x};");
            if (m.Shift > 0) Line($"shr.s32 %fusion_q, %fusion_q, {m.Shift};");
            Line($"shr.u32 %fusion_t, {x}, 31;");
            Line("add.s32 %fusion_q, %fusion_q, %fusion_t;");
        }
        if (op == "div") Line($"mov.b32 {target}, %fusion_q;");
        else
        {
            // The remainder is x − q·d; written after q, so a target that is also the dividend is read first.
            Line($"mul.lo.s32 %fusion_t, %fusion_q, {d.ToString(CultureInfo.InvariantCulture)};");
            Line($"sub.s32 {target}, {x}, %fusion_t;");
        }
        Line("}");
        return s.ToString().TrimEnd('\n');
    });

    [GeneratedRegex(@"^(?<indent>[ \t]*)(?<op>div|rem)\.s32[ \t]+(?<d>%\w+),[ \t]*(?<a>%\w+),[ \t]*(?<imm>\d+);", RegexOptions.Multiline)]
    private static partial Regex Instruction();
}
