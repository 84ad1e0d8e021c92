using Fusion.Kernels.Cpu;

namespace Fusion;

/// <summary>
/// Operators that only move elements, on checked CPU operands. They copy the elements as they are
/// (no float32 round trip), so float16 results are bit-exact rearrangements of the input.
/// </summary>
internal static class LayoutOps
{
    /// <summary>A data movement written once for any element type.</summary>
    private interface IMove
    {
        void Run<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged;
    }

    public static CpuTensor Permute(CpuTensor x, int[] axes, Shape outShape) =>
        Move(x, outShape, new PermuteMove(x.Shape.ToArray(), axes));

    public static CpuTensor Select(CpuTensor x, int axis, int index, Shape outShape) =>
        Move(x, outShape, new SelectMove(x.Shape.ToArray(), axis, index));

    /// <summary><paramref name="shifts"/> holds one shift per axis of x (0 where x is not rolled).</summary>
    public static CpuTensor Roll(CpuTensor x, int[] shifts) =>
        Move(x, x.Shape, new RollMove(x.Shape.ToArray(), shifts));

    public static CpuTensor WindowPartition(CpuTensor x, int window, Shape outShape) =>
        Move(x, outShape, new WindowMove(x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3], window, ToWindows: true));

    public static CpuTensor WindowReverse(CpuTensor x, int window, Shape outShape) =>
        Move(x, outShape, new WindowMove(outShape[0], outShape[1], outShape[2], outShape[3], window, ToWindows: false));

    public static CpuTensor PatchMerging(CpuTensor x, Shape outShape) =>
        Move(x, outShape, new PatchMergingMove(x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]));

    /// <summary>Written as <paramref name="dtype"/>: converted while moved when it is not x's dtype.</summary>
    public static CpuTensor Patchify(CpuTensor x, int patch, Shape outShape, DType dtype)
    {
        var move = new PatchifyMove(x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3], patch);
        if (x.DType == dtype) return Move(x, outShape, move);
        using var xs = new FloatInput(x);
        using var y = new FloatOutput(dtype, outShape);
        move.Run<float>(xs.Span, y.Span);
        return y.Finish();
    }

    public static CpuTensor RelativePositionBias(CpuTensor table, int window, Shape outShape) =>
        Move(table, outShape, new BiasGatherMove(window, table.Shape[1]));

    private static CpuTensor Move<TMove>(CpuTensor x, Shape outShape, TMove move) where TMove : IMove
    {
        var y = CpuTensor.Zeros(x.DType, outShape);
        if (x.DType == DType.Float16) move.Run<Half>(x.Span<Half>(), y.Span<Half>());
        else move.Run<float>(x.Span<float>(), y.Span<float>());
        return y;
    }

    private readonly record struct PermuteMove(int[] Dims, int[] Axes) : IMove
    {
        public void Run<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged => Layout.Permute(x, Dims, Axes, y);
    }

    private readonly record struct SelectMove(int[] Dims, int Axis, int Index) : IMove
    {
        public void Run<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged => Layout.Select(x, Dims, Axis, Index, y);
    }

    private readonly record struct RollMove(int[] Dims, int[] Shifts) : IMove
    {
        public void Run<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged => Layout.Roll(x, Dims, Shifts, y);
    }

    /// <summary>Batch, height, width, channels of the image side; <see cref="ToWindows"/> picks the direction.</summary>
    private readonly record struct WindowMove(int B, int H, int W, int C, int Window, bool ToWindows) : IMove
    {
        public void Run<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged
        {
            if (ToWindows) Windows.Partition(x, y, B, H, W, C, Window);
            else Windows.Reverse(x, y, B, H, W, C, Window);
        }
    }

    private readonly record struct PatchMergingMove(int B, int H, int W, int C) : IMove
    {
        public void Run<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged => Windows.PatchMerging(x, y, B, H, W, C);
    }

    private readonly record struct PatchifyMove(int B, int C, int H, int W, int Patch) : IMove
    {
        public void Run<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged => Windows.Patchify(x, y, B, C, H, W, Patch);
    }

    private readonly record struct BiasGatherMove(int Window, int Heads) : IMove
    {
        public void Run<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged => SwinAttention.RelativePositionBias(x, y, Window, Heads);
    }
}
