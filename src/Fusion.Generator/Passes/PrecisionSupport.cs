using System;
using System.Threading;
using Fusion.Generator.Ir;

namespace Fusion.Generator.Passes
{
    /// <summary>
    /// Which float types each operator's kernel supports on each backend, the question the precision pass asks per node.
    /// Today every operator supports both: the CPU computes f16 in f32 and rounds once on store; on CUDA the unfused
    /// operators have f32 and f16 kernels (backend_ops.cu, cuBLASLt), the fused operators have generated f16 kernels and
    /// run f32 as the unfused chain they replace (Fusion.Runtime FusedChains). So the plans of both backends agree; a
    /// kernel added without an f16 (or f32) variant says so here and the pass keeps it in the other type with casts around it.
    /// </summary>
    internal static class PrecisionSupport
    {
        private static readonly AsyncLocal<Func<OpKind, BackendKind, FloatType, bool>?> s_override = new();

        /// <summary>Replaces the table for the current (test) flow until disposed, to show the pass on kernels that do not exist yet.</summary>
        internal static IDisposable Override(Func<OpKind, BackendKind, FloatType, bool> supports)
        {
            var previous = s_override.Value;
            s_override.Value = supports;
            return new Restore(() => s_override.Value = previous);
        }

        public static bool Supports(OpKind op, BackendKind backend, FloatType type)
        {
            var table = s_override.Value;
            return table is not null ? table(op, backend, type) : Table(op, backend, type);
        }

        private static bool Table(OpKind op, BackendKind backend, FloatType type)
        {
            if (type == FloatType.Io) return false; // a type known only at run time is never an operator's compute type
            switch (op)
            {
                case OpKind.FusedLinear:
                case OpKind.BiasResidual:
                case OpKind.LayerNormWindowPartition:
                case OpKind.WindowReverseResidual:
                case OpKind.WindowAttention:
                    // Generated f16 kernels on CUDA, f32 there through the unfused chain; the CPU twins do both.
                    return true;
                default:
                    // Every unfused operator has f32 and f16 kernels on both backends.
                    return backend is BackendKind.Cpu or BackendKind.Cuda;
            }
        }

        private sealed class Restore(Action restore) : IDisposable
        {
            public void Dispose() => restore();
        }
    }
}
