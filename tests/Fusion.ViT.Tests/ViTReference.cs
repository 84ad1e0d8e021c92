using Fusion;
using Fusion.Testing;

namespace Fusion.ViT.Tests;

/// <summary>
/// An independent float64 ViT, written from timm's VisionTransformer (class token, learned position embedding, pre-norm
/// blocks, final norm, the class token into the head) with the float64 reference operators; the attention is computed
/// head by head straight from the qkv projection's channel layout (3, heads, d) rather than through reshapes and permutes.
/// Weights are read by state-dict key.
/// </summary>
internal static class ViTReference
{
    /// <summary>timm's ViT LayerNorm epsilon.</summary>
    private const double NormEps = 1e-6;

    /// <summary>Logits [B, classes] of images [B, 3, S, S].</summary>
    public static RefTensor Forward(RefTensor image, Func<string, RefTensor> weight, int patch, int depth, int heads)
    {
        // patch_embed: a conv of kernel = stride = patch is a Linear over each patch's (channel, row, column) vector.
        var projection = weight("patch_embed.proj.weight");
        int dim = projection.Shape[0], batch = image.Shape[0];
        var grid = Ref.Linear(Ref.Patchify(image, patch), Ref.Reshape(projection, dim, -1), weight("patch_embed.proj.bias"));
        var patches = Ref.Reshape(grid, batch, grid.Shape[1] * grid.Shape[2], dim); // flatten(2).transpose(1, 2): row-major grid

        var x = Ref.Add(PrependClassToken(patches, weight("cls_token")), weight("pos_embed"));
        for (int i = 0; i < depth; i++) x = Block(x, weight, $"blocks.{i}.", heads);
        x = Ref.LayerNorm(x, weight("norm.weight"), weight("norm.bias"), NormEps);
        return Ref.Linear(Ref.Select(x, 1, 0), weight("head.weight"), weight("head.bias"));
    }

    /// <summary>x + attn(norm1(x)), then x + mlp(norm2(x)).</summary>
    private static RefTensor Block(RefTensor x, Func<string, RefTensor> weight, string prefix, int heads)
    {
        var h = Ref.LayerNorm(x, weight(prefix + "norm1.weight"), weight(prefix + "norm1.bias"), NormEps);
        var qkv = Ref.Linear(h, weight(prefix + "attn.qkv.weight"), weight(prefix + "attn.qkv.bias"));
        var attended = SelfAttention(qkv, heads);
        x = Ref.Add(x, Ref.Linear(attended, weight(prefix + "attn.proj.weight"), weight(prefix + "attn.proj.bias")));

        var m = Ref.LayerNorm(x, weight(prefix + "norm2.weight"), weight(prefix + "norm2.bias"), NormEps);
        m = Ref.Gelu(Ref.Linear(m, weight(prefix + "mlp.fc1.weight"), weight(prefix + "mlp.fc1.bias")));
        return Ref.Add(x, Ref.Linear(m, weight(prefix + "mlp.fc2.weight"), weight(prefix + "mlp.fc2.bias")));
    }

    /// <summary>
    /// qkv [B, T, 3·dim] → [B, T, dim]: for each image, head h and query token i, softmax over j of (q_i · k_j)/√d, then
    /// Σ_j p_j v_j into channels h·d … h·d + d − 1. Channel s·dim + h·d + c of qkv is part s (q, k, v) of head h, element c.
    /// </summary>
    private static RefTensor SelfAttention(RefTensor qkv, int heads)
    {
        int batch = qkv.Shape[0], tokens = qkv.Shape[1], dim = qkv.Shape[2] / 3, d = dim / heads;
        double scale = 1 / Math.Sqrt(d);
        var output = RefTensor.Derived([batch, tokens, dim], qkv);
        var scores = new double[tokens];
        double At(int b, int t, int part, int h, int c) => qkv.Data[(b * tokens + t) * 3 * dim + part * dim + h * d + c];
        for (int b = 0; b < batch; b++)
        for (int h = 0; h < heads; h++)
        for (int i = 0; i < tokens; i++)
        {
            double max = double.NegativeInfinity, sum = 0;
            for (int j = 0; j < tokens; j++)
            {
                double dot = 0;
                for (int c = 0; c < d; c++) dot += At(b, i, 0, h, c) * At(b, j, 1, h, c);
                scores[j] = dot * scale;
                max = Math.Max(max, scores[j]);
            }
            for (int j = 0; j < tokens; j++)
            {
                scores[j] = Math.Exp(scores[j] - max);
                sum += scores[j];
            }
            for (int c = 0; c < d; c++)
            {
                double value = 0;
                for (int j = 0; j < tokens; j++) value += scores[j] / sum * At(b, j, 2, h, c);
                output.Data[(b * tokens + i) * dim + h * d + c] = value;
            }
        }
        return output;
    }

    /// <summary>torch.cat((cls_token.expand(B, −1, −1), patches), dim=1): the class token as token 0 of every image.</summary>
    private static RefTensor PrependClassToken(RefTensor patches, RefTensor classToken)
    {
        int batch = patches.Shape[0], count = patches.Shape[1], dim = patches.Shape[2];
        var x = RefTensor.Derived([batch, count + 1, dim], patches);
        for (int b = 0; b < batch; b++)
        {
            Array.Copy(classToken.Data, 0, x.Data, b * (count + 1) * dim, dim);
            Array.Copy(patches.Data, b * count * dim, x.Data, (b * (count + 1) + 1) * dim, count * dim);
        }
        return x;
    }

    /// <summary>Looks parameters up by key in <paramref name="model"/>, as float64.</summary>
    public static Func<string, RefTensor> Weights(IFusedModel model)
    {
        var byKey = model.NamedParameters().ToDictionary(p => p.Key, p => p.Parameter);
        return key => RefTensor.FromCpu(byKey.TryGetValue(key, out var p) ? p.Value : throw new KeyNotFoundException($"no parameter '{key}'"));
    }
}
