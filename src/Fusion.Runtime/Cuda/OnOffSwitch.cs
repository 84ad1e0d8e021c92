namespace Fusion.Cuda;

/// <summary>The form of Fusion's environment switches (FUSION_PDL, FUSION_GEMM_SPLITK, FUSION_MLP, …): on or off, nothing else.</summary>
internal static class OnOffSwitch
{
    /// <summary>
    /// on, 1, off or 0 (any case, spaces ignored; unset or blank means <paramref name="unset"/>, off unless a switch says otherwise);
    /// anything else is an error naming <paramref name="variable"/> and the choices.
    /// </summary>
    public static bool Parse(string variable, string? value, bool unset = false) => value?.Trim().ToLowerInvariant() switch
    {
        "on" or "1" => true,
        null or "" => unset,
        "off" or "0" => false,
        _ => throw new FusionException($"{variable}={value} is not one of on, off"),
    };
}
