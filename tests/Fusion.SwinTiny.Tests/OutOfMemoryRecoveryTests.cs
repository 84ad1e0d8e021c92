using Fusion;
using Fusion.Cuda;
using Fusion.Testing;

namespace Fusion.SwinTiny.Tests;

/// <summary>
/// An allocation that cannot be met in the middle of a model pass (the device filled first): the pass fails with the
/// out-of-memory error and its sizes, gives back everything it took, and the same backend and model run the next pass
/// correctly once the memory is back (issue 17). Runs alone (its collection is not parallel): while the device is full,
/// any other GPU test would run out of memory too.
/// </summary>
[Collection(nameof(DeviceAloneCollection))]
public sealed class OutOfMemoryRecoveryTests
{
    [Fact]
    public void APassThatRunsOutOfMemoryFreesWhatItTookAndTheNextPassIsRight()
    {
        var device = CudaTestEnvironment.RequireDevice();
        using var blocks = new OddBlocksOnGpu(device);
        var expected = blocks.RunOnce(); // kernels, constants and GEMM choices are in place from here on
        int live = device.Allocator.LiveAllocations;

        var filler = new List<DeviceMemory>();
        try
        {
            // Fill the device: big blocks first, then halving down to 64 KiB, so no intermediate of the pass fits.
            for (long block = 1L << 30; block >= 1L << 16; block /= 2)
            {
                while (true)
                {
                    try
                    {
                        filler.Add(device.Allocator.Allocate(block));
                    }
                    catch (CudaOutOfMemoryException)
                    {
                        break;
                    }
                }
            }
            int filled = device.Allocator.LiveAllocations;
            var e = Assert.Throws<CudaOutOfMemoryException>(() => blocks.RunOnce());
            Assert.True(e.RequestedBytes > 0, e.Message);
            Assert.Contains("CUDA out of memory: requested ", e.Message);
            Assert.Equal(filled, device.Allocator.LiveAllocations); // the failed pass gave back all it took
        }
        finally
        {
            foreach (var block in filler) block.Dispose();
            device.Allocator.ReleaseCached();
        }

        Assert.Equal(live, device.Allocator.LiveAllocations);
        Assert.Equal(expected, blocks.RunOnce()); // same backend, same model, same bits
    }
}

