namespace Fusion;

/// <summary>
/// The output projection after a window attention, given to the attention's call where it alone reads the attention's result (the
/// generator's <c>AttentionOutputPairs</c>): <see cref="Projection"/>, a Linear of C = heads · d features to C with a bias alone after
/// the product, its <see cref="Weight"/> and its epilogue inputs (<see cref="Inputs"/>: the bias). A backend may multiply each window's
/// heads by it inside the attention's kernel; by default it is the GEMM after the attention (<see cref="IBackend.ThenOutput"/>).
/// </summary>
public sealed record AttentionOutput(GemmKernel Projection, Tensor Weight, Tensor[] Inputs);
