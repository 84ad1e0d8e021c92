namespace Fusion.Cuda.Gemm;

/// <summary>
/// The form in which the GEMM template's printed epilogue computes the loop IR's <c>gelu</c>: <c>FUSION_GEMM_GELU=erf|tanh</c>
/// (<see cref="DefaultTanh"/> when unset). tanh compiles the template with <c>FUSION_GELU_TANH=1</c> (prelude.cuh's
/// <c>fusion_gelu_op</c>): the tanh form with the hardware's tanh.approx, which is what cuBLASLt's GELU_BIAS epilogue computes and
/// so what a plan already gets wherever fast-run picks cuBLASLt for a GELU GEMM (within 5e-4 of erf's form, plus tanh.approx's
/// 2⁻¹¹ relative error), in about two thirds of the instructions (clang-19 PTX a thread, column pairs: the int8 plan's stage-1 fc1
/// 1161 against 1593, the fp16 template's 868 against 1300; docs/perf.md). Standalone kernels, the other templates, the ILGPU kernels and the CPU keep erf. The fast-run key says
/// which form was timed.
/// </summary>
public static class EpilogueGelu
{
    public const string Variable = "FUSION_GEMM_GELU";

    /// <summary>
    /// What unset means: erf, the loop IR's own definition, which the CPU twin computes too. Measured on an H100 (2026-12-07) the tanh
    /// form took 3–4 % off Swin-T int8 at batch 64, nothing off fp16, and kept the int8 accuracy against timm, but it moves the int8
    /// plans' GPU result 1.9e-3–2.5e-3 (relative L2) from the CPU's, past the 1e-3 their tests state (docs/precision.md). The int8 and
    /// FP8 plans have since taken the tanh form another way, as the loop IR's <c>gelu_tanh</c> operation that the CPU computes alike
    /// (PrecisionPass), so this switch reaches only the Half plan's template GEMMs that compute <c>gelu</c>.
    /// </summary>
    public const bool DefaultTanh = false;

    /// <summary>The compiler option that selects the tanh form.</summary>
    public const string TanhOption = "-DFUSION_GELU_TANH=1";

    private static bool? s_tanh;

    /// <summary>$FUSION_GEMM_GELU is tanh, read once.</summary>
    public static bool Tanh => s_tanh ??= Parse(Environment.GetEnvironmentVariable(Variable));

    /// <summary>erf or tanh (any case, spaces ignored; unset or blank: <see cref="DefaultTanh"/>); anything else is an error naming the choices.</summary>
    public static bool Parse(string? value) => value?.Trim().ToLowerInvariant() switch
    {
        null or "" => DefaultTanh,
        "erf" => false,
        "tanh" => true,
        _ => throw new FusionException($"{Variable}={value} is not one of erf, tanh"),
    };

    /// <summary>The template's compiler options as the form wants them: unchanged for erf, with <see cref="TanhOption"/> added for tanh.</summary>
    public static string[] Apply(string[] options, bool tanh) => tanh ? [.. options, TanhOption] : options;
}
