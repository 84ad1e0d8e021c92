using System.Collections.Generic;
using System.Linq;

namespace Fusion.Compiler
{
    /// <summary>
    /// One generated kernel in the loop IR: the buffers it reads and writes, the loop nest it runs (one variable per
    /// domain axis, optionally one of them, or an extra one, being the reduction variable) and its body, a list of
    /// scalar instructions in static single assignment form. The IR knows nothing about CUDA, ILGPU or the CPU:
    /// printers and the CPU interpreter choose how to map the loops onto threads, vectors and registers.
    ///
    /// Semantics: for every point of the non-reduction variables (a "row"), every value of the reduction variable is
    /// visited; instructions that depend on the reduction variable are evaluated per element, a Reduce combines its
    /// operand over all of them, and instructions after it may use the result. A store whose offset uses the reduction
    /// variable happens per element, any other store once per row. Without a reduction every point is one element.
    /// Everything is computed in float32; loads convert from and stores round to each buffer's type once (int8: the code, rounded
    /// half to even and saturated to ±127).
    /// </summary>
    /// <param name="Name">The kernel's name, which says what it does (e.g. layer_norm_roll_window_partition_f16_c96).</param>
    /// <param name="Buffers">Inputs first (in argument order), then outputs.</param>
    /// <param name="Domain">The extent of each domain variable v0 … v(n-1); at most one is dynamic (a multiple of the batch N).</param>
    /// <param name="ReduceVar">-1 without a reduction; a domain variable's index when that axis is reduced; n for an extra variable v(n).</param>
    /// <param name="ReduceExtent">The reduction variable's extent (static), 0 without one.</param>
    internal sealed record LoopKernel(
        string Name,
        EquatableArray<KernelBuffer> Buffers,
        EquatableArray<Dim> Domain,
        int ReduceVar,
        long ReduceExtent,
        EquatableArray<Instr> Body)
    {
        public bool HasReduction => ReduceVar >= 0;

        /// <summary>The reduction variable is an extra loop (the outputs have no reduced axis), not a domain axis.</summary>
        public bool ReducesExtraVar => ReduceVar == Domain.Count;

        /// <summary>Extents of all variables, the extra reduction variable included.</summary>
        public IReadOnlyList<Dim> VariableExtents => ReducesExtraVar ? Domain.Concat(new[] { Dim.Static(ReduceExtent) }).ToList() : Domain;

        public IEnumerable<KernelBuffer> Inputs => Buffers.Where(b => b.Role != BufferRole.Output);

        public IEnumerable<KernelBuffer> Outputs => Buffers.Where(b => b.Role == BufferRole.Output);

        /// <summary>Whether a buffer's type is the run's input/output type, only known when the kernel is launched.</summary>
        public bool UsesIoType => Buffers.Any(b => b.Type == FloatType.Io);

        /// <summary>Whether some store adds into its buffer (<see cref="StoreInstr.Accumulate"/>): that buffer must be zero before the kernel runs.</summary>
        public bool Accumulates => Body.Any(i => i is StoreInstr { Accumulate: true });

        /// <summary>The output buffers (indices into <see cref="Buffers"/>) that accumulating stores add into.</summary>
        public IEnumerable<int> AccumulatedBuffers => Body.OfType<StoreInstr>().Where(s => s.Accumulate).Select(s => s.Buffer).Distinct();

        public override string ToString() => LoopIrText.Print(this);
    }

    internal enum BufferRole
    {
        /// <summary>Read by the kernel.</summary>
        Input,

        /// <summary>Written by the kernel.</summary>
        Output,

        /// <summary>
        /// A template's result that its generated epilogue reads (a GEMM's fp32 accumulators): in registers when the
        /// epilogue is printed into the template, a buffer of either float type when the epilogue runs alone.
        /// </summary>
        Accumulator,
    }

    /// <summary>A tensor argument: its name in the IR, role, element type and shape (with the batch).</summary>
    internal sealed record KernelBuffer(string Name, BufferRole Role, FloatType Type, EquatableArray<Dim> Shape);

    internal enum ScalarOp
    {
        // binary
        Add,
        Sub,
        Mul,
        Div,
        Max,
        Min,
        Pow,
        Lt,
        Le,
        Gt,
        Ge,
        Eq,
        Ne,

        // unary
        Neg,
        Abs,
        Exp,
        Log,
        Sqrt,
        Rsqrt,
        Tanh,
        Erf,

        /// <summary>
        /// GELU by erf, x·½·(1 + erf(x/√2)), as one operation: a printer spells it with its constants folded (the ½ and the 1/√2
        /// into erf's own), which the chain of six operations it stands for cannot be (float math is not reassociated).
        /// </summary>
        Gelu,

        /// <summary>
        /// GELU in its tanh form, x·½·(1 + tanh(√(2/π)·(x + 0.044715·x³))), as one operation: printed as x·σ(2u) (one exp2 and one
        /// reciprocal, accurate to float32) where the six-operation chain through a general tanh would branch and take a polynomial.
        /// The form cuBLASLt's GELU epilogue computes, and the int8 plans' (PrecisionPass).
        /// </summary>
        GeluTanh,
        Recip,

        /// <summary>Rounds to the nearest float16 and back: a cast to f16 inside a kernel keeps the plan's rounding.</summary>
        RoundF16,

        /// <summary>Rounds half to even and clamps to [−127, 127]: the value an int8 store keeps (a cast to i8 inside a kernel).</summary>
        RoundI8,

        /// <summary>Rounds to the nearest FP8 E4M3 value (ties to even, saturated to ±448): the value an f8 store keeps (a cast to f8 inside a kernel).</summary>
        RoundF8,

        // ternary: a != 0 ? b : c
        Where,
    }

    internal enum ReduceKind
    {
        Sum,
        Max,
        Min,
    }

    /// <summary>One instruction; its value is %Id (instructions are in dependency order and ids are their positions).</summary>
    internal abstract record Instr(int Id);

    /// <summary>A float constant.</summary>
    internal sealed record ConstInstr(int Id, double Value) : Instr(Id);

    /// <summary>
    /// buffer[offset] converted to float32, or <paramref name="Otherwise"/> where a guard fails (then nothing is read:
    /// padding, concatenation pieces).
    /// </summary>
    internal sealed record LoadInstr(int Id, int Buffer, IndexExpr Offset, EquatableArray<IndexBound> Guard, double Otherwise) : Instr(Id);

    /// <summary>1 where every bound holds, else 0.</summary>
    internal sealed record PredicateInstr(int Id, EquatableArray<IndexBound> Bounds) : Instr(Id);

    /// <summary>A scalar operation on earlier values.</summary>
    internal sealed record OpInstr(int Id, ScalarOp Op, EquatableArray<int> Args) : Instr(Id);

    /// <summary>The sum, maximum or minimum of a value over the reduction variable.</summary>
    internal sealed record ReduceInstr(int Id, ReduceKind Kind, int Arg) : Instr(Id);

    /// <summary>
    /// buffer[offset] = value, rounded once to the buffer's type (an int8 buffer: half to even, saturated to ±127; an f8 buffer: E4M3,
    /// ties to even, saturated to ±448). With <paramref name="Accumulate"/>: buffer[offset] += value, where the buffer is float32 and
    /// starts at zero (whoever runs the kernel clears it first) and the adds of different points land in any order: a Sum or Mean of
    /// a kernel's result folded into the kernel that computes it (a global pool at the end of a GEMM's epilogue); only in kernels
    /// without a reduction variable.
    /// </summary>
    internal sealed record StoreInstr(int Id, int Buffer, IndexExpr Offset, int Value, bool Accumulate = false) : Instr(Id);

    /// <summary>Lo ≤ Expr &lt; Hi.</summary>
    internal sealed record IndexBound(IndexExpr Expr, long Lo, long Hi);

    /// <summary>Arity and spelling of the scalar operations, shared by printers and the interpreter.</summary>
    internal static class ScalarOps
    {
        public static int Arity(ScalarOp op) => op switch
        {
            ScalarOp.Where => 3,
            >= ScalarOp.Neg and <= ScalarOp.RoundF8 => 1,
            _ => 2,
        };

        /// <summary>The IR text's name of an operation ("add", "rsqrt", …).</summary>
        public static string Name(ScalarOp op) => op.ToString().ToLowerInvariant();

        public static bool TryParse(string name, out ScalarOp op)
        {
            foreach (ScalarOp candidate in System.Enum.GetValues(typeof(ScalarOp)))
            {
                if (Name(candidate) == name)
                {
                    op = candidate;
                    return true;
                }
            }
            op = default;
            return false;
        }
    }

    /// <summary>Facts about a kernel's body that printers and the interpreter share.</summary>
    internal static class LoopAnalysis
    {
        /// <summary>
        /// The kernel with each store of a rounding to its buffer's own type (RoundI8 into an i8 buffer, RoundF16 into f16, RoundF8 into
        /// f8) storing the unrounded value instead: a store rounds to its buffer's type in the same way, so the result is the same, and
        /// a GPU printer then rounds once (the int8 plan's requantizing epilogues rounded every code twice; with their bound and NaN
        /// tests, roundings, compares and selects were 14 of 52 instructions an element, Nsight Compute 2026-12-06). The rounding stays
        /// where other instructions read it; unread, the compiler drops it.
        /// </summary>
        public static LoopKernel StoresRoundOnce(LoopKernel kernel)
        {
            bool changed = false;
            var body = kernel.Body.Select(instr =>
            {
                if (instr is StoreInstr { Accumulate: false } st && kernel.Body[st.Value] is OpInstr { Op: var op } round
                    && RoundsTo(op) is { } type && kernel.Buffers[st.Buffer].Type == type)
                {
                    changed = true;
                    return (Instr)(st with { Value = round.Args[0] });
                }
                return instr;
            }).ToArray();
            return changed ? kernel with { Body = new EquatableArray<Instr>(body) } : kernel;
        }

        private static FloatType? RoundsTo(ScalarOp op) => op switch
        {
            ScalarOp.RoundI8 => FloatType.I8,
            ScalarOp.RoundF16 => FloatType.F16,
            ScalarOp.RoundF8 => FloatType.F8,
            _ => null,
        };

        /// <summary>For each instruction: whether its value depends on the reduction variable (is per element, not per row).</summary>
        public static bool[] PerElement(LoopKernel kernel)
        {
            var per = new bool[kernel.Body.Count];
            int r = kernel.ReduceVar;
            foreach (var instr in kernel.Body)
            {
                per[instr.Id] = instr switch
                {
                    LoadInstr load => r >= 0 && (load.Offset.Uses(r) || load.Guard.Any(g => g.Expr.Uses(r))),
                    PredicateInstr p => r >= 0 && p.Bounds.Any(g => g.Expr.Uses(r)),
                    OpInstr op => op.Args.Any(a => per[a]),
                    StoreInstr store => r >= 0 && store.Offset.Uses(r),
                    _ => false,
                };
            }
            return per;
        }

        /// <summary>The per-element instructions the values <paramref name="roots"/> depend on (themselves included).</summary>
        public static HashSet<int> ElementClosure(LoopKernel kernel, bool[] perElement, IEnumerable<int> roots)
        {
            var needed = new HashSet<int>();
            var stack = new Stack<int>(roots);
            while (stack.Count > 0)
            {
                int id = stack.Pop();
                if (!perElement[id] || !needed.Add(id)) continue;
                if (kernel.Body[id] is OpInstr op) foreach (var a in op.Args) stack.Push(a);
            }
            return needed;
        }

        /// <summary>
        /// A looped kernel's passes over its row, in order: before pass q the row-level values computable after q reductions (not
        /// computed before), then the reductions that finish in it; <paramref name="after"/> gets the row-level values left for the end.
        /// </summary>
        public static List<(List<Instr> RowLevel, List<ReduceInstr> Reductions)> LoopedPasses(LoopKernel kernel, bool[] perElement, int[] phase, out List<Instr> after)
        {
            var printed = new HashSet<int>();
            List<Instr> RowLevelUpTo(int q) => kernel.Body.Where(i => !(printed.Contains(i.Id) || perElement[i.Id] || i is StoreInstr or ReduceInstr or ConstInstr)
                && phase[i.Id] <= q && printed.Add(i.Id)).ToList();
            int count = kernel.Body.OfType<ReduceInstr>().Select(red => phase[red.Id]).DefaultIfEmpty(0).Max();
            var passes = new List<(List<Instr>, List<ReduceInstr>)>();
            for (int q = 0; q < count; q++)
                passes.Add((RowLevelUpTo(q), kernel.Body.OfType<ReduceInstr>().Where(red => phase[red.Id] == q + 1).ToList()));
            after = RowLevelUpTo(int.MaxValue);
            return passes;
        }

        /// <summary>How many reductions each instruction's value waits for (0: computable before any reduction).</summary>
        public static int[] Phase(LoopKernel kernel)
        {
            var phase = new int[kernel.Body.Count];
            foreach (var instr in kernel.Body)
            {
                phase[instr.Id] = instr switch
                {
                    OpInstr op => op.Args.Select(a => phase[a]).DefaultIfEmpty(0).Max(),
                    ReduceInstr red => phase[red.Arg] + 1,
                    StoreInstr store => phase[store.Value],
                    _ => 0,
                };
            }
            return phase;
        }
    }
}
