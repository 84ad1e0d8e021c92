using System.Numerics;
using System.Runtime.CompilerServices;

namespace Fusion.Kernels.Cpu;

/// <summary>The activation a GEMM epilogue applies between its bias and its residual.</summary>
public enum TileActivation
{
    None = 0,
    Relu = 1,

    /// <summary>GELU in its erf form, as the loop IR writes it: (x·½)·(erf(x·(1/√2)) + 1).</summary>
    Gelu = 2,
}

/// <summary>
/// What a GEMM does to its product as each micro-tile is stored for the last time: C = act(A·B + bias) + residual, or
/// act(A·B + bias + residual) when <see cref="ResidualFirst"/> (a ResNet block's end), with bias [N] broadcast over rows and
/// residual [M, N] laid out as C. Applied to each 6-row tile right after its last store, while it is in L1, so C goes to memory
/// once and no second pass reads it back. An empty bias or residual is "none".
/// </summary>
public readonly ref struct GemmEpilogue(ReadOnlySpan<float> bias, TileActivation activation, ReadOnlySpan<float> residual, bool residualFirst = false)
{
    public ReadOnlySpan<float> Bias { get; } = bias;

    public TileActivation Activation { get; } = activation;

    public ReadOnlySpan<float> Residual { get; } = residual;

    /// <summary>The residual is added before the activation, not after it.</summary>
    public bool ResidualFirst { get; } = residualFirst;

    public bool IsEmpty => Bias.IsEmpty && Residual.IsEmpty && Activation == TileActivation.None;
}

/// <summary>
/// <see cref="GemmEpilogue"/> as the workers hold it: pinned addresses (0 for none) and the row stride of the residual. Every
/// element goes through <see cref="Apply"/>, whether in a whole vector or in a row tail's padded copy, so a result does not
/// depend on where the tiles (and so the thread count) put it.
/// </summary>
internal readonly unsafe struct TileEpilogue(nint bias, TileActivation activation, nint residual, int stride, bool residualFirst)
{
    private readonly nint _bias = bias, _residual = residual;
    private readonly TileActivation _activation = activation;
    private readonly int _stride = stride;
    private readonly bool _residualFirst = residualFirst;

    public bool IsEmpty => _bias == 0 && _residual == 0 && _activation == TileActivation.None;

    /// <summary>The epilogue of the element run [col, col + Vector&lt;float&gt;.Count) of row <paramref name="row"/>, all within C.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector<float> Apply(Vector<float> v, int row, int col)
    {
        if (_bias != 0) v += Vector.Load((float*)_bias + col);
        if (_residual != 0 && _residualFirst) v += Vector.Load((float*)_residual + (long)row * _stride + col);
        v = _activation switch
        {
            TileActivation.Relu => Vector.Max(v, Vector<float>.Zero),
            TileActivation.Gelu => VectorMath.Gelu(v),
            _ => v,
        };
        if (_residual != 0 && !_residualFirst) v += Vector.Load((float*)_residual + (long)row * _stride + col);
        return v;
    }

    /// <summary>
    /// The epilogue of <paramref name="width"/> elements of row <paramref name="row"/> from column <paramref name="col"/>, stored at
    /// <paramref name="c"/>: whole vectors in place, the tail through a zero-padded copy.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // as the GEMM's block loop that calls it (Gemm's summary)
    public void ApplyRow(float* c, int row, int col, int width)
    {
        int vl = Vector<float>.Count, j = 0;
        for (; j + vl <= width; j += vl) Apply(Vector.Load(c + j), row, col + j).Store(c + j);
        if (j == width) return;
        // The tail: bias and residual copied into padded vectors, so nothing past C's last column is read.
        float* value = stackalloc float[vl], bias = stackalloc float[vl], residual = stackalloc float[vl];
        int tail = width - j;
        for (int t = 0; t < vl; t++)
        {
            value[t] = t < tail ? c[j + t] : 0f;
            bias[t] = t < tail && _bias != 0 ? ((float*)_bias)[col + j + t] : 0f;
            residual[t] = t < tail && _residual != 0 ? ((float*)_residual)[(long)row * _stride + col + j + t] : 0f;
        }
        var padded = new TileEpilogue(_bias == 0 ? 0 : (nint)bias, _activation, _residual == 0 ? 0 : (nint)residual, 0, _residualFirst);
        padded.Apply(Vector.Load(value), 0, 0).Store(value);
        for (int t = 0; t < tail; t++) c[j + t] = value[t];
    }
}
