// Hand-written IFusedModel classes (no generator) for the --assembly look-up: two share a short name, one cannot be made.
namespace Fusion.Run.Tests.ModelsA
{
    public sealed class Twin : Fusion.Run.Tests.Models.NoOpModel;
}

namespace Fusion.Run.Tests.ModelsB
{
    public sealed class Twin : Fusion.Run.Tests.Models.NoOpModel;
}

namespace Fusion.Run.Tests.Models
{
    /// <summary>A model with no parameters whose Run returns a copy of its input.</summary>
    public class NoOpModel : IFusedModel
    {
        public ModelInfo Info => new(GetType().Name, [new InputInfo("x", [Dim.Batch, 2])], [], 0);

        public IReadOnlyList<IKernel> Kernels => [];

        public IEnumerable<NamedParameter> NamedParameters() => [];

        public Tensor Run(IReadOnlyList<Tensor> inputs, IBackend? backend = null) => (backend ?? CpuBackend.Instance).Cast(inputs[0], inputs[0].DType);
    }

    public sealed class NeedsArguments(int size) : NoOpModel
    {
        public int Size { get; } = size;
    }
}
