using System;
using System.Collections.Generic;

namespace Fusion.Compiler
{
    internal static partial class Ops
    {
        public static readonly AttentionOp Attention = new();
    }

    /// <summary>
    /// Scaled dot-product attention, softmax(q·kᵀ·scale + bias, causal mask)·v, as one template (the flash-attention kernel on
    /// CUDA). Written by users as <c>F.Attention(q, k, v, [bias,] scale, causal)</c> with q [B, H, Tq, d], k and v [B, H, Tk, d]
    /// (output [B, H, Tq, d]), or found by the fusion pass in its unfused form, which may add two layout attributes: <c>packed</c>
    /// (one input qkv [B, T, 3·H·d] straight from a projection, laid out (3, H, d) per token as timm's), <c>tokenMajor</c> (q
    /// [B, Tq, H·d], k and v [B, Tk, H·d], each straight from its own projection) and <c>merged</c> (output [B, Tq, H·d], heads
    /// side by side, what the output projection reads). bias is added to the scaled scores and broadcasts from
    /// [Tq, Tk], [H|1, Tq, Tk] or [B|1, H|1, Tq, Tk]; causal keeps key j for query i only when j ≤ i (PyTorch's is_causal).
    /// </summary>
    internal sealed class AttentionOp() : OpDescriptor("Attention", "scaled dot-product attention (flash-attention template)")
    {
        public override OpClass Class => OpClass.Template;

        public override string ShapeRule =>
            "q [B, H, Tq, d], k and v [B, H, Tk, d] → [B, H, Tq, d] (bias [(B|1,) (H|1,) Tq, Tk]); `packed`: qkv [B, T, 3·H·d]; `tokenMajor`: q, k, v [B, T, H·d]; `merged`: → [B, Tq, H·d]";

        /// <summary>The layout attributes: whether q, k, v come packed in one input, and whether heads are merged in the output.</summary>
        public static bool Packed(AttributeSet a) => a.IntOr("packed", 0) != 0;

        public static bool Merged(AttributeSet a) => a.IntOr("merged", 0) != 0;

        public static bool TokenMajor(AttributeSet a) => a.IntOr("tokenMajor", 0) != 0;

        /// <summary>"attention_d64", "attention_d128_causal_bias": the kernel's name says everything it was specialized with.</summary>
        public static string KernelName(int headDim, bool causal, bool bias) =>
            "attention_d" + headDim.ToString(System.Globalization.CultureInfo.InvariantCulture) + (causal ? "_causal" : "") + (bias ? "_bias" : "");

        /// <summary>The template's constants: the head dim, causal masking and a bias (lengths, batch and layout are launch arguments).</summary>
        public static SortedDictionary<string, int> KernelConstants(int headDim, bool causal, bool bias) => new(StringComparer.Ordinal)
        {
            ["CAUSAL"] = causal ? 1 : 0,
            ["HAS_BIAS"] = bias ? 1 : 0,
            ["HEAD_DIM"] = headDim,
        };

        /// <summary>The number of q/k/v inputs: 1 packed, else 3; a bias, when there is one, follows them.</summary>
        public static int QkvInputs(AttributeSet a) => Packed(a) ? 1 : 3;

        public override Dim[]? InferShape(IReadOnlyList<Dim[]> x, AttributeSet attributes, out string? error)
        {
            error = null;
            int own = QkvInputs(attributes);
            if (x.Count != own && x.Count != own + 1) return Fail($"takes {own} q/k/v input(s) and an optional bias, not {x.Count} inputs", out error);
            Dim batch, heads, tq, tk, d;
            if (Packed(attributes))
            {
                var qkv = x[0];
                long h = attributes.Int("heads"), hd = attributes.Int("headDim");
                if (qkv.Length != 3 || qkv[2] != Dim.Static(3 * h * hd)) return Fail($"qkv {Dims.Text(qkv)} is not [B, T, {3 * h * hd}] (3 × {h} heads × {hd})", out error);
                (batch, heads, tq, tk, d) = (qkv[0], Dim.Static(h), qkv[1], qkv[1], Dim.Static(hd));
            }
            else if (TokenMajor(attributes))
            {
                var (q, k, v) = (x[0], x[1], x[2]);
                long h = attributes.Int("heads"), hd = attributes.Int("headDim");
                if (q.Length != 3 || k.Length != 3 || v.Length != 3 || q[2] != Dim.Static(h * hd) || k[2] != q[2] || v[2] != q[2])
                    return Fail($"q {Dims.Text(q)}, k {Dims.Text(k)} and v {Dims.Text(v)} must each be [B, T, {h * hd}] ({h} heads × {hd})", out error);
                if (k[0] != q[0] || v[0] != q[0] || v[1] != k[1]) return Fail($"q {Dims.Text(q)}, k {Dims.Text(k)} and v {Dims.Text(v)} differ in batch or length", out error);
                (batch, heads, tq, tk, d) = (q[0], Dim.Static(h), q[1], k[1], Dim.Static(hd));
            }
            else
            {
                var (q, k, v) = (x[0], x[1], x[2]);
                if (q.Length != 4 || k.Length != 4 || v.Length != 4)
                    return Fail($"q {Dims.Text(q)}, k {Dims.Text(k)} and v {Dims.Text(v)} must each be [B, H, T, d]", out error);
                if (k[0] != q[0] || v[0] != q[0] || k[1] != q[1] || v[1] != q[1])
                    return Fail($"q {Dims.Text(q)}, k {Dims.Text(k)} and v {Dims.Text(v)} differ in batch or heads", out error);
                if (k[3] != q[3] || v[3] != q[3]) return Fail($"q {Dims.Text(q)}, k {Dims.Text(k)} and v {Dims.Text(v)} differ in head dim", out error);
                if (v[2] != k[2]) return Fail($"k {Dims.Text(k)} and v {Dims.Text(v)} differ in length", out error);
                (batch, heads, tq, tk, d) = (q[0], q[1], q[2], k[2], q[3]);
            }
            if (x.Count > own)
            {
                var bias = x[own];
                bool fits = bias.Length >= 2 && bias.Length <= 4 && bias[bias.Length - 2] == tq && bias[bias.Length - 1] == tk
                    && (bias.Length < 3 || bias[bias.Length - 3] == heads || bias[bias.Length - 3] == Dim.Static(1))
                    && (bias.Length < 4 || bias[0] == batch || bias[0] == Dim.Static(1));
                if (!fits) return Fail($"bias {Dims.Text(bias)} does not broadcast to [{batch}, {heads}, {tq}, {tk}]", out error);
            }
            return Merged(attributes) ? new[] { batch, tq, Dim.Static(heads.Value * d.Value) } : new[] { batch, heads, tq, d };
        }

        public override RefArray Reference(IReadOnlyList<RefArray> inputs, AttributeSet attributes)
        {
            var view = AttentionView.Of(inputs, attributes);
            double scale = attributes.FloatOr("scale", 1.0);
            bool causal = attributes.IntOr("causal", 0) != 0;
            var y = new RefArray(view.OutputShape);
            var p = new double[view.Tk];
            for (long b = 0; b < view.Batch; b++)
                for (long h = 0; h < view.Heads; h++)
                    for (long i = 0; i < view.Tq; i++)
                    {
                        double top = double.NegativeInfinity;
                        for (long j = 0; j < view.Tk; j++)
                        {
                            if (causal && j > i)
                            {
                                p[j] = double.NegativeInfinity;
                                continue;
                            }
                            double s = 0;
                            for (long e = 0; e < view.D; e++) s += view.Q(b, h, i, e) * view.K(b, h, j, e);
                            p[j] = s * scale + view.Bias(b, h, i, j);
                            top = Math.Max(top, p[j]);
                        }
                        double sum = 0;
                        for (long j = 0; j < view.Tk; j++) sum += p[j] = double.IsNegativeInfinity(p[j]) ? 0 : Math.Exp(p[j] - top);
                        for (long e = 0; e < view.D; e++)
                        {
                            double o = 0;
                            for (long j = 0; j < view.Tk; j++) o += p[j] * view.V(b, h, j, e);
                            y.Data[view.OutputOffset(b, h, i, e)] = sum > 0 ? o / sum : 0;
                        }
                    }
            return y;
        }
    }

    /// <summary>Where element (batch, head, token, e) of q, k, v, the bias and the output lie, for each layout the op takes.</summary>
    internal sealed class AttentionView
    {
        private readonly RefArray _q, _k, _v;
        private readonly RefArray? _bias;
        private readonly long _qOffset, _kOffset, _vOffset, _batchStride, _tokenStride, _headStride;
        private readonly long _biasBatch, _biasHead;
        private readonly bool _merged, _tokenMajor;

        private AttentionView(IReadOnlyList<RefArray> x, AttributeSet a)
        {
            _merged = AttentionOp.Merged(a);
            int own = AttentionOp.QkvInputs(a);
            if (AttentionOp.Packed(a))
            {
                _q = _k = _v = x[0];
                Heads = a.Int("heads");
                D = a.Int("headDim");
                Batch = x[0].Shape[0];
                Tq = Tk = x[0].Shape[1];
                (_qOffset, _kOffset, _vOffset) = (0, Heads * D, 2 * Heads * D);
                (_batchStride, _tokenStride, _headStride) = (Tq * 3 * Heads * D, 3 * Heads * D, D);
            }
            else if (AttentionOp.TokenMajor(a))
            {
                (_q, _k, _v) = (x[0], x[1], x[2]);
                Heads = a.Int("heads");
                D = a.Int("headDim");
                (Batch, Tq, Tk) = (x[0].Shape[0], x[0].Shape[1], x[1].Shape[1]);
                _tokenMajor = true;
            }
            else
            {
                (_q, _k, _v) = (x[0], x[1], x[2]);
                (Batch, Heads, Tq, D) = (x[0].Shape[0], x[0].Shape[1], x[0].Shape[2], x[0].Shape[3]);
                Tk = x[1].Shape[2];
            }
            if (x.Count > own)
            {
                _bias = x[own];
                int r = _bias.Rank;
                _biasHead = r >= 3 && _bias.Shape[r - 3] > 1 ? Tq * Tk : 0;
                _biasBatch = r == 4 && _bias.Shape[0] > 1 ? _bias.Shape[1] * Tq * Tk : 0;
            }
        }

        public static AttentionView Of(IReadOnlyList<RefArray> inputs, AttributeSet attributes) => new(inputs, attributes);

        public long Batch { get; }

        public long Heads { get; }

        public long Tq { get; }

        public long Tk { get; }

        public long D { get; }

        public long[] OutputShape => _merged ? new[] { Batch, Tq, Heads * D } : new[] { Batch, Heads, Tq, D };

        public double Q(long b, long h, long t, long e) => _q.Data[Packed(_qOffset, b, h, t, e, Tq)];

        public double K(long b, long h, long t, long e) => _k.Data[Packed(_kOffset, b, h, t, e, Tk)];

        public double V(long b, long h, long t, long e) => _v.Data[Packed(_vOffset, b, h, t, e, Tk)];

        public double Bias(long b, long h, long i, long j) => _bias is null ? 0 : _bias.Data[b * _biasBatch + h * _biasHead + i * Tk + j];

        public long OutputOffset(long b, long h, long t, long e) =>
            _merged ? ((b * Tq + t) * Heads + h) * D + e : ((b * Heads + h) * Tq + t) * D + e;

        /// <summary>The offset in the packed qkv (stride form), a [B, T, H·d] or a [B, H, T, d] tensor of <paramref name="length"/> tokens.</summary>
        private long Packed(long offset, long b, long h, long t, long e, long length) =>
            _tokenStride > 0 ? offset + b * _batchStride + t * _tokenStride + h * _headStride + e
            : _tokenMajor ? ((b * length + t) * Heads + h) * D + e
            : ((b * Heads + h) * length + t) * D + e;
    }
}
