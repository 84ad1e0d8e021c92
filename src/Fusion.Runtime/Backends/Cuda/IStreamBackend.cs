namespace Fusion;

/// <summary>
/// A backend that queues its work on a stream and shares its device state (parameter copies, kernels) with sibling
/// backends on other streams. A compiled model keeps one set of load-time constants for the whole family
/// (<see cref="ConstantCache"/>), built on one sibling's stream and waited for before the others read it.
/// </summary>
internal interface IStreamBackend
{
    /// <summary>The backend whose siblings these are (itself for the first one).</summary>
    IBackend Family { get; }

    /// <summary>Waits for everything queued on this backend's stream.</summary>
    void Synchronize();
}
