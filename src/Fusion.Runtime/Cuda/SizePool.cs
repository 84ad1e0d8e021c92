namespace Fusion.Cuda;

/// <summary>Free device blocks by size class (bytes), newest first within a class. Not thread-safe: its owner locks.</summary>
internal sealed class SizePool
{
    private readonly SortedDictionary<long, Stack<ulong>> _blocks = new();

    public void Push(long size, ulong pointer)
    {
        if (!_blocks.TryGetValue(size, out var stack)) _blocks[size] = stack = new Stack<ulong>();
        stack.Push(pointer);
    }

    /// <summary>The smallest block of at least <paramref name="capacity"/> bytes and at most twice that, if there is one.</summary>
    public bool Take(long capacity, out ulong pointer, out long size)
    {
        foreach (var (blockSize, blocks) in _blocks)
        {
            if (blockSize < capacity) continue;
            if (blockSize > 2 * capacity) break;
            pointer = blocks.Pop();
            if (blocks.Count == 0) _blocks.Remove(blockSize);
            size = blockSize;
            return true;
        }
        pointer = 0;
        size = 0;
        return false;
    }

    /// <summary>Moves every block of <paramref name="other"/> into this pool; returns their bytes.</summary>
    public long TakeAll(SizePool other)
    {
        long bytes = 0;
        foreach (var (size, blocks) in other._blocks)
        {
            foreach (var pointer in blocks) Push(size, pointer);
            bytes += size * blocks.Count;
        }
        other._blocks.Clear();
        return bytes;
    }

    public IEnumerable<ulong> Pointers() => _blocks.Values.SelectMany(s => s);

    public void Clear() => _blocks.Clear();
}
