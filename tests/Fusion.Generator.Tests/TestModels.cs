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
}
