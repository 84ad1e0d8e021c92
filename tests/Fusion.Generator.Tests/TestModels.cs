namespace Fusion.Generator.Tests;

/// <summary>Model declarations the generator tests compile. Odd sizes on purpose.</summary>
internal static class TestModels
{
    public const string TinyMlp = """
        using Fusion;

        namespace Demo;

        public sealed class Mlp(int dim, int hidden) : Module
        {
            public readonly Linear fc1 = new(dim, hidden);
            public readonly Linear fc2 = new(hidden, dim);

            public Tensor Forward(Tensor x) => F.Linear(F.Relu(F.Linear(x, fc1)), fc2);
        }

        [FusedModel]
        public partial class TinyMlp : Module
        {
            public readonly Mlp mlp = new(13, 37);

            public Tensor Forward([Shape(Dim.Batch, 13)] Tensor x) => F.Add(x, mlp.Forward(x));
        }
        """;

    public const string PatchClassifier = """
        using Fusion;

        namespace Demo.Vision
        {
            public static class Outer
            {
            }

            [FusedModel]
            public sealed partial class PatchClassifier : Module
            {
                public const int Classes = 11;

                public readonly PatchConv patch_embed = new(3, 24, 4);
                public readonly LayerNorm norm = new(24, eps: 1e-6f);
                [Key("head.fc")] public readonly Linear head = new(24, Classes, bias: false);

                public Tensor Forward([Shape(Dim.Batch, 3, 28, 20)] Tensor image)
                {
                    var x = F.PatchConv(image, patch_embed);
                    x = F.LayerNorm(x, norm);
                    x = F.Mean(x, 1, 2);
                    return F.Linear(x, head);
                }
            }
        }
        """;

    /// <summary>Module lists built with Repeat, static ifs on a lambda index, windows, shifts, merging.</summary>
    public const string WindowStack = """
        using Fusion;

        namespace Demo;

        public sealed class Mixer(int dim, int resolution, int window, int shift) : Module
        {
            public readonly LayerNorm norm = new(dim);
            public readonly Linear mix = new(dim, dim);
            private readonly int _window = window;
            private readonly int _resolution = resolution;
            private readonly int _shift = shift;

            public Tensor Forward(Tensor x)
            {
                var h = F.LayerNorm(x, norm);
                if (_shift > 0) h = F.Roll(h, -_shift, 1, 2);
                h = F.WindowPartition(h, _window);
                h = F.Gelu(F.Linear(h, mix));
                h = F.WindowReverse(h, _window, _resolution, _resolution);
                if (_shift > 0) h = F.Roll(h, _shift, 1, 2);
                return F.Add(x, h);
            }
        }

        [FusedModel]
        public partial class WindowStack : Module
        {
            public readonly Mixer[] blocks = Repeat(3, i => new Mixer(10, 14, 7, i % 2 == 0 ? 0 : 3));
            public readonly LayerNorm merge_norm = new(40);

            public Tensor Forward([Shape(Dim.Batch, 14, 14, 10)] Tensor x)
            {
                foreach (var b in blocks) x = b.Forward(x);
                x = F.PatchMerging(x);
                return F.LayerNorm(x, merge_norm);
            }
        }
        """;

    /// <summary>A learned bias added before a residual, with no GEMM to take it: the bias_residual pattern.</summary>
    public const string BiasResidual = """
        using Fusion;

        namespace Demo;

        [FusedModel]
        public partial class BiasResidualModel : Module
        {
            public readonly LayerNorm norm = new(30);
            public readonly Parameter offset = new(30);

            public Tensor Forward([Shape(Dim.Batch, 7, 30)] Tensor x) => F.Add(F.Add(F.LayerNorm(x, norm), F.Value(offset)), x);
        }
        """;

    /// <summary>
    /// ConvNeXt's block in its channels-last form (the depthwise convolution aside): LayerNorm → Linear → GELU → Linear →
    /// layer-scale multiply → residual, twice, at odd sizes.
    /// </summary>
    public const string ConvNeXtBlocks = """
        using Fusion;

        namespace Demo;

        public sealed class ConvNeXtBlock(int dim) : Module
        {
            public readonly LayerNorm norm = new(dim, eps: 1e-6f);
            public readonly Linear pwconv1 = new(dim, 4 * dim);
            public readonly Linear pwconv2 = new(4 * dim, dim);
            public readonly Parameter gamma = new(dim);

            public Tensor Forward(Tensor x)
            {
                var h = F.LayerNorm(x, norm);
                h = F.Gelu(F.Linear(h, pwconv1));
                h = F.Mul(F.Linear(h, pwconv2), gamma);
                return F.Add(x, h);
            }
        }

        [FusedModel]
        public partial class ConvNeXtBlocks : Module
        {
            public readonly ConvNeXtBlock[] blocks = Repeat(2, _ => new ConvNeXtBlock(36));

            public Tensor Forward([Shape(Dim.Batch, 13, 13, 36)] Tensor x)
            {
                foreach (var b in blocks) x = b.Forward(x);
                return x;
            }
        }
        """;

    /// <summary>
    /// A ViT: class token and position embedding, two pre-norm blocks whose attention is written out (q·kᵀ·scale, softmax, ·v with
    /// heads split and merged by reshape and permute), the final norm and the class token's head. 16 patches + 1 = 17 tokens.
    /// </summary>
    public const string VitBlocks = """
        using System;
        using Fusion;

        namespace Demo;

        public sealed class SelfAttention(int dim, int heads, int tokens) : Module
        {
            public readonly Linear qkv = new(dim, 3 * dim);
            public readonly Linear proj = new(dim, dim);
            private readonly int _dim = dim;
            private readonly int _heads = heads;
            private readonly int _tokens = tokens;
            private readonly float _scale = 1f / MathF.Sqrt(dim / heads);

            public Tensor Forward(Tensor x)
            {
                var split = F.Permute(F.Reshape(F.Linear(x, qkv), -1, _tokens, 3, _heads, _dim / _heads), 2, 0, 3, 1, 4);
                var q = F.Select(split, 0, 0);
                var k = F.Select(split, 0, 1);
                var v = F.Select(split, 0, 2);
                var attn = F.Softmax(F.Mul(F.MatMul(q, k, transposeB: true), _scale));
                var o = F.Permute(F.MatMul(attn, v), 0, 2, 1, 3);
                return F.Linear(F.Reshape(o, -1, _tokens, _dim), proj);
            }
        }

        public sealed class Mlp(int dim, int hidden) : Module
        {
            public readonly Linear fc1 = new(dim, hidden);
            public readonly Linear fc2 = new(hidden, dim);

            public Tensor Forward(Tensor x) => F.Linear(F.Gelu(F.Linear(x, fc1)), fc2);
        }

        public sealed class VitBlock(int dim, int heads, int tokens) : Module
        {
            public readonly LayerNorm norm1 = new(dim, eps: 1e-6f);
            public readonly SelfAttention attn = new(dim, heads, tokens);
            public readonly LayerNorm norm2 = new(dim, eps: 1e-6f);
            public readonly Mlp mlp = new(dim, 4 * dim);

            public Tensor Forward(Tensor x)
            {
                x = F.Add(x, attn.Forward(F.LayerNorm(x, norm1)));
                return F.Add(x, mlp.Forward(F.LayerNorm(x, norm2)));
            }
        }

        [FusedModel]
        public partial class VitBlocks : Module
        {
            public readonly Parameter cls_token = new(1, 1, 24);
            public readonly Parameter pos_embed = new(1, 17, 24);
            public readonly VitBlock[] blocks = Repeat(2, _ => new VitBlock(24, 3, 17));
            public readonly LayerNorm norm = new(24, eps: 1e-6f);
            public readonly Linear head = new(24, 10);

            public Tensor Forward([Shape(Dim.Batch, 16, 24)] Tensor patches)
            {
                var cls = F.ExpandAs(cls_token, F.Narrow(patches, 1, 0, 1));
                var x = F.Add(F.Concat(1, cls, patches), pos_embed);
                foreach (var b in blocks) x = b.Forward(x);
                x = F.LayerNorm(x, norm);
                return F.Linear(F.Select(x, 1, 0), head);
            }
        }
        """;

    /// <summary>
    /// Attention written every way the attention pattern takes it, one block each on [B, 12, 16] tokens with 2 heads of 8: q scaled
    /// before q·kᵀ; the scores scaled after; divided by √d; plus a mask parameter [T, T]; kᵀ by Transpose; q, k, v from three
    /// projections (separate, not packed); F.Attention itself, with a bias and causal. Each must fuse into one attention kernel.
    /// </summary>
    public const string AttentionForms = """
        using System;
        using Fusion;

        namespace Demo;

        public sealed class QScaled : Module
        {
            public readonly Linear qkv = new(16, 48);

            public Tensor Forward(Tensor x)
            {
                var split = F.Permute(F.Reshape(F.Linear(x, qkv), -1, 12, 3, 2, 8), 2, 0, 3, 1, 4);
                var q = F.Select(split, 0, 0);
                var k = F.Select(split, 0, 1);
                var v = F.Select(split, 0, 2);
                var scores = F.MatMul(F.Mul(q, 0.35355339f), k, transposeB: true);
                var o = F.MatMul(F.Softmax(scores), v);
                return F.Reshape(F.Permute(o, 0, 2, 1, 3), -1, 12, 16);
            }
        }

        public sealed class ScoresScaled : Module
        {
            public readonly Linear qkv = new(16, 48);

            public Tensor Forward(Tensor x)
            {
                var split = F.Permute(F.Reshape(F.Linear(x, qkv), -1, 12, 3, 2, 8), 2, 0, 3, 1, 4);
                var q = F.Select(split, 0, 0);
                var k = F.Select(split, 0, 1);
                var v = F.Select(split, 0, 2);
                var scores = F.Mul(F.MatMul(q, k, transposeB: true), 0.35355339f);
                var o = F.MatMul(F.Softmax(scores), v);
                return F.Reshape(F.Permute(o, 0, 2, 1, 3), -1, 12, 16);
            }
        }

        public sealed class ScoresDivided : Module
        {
            public readonly Linear qkv = new(16, 48);

            public Tensor Forward(Tensor x)
            {
                var split = F.Permute(F.Reshape(F.Linear(x, qkv), -1, 12, 3, 2, 8), 2, 0, 3, 1, 4);
                var q = F.Select(split, 0, 0);
                var k = F.Select(split, 0, 1);
                var v = F.Select(split, 0, 2);
                var scores = F.Div(F.MatMul(q, k, transposeB: true), 2.8284271f);
                var o = F.MatMul(F.Softmax(scores), v);
                return F.Reshape(F.Permute(o, 0, 2, 1, 3), -1, 12, 16);
            }
        }

        public sealed class Masked : Module
        {
            public readonly Linear qkv = new(16, 48);
            public readonly Parameter mask = new(12, 12);

            public Tensor Forward(Tensor x)
            {
                var split = F.Permute(F.Reshape(F.Linear(x, qkv), -1, 12, 3, 2, 8), 2, 0, 3, 1, 4);
                var q = F.Select(split, 0, 0);
                var k = F.Select(split, 0, 1);
                var v = F.Select(split, 0, 2);
                var scores = F.Add(F.Mul(F.MatMul(q, k, transposeB: true), 0.35355339f), mask);
                var o = F.MatMul(F.Softmax(scores), v);
                return F.Reshape(F.Permute(o, 0, 2, 1, 3), -1, 12, 16);
            }
        }

        public sealed class Transposed : Module
        {
            public readonly Linear qkv = new(16, 48);

            public Tensor Forward(Tensor x)
            {
                var split = F.Permute(F.Reshape(F.Linear(x, qkv), -1, 12, 3, 2, 8), 2, 0, 3, 1, 4);
                var q = F.Select(split, 0, 0);
                var k = F.Select(split, 0, 1);
                var v = F.Select(split, 0, 2);
                var scores = F.Mul(F.MatMul(q, F.Transpose(k, -2, -1)), 0.35355339f);
                var o = F.MatMul(F.Softmax(scores), v);
                return F.Reshape(F.Permute(o, 0, 2, 1, 3), -1, 12, 16);
            }
        }

        public sealed class Separate : Module
        {
            public readonly Linear wq = new(16, 16);
            public readonly Linear wk = new(16, 16);
            public readonly Linear wv = new(16, 16);
            public readonly Parameter bias = new(2, 12, 12);

            public Tensor Forward(Tensor x)
            {
                var q = F.Permute(F.Reshape(F.Linear(x, wq), -1, 12, 2, 8), 0, 2, 1, 3);
                var k = F.Permute(F.Reshape(F.Linear(x, wk), -1, 12, 2, 8), 0, 2, 1, 3);
                var v = F.Permute(F.Reshape(F.Linear(x, wv), -1, 12, 2, 8), 0, 2, 1, 3);
                var direct = F.Attention(q, k, v, bias, 0.35355339f, causal: true);
                return F.Reshape(F.Permute(direct, 0, 2, 1, 3), -1, 12, 16);
            }
        }

        [FusedModel]
        public partial class AttentionForms : Module
        {
            public readonly QScaled qScaled = new();
            public readonly ScoresScaled scoresScaled = new();
            public readonly ScoresDivided scoresDivided = new();
            public readonly Masked masked = new();
            public readonly Transposed transposed = new();
            public readonly Separate separate = new();

            public Tensor Forward([Shape(Dim.Batch, 12, 16)] Tensor x)
            {
                x = F.Add(x, qScaled.Forward(x));
                x = F.Add(x, scoresScaled.Forward(x));
                x = F.Add(x, scoresDivided.Forward(x));
                x = F.Add(x, masked.Forward(x));
                x = F.Add(x, transposed.Forward(x));
                return F.Add(x, separate.Forward(x));
            }
        }
        """;
}
