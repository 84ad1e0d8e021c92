namespace Fusion.Cuda.Tests;

public sealed class AllocationTests : GpuTestBase
{
    [Theory]
    [InlineData(DType.Float16)]
    [InlineData(DType.Float32)]
    [InlineData(DType.Int8)]
    [InlineData(DType.Int32)]
    public void HostDeviceRoundTripIsExact(DType dtype)
    {
        long before = CudaTensor.LiveCount;
        using (var host = CpuTensor.Zeros(dtype, 3, 1001))
        {
            Rng.NextBytes(host.Bytes);
            using var dev = CudaTensor.FromHost(Device, host);
            using var copy = CudaTensor.Empty(Device, dtype, host.Shape);
            copy.FillBytes(0xA5); // poison: the copy must overwrite every byte
            copy.CopyFrom(dev);
            using var back = copy.ToHost();
            Assert.True(host.Bytes.SequenceEqual(back.Bytes), $"{dtype} round trip changed the data");
        }
        Assert.Equal(before, CudaTensor.LiveCount);
    }

    [Fact]
    public void FreedBlocksAreReusedAndNothingLeaks()
    {
        var alloc = Device.Allocator;
        int live = alloc.LiveAllocations;
        ulong first;
        using (var a = CudaTensor.Empty(Device, DType.Float32, 1000, 3)) first = a.Pointer;
        long reuses = alloc.Reuses;
        using (var b = CudaTensor.Empty(Device, DType.Float32, 1000, 3))
        {
            Assert.Equal(first, b.Pointer);
            Assert.Equal(live + 1, alloc.LiveAllocations);
        }
        Assert.Equal(reuses + 1, alloc.Reuses);
        Assert.Equal(live, alloc.LiveAllocations);
        var tensors = Enumerable.Range(1, 50).Select(i => CudaTensor.Empty(Device, DType.Float16, i, 77)).ToList();
        Assert.Equal(live + 50, alloc.LiveAllocations);
        tensors.ForEach(t => t.Dispose());
        Assert.Equal(live, alloc.LiveAllocations);
        Assert.True(alloc.CachedBytes > 0);
    }

    [Fact]
    public void OutOfMemoryNamesRequestedSizeAndFree()
    {
        var e = Assert.Throws<CudaOutOfMemoryException>(() => Device.Allocator.Allocate(1L << 50));
        Assert.Equal(1L << 50, e.RequestedBytes);
        Assert.Contains("requested", e.Message);
        Assert.Contains("free", e.Message);
        using var ok = CudaTensor.Empty(Device, DType.Float32, 16); // the device is still usable
    }
}
