namespace Fusion.Testing;

public static partial class Ref
{
    /// <summary>Same values, new shape; one dimension may be −1.</summary>
    public static RefTensor Reshape(RefTensor x, params int[] shape)
    {
        var dims = (int[])shape.Clone();
        int inferred = Array.IndexOf(dims, -1);
        if (inferred >= 0)
        {
            dims[inferred] = 1;
            dims[inferred] = x.Count / Product(dims);
        }
        if (Product(dims) != x.Count) throw new ArgumentException($"Ref.Reshape: {x} cannot become [{string.Join(", ", shape)}]");
        return new RefTensor(dims, (double[])x.Data.Clone()) { Seed = x.Seed };
    }

    /// <summary>y[i₀, …] = x[j] with j[axes[k]] = i[k].</summary>
    public static RefTensor Permute(RefTensor x, params int[] axes)
    {
        var shape = axes.Select(a => x.Shape[a]).ToArray();
        var y = RefTensor.Derived(shape, x);
        var source = new int[x.Rank];
        foreach (var index in RefTensor.Indices(shape))
        {
            for (int k = 0; k < axes.Length; k++) source[axes[k]] = index[k];
            y[index] = x[source];
        }
        return y;
    }

    /// <summary>x[..., index, ...] at <paramref name="axis"/>, that axis removed.</summary>
    public static RefTensor Select(RefTensor x, int axis, int index)
    {
        var shape = x.Shape.Where((_, i) => i != axis).ToArray();
        var y = RefTensor.Derived(shape, x);
        foreach (var outIndex in RefTensor.Indices(shape))
        {
            var source = outIndex.Take(axis).Append(index).Concat(outIndex.Skip(axis)).ToArray();
            y[outIndex] = x[source];
        }
        return y;
    }

    /// <summary>torch.roll(x, shift, axes) with one shift for every listed axis: y[i] = x[(i − shift) mod n].</summary>
    public static RefTensor Roll(RefTensor x, int shift, params int[] axes)
    {
        var y = RefTensor.Derived(x.Shape, x);
        foreach (var index in RefTensor.Indices(x.Shape))
        {
            var source = (int[])index.Clone();
            foreach (int a in axes) source[a] = (int)((((long)source[a] - shift) % x.Shape[a] + x.Shape[a]) % x.Shape[a]);
            y[index] = x[source];
        }
        return y;
    }

    /// <summary>
    /// timm's window_partition: x.view(B, H/w, w, W/w, w, C).permute(0, 1, 3, 2, 4, 5).view(−1, w·w, C),
    /// i.e. y[(b·(H/w) + i)·(W/w) + j, r·w + c, ch] = x[b, i·w + r, j·w + c, ch].
    /// </summary>
    public static RefTensor WindowPartition(RefTensor x, int window)
    {
        int batch = x.Shape[0], h = x.Shape[1], w = x.Shape[2], channels = x.Shape[3];
        int nh = h / window, nw = w / window;
        var y = RefTensor.Derived([batch * nh * nw, window * window, channels], x);
        foreach (var index in RefTensor.Indices([batch, nh, nw, window, window, channels]))
        {
            int b = index[0], i = index[1], j = index[2], r = index[3], c = index[4], ch = index[5];
            y[(b * nh + i) * nw + j, r * window + c, ch] = x[b, i * window + r, j * window + c, ch];
        }
        return y;
    }

    /// <summary>timm's window_reverse, the inverse index map of <see cref="WindowPartition"/>.</summary>
    public static RefTensor WindowReverse(RefTensor x, int window, int height, int width)
    {
        int nh = height / window, nw = width / window, channels = x.Shape[2];
        int batch = x.Shape[0] / (nh * nw);
        var y = RefTensor.Derived([batch, height, width, channels], x);
        foreach (var index in RefTensor.Indices([batch, nh, nw, window, window, channels]))
        {
            int b = index[0], i = index[1], j = index[2], r = index[3], c = index[4], ch = index[5];
            y[b, i * window + r, j * window + c, ch] = x[(b * nh + i) * nw + j, r * window + c, ch];
        }
        return y;
    }

    /// <summary>
    /// timm's PatchMerging: x.reshape(B, H/2, 2, W/2, 2, C).permute(0, 1, 3, 4, 2, 5).flatten(3).
    /// Reshape axis 2 is the row offset p (row 2i + p), axis 4 the column offset q (column 2j + q);
    /// after the permute the flattened channel is (q·2 + p)·C + c.
    /// </summary>
    public static RefTensor PatchMerging(RefTensor x)
    {
        int batch = x.Shape[0], h = x.Shape[1], w = x.Shape[2], channels = x.Shape[3];
        var y = RefTensor.Derived([batch, h / 2, w / 2, 4 * channels], x);
        foreach (var index in RefTensor.Indices([batch, h / 2, w / 2, 2, 2, channels]))
        {
            int b = index[0], i = index[1], j = index[2], q = index[3], p = index[4], c = index[5];
            y[b, i, j, (q * 2 + p) * channels + c] = x[b, 2 * i + p, 2 * j + q, c];
        }
        return y;
    }

    /// <summary>Non-overlapping p×p patches of [B, C, H, W] as [B, H/p, W/p, C·p·p], element (c, kh, kw) like a Conv2d weight.</summary>
    public static RefTensor Patchify(RefTensor x, int patch)
    {
        int batch = x.Shape[0], channels = x.Shape[1], h = x.Shape[2] / patch, w = x.Shape[3] / patch;
        var y = RefTensor.Derived([batch, h, w, channels * patch * patch], x);
        foreach (var index in RefTensor.Indices([batch, h, w, channels, patch, patch]))
        {
            int b = index[0], i = index[1], j = index[2], c = index[3], kh = index[4], kw = index[5];
            y[b, i, j, (c * patch + kh) * patch + kw] = x[b, c, i * patch + kh, j * patch + kw];
        }
        return y;
    }
}
