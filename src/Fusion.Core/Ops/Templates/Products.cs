using System;
using System.Collections.Generic;
using System.Linq;

namespace Fusion.Compiler
{
    internal static partial class Ops
    {
        public static readonly LinearOp Linear = new();

        public static readonly MatMulOp MatMul = new();

        public static readonly PatchConvOp PatchConv = new();
    }

    /// <summary>x [..., K] · weightᵀ [N, K] + bias [N]: a GEMM template whose epilogue the compiler generates.</summary>
    internal sealed class LinearOp() : OpDescriptor("Linear", "x·weightᵀ + bias (GEMM with a generated epilogue)")
    {
        public override OpClass Class => OpClass.Template;

        public override string ShapeRule => "[…, in] → […, out] (weight [out, in], bias [out])";

        public override int Translate(IOpCall call)
        {
            var inputs = new List<int> { call.Tensors[0], call.LayerParameter("weight") };
            int bias = call.LayerParameter("bias");
            if (bias >= 0) inputs.Add(bias);
            return call.Add(Name, inputs, AttributeSet.Empty);
        }

        public override Dim[]? InferShape(IReadOnlyList<Dim[]> x, AttributeSet attributes, out string? error)
        {
            error = null;
            var (a, w) = (x[0], x[1]);
            if (a.Length < 1) return Fail("the input has no feature axis", out error);
            if (w.Length != 2 || a[a.Length - 1] != w[1])
                return Fail($"input {Dims.Text(a)} has {a[a.Length - 1]} features but the weight is {Dims.Text(w)} (out, in)", out error);
            if (x.Count > 2 && (x[2].Length != 1 || x[2][0] != w[0]))
                return Fail($"bias {Dims.Text(x[2])} does not match the weight's {w[0]} outputs", out error);
            var r = (Dim[])a.Clone();
            r[r.Length - 1] = w[0];
            return r;
        }

        public override RefArray Reference(IReadOnlyList<RefArray> inputs, AttributeSet attributes)
        {
            var (x, w) = (inputs[0], inputs[1]);
            long k = x.Shape[x.Rank - 1], n = w.Shape[0], rows = x.Count / Math.Max(k, 1);
            var shape = (long[])x.Shape.Clone();
            shape[shape.Length - 1] = n;
            var y = new RefArray(shape);
            for (long r = 0; r < rows; r++)
                for (long j = 0; j < n; j++)
                {
                    double sum = inputs.Count > 2 ? inputs[2].Data[j] : 0;
                    for (long i = 0; i < k; i++) sum += x.Data[r * k + i] * w.Data[j * k + i];
                    y.Data[r * n + j] = sum;
                }
            return y;
        }
    }

    /// <summary>a [..., M, K] · b [..., K, N] (b [..., N, K] when transposeB); b's leading axes equal a's or are absent.</summary>
    internal sealed class MatMulOp() : OpDescriptor("MatMul", "batched matrix product (cuBLASLt)")
    {
        public override OpClass Class => OpClass.Template;

        public override string ShapeRule => "a […, M, K] · b [(…,) K, N] → […, M, N] (b [(…,) N, K] when `transposeB`)";

        public override IReadOnlyList<string> Operands => new[] { "a", "b" };

        public override Dim[]? InferShape(IReadOnlyList<Dim[]> x, AttributeSet attributes, out string? error)
        {
            error = null;
            var (a, b) = (x[0], x[1]);
            bool tb = attributes.IntOr("transposeB", 0) != 0;
            if (a.Length < 2 || b.Length < 2) return Fail($"operands {Dims.Text(a)} and {Dims.Text(b)} need at least 2 dimensions", out error);
            var k = a[a.Length - 1];
            var kb = tb ? b[b.Length - 1] : b[b.Length - 2];
            var n = tb ? b[b.Length - 2] : b[b.Length - 1];
            if (k != kb) return Fail($"inner dimensions differ: {Dims.Text(a)} · {Dims.Text(b)}{(tb ? "ᵀ" : "")}", out error);
            var leadA = a.Take(a.Length - 2).ToArray();
            var leadB = b.Take(b.Length - 2).ToArray();
            if (leadB.Length > 0 && !leadA.SequenceEqual(leadB)) return Fail($"batch dimensions differ: {Dims.Text(a)} and {Dims.Text(b)}", out error);
            var r = (Dim[])a.Clone();
            r[r.Length - 1] = n;
            return r;
        }

        public override RefArray Reference(IReadOnlyList<RefArray> inputs, AttributeSet attributes)
        {
            var (a, b) = (inputs[0], inputs[1]);
            bool tb = attributes.IntOr("transposeB", 0) != 0;
            long m = a.Shape[a.Rank - 2], k = a.Shape[a.Rank - 1], n = tb ? b.Shape[b.Rank - 2] : b.Shape[b.Rank - 1];
            long batch = a.Count / (m * k);
            var shape = (long[])a.Shape.Clone();
            shape[shape.Length - 1] = n;
            var y = new RefArray(shape);
            for (long t = 0; t < batch; t++)
            {
                long bBase = b.Rank == 2 ? 0 : t * k * n;
                for (long i = 0; i < m; i++)
                    for (long j = 0; j < n; j++)
                    {
                        double sum = 0;
                        for (long p = 0; p < k; p++) sum += a.Data[(t * m + i) * k + p] * b.Data[bBase + (tb ? j * k + p : p * n + j)];
                        y.Data[(t * m + i) * n + j] = sum;
                    }
            }
            return y;
        }
    }

    /// <summary>Patch embedding (a Conv2d whose kernel equals its stride): written as Patchify → Reshape(weight) → Linear.</summary>
    internal sealed class PatchConvOp() : FrontEndOp("PatchConv", "patch embedding: Patchify then a GEMM")
    {
        public override string ShapeRule => "[B, C, H, W] → [B, H/p, W/p, out] (the layer's patch p and output channels)";

        public override int Translate(IOpCall call)
        {
            long patch = Convert.ToInt64(call.LayerArgument("patch"), System.Globalization.CultureInfo.InvariantCulture);
            long outChannels = Convert.ToInt64(call.LayerArgument("outChannels"), System.Globalization.CultureInfo.InvariantCulture);
            long inChannels = Convert.ToInt64(call.LayerArgument("inChannels"), System.Globalization.CultureInfo.InvariantCulture);
            int patches = call.Add(Ops.Patchify.Name, new[] { call.Tensors[0] }, AttributeSet.Of(OpAttribute.Int("patch", patch)));
            int weight = call.Add(Ops.Reshape.Name, new[] { call.LayerParameter("weight") },
                AttributeSet.Of(OpAttribute.IntList("shape", new[] { outChannels, inChannels * patch * patch })));
            return call.Add(Ops.Linear.Name, new[] { patches, weight, call.LayerParameter("bias") }, AttributeSet.Empty);
        }
    }
}
