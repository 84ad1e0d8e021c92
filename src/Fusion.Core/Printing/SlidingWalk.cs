using System;
using System.Collections.Generic;
using System.Linq;

namespace Fusion.Compiler
{
    /// <summary>
    /// The straight-line program of a strided kernel's thread that takes <see cref="KernelMapping.Slide"/> outputs along the slide
    /// variable as well as V along the innermost one (a depthwise convolution's neighbouring pixels): the walk over the reduced
    /// axis is unrolled, every value is evaluated for each (pixel p, step t) with v_slide = base + p and v_r = t substituted into
    /// its indices, and values whose substituted form is equal are one value. Two pixels' windows overlap, so a 7-tap row read by
    /// four pixels is 10 loads instead of 28; the weight, which does not move with the pixel, is loaded once a step. Both GPU
    /// printers print this plan, so the load sharing is decided here, not left to a compiler's common-subexpression pass.
    /// </summary>
    internal sealed class SlidingWalk
    {
        /// <summary>What a value reference resolves to: a literal, a pixel's accumulator, or a computed value (a slot).</summary>
        internal abstract record Operand;

        internal sealed record Literal(double Value) : Operand;

        internal sealed record Accumulator(int Reduction, int Pixel) : Operand;

        internal sealed record Slot(int Index, bool Wide) : Operand;

        /// <summary>One step of the program, in order.</summary>
        internal abstract record Action;

        /// <summary>Declare and compute slot <paramref name="Target"/>: a load (indices substituted), a predicate or an operation over slots.</summary>
        internal sealed record Compute(Slot Target, Instr At, IReadOnlyList<Operand> Args) : Action;

        /// <summary>Start a pixel's accumulator.</summary>
        internal sealed record Begin(ReduceInstr Reduction, int Pixel) : Action;

        /// <summary>Fold a value into a pixel's accumulator.</summary>
        internal sealed record Accumulate(ReduceInstr Reduction, int Pixel, Operand Value) : Action;

        /// <summary>A store at a pixel (its offset substituted).</summary>
        internal sealed record Store(StoreInstr At, Operand Value) : Action;

        public IReadOnlyList<Action> Actions { get; }

        /// <summary>The thread's values, including those that only reach a store.</summary>
        public int Slots { get; }

        private readonly LoopKernel _k;
        private readonly int _slide;
        private readonly int _vectorVar;
        private readonly int _vector;
        private readonly IndexAlgebra _algebra;
        private readonly Dictionary<object, Operand> _known = new();
        private readonly List<Action> _actions = new();

        /// <summary>Whether a kernel mapped as <paramref name="m"/> is printed through this plan.</summary>
        public static bool Applies(KernelMapping m) => m.Kind == MappingKind.Strided && m.Slide > 1;

        public SlidingWalk(LoopKernel kernel, KernelMapping m)
        {
            if (!Applies(m)) throw new ArgumentException("a sliding walk needs a strided mapping with several pixels a thread", nameof(m));
            _k = kernel;
            _slide = KernelMapping.SlideVariable(kernel);
            _vectorVar = KernelMapping.OutputVariable(kernel);
            _vector = m.Vector;
            _algebra = new IndexAlgebra(kernel.VariableExtents);
            var perElement = LoopAnalysis.PerElement(kernel);
            var passes = LoopAnalysis.LoopedPasses(kernel, perElement, LoopAnalysis.Phase(kernel), out var after);
            foreach (var (rowLevel, reductions) in passes)
            {
                for (int p = 0; p < m.Slide; p++)
                {
                    foreach (var instr in rowLevel) Value(instr.Id, p, step: -1);
                    foreach (var red in reductions) _actions.Add(new Begin(red, p));
                }
                for (int t = 0; t < kernel.ReduceExtent; t++)
                    for (int p = 0; p < m.Slide; p++)
                        foreach (var red in reductions) _actions.Add(new Accumulate(red, p, Value(red.Arg, p, t)));
            }
            for (int p = 0; p < m.Slide; p++)
            {
                foreach (var instr in after) Value(instr.Id, p, step: -1);
                foreach (var st in kernel.Body.OfType<StoreInstr>())
                    _actions.Add(new Store(st with { Offset = At(st.Offset, p, -1) }, Value(st.Value, p, -1)));
            }
            Actions = _actions;
            Slots = _known.Count;
        }

        /// <summary>The value of instruction <paramref name="id"/> at pixel p and step t (-1: outside the walk), computed once per distinct form.</summary>
        private Operand Value(int id, int p, int step)
        {
            var instr = _k.Body[id];
            switch (instr)
            {
                case ConstInstr c:
                    return new Literal(c.Value);
                case ReduceInstr red:
                    return new Accumulator(red.Id, p);
                case LoadInstr l:
                {
                    var at = l with { Offset = At(l.Offset, p, step), Guard = At(l.Guard, p, step) };
                    return Known(("load", at.Buffer, at.Offset, at.Guard, at.Otherwise), at, Array.Empty<Operand>(), KernelMapping.Width(_k, at, _vectorVar, _vector) > 1);
                }
                case PredicateInstr pr:
                {
                    var at = pr with { Bounds = At(pr.Bounds, p, step) };
                    return Known(("inside", at.Bounds), at, Array.Empty<Operand>(), wide: true);
                }
                case OpInstr op:
                {
                    var args = op.Args.Select(a => Value(a, p, step)).ToList();
                    return Known(("op", op.Op, new EquatableArray<Operand>(args)), op, args, wide: true);
                }
                default:
                    throw new InvalidOperationException($"{instr.GetType().Name} has no value");
            }
        }

        private Operand Known(object key, Instr at, IReadOnlyList<Operand> args, bool wide)
        {
            if (_known.TryGetValue(key, out var known)) return known;
            var slot = new Slot(_known.Count, wide);
            _known[key] = slot;
            _actions.Add(new Compute(slot, at, args));
            return slot;
        }

        private IndexExpr At(IndexExpr e, int p, int step) => _algebra.Substitute(e, v =>
            v == _slide ? _algebra.Add(IndexExpr.Var(v), p)
            : v == _k.ReduceVar && step >= 0 ? IndexExpr.Const(step)
            : IndexExpr.Var(v));

        private EquatableArray<IndexBound> At(EquatableArray<IndexBound> bounds, int p, int step) =>
            new(bounds.Select(b => b with { Expr = At(b.Expr, p, step) }));
    }
}
