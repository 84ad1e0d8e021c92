using System;
using System.Threading;
using Fusion.Compiler;

namespace Fusion.Generator.Passes
{
    /// <summary>
    /// Which float types each operator's kernels support on each backend, the question the precision pass asks per node: the
    /// operator's descriptor answers (<see cref="OpDescriptor.Supports"/>). Every operator today supports both f32 and f16 on
    /// both backends (generated kernels are typed per plan; templates run f32 through cuBLASLt or their unfused chain), so the
    /// plans of both backends agree; a kernel added without an f16 (or f32) variant says so in its descriptor and the pass keeps
    /// it in the other type with casts around it. Tests replace the table to show that.
    /// </summary>
    internal static class PrecisionSupport
    {
        private static readonly AsyncLocal<Func<string, BackendKind, FloatType, bool>?> s_override = new();

        /// <summary>Replaces the table for the current (test) flow until disposed, to show the pass on kernels that do not exist yet.</summary>
        internal static IDisposable Override(Func<string, BackendKind, FloatType, bool> supports)
        {
            var previous = s_override.Value;
            s_override.Value = supports;
            return new Restore(() => s_override.Value = previous);
        }

        public static bool Supports(string op, BackendKind backend, FloatType type)
        {
            var table = s_override.Value;
            return table is not null ? table(op, backend, type) : Ops.Get(op).Supports(backend, type);
        }

        private sealed class Restore(Action restore) : IDisposable
        {
            public void Dispose() => restore();
        }
    }
}
