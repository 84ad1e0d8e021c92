using System.Text.RegularExpressions;
using Fusion.Compiler;

namespace Fusion.Ilgpu;

/// <summary>
/// Gives ptxas a register allowance for a kernel of ILGPU's PTX: a <c>.maxnreg</c> directive on its entry. On its own, ptxas packs
/// the float32 pointwise kernels of ILGPU's PTX into fewer registers than the same kernel's CUDA C gets from NVRTC (40 against 48
/// for the GELU epilogues, H200) and schedules them worse; told it may use 48, ptxas matches the CUDA C's time. The allowance is an
/// upper bound too, and that is why it is given to those kernels only: on all 82 of Swin-T's generated kernels it made every float32
/// pointwise kernel 0–19 % faster, the fp16 GELU epilogues 4–6 % slower and the row (LayerNorm) kernels up to 3.2× slower, which
/// need more registers than 48 (docs/perf.md, "The float32 GELU epilogues' registers").
/// </summary>
internal static partial class PtxRegisterBudget
{
    /// <summary>Registers a thread of a float32 pointwise kernel may use: what NVRTC gives the GELU epilogues' CUDA C.</summary>
    public const int Generated = 48;

    /// <summary>The allowance of generated kernel <paramref name="k"/> run with io type <paramref name="io"/>: <see cref="Generated"/> where it maps pointwise and every buffer is float32; none otherwise.</summary>
    public static int? For(LoopKernel k, DType io) =>
        KernelMapping.Of(k).Kind == MappingKind.Pointwise && k.Buffers.All(b => LoopInterpreter.Resolve(b.Type, io) == DType.Float32) ? Generated : null;

    /// <summary><paramref name="ptx"/> with <c>.maxnreg <paramref name="registers"/></c> on its one entry (after its parameter list).</summary>
    public static string Apply(string ptx, int registers, string kernelName)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(registers, 16);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(registers, 255);
        if (ptx.Contains(".maxnreg", StringComparison.Ordinal)) return ptx; // the allowance already given stands
        var match = EntryHeader().Match(ptx);
        if (!match.Success) throw new FusionException($"ILGPU's PTX for kernel {kernelName} has no .entry to give a register allowance");
        return ptx.Insert(match.Index + match.Length - 1, $".maxnreg {registers}\n");
    }

    // The entry's name, its parameter list, then the brace that opens its body (the match ends on it).
    [GeneratedRegex(@"\.entry\s+[A-Za-z_$][\w$]*\s*\([^)]*\)\s*\{")]
    private static partial Regex EntryHeader();
}
