using Fusion.Generator.Model;

namespace Fusion.Generator.Ir
{
    /// <summary>
    /// The fused graph for one precision target on some backends: every node carries its <see cref="Node.Precision"/>
    /// (the float type of its value), with explicit <see cref="OpKind.Cast"/> nodes wherever a reader needs another type
    /// and no neighbour could take the conversion over.
    /// </summary>
    /// <param name="Target">F32 for the Float plan, F16 for the Half plan.</param>
    /// <param name="Backends">The names of the <see cref="BackendKind"/>s this plan is for (one plan when they all came out the same).</param>
    /// <param name="Casts">Every cast the pass inserted, with what became of it, for the report.</param>
    internal sealed record PrecisionPlan(FloatType Target, EquatableArray<string> Backends, EquatableArray<Node> Nodes, int Output, EquatableArray<CastNote> Casts)
    {
        /// <summary>What the plan runs (set by <see cref="Passes.Scheduler"/>).</summary>
        public Schedule? Schedule { get; init; }

        /// <summary>The Linears the Int8 (or Fp8) plan runs as int8 (FP8) GEMMs (empty in the other plans).</summary>
        public EquatableArray<QuantizedNote> Quantized { get; init; } = EquatableArray<QuantizedNote>.Empty;

        /// <summary>"Float", "Half", "Int8", "Fp8", or with the backend when plans differ per backend: "HalfCuda".</summary>
        public string Name(bool perBackend) =>
            (Target switch { FloatType.F16 => "Half", FloatType.I8 => "Int8", FloatType.F8 => "Fp8", _ => "Float" }) + (perBackend ? string.Join("", Backends) : "");
    }

    /// <summary>
    /// One Linear of a quantized plan: its call, the name of its input's scale, its weight, and the plan's nodes of its quantize (the
    /// cast of the scaled input to i8 or f8), its low-precision product and its result (dequantized, bias added).
    /// </summary>
    internal sealed record QuantizedNote(string Linear, string ScaleKey, string Weight, int Quantize, int Product, int Result)
    {
        /// <summary>The plan's node of the GELU after the product, which quantized plans compute in its tanh form; -1 where none follows.</summary>
        public int TanhGelu { get; init; } = -1;
    }

    /// <summary>One inserted cast: of which value, between which types, before which reader, and how it runs.</summary>
    /// <param name="Node">The cast's node in the plan.</param>
    /// <param name="Fate">"fused into …", "hoisted …" or "runs alone …": hoisting is the precision pass's to say, the rest the scheduler's.</param>
    internal sealed record CastNote(int Node, string Value, FloatType From, FloatType To, string Reader, string Fate);

    /// <summary>One entry of a model's keep-list ([FusedModel(KeepFloat32 = …)]) and where it is written.</summary>
    internal sealed record KeepEntry(string Text, LocationInfo? Location);
}
