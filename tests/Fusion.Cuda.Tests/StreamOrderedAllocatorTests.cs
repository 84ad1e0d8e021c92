namespace Fusion.Cuda.Tests;

/// <summary>
/// The caching allocator across streams (issue 17): a block freed while its stream's work on it is still queued goes to
/// another stream only behind an event of the first, shown with a provoked overlap (the first stream held busy by a kernel
/// while the second asks for memory); same-stream reuse needs no event; graph scopes are per stream.
/// </summary>
public sealed class StreamOrderedAllocatorTests : GpuTestBase
{
    private const byte First = 0x11, Second = 0x22;
    private static readonly TimeSpan Busy = TimeSpan.FromMilliseconds(200);

    [Fact]
    public void WithoutAnEventAnotherStreamsWriteOvertakesTheHeldStream()
    {
        // The control: the overlap the allocator must prevent is real. Stream B writes the block while A's write to it is held
        // back by a 200 ms kernel; with nothing ordering them, A's write lands last.
        using var hold = new StreamHold(Jit);
        using var a = new CudaStream(Device);
        using var b = new CudaStream(Device);
        using var block = CudaTensor.Empty(a, DType.Float32, new Shape(257, 1031));
        hold.Hold(a, Busy);
        block.FillBytes(First, a);
        block.FillBytes(Second, b);
        a.Synchronize();
        b.Synchronize();
        AssertEveryByte(block, First, "the unordered control");
    }

    [Fact]
    public void ABlockFreedOnABusyStreamIsReusedOnAnotherOnlyAfterThatStreamsWork()
    {
        var allocator = Device.Allocator;
        allocator.ReleaseCached(); // no cached block of another size class may serve the request below
        using var hold = new StreamHold(Jit);
        using var a = new CudaStream(Device);
        using var b = new CudaStream(Device);
        var shape = new Shape(257, 1031);

        var freed = CudaTensor.Empty(a, DType.Float32, shape);
        ulong address = freed.Pointer;
        hold.Hold(a, Busy);
        freed.FillBytes(First, a);
        freed.Dispose(); // freed on the host while A's write to it is still queued behind the hold
        long handoffs = allocator.StreamHandoffs;

        using var reused = CudaTensor.Empty(b, DType.Float32, shape);
        Assert.Equal(address, reused.Pointer); // B got A's block...
        Assert.Equal(handoffs + 1, allocator.StreamHandoffs); // ...behind an event of A
        reused.FillBytes(Second, b);
        b.Synchronize();
        a.Synchronize();
        AssertEveryByte(reused, Second, "the block handed from A to B");
    }

    [Fact]
    public void TheSameStreamTakesItsBlockBackWithoutAnEvent()
    {
        var allocator = Device.Allocator;
        using var a = new CudaStream(Device);
        ulong address;
        using (var first = CudaTensor.Empty(a, DType.Float16, new Shape(3, 1001))) address = first.Pointer;
        long handoffs = allocator.StreamHandoffs;
        using var second = CudaTensor.Empty(a, DType.Float16, new Shape(3, 1001));
        Assert.Equal(address, second.Pointer);
        Assert.Equal(handoffs, allocator.StreamHandoffs);
    }

    [Fact]
    public void ADestroyedStreamsBlocksGoToAnyStreamWithoutAnEvent()
    {
        var allocator = Device.Allocator;
        allocator.ReleaseCached();
        using var b = new CudaStream(Device);
        ulong address;
        using (var gone = new CudaStream(Device))
        {
            using var block = CudaTensor.Empty(gone, DType.Float32, new Shape(129, 517));
            address = block.Pointer;
        } // the stream is waited for and destroyed after its block was freed
        long handoffs = allocator.StreamHandoffs;
        using var reused = CudaTensor.Empty(b, DType.Float32, new Shape(129, 517));
        Assert.Equal(address, reused.Pointer);
        Assert.Equal(handoffs, allocator.StreamHandoffs);
    }

    [Fact]
    public void ScopesArePerStreamAndTwoMayBeOpenAtOnce()
    {
        var allocator = Device.Allocator;
        allocator.ReleaseCached();
        using var a = new CudaStream(Device);
        using var b = new CudaStream(Device);
        var shape = new Shape(77, 1003);
        using var scopeA = allocator.OpenScope(a);
        using var scopeB = allocator.OpenScope(b);
        Assert.Throws<InvalidOperationException>(() => allocator.OpenScope(a));

        ulong inA;
        using (var t = CudaTensor.Empty(a, DType.Float32, shape)) inA = t.Pointer; // back into A's scope, not the shared cache
        using (var t = CudaTensor.Empty(b, DType.Float32, shape)) Assert.NotEqual(inA, t.Pointer);
        using (var t = CudaTensor.Empty(a, DType.Float32, shape)) Assert.Equal(inA, t.Pointer);

        allocator.CloseScope(scopeA);
        scopeA.Dispose(); // its blocks join A's cache
        using (var t = CudaTensor.Empty(a, DType.Float32, shape)) Assert.Equal(inA, t.Pointer);
        allocator.CloseScope(scopeB);
    }

    private static void AssertEveryByte(CudaTensor tensor, byte expected, string what)
    {
        using var host = tensor.ToHost();
        int wrong = 0;
        foreach (byte value in host.Bytes) if (value != expected) wrong++;
        Assert.True(wrong == 0, $"{what}: {wrong} of {host.Bytes.Length} bytes are not 0x{expected:x2}");
    }
}
