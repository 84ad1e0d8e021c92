using System;
using System.Collections.Generic;
using System.Linq;

namespace Fusion.Compiler
{
    /// <summary>How the compiler treats an operator.</summary>
    internal enum OpClass
    {
        /// <summary>Graph inputs, parameters and scalar constants.</summary>
        Source,

        /// <summary>An elementwise function of its (broadcast) operands: fused into generated kernels.</summary>
        Pointwise,

        /// <summary>Moves elements without computing (reshape, permute, slice, pad, window layouts): fused as index math.</summary>
        View,

        /// <summary>Reduces over axes (sum, mean, max) or normalizes over them (layer norm, softmax): generated reduction kernels.</summary>
        Reduction,

        /// <summary>A hand-written kernel template (GEMM, attention) that takes generated epilogues.</summary>
        Template,

        /// <summary>Built once from parameters when the model loads (bias tables, masks, weight re-layouts).</summary>
        LoadTime,
    }

    /// <summary>
    /// Everything the compiler knows about one operator, in one place: its name (the <c>F</c> method and the graph op),
    /// its shape rule, which float types its kernels support on which backend, how a call becomes graph nodes, its
    /// float64 reference for tests, and for pointwise and reduction operators its scalar expression in the loop IR.
    /// The front end, shape inference, the precision pass, the scheduler, the lowering, the CPU backend and the
    /// reports read descriptors instead of switching on operator kinds. Descriptors are stateless singletons
    /// (<see cref="Ops"/>).
    /// </summary>
    internal abstract class OpDescriptor
    {
        protected OpDescriptor(string name, string summary)
        {
            Name = name;
            Summary = summary;
        }

        /// <summary>The operator's name: the graph op and, for user operators, the <c>F</c> method.</summary>
        public string Name { get; }

        /// <summary>One line for reports and docs/operators.md.</summary>
        public string Summary { get; }

        public abstract OpClass Class { get; }

        /// <summary>
        /// The output shape for these input shapes and attributes, or null with <paramref name="error"/> saying what does not fit
        /// (reported as FUS004 at the call).
        /// </summary>
        public abstract Dim[]? InferShape(IReadOnlyList<Dim[]> inputs, AttributeSet attributes, out string? error);

        /// <summary>
        /// <see cref="InferShape"/> in one line for docs/operators.md, naming attributes in backquotes: the class's rule
        /// (<see cref="ClassShapeRule"/>) unless the operator states its own.
        /// </summary>
        public virtual string ShapeRule => ClassShapeRule(Class);

        /// <summary>
        /// The shape rule every operator of class <paramref name="c"/> follows, or "" where the class has none in common (views,
        /// templates, sources, load-time operators each have their own, which their descriptors state).
        /// </summary>
        public static string ClassShapeRule(OpClass c) => c switch
        {
            OpClass.Pointwise => "broadcast of the operands (NumPy rules)",
            OpClass.Reduction => "x's shape (normalizations) or x's without the reduced axes (reductions)",
            _ => "",
        };

        /// <summary>Whether this operator's kernels compute <paramref name="type"/> on <paramref name="backend"/> (the precision pass asks).</summary>
        public virtual bool Supports(BackendKind backend, FloatType type) => type != FloatType.Io;

        /// <summary>
        /// The C# parameter names of <c>F</c>'s overloads that are operands: a tensor there is an input, a float there a scalar
        /// constant input (so <c>F.Mul(x, 0.5f)</c> is Mul(x, const 0.5)). Every other constant argument is an attribute.
        /// </summary>
        public virtual IReadOnlyList<string> Operands => Array.Empty<string>();

        /// <summary>
        /// Turns a call of <c>F.Name(…)</c> into graph nodes and returns the result's node. The default adds one node of this
        /// operator with the call's operands as inputs and every constant argument as an attribute named like its parameter.
        /// </summary>
        public virtual int Translate(IOpCall call) => call.Add(Name, call.Tensors, call.ConstantAttributes());

        /// <summary>The float64 reference: what the operator computes, written plainly for tests.</summary>
        public abstract RefArray Reference(IReadOnlyList<RefArray> inputs, AttributeSet attributes);

        protected static Dim[]? Fail(string message, out string? error)
        {
            error = message;
            return null;
        }
    }

    /// <summary>A call of an <c>F</c> operator as the front end sees it, for <see cref="OpDescriptor.Translate"/>.</summary>
    internal interface IOpCall
    {
        /// <summary>The <c>F</c> method called.</summary>
        string Method { get; }

        /// <summary>The operand nodes in argument order (scalar operands already made constant nodes).</summary>
        IReadOnlyList<int> Tensors { get; }

        /// <summary>Every constant argument that is not an operand, as attributes named like the C# parameters.</summary>
        AttributeSet ConstantAttributes();

        /// <summary>The node of the layer argument's parameter <paramref name="key"/> ("weight", "bias"; "" for a Parameter), or -1.</summary>
        int LayerParameter(string key);

        /// <summary>A constructor argument of the layer argument (LayerNorm's eps, PatchConv's patch), or null.</summary>
        object? LayerArgument(string name);

        /// <summary>Adds a node and returns its id.</summary>
        int Add(string op, IEnumerable<int> inputs, AttributeSet attributes);

        /// <summary>Reports that the call cannot be translated (FUS002 with <paramref name="why"/>) and returns -1.</summary>
        int Fail(string why);
    }

    /// <summary>A dense float64 tensor for reference computations.</summary>
    internal sealed class RefArray
    {
        public RefArray(long[] shape, double[]? data = null)
        {
            Shape = shape;
            long n = 1;
            foreach (var d in shape) n *= d;
            Data = data ?? new double[n];
            if (Data.LongLength != n) throw new ArgumentException($"{Data.LongLength} values for shape [{string.Join(", ", shape)}]");
        }

        public long[] Shape { get; }

        public double[] Data { get; }

        public int Rank => Shape.Length;

        public long Count => Data.LongLength;

        /// <summary>Row-major strides in elements.</summary>
        public long[] Strides()
        {
            var s = new long[Shape.Length];
            long step = 1;
            for (int i = Shape.Length - 1; i >= 0; i--)
            {
                s[i] = step;
                step *= Shape[i];
            }
            return s;
        }

        /// <summary>The multi-index of flat position <paramref name="flat"/>.</summary>
        public long[] Unravel(long flat)
        {
            var index = new long[Shape.Length];
            for (int i = Shape.Length - 1; i >= 0; i--)
            {
                index[i] = Shape[i] == 0 ? 0 : flat % Shape[i];
                flat = Shape[i] == 0 ? 0 : flat / Shape[i];
            }
            return index;
        }

        public long Offset(long[] index)
        {
            long o = 0;
            for (int i = 0; i < Shape.Length; i++) o = o * Shape[i] + index[i];
            return o;
        }

        public static long[] ShapeOf(Dim[] dims, long batch) => dims.Select(d => d.At(batch)).ToArray();
    }
}
