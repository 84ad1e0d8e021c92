namespace Fusion.Cuda;

/// <summary>A switch with a rule of its own: off, on wherever the form applies and pays, or auto (only where its stricter rule says).</summary>
public enum SwitchSetting
{
    Off,
    On,
    Auto,
}
