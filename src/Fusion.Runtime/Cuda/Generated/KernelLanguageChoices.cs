using System.Globalization;

namespace Fusion.Cuda.Generated;

/// <summary>A <see cref="KernelLanguage.Auto"/> decision: the version that runs, and the median microseconds each took.</summary>
public sealed record KernelLanguageChoice(KernelLanguage Language, double NvrtcMicroseconds, double IlgpuMicroseconds);

/// <summary>
/// <see cref="KernelLanguage.Auto"/>'s decisions (<see cref="ChoiceCache{T}"/>): per kernel, io type, batch and GPU, which of a
/// generated kernel's two versions ran faster.
/// </summary>
public sealed class KernelLanguageChoices(string directory, Action<string>? warn = null)
    : ChoiceCache<KernelLanguageChoice>(directory, "kernel language choice", "kernel-language", warn)
{
    private const string Magic = "fusion-kernel-language 1";

    protected override string Write(string key, KernelLanguageChoice choice) => Format(key, choice);

    protected override KernelLanguageChoice? Read(string text, string key, out string? problem) => Parse(text, key, out problem);

    internal static string Format(string key, KernelLanguageChoice choice) => string.Create(CultureInfo.InvariantCulture,
        $"{Magic}\nkey {key}\nlanguage {KernelLanguages.Name(choice.Language)}\nnvrtc_us {choice.NvrtcMicroseconds:R}\nilgpu_us {choice.IlgpuMicroseconds:R}\n");

    internal static KernelLanguageChoice? Parse(string text, string key, out string? problem)
    {
        var lines = Lines(text, Magic, key, 5, out problem);
        if (lines is null) return null;
        KernelLanguage? language = lines[2] switch
        {
            "language nvrtc" => KernelLanguage.Nvrtc,
            "language ilgpu" => KernelLanguage.Ilgpu,
            _ => null,
        };
        if (language is null || !TryMicroseconds(lines[3], "nvrtc_us ", out var nvrtc) || !TryMicroseconds(lines[4], "ilgpu_us ", out var ilgpu))
        {
            problem = "unreadable language or times";
            return null;
        }
        return new KernelLanguageChoice(language.Value, nvrtc, ilgpu);
    }
}
