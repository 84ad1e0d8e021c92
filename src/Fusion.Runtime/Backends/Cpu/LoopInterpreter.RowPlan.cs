using System.Runtime.CompilerServices;
using Fusion.Compiler;

namespace Fusion;

internal static unsafe partial class LoopInterpreter
{
    /// <summary>What is known about a kernel before any row runs: the row variable, which values vary along it, how loads move.</summary>
    private sealed class RowPlan
    {
        public RowPlan(LoopKernel kernel, long batch)
        {
            Kernel = kernel;
            Walk = s_walks.GetValue(kernel, k => new Boxed(StridedWalk.Of(k))).Walk;
            var extents = kernel.VariableExtents;
            Inner = kernel.HasReduction && !Strided ? kernel.ReduceVar : RowVariable(kernel, Strided ? KernelMapping.OutputVariable(kernel) : kernel.Domain.Count - 1, batch);
            Length = Inner < 0 ? 1 : checked((int)extents[Inner].At(batch));
            Steps = Strided ? checked((int)kernel.ReduceExtent) : 1;
            RowVars = Enumerable.Range(0, kernel.Domain.Count).Where(v => v != Inner && !(Strided && v == kernel.ReduceVar)).ToArray();
            Variables = extents.Count;
            PerElement = new bool[kernel.Body.Count];
            Linear = new bool[kernel.Body.Count];
            Split = new SplitOffset?[kernel.Body.Count];
            GuardMoves = kernel.Body.Select(i => i is LoadInstr l && Inner >= 0 && l.Guard.Any(g => g.Expr.Uses(Inner))).ToArray();
            BoundSplits = new SplitOffset[]?[kernel.Body.Count];
            Runs = new int[]?[kernel.Body.Count];
            foreach (var instr in kernel.Body)
            {
                PerElement[instr.Id] = Inner >= 0 && instr switch
                {
                    LoadInstr l => l.Offset.Uses(Inner) || l.Guard.Any(g => g.Expr.Uses(Inner)),
                    PredicateInstr p => p.Bounds.Any(g => g.Expr.Uses(Inner)),
                    OpInstr o => o.Args.Any(a => PerElement[a]),
                    StoreInstr s => s.Offset.Uses(Inner),
                    // A strided walk's accumulators span the row where their operand does.
                    ReduceInstr red => Strided && PerElement[red.Arg],
                    _ => false,
                };
                // A guard that does not move along the row (a convolution's padding, per pixel) is checked once for the whole block.
                var offset = instr switch { LoadInstr l when !l.Guard.Any(g => g.Expr.Uses(Inner)) => l.Offset, StoreInstr s => s.Offset, _ => null };
                Linear[instr.Id] = offset is not null && Inner >= 0 && StepsByOne(offset, Inner);
                var any = instr switch { LoadInstr l => l.Offset, StoreInstr s => s.Offset, _ => null };
                if (any is not null && PerElement[instr.Id] && !Linear[instr.Id]) Split[instr.Id] = SplitOffset.Of(any, Inner, Variables, Length, batch);
                var bounds = instr switch { LoadInstr l when GuardMoves[l.Id] => l.Guard, PredicateInstr p when PerElement[p.Id] => p.Bounds, _ => default };
                if (bounds.Count > 0)
                {
                    var splits = bounds.Select(b => SplitOffset.Of(b.Expr, Inner, Variables, Length, batch)).ToArray();
                    if (splits.All(x => x is not null)) BoundSplits[instr.Id] = splits!;
                }
                // Only a gather whose guard moves along the row is copied by runs (an unguarded gather, or one guarded per row, is gathered as before).
                if (Split[instr.Id] is { } gathered && BoundSplits[instr.Id] is { } moving && GuardMoves[instr.Id]) Runs[instr.Id] = RunsOf(gathered.Inner, moving);
            }
            var readers = Readers(kernel.Body);
            (SameAs, Skipped, Padding) = GuardedSelects(kernel.Body, readers);
            StepOffsets = new SplitOffset?[kernel.Body.Count];
            StepGuards = new SplitOffset[]?[kernel.Body.Count];
            (StepProducts, WalkSteps) = Walk is { } w ? FusedProducts(kernel.Body, w, readers) : (Enumerable.Repeat(-1, kernel.Body.Count).ToArray(), []);
            if (Walk is { } walk)
            {
                foreach (var load in walk.Steps.OfType<LoadInstr>())
                {
                    // What the load evaluates each step: its offset (at element 0 for a block copy), or a gather's row part.
                    var offset = !PerElement[load.Id] || Linear[load.Id] ? load.Offset : Split[load.Id]?.Outer;
                    if (offset is null || (load.Guard.Count > 0 && GuardMoves[load.Id])) continue;
                    StepOffsets[load.Id] = SplitOffset.Of(offset, kernel.ReduceVar, Variables, Steps, batch);
                    if (load.Guard.Count == 0) continue;
                    var guards = load.Guard.Select(b => SplitOffset.Of(b.Expr, kernel.ReduceVar, Variables, Steps, batch)).ToArray();
                    if (guards.All(g => g is not null)) StepGuards[load.Id] = guards!;
                    else StepOffsets[load.Id] = null;
                }
            }
            Wide = Walk is not null ? WideRow.Of(this, batch) : null;
        }

        /// <summary>
        /// In a strided walk, a load's offset split along the reduced variable: the row's part, evaluated once a row, plus the step's,
        /// worked out once a call (a depthwise convolution's tap: its row and column shift). Its guard, which does not move along the
        /// row, split the same way in <see cref="StepGuards"/>. Null where a term mixes the step with another variable, or the guard
        /// does not split.
        /// </summary>
        public SplitOffset?[] StepOffsets { get; }

        /// <summary>The guard bounds of a load in <see cref="StepOffsets"/>, each split along the reduced variable; null for an unguarded load.</summary>
        public SplitOffset[]?[] StepGuards { get; }

        /// <summary>
        /// For a sum of a strided walk whose operand is a product nothing else reads (a convolution's tap times its weight): the
        /// product's id, multiplied into the accumulator by one fused multiply-add a step instead of stored and added. Else -1.
        /// </summary>
        public int[] StepProducts { get; }

        /// <summary>The walk's step instructions less those <see cref="StepProducts"/> makes unneeded: the products, and selects only they read.</summary>
        public Instr[] WalkSteps { get; }

        /// <summary>The value an operand stands for: a select that gives back its load's values (<see cref="SameAs"/>) is that load.</summary>
        public int Source(int id) => SameAs[id] is >= 0 and var load && PerElement[load] == PerElement[id] ? load : id;

        private (int[] Products, Instr[] Steps) FusedProducts(EquatableArray<Instr> body, StridedWalk walk, int[] readers)
        {
            var products = Enumerable.Repeat(-1, body.Count).ToArray();
            var dropped = new HashSet<int>();
            var steps = walk.Steps.Select(i => i.Id).ToHashSet();
            foreach (var red in walk.Reductions)
            {
                if (red.Kind != ReduceKind.Sum || !PerElement[red.Id] || body[red.Arg] is not OpInstr { Op: ScalarOp.Mul, Args: [var a, var b] } mul
                    || readers[mul.Id] != 1 || !PerElement[mul.Id] || !steps.Contains(mul.Id))
                    continue;
                products[red.Id] = mul.Id;
                dropped.Add(mul.Id);
                // A select the product alone reads, standing for its load: the product reads the load.
                foreach (int arg in new[] { a, b }.Distinct())
                    if (Source(arg) != arg && readers[arg] == (a == b ? 2 : 1)) dropped.Add(arg);
            }
            return (products, walk.Steps.Where(i => !dropped.Contains(i.Id)).ToArray());
        }

        /// <summary>
        /// The domain variable rows run along: <paramref name="preferred"/> (the innermost, or a strided walk's output variable), unless
        /// its extent is 1 (a pooled [N, C, 1, 1]), where rows of one element would pay a row's overhead per element: then the
        /// innermost variable longer than that.
        /// </summary>
        private static int RowVariable(LoopKernel kernel, int preferred, long batch)
        {
            if (preferred < 0 || kernel.Domain[preferred].At(batch) > 1) return preferred;
            for (int v = kernel.Domain.Count - 1; v >= 0; v--)
                if (kernel.Domain[v].At(batch) > 1) return v;
            return preferred;
        }

        /// <summary>
        /// For each select of the form where(inside B, load … when B else v, v) (a padded window's gather as lowering writes it: the
        /// load is guarded by the very bounds the select tests, and its padding value is the select's other operand), the load's id:
        /// the select's value is the load's. Else -1. Also where(inside B, load … when B else u, v) with u ≠ v when the select is
        /// the load's only reader (a max pool's window: the load pads with 0, the select with −∞): the load then pads with v
        /// (<see cref="Padding"/>), which nothing else sees.
        /// </summary>
        public int[] SameAs { get; }

        /// <summary>Predicates only such selects read: never evaluated (an im2col row spent most of its time on them, element by element).</summary>
        public bool[] Skipped { get; }

        /// <summary>Each load's value outside its guard: its own padding, or the padding of the select that takes its place.</summary>
        public float[] Padding { get; }

        /// <summary>How many instructions read each value (as an operand, a reduction's argument or a store's value).</summary>
        private static int[] Readers(EquatableArray<Instr> body)
        {
            var readers = new int[body.Count];
            foreach (var instr in body)
            {
                IEnumerable<int> args = instr switch { OpInstr o => o.Args, ReduceInstr r => [r.Arg], StoreInstr st => [st.Value], _ => [] };
                foreach (int a in args) readers[a]++;
            }
            return readers;
        }

        private static (int[] SameAs, bool[] Skipped, float[] Padding) GuardedSelects(EquatableArray<Instr> body, int[] readers)
        {
            var sameAs = Enumerable.Repeat(-1, body.Count).ToArray();
            var aliasReaders = new int[body.Count];
            var paddings = body.Select(i => i is LoadInstr l ? (float)l.Otherwise : 0f).ToArray();
            foreach (var instr in body)
            {
                if (instr is OpInstr { Op: ScalarOp.Where, Args: [var p, var l, var c] } && body[p] is PredicateInstr predicate && body[l] is LoadInstr load
                    && body[c] is ConstInstr padding && load.Guard.Equals(predicate.Bounds) && (load.Otherwise == padding.Value || readers[l] == 1))
                {
                    sameAs[instr.Id] = l;
                    aliasReaders[p]++;
                    paddings[l] = (float)padding.Value;
                }
            }
            var skipped = body.Select(i => i is PredicateInstr && readers[i.Id] > 0 && readers[i.Id] == aliasReaders[i.Id]).ToArray();
            return (sameAs, skipped, paddings);
        }

        /// <summary>The reduction is walked as <see cref="Steps"/> steps inside each row (see <see cref="Walk"/>).</summary>
        public bool Strided => Walk is not null;

        /// <summary>Steps of a strided walk per row (the reduced extent), 1 otherwise.</summary>
        public int Steps { get; }

        /// <summary>A strided walk's instructions in the order a row runs them; null for other kernels.</summary>
        public StridedWalk? Walk { get; }

        /// <summary>Each kernel's walk (or none), worked out once: the mapping decision costs more than a small kernel's run.</summary>
        private static readonly ConditionalWeakTable<LoopKernel, Boxed> s_walks = new();

        private sealed record Boxed(StridedWalk? Walk);

        /// <summary>
        /// Gathers and scatters whose offset is a sum of terms of the row variable alone and terms of the others (window
        /// partitions, patch merging, rolls): the row variable's part, one offset per element, worked out once per call
        /// instead of once per element of every row.
        /// </summary>
        public SplitOffset?[] Split { get; }

        public LoopKernel Kernel { get; }

        /// <summary>The variable a row runs along (-1 for a kernel without variables).</summary>
        public int Inner { get; }

        public int Length { get; }

        public int[] RowVars { get; }

        public int Variables { get; }

        public bool[] PerElement { get; }

        /// <summary>Loads whose guard moves along the row (checked per element); others check it once a row.</summary>
        public bool[] GuardMoves { get; }

        /// <summary>
        /// A gathered load's runs, where its guard moves along the row and splits: the first element of each stretch of the row whose
        /// addresses are consecutive and whose guard does not change, then the row's length; copied a stretch at a time (an im2col row
        /// is a run of channels per tap). Null elsewhere, and where the stretches would average under four elements.
        /// </summary>
        public int[]?[] Runs { get; }

        private static int[]? RunsOf(long[] offsets, SplitOffset[] guards)
        {
            var starts = new List<int> { 0 };
            for (int e = 1; e < offsets.Length; e++)
                if (offsets[e] != offsets[e - 1] + 1 || guards.Any(g => g.Inner[e] != g.Inner[e - 1])) starts.Add(e);
            if (starts.Count * 4 > offsets.Length) return null;
            starts.Add(offsets.Length);
            return starts.ToArray();
        }

        /// <summary>
        /// The bounds of a load's moving guard or of a moving predicate, each split as its offset would be (a window's tap along the
        /// row, the pixel per row: an im2col gather's padding), so a row checks them with one add per bound and element; null where a
        /// bound mixes the row variable with another.
        /// </summary>
        public SplitOffset[]?[] BoundSplits { get; }

        /// <summary>Accesses whose address is base + the row variable (copied as one block).</summary>
        public bool[] Linear { get; }

        public long Rows(long batch) => RowVars.Aggregate(1L, (p, v) => p * (Wide is { } w && v == w.Pixel ? w.Tiles : Kernel.Domain[v].At(batch)));

        /// <summary>A strided walk whose rows cover several pixels (<see cref="WideRow"/>), or null.</summary>
        public WideRow? Wide { get; }

        /// <summary>The elements of a row: <see cref="Length"/>, or a wide row's pixels × <see cref="Length"/>.</summary>
        public int RowElements => Wide is { } w ? w.Pixels * Length : Length;

        /// <summary>
        /// A strided walk's instructions: <see cref="Before"/> the walk (values that change neither with the step nor after a reduction),
        /// each step's (<see cref="Steps"/>, whose values change from step to step), the <see cref="Reductions"/> they accumulate, and
        /// <see cref="After"/> the walk (what the reductions feed, and every store).
        /// </summary>
        public sealed record StridedWalk(Instr[] Before, Instr[] Steps, ReduceInstr[] Reductions, Instr[] After)
        {
            /// <summary>
            /// The walk of a reduction along a strided axis (<see cref="MappingKind.Strided"/>, as the GPU printers map it) that a row can
            /// walk as steps, or null: every reduction over values of the walk alone (none reduces another's result, none is fed a
            /// changing value after one) and no store per step.
            /// </summary>
            public static StridedWalk? Of(LoopKernel kernel)
            {
                if (!kernel.HasReduction || KernelMapping.OutputVariable(kernel) < 0 || KernelMapping.Of(kernel).Kind != MappingKind.Strided) return null;
                var along = LoopAnalysis.PerElement(kernel);
                var phase = LoopAnalysis.Phase(kernel);
                var body = kernel.Body;
                if (body.OfType<ReduceInstr>().Any(red => phase[red.Id] != 1) || body.OfType<StoreInstr>().Any(st => st.Offset.Uses(kernel.ReduceVar))
                    || body.Any(i => along[i.Id] && phase[i.Id] > 0))
                    return null;
                return new StridedWalk(
                    body.Where(i => !along[i.Id] && phase[i.Id] == 0 && i is not (StoreInstr or ReduceInstr)).ToArray(),
                    body.Where(i => along[i.Id] && i is not StoreInstr).ToArray(),
                    body.OfType<ReduceInstr>().ToArray(),
                    body.Where(i => (phase[i.Id] > 0 && i is not ReduceInstr) || i is StoreInstr).ToArray());
            }
        }

        /// <summary>An offset = <see cref="Outer"/> (evaluated per row) + <see cref="Inner"/>[element].</summary>
        public sealed record SplitOffset(IndexExpr Outer, long[] Inner)
        {
            /// <summary>The least and greatest of <see cref="Inner"/>: a bound holds for a whole row when it holds at both.</summary>
            public long Least { get; } = Inner.Length == 0 ? 0 : Inner.Min();

            public long Greatest { get; } = Inner.Length == 0 ? 0 : Inner.Max();

            /// <summary>The split of <paramref name="offset"/> along <paramref name="inner"/>, or null when a term mixes it with another variable.</summary>
            public static SplitOffset? Of(IndexExpr offset, int inner, int variables, int length, long batch)
            {
                var mine = new List<IndexTerm>();
                var rest = new List<IndexTerm>();
                foreach (var term in offset.Terms)
                {
                    bool Uses(int variable) => term.Factors.Any(f => f.Uses(variable));
                    if (!Uses(inner)) rest.Add(term);
                    else if (Enumerable.Range(0, variables).All(v => v == inner || !Uses(v))) mine.Add(term);
                    else return null;
                }
                var own = new IndexExpr(0, new EquatableArray<IndexTerm>(mine.ToArray()));
                var point = new long[variables];
                var offsets = new long[length];
                for (int e = 0; e < length; e++)
                {
                    point[inner] = e;
                    offsets[e] = IndexEval.Evaluate(own, point, batch);
                }
                return new SplitOffset(new IndexExpr(offset.Constant, new EquatableArray<IndexTerm>(rest.ToArray())), offsets);
            }
        }

        private static bool StepsByOne(IndexExpr offset, int variable) =>
            offset.Terms.Where(t => t.Factors.Any(f => f.Uses(variable))).ToList() is [{ Coef: 1, Factors: [{ Kind: IndexAtomKind.Var }] }];
    }
}
