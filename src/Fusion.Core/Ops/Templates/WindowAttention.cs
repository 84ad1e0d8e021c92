using System;
using System.Collections.Generic;

namespace Fusion.Compiler
{
    internal static partial class Ops
    {
        public static readonly WindowAttentionOp WindowAttention = new();
    }

    /// <summary>
    /// Swin's window attention, made by the fusion pass from its unfused chain: qkv [B·nW, N, 3·heads·d] laid out (heads, 3, d)
    /// per token (a projection re-laid out by QkvRelayout), bias [heads, N, N], mask [nW, N, N] or none →
    /// softmax(q·kᵀ·scale + bias + mask)·v merged over heads, [B·nW, N, heads·d]. Attributes heads, headDim, tokens, windows, scale.
    /// </summary>
    internal sealed class WindowAttentionOp() : OpDescriptor("WindowAttention", "Swin window attention (tensor-core template)")
    {
        public override OpClass Class => OpClass.Template;

        public override string ShapeRule => "qkv [B·nW, N, 3·heads·d] → [B·nW, N, heads·d] (bias [heads, N, N], mask [nW, N, N])";

        public override Dim[]? InferShape(IReadOnlyList<Dim[]> x, AttributeSet attributes, out string? error)
        {
            error = null;
            long heads = attributes.Int("heads"), d = attributes.Int("headDim"), n = attributes.Int("tokens");
            var qkv = x[0];
            if (qkv.Length != 3 || qkv[1] != Dim.Static(n) || qkv[2] != Dim.Static(3 * heads * d))
                return Fail($"qkv {Dims.Text(qkv)} is not [B·nW, {n}, {3 * heads * d}]", out error);
            return new[] { qkv[0], Dim.Static(n), Dim.Static(heads * d) };
        }

        public override RefArray Reference(IReadOnlyList<RefArray> inputs, AttributeSet attributes)
        {
            var qkv = inputs[0];
            var bias = inputs[1];
            var mask = inputs.Count > 2 ? inputs[2] : null;
            int heads = (int)attributes.Int("heads"), d = (int)attributes.Int("headDim"), n = (int)attributes.Int("tokens");
            double scale = attributes.Float("scale");
            long windows = qkv.Shape[0], maskWindows = mask?.Shape[0] ?? 1;
            var y = new RefArray(new[] { windows, n, (long)heads * d });
            var scores = new double[n];
            double At(long w, int token, int h, int part, int i) => qkv.Data[((w * n + token) * heads * 3 + h * 3 + part) * d + i];
            for (long w = 0; w < windows; w++)
                for (int h = 0; h < heads; h++)
                    for (int i = 0; i < n; i++)
                    {
                        double top = double.NegativeInfinity;
                        for (int j = 0; j < n; j++)
                        {
                            double s = 0;
                            for (int e = 0; e < d; e++) s += At(w, i, h, 0, e) * At(w, j, h, 1, e);
                            s = s * scale + bias.Data[(h * n + i) * n + j] + (mask is null ? 0 : mask.Data[((w % maskWindows) * n + i) * n + j]);
                            scores[j] = s;
                            top = Math.Max(top, s);
                        }
                        double sum = 0;
                        for (int j = 0; j < n; j++) sum += scores[j] = Math.Exp(scores[j] - top);
                        for (int e = 0; e < d; e++)
                        {
                            double o = 0;
                            for (int j = 0; j < n; j++) o += scores[j] / sum * At(w, j, h, 2, e);
                            y.Data[(w * n + i) * heads * d + h * d + e] = o;
                        }
                    }
            return y;
        }
    }
}
