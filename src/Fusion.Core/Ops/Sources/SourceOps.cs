using System;
using System.Collections.Generic;
using System.Linq;

namespace Fusion.Compiler
{
    internal static partial class Ops
    {
        public static readonly SourceOp Input = new("Input", "a model input (attribute shape, −1 for the batch)");

        public static readonly SourceOp Param = new("Param", "a learned parameter (attribute shape)");

        /// <summary>
        /// An int8 plan's activation scale: [1], float32, the threshold the session's scale file holds for tensor <c>key</c>
        /// ("blocks.0.mlp.fc1.input") divided by 127; a run-time constant like a parameter.
        /// </summary>
        public static readonly SourceOp Scale = new("Scale", "an int8 activation scale from the session's scale file (attribute key)");

        public static readonly ConstOp Const = new();

        public static readonly ValueOp Value = new();
    }

    /// <summary>A graph input or parameter: its shape is an attribute (−1 marks the batch of an input).</summary>
    internal sealed class SourceOp(string name, string summary) : OpDescriptor(name, summary)
    {
        public override OpClass Class => OpClass.Source;

        public override string ShapeRule => "attribute `shape` (−1 marks the batch of an input)";

        public override bool Supports(BackendKind backend, FloatType type) => true;

        public override Dim[]? InferShape(IReadOnlyList<Dim[]> inputs, AttributeSet attributes, out string? error)
        {
            error = null;
            return attributes.Ints("shape").Select(d => d == -1 ? Dim.Batch() : Dim.Static(d)).ToArray();
        }

        public override RefArray Reference(IReadOnlyList<RefArray> inputs, AttributeSet attributes) =>
            throw new InvalidOperationException($"{Name} has no reference: its values come from outside the model");
    }

    /// <summary>A scalar constant (rank 0, broadcast to anything): a float operand such as the 0.5 of F.Mul(x, 0.5f).</summary>
    internal sealed class ConstOp() : OpDescriptor("Const", "a scalar constant operand")
    {
        public override OpClass Class => OpClass.Source;

        public override string ShapeRule => "[] (a scalar, broadcast to its readers)";

        public override bool Supports(BackendKind backend, FloatType type) => true;

        public override Dim[]? InferShape(IReadOnlyList<Dim[]> inputs, AttributeSet attributes, out string? error)
        {
            error = null;
            return Array.Empty<Dim>();
        }

        public override RefArray Reference(IReadOnlyList<RefArray> inputs, AttributeSet attributes) =>
            new(Array.Empty<long>(), new[] { attributes.Float("value") });
    }

    /// <summary>F.Value(parameter): the parameter itself as a tensor operand (layer scales, cls tokens, position embeddings).</summary>
    internal sealed class ValueOp() : FrontEndOp("Value", "a Parameter used as a tensor operand")
    {
        public override string ShapeRule => "the parameter's shape";

        public override int Translate(IOpCall call) => call.LayerParameter("");
    }

    /// <summary>An <c>F</c> method that the front end writes with other operators; it never appears in a graph.</summary>
    internal abstract class FrontEndOp(string name, string summary) : OpDescriptor(name, summary)
    {
        public override OpClass Class => OpClass.Source;

        public abstract override int Translate(IOpCall call);

        public override Dim[]? InferShape(IReadOnlyList<Dim[]> inputs, AttributeSet attributes, out string? error) =>
            throw new InvalidOperationException($"{Name} is written with other operators by the front end");

        public override RefArray Reference(IReadOnlyList<RefArray> inputs, AttributeSet attributes) =>
            throw new InvalidOperationException($"{Name} is written with other operators by the front end");
    }
}
