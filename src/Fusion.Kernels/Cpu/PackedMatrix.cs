namespace Fusion.Kernels.Cpu;

/// <summary>
/// A GEMM's right operand packed once (<see cref="Gemm.Pack"/>): blocks of NC columns, each cut into K blocks of KC, each
/// stored as zero-padded panels of NR columns by kc rows, the order the micro-kernel streams them. A block of columns
/// [jc, jc + NC) takes NC·K floats (the last one its padded width), so every (column, depth block) has a fixed offset.
/// </summary>
public sealed class PackedMatrix
{
    private readonly int _panel, _block;

    /// <summary>An empty packing of <paramref name="columns"/> × <paramref name="depth"/> in panels of <paramref name="panel"/> columns and blocks of <paramref name="block"/>.</summary>
    internal PackedMatrix(int columns, int depth, int panel, int block, int depthBlock, bool wide)
    {
        Wide = wide;
        DepthBlock = depthBlock;
        Columns = columns;
        Depth = depth;
        _panel = panel;
        _block = block;
        long padded = (long)(columns + panel - 1) / panel * panel;
        Panels = new float[checked((int)(padded * depth))];
    }

    /// <summary>N: columns of the product.</summary>
    public int Columns { get; }

    /// <summary>K: the depth every product sums over.</summary>
    public int Depth { get; }

    internal float[] Panels { get; }

    /// <summary>KC: the depth of each packed block; a product reading these panels must step through K by it.</summary>
    internal int DepthBlock { get; }

    /// <summary>Packed for the 512-bit micro-kernel (panels of 32 columns) rather than the <see cref="System.Numerics.Vector{T}"/> one.</summary>
    internal bool Wide { get; }

    /// <summary>
    /// Where the panel of column <paramref name="column"/> (a multiple of NR) starts in depth block [pc, pc + kc): every
    /// depth block before it is a full KC deep, so it starts <paramref name="pc"/> rows of its column block's width in.
    /// </summary>
    internal long Offset(int column, int pc, int kc)
    {
        int blockStart = column / _block * _block;
        int width = Math.Min(_block, (Columns - blockStart + _panel - 1) / _panel * _panel);
        return (long)blockStart * Depth + (long)pc * width + (long)(column - blockStart) / _panel * kc * _panel;
    }
}
