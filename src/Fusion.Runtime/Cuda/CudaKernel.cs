using Fusion.Cuda.Native;

namespace Fusion.Cuda;

/// <summary>One kernel of a loaded module.</summary>
public sealed unsafe class CudaKernel
{
    private readonly CudaModule _module;
    private readonly IntPtr _function;

    internal CudaKernel(CudaModule module, string name, IntPtr function)
    {
        _module = module;
        Name = name;
        _function = function;
    }

    public string Name { get; }

    private int _sharedMemoryAllowed;

    /// <summary>
    /// Lets launches ask for up to <paramref name="bytes"/> of dynamic shared memory (above 48 KB a kernel must opt in, once);
    /// the device's limit is reported by the driver's error when exceeded.
    /// </summary>
    public void AllowSharedMemory(int bytes)
    {
        if (bytes <= _sharedMemoryAllowed) return;
        _module.Device.MakeCurrent();
        var result = CuDriverApi.cuFuncSetAttribute(_function, CuFunctionAttribute.MaxDynamicSharedSizeBytes, bytes);
        if (result != CuResult.Success)
            throw CudaCheck.DriverError(result, $"cuFuncSetAttribute({Name}, max dynamic shared memory {bytes} bytes)");
        _sharedMemoryAllowed = bytes;
    }

    private readonly Dictionary<(int Threads, int Shared), int> _residentBlocks = new();

    /// <summary>How many blocks of <paramref name="threads"/> threads and <paramref name="sharedMemoryBytes"/> of dynamic shared memory
    /// one SM holds at a time (the driver's occupancy calculator; registers, shared memory and block limits), at least 1.</summary>
    public int ResidentBlocksPerSm(int threads, int sharedMemoryBytes)
    {
        lock (_residentBlocks)
        {
            if (_residentBlocks.TryGetValue((threads, sharedMemoryBytes), out var known)) return known;
            _module.Device.MakeCurrent();
            var result = CuDriverApi.cuOccupancyMaxActiveBlocksPerMultiprocessor(out int blocks, _function, threads, (nuint)sharedMemoryBytes);
            if (result != CuResult.Success)
                throw CudaCheck.DriverError(result, $"cuOccupancyMaxActiveBlocksPerMultiprocessor({Name}, {threads} threads, {sharedMemoryBytes} bytes shared)");
            return _residentBlocks[(threads, sharedMemoryBytes)] = Math.Max(1, blocks);
        }
    }

    private bool _largeClustersAllowed;

    /// <summary>Lets launches use clusters of more than 8 blocks (non-portable: Hopper takes up to 16), once.</summary>
    private void AllowLargeClusters()
    {
        if (_largeClustersAllowed) return;
        _module.Device.MakeCurrent();
        var result = CuDriverApi.cuFuncSetAttribute(_function, CuFunctionAttribute.NonPortableClusterSizeAllowed, 1);
        if (result != CuResult.Success) throw CudaCheck.DriverError(result, $"cuFuncSetAttribute({Name}, non-portable cluster sizes)");
        _largeClustersAllowed = true;
    }

    private readonly Dictionary<(int Threads, int Shared, int Cluster), int> _residentClusters = new();

    /// <summary>
    /// How many clusters of <paramref name="clusterSize"/> blocks (each of <paramref name="threads"/> threads and
    /// <paramref name="sharedMemoryBytes"/> of dynamic shared memory) the GPU runs at once (the driver's occupancy calculator: a
    /// cluster's blocks must fit the SMs of one GPC); 0 where none fits. Above 8 blocks a cluster is non-portable: the kernel is
    /// allowed them here first (<see cref="AllowLargeClusters"/>). Call <see cref="AllowSharedMemory"/> for the bytes before.
    /// </summary>
    public int ResidentClusters(int threads, int sharedMemoryBytes, int clusterSize)
    {
        lock (_residentClusters)
        {
            if (_residentClusters.TryGetValue((threads, sharedMemoryBytes, clusterSize), out var known)) return known;
            _module.Device.MakeCurrent();
            if (clusterSize > 8) AllowLargeClusters();
            var attribute = new CuLaunchAttribute { Id = CuLaunchAttributeId.ClusterDimension, Value = clusterSize, ValueY = 1, ValueZ = 1 };
            var config = new CuLaunchConfig
            {
                GridX = (uint)clusterSize, GridY = 1, GridZ = 1, BlockX = (uint)threads, BlockY = 1, BlockZ = 1,
                SharedMemoryBytes = (uint)sharedMemoryBytes, Attributes = &attribute, AttributeCount = 1,
            };
            var result = CuDriverApi.cuOccupancyMaxActiveClusters(out int clusters, _function, &config);
            if (result != CuResult.Success)
                throw CudaCheck.DriverError(result, $"cuOccupancyMaxActiveClusters({Name}, clusters of {clusterSize} × {threads} threads, {sharedMemoryBytes} bytes shared)");
            return _residentClusters[(threads, sharedMemoryBytes, clusterSize)] = clusters;
        }
    }

    /// <summary>
    /// Queues the kernel on <paramref name="stream"/>. Launch errors surface here; execution errors at the next synchronization.
    /// Right behind another kernel launched here, a kernel that waits for the previous grid (<see cref="CudaModule.AwaitsPreviousGrid"/>)
    /// is launched programmatically (<see cref="ProgrammaticLaunch"/>): it may start while that one finishes. Returns whether it was.
    /// With <paramref name="cluster"/>, the blocks run as thread-block clusters of that shape (compute capability 9.0; the grid a
    /// multiple of it), whose blocks share their shared memory.
    /// </summary>
    public bool Launch(CudaStream stream, Dim3 grid, Dim3 block, KernelArguments arguments, int sharedMemoryBytes = 0, Dim3? cluster = null)
    {
        if (grid.X == 0 || grid.Y == 0 || grid.Z == 0)
            throw new ArgumentException($"kernel {Name}: empty grid {grid}", nameof(grid));
        if (cluster is { } c && (c.X == 0 || c.Y == 0 || c.Z == 0 || grid.X % c.X != 0 || grid.Y % c.Y != 0 || grid.Z % c.Z != 0))
            throw new ArgumentException($"kernel {Name}: grid {grid} is not a whole number of clusters {c}", nameof(cluster));
        if (cluster is { } large && large.X * large.Y * large.Z > 8) AllowLargeClusters(); // past the portable 8 (Hopper takes 16)
        _module.Device.MakeCurrent();
        var slots = arguments.ToSlots();
        var starts = arguments.Starts();
        var pointers = stackalloc void*[Math.Max(1, starts.Length)];
        var handle = stream.HandleForKernel(out bool afterFusionKernel);
        bool programmatic = afterFusionKernel && _module.AwaitsPreviousGrid && ProgrammaticLaunch.AppliesTo(_module.Device);
        fixed (ulong* s = slots)
        {
            for (int i = 0; i < starts.Length; i++) pointers[i] = s + starts[i];
            CuResult result;
            if (programmatic || cluster is not null)
            {
                var attributes = stackalloc CuLaunchAttribute[2];
                uint count = 0;
                if (programmatic) attributes[count++] = new CuLaunchAttribute { Id = CuLaunchAttributeId.ProgrammaticStreamSerialization, Value = 1 };
                if (cluster is { } shape)
                    attributes[count++] = new CuLaunchAttribute { Id = CuLaunchAttributeId.ClusterDimension, Value = (int)shape.X, ValueY = shape.Y, ValueZ = shape.Z };
                var config = new CuLaunchConfig
                {
                    GridX = grid.X, GridY = grid.Y, GridZ = grid.Z, BlockX = block.X, BlockY = block.Y, BlockZ = block.Z,
                    SharedMemoryBytes = (uint)sharedMemoryBytes, Stream = handle, Attributes = attributes, AttributeCount = count,
                };
                result = CuDriverApi.cuLaunchKernelEx(&config, _function, pointers, null);
            }
            else
            {
                result = CuDriverApi.cuLaunchKernel(_function, grid.X, grid.Y, grid.Z, block.X, block.Y, block.Z,
                    (uint)sharedMemoryBytes, handle, pointers, null);
            }
            if (result != CuResult.Success)
                throw CudaCheck.DriverError(result, programmatic || cluster is not null
                    ? $"cuLaunchKernelEx({Name}, grid {grid}, block {block}{(cluster is { } shown ? $", clusters {shown}" : "")}"
                      + $"{(programmatic ? $", programmatic dependent launch; {ProgrammaticLaunch.Variable}=off launches without it" : "")})"
                    : $"cuLaunchKernel({Name}, grid {grid}, block {block})");
        }
        stream.FusionKernelQueued();
        LaunchLog.Launched(Name);
        return programmatic;
    }
}
