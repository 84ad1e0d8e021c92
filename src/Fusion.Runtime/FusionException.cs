namespace Fusion;

/// <summary>Base of every error Fusion raises on purpose; the message names the thing at fault.</summary>
public class FusionException : Exception
{
    public FusionException(string message) : base(message) { }

    public FusionException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>A tensor had the wrong shape or dtype for the place it was given to.</summary>
public sealed class TensorMismatchException : FusionException
{
    public TensorMismatchException(string what, string expected, string actual)
        : base($"{what}: expected {expected}, got {actual}")
    {
        What = what;
        Expected = expected;
        Actual = actual;
    }

    /// <summary>The input, parameter or operand at fault.</summary>
    public string What { get; }

    public string Expected { get; }

    public string Actual { get; }
}
