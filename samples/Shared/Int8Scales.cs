using Fusion.Quantization;

namespace Fusion.Samples;

/// <summary>The activation scales of a sample's int8 or fp8 run: the --scales file, or a calibration on the input batch itself.</summary>
internal static class Int8Scales
{
    /// <summary>Loads the scales into the model's Int8Scales and says where they came from.</summary>
    public static string Load(IFusedModel model, SampleOptions options, CpuTensor input)
    {
        var scales = model.Int8Scales ?? throw new FusionException($"{model.Info.Name} has no Int8 plan");
        if (options.Scales is { } path)
        {
            scales.Load(ScaleFile.Load(path, model.Info.Name, ScaleFile.HashOf(options.Weights!)));
            return $"{path} ({scales.Names.Count} quantized Linear inputs)";
        }
        // No calibration set: the input batch calibrates (its own ranges, max method) through the eager FP32 Forward on the CPU.
        using var calibration = new LinearInputCalibration(model);
        calibration.Run(input);
        scales.Load(calibration.Thresholds(CalibrationMethod.Max), "the input batch");
        return $"calibrated on the input batch ({scales.Names.Count} quantized Linear inputs, max method; fusion-run calibrate makes a scale file from a calibration set)";
    }
}
