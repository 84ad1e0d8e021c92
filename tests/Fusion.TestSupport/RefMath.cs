namespace Fusion.Testing;

/// <summary>
/// Float64 reference operators, written straight from their definitions with plain loops.
/// Each returns a new tensor, so they chain like the operators of <c>F</c>.
/// </summary>
public static partial class Ref
{
    /// <summary>x [..., K] · wᵀ (w [N, K]) + b [N].</summary>
    public static RefTensor Linear(RefTensor x, RefTensor w, RefTensor? b)
    {
        int k = x.Shape[^1], n = w.Shape[0];
        if (w.Shape.Length != 2 || w.Shape[1] != k) throw new ArgumentException($"Ref.Linear: weight {w} does not fit input {x}");
        int rows = Product(x.Shape[..^1]);
        var shape = (int[])x.Shape.Clone();
        shape[^1] = n;
        var y = RefTensor.Derived(shape, x, w);
        for (int r = 0; r < rows; r++)
        for (int j = 0; j < n; j++)
        {
            double sum = b is null ? 0 : b.Data[j];
            for (int i = 0; i < k; i++) sum += x.Data[r * k + i] * w.Data[j * k + i];
            y.Data[r * n + j] = sum;
        }
        return y;
    }

    /// <summary>a [..., M, K] · b [..., K, N] (b [..., N, K] when transposed); a 2-D b is shared by all of a's matrices.</summary>
    public static RefTensor MatMul(RefTensor a, RefTensor b, bool transposeB = false)
    {
        int m = a.Shape[^2], k = a.Shape[^1];
        int n = transposeB ? b.Shape[^2] : b.Shape[^1];
        int kb = transposeB ? b.Shape[^1] : b.Shape[^2];
        if (kb != k) throw new ArgumentException($"Ref.MatMul: inner sizes {k} and {kb} differ");
        int batch = Product(a.Shape[..^2]);
        bool shared = b.Rank == 2;
        var shape = (int[])a.Shape.Clone();
        shape[^1] = n;
        var y = RefTensor.Derived(shape, a, b);
        for (int t = 0; t < batch; t++)
        {
            int aBase = t * m * k, bBase = shared ? 0 : t * k * n, yBase = t * m * n;
            for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double sum = 0;
                for (int p = 0; p < k; p++)
                {
                    double bv = transposeB ? b.Data[bBase + j * k + p] : b.Data[bBase + p * n + j];
                    sum += a.Data[aBase + i * k + p] * bv;
                }
                y.Data[yBase + i * n + j] = sum;
            }
        }
        return y;
    }

    /// <summary>a + b with NumPy broadcasting: dims aligned at the end; a size-1 or missing dim repeats.</summary>
    public static RefTensor Add(RefTensor a, RefTensor b)
    {
        int rank = Math.Max(a.Rank, b.Rank);
        var shape = new int[rank];
        for (int i = 0; i < rank; i++)
        {
            int da = DimFromEnd(a, rank - i), db = DimFromEnd(b, rank - i);
            if (da != db && da != 1 && db != 1) throw new ArgumentException($"Ref.Add: {a} and {b} do not broadcast");
            shape[i] = da == 1 ? db : da;
        }
        var y = RefTensor.Derived(shape, a, b);
        foreach (var index in RefTensor.Indices(shape))
            y[index] = a[BroadcastIndex(index, a)] + b[BroadcastIndex(index, b)];
        return y;
    }

    public static RefTensor Mul(RefTensor x, double scalar) => Map(x, v => v * scalar);

    public static RefTensor Relu(RefTensor x) => Map(x, v => v > 0 ? v : 0);

    /// <summary>x·½·(1 + erf(x/√2)).</summary>
    public static RefTensor Gelu(RefTensor x) => Map(x, v => v * 0.5 * (1 + Erf(v / Math.Sqrt(2))));

    /// <summary>(x − mean)/√(var + eps)·w + b over the last axis, biased variance.</summary>
    public static RefTensor LayerNorm(RefTensor x, RefTensor w, RefTensor b, double eps)
    {
        int c = x.Shape[^1];
        var y = RefTensor.Derived(x.Shape, x, w, b);
        for (int r = 0; c > 0 && r < x.Count / c; r++)
        {
            double mean = 0, variance = 0;
            for (int i = 0; i < c; i++) mean += x.Data[r * c + i];
            mean /= c;
            for (int i = 0; i < c; i++) variance += (x.Data[r * c + i] - mean) * (x.Data[r * c + i] - mean);
            variance /= c;
            for (int i = 0; i < c; i++)
                y.Data[r * c + i] = (x.Data[r * c + i] - mean) / Math.Sqrt(variance + eps) * w.Data[i] + b.Data[i];
        }
        return y;
    }

    /// <summary>exp(x − max)/Σ exp(x − max) over the last axis.</summary>
    public static RefTensor Softmax(RefTensor x)
    {
        int c = x.Shape[^1];
        var y = RefTensor.Derived(x.Shape, x);
        for (int r = 0; c > 0 && r < x.Count / c; r++)
        {
            double max = double.NegativeInfinity, sum = 0;
            for (int i = 0; i < c; i++) max = Math.Max(max, x.Data[r * c + i]);
            for (int i = 0; i < c; i++) sum += Math.Exp(x.Data[r * c + i] - max);
            for (int i = 0; i < c; i++) y.Data[r * c + i] = Math.Exp(x.Data[r * c + i] - max) / sum;
        }
        return y;
    }

    /// <summary>Mean over axes [first, first + count), which are removed.</summary>
    public static RefTensor Mean(RefTensor x, int firstAxis, int count)
    {
        var shape = x.Shape.Take(firstAxis).Concat(x.Shape.Skip(firstAxis + count)).ToArray();
        int reduced = Product(x.Shape[firstAxis..(firstAxis + count)]);
        var y = RefTensor.Derived(shape, x);
        foreach (var index in RefTensor.Indices(x.Shape))
        {
            var outIndex = index.Take(firstAxis).Concat(index.Skip(firstAxis + count)).ToArray();
            y[outIndex] += x[index] / reduced;
        }
        return y;
    }

    /// <summary>
    /// erf in double precision (about 1e-15) by the everywhere-positive series
    /// erf(x) = 2/√π · e^(−x²) · Σₙ 2ⁿ x^(2n+1) / (1·3·…·(2n+1)), which has no cancellation;
    /// beyond |x| = 6, erf is 1 to double precision.
    /// </summary>
    public static double Erf(double x)
    {
        if (double.IsNaN(x)) return x;
        double ax = Math.Abs(x);
        if (ax >= 6) return Math.Sign(x);
        double term = ax, sum = ax;
        for (int n = 1; term > 1e-18 * sum; n++)
        {
            term *= 2 * ax * ax / (2 * n + 1);
            sum += term;
        }
        double r = 2 / Math.Sqrt(Math.PI) * Math.Exp(-ax * ax) * sum;
        return x < 0 ? -r : r;
    }

    private static RefTensor Map(RefTensor x, Func<double, double> f)
    {
        var y = RefTensor.Derived(x.Shape, x);
        for (int i = 0; i < x.Count; i++) y.Data[i] = f(x.Data[i]);
        return y;
    }

    private static int DimFromEnd(RefTensor t, int fromEnd) => fromEnd <= t.Rank ? t.Shape[t.Rank - fromEnd] : 1;

    /// <summary>The index into <paramref name="t"/> that a broadcast output index reads.</summary>
    private static int[] BroadcastIndex(int[] outIndex, RefTensor t)
    {
        var index = new int[t.Rank];
        int skip = outIndex.Length - t.Rank;
        for (int i = 0; i < t.Rank; i++) index[i] = t.Shape[i] == 1 ? 0 : outIndex[skip + i];
        return index;
    }

    private static int Product(int[] dims)
    {
        int p = 1;
        foreach (int d in dims) p *= d;
        return p;
    }
}
