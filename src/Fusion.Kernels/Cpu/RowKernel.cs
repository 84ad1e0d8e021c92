namespace Fusion.Kernels.Cpu;

/// <summary>Argument checks shared by the kernels that work on [rows, cols] matrices.</summary>
internal static class RowKernel
{
    public static void CheckRows(int inputLength, int outputLength, int rows, int cols)
    {
        long needed = (long)rows * cols;
        if (rows < 0 || cols < 0 || inputLength < needed || outputLength < needed)
            throw new ArgumentException($"{rows}×{cols} rows need {needed} elements; input has {inputLength}, output {outputLength}");
    }
}
