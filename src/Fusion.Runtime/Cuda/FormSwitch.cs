namespace Fusion.Cuda;

/// <summary>
/// A fused form that gains on some shapes and loses on others: never (off), where its rule says it pays (auto), or wherever it applies
/// (on: for measuring it against the rule).
/// </summary>
public enum FormMode
{
    Off,
    Auto,
    On,
}

/// <summary>The form of Fusion's three-way environment switches (FUSION_QKV_NORM, FUSION_QKV_OUT): auto, on or off, nothing else.</summary>
internal static class FormSwitch
{
    /// <summary>
    /// auto, on, 1, off or 0 (any case, spaces ignored; unset or blank means <paramref name="unset"/>); anything else is an error naming
    /// <paramref name="variable"/> and the choices.
    /// </summary>
    public static FormMode Parse(string variable, string? value, FormMode unset) => value?.Trim().ToLowerInvariant() switch
    {
        null or "" => unset,
        "auto" => FormMode.Auto,
        "on" or "1" => FormMode.On,
        "off" or "0" => FormMode.Off,
        _ => throw new FusionException($"{variable}={value} is not one of auto, on, off"),
    };
}
