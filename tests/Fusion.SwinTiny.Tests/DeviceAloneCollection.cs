namespace Fusion.SwinTiny.Tests;

/// <summary>
/// Tests that need the device to themselves (they fill it, or keep it busy from many threads for seconds): run after the
/// parallel ones, with nothing beside them, so that no other test sees the device full or its allocation counts move.
/// </summary>
[CollectionDefinition(nameof(DeviceAloneCollection), DisableParallelization = true)]
public sealed class DeviceAloneCollection;
