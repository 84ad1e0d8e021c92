namespace Fusion;

/// <summary>How a <see cref="ModelSession"/> runs its model.</summary>
/// <param name="Backend">Where it runs (the CPU backend when null); the session does not own or dispose it.</param>
/// <param name="Precision">How it computes: <see cref="Fusion.Precision.Float"/>, mixed <see cref="Fusion.Precision.Half"/>, <see cref="Fusion.Precision.Int8"/> or <see cref="Fusion.Precision.Fp8"/>.</param>
/// <param name="HalfInputOutput">Inputs given and the output returned as f16 instead of f32.</param>
/// <param name="Scales">
/// For <see cref="Fusion.Precision.Int8"/> and <see cref="Fusion.Precision.Fp8"/>: the calibration's scale file, loaded into the model's <c>Int8Scales</c> when the session
/// is made (null: the model's scales must already be loaded).
/// </param>
public sealed record SessionOptions(IBackend? Backend = null, Precision Precision = Precision.Float, bool HalfInputOutput = false,
    Quantization.ScaleFile? Scales = null)
{
    /// <summary>The dtype of the session's inputs and output.</summary>
    public DType InputOutputType => HalfInputOutput ? DType.Float16 : DType.Float32;
}

/// <summary>
/// A compiled model run with one choice of backend and precision. The inputs and the output keep one float type
/// (f32 unless <see cref="SessionOptions.HalfInputOutput"/>) whatever the model computes in: with
/// <see cref="Precision.Half"/> an FP32-declared model runs in fp16 and takes and returns f32 tensors.
/// </summary>
/// <remarks>
/// Threads: sessions of one loaded model may run at the same time, one session per thread, and give the same bits as
/// each input run alone. On the CPU backend any sessions may (<c>ConcurrentSessionTests</c>: 8 threads × 1000 passes,
/// both plans). On CUDA give each concurrent session a backend of its own from <see cref="CudaBackend.OnNewStream"/>:
/// the siblings share the parameter copies, kernels and the model's constants, and each queues on its own stream
/// (<c>ConcurrentGpuSessionTests</c>: Swin-T, 8 threads × 1000 passes, as sessions and as CUDA graphs). Sessions sharing
/// one CUDA backend from several threads are correct but serialize on its stream. A session itself keeps no state
/// between passes. Loading weights while a pass runs is not supported on either backend.
/// </remarks>
public sealed class ModelSession
{
    public ModelSession(IFusedModel model, SessionOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        Model = model;
        Options = options ?? new SessionOptions();
        if (!Enum.IsDefined(Options.Precision)) throw new ArgumentOutOfRangeException(nameof(options), Options.Precision, "unknown precision");
        if (Options.Precision is Precision.Int8 or Precision.Fp8)
        {
            var scales = model.Int8Scales ?? throw new FusionException($"{model.Info.Name} has no Int8 plan (only generated [FusedModel] classes do)");
            if (Options.Scales is { } file) scales.Load(file);
            scales.CheckLoaded();
        }
        else if (Options.Scales is not null)
        {
            throw new ArgumentException($"SessionOptions.Scales is for Precision.Int8 and Precision.Fp8; this session runs in {Options.Precision}", nameof(options));
        }
    }

    public IFusedModel Model { get; }

    public SessionOptions Options { get; }

    /// <summary>The backend the session runs on.</summary>
    public IBackend Backend => Options.Backend ?? CpuBackend.Instance;

    /// <summary>Runs the model on <paramref name="inputs"/> (in declaration order, each of the session's input type); the caller owns the result.</summary>
    public Tensor Run(params Tensor[] inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        InputCheck.Count(Model.Info, inputs.Length);
        var expected = Options.InputOutputType;
        for (int i = 0; i < inputs.Length; i++)
        {
            var input = inputs[i];
            ArgumentNullException.ThrowIfNull(input, Model.Info.Inputs[i].Name);
            if (input.DType != expected)
            {
                string other = expected == DType.Float32 ? "set SessionOptions.HalfInputOutput to pass f16" : "or leave SessionOptions.HalfInputOutput unset to pass f32";
                throw new TensorMismatchException($"input '{Model.Info.Inputs[i].Name}' of {Model.Info.Name}",
                    $"dtype {expected.ShortName()} (the session's input/output type; {other})", input.DType.ShortName());
            }
        }
        return Model.Run(inputs, Options.Backend, Options.Precision);
    }
}
