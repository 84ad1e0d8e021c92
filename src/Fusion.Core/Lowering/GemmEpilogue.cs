using System;
using System.Collections.Generic;
using System.Linq;

namespace Fusion.Compiler
{
    /// <summary>
    /// A template's epilogue: the accumulator (a Linear's x·wᵀ, the attention's output: the template's registers or a buffer "acc"),
    /// a Linear's bias, then the pointwise chain after it, lowered over [rows, N] (the template's own index, whatever the output's
    /// rank). Shared by the scheduler and the runtime's <c>GemmKernels</c>, so a hand-built GEMM kernel is the one a model gets.
    /// </summary>
    internal static class GemmEpilogue
    {
        /// <summary>A pool an epilogue accumulates: the chain end's only reader path, <paramref name="Permutes"/> then <paramref name="Reduction"/> (a float32 Sum or Mean).</summary>
        public sealed record EpiloguePool(EquatableArray<int> Permutes, int Reduction)
        {
            /// <summary>The graph nodes the pool adds to the epilogue's group.</summary>
            public IEnumerable<int> Members => Permutes.Concat(new[] { Reduction });
        }

        /// <summary>The id the accumulator takes (one past every graph node).</summary>
        public static int AccumulatorId(int nodeCount) => nodeCount;

        /// <summary>
        /// Lowers <paramref name="linear"/> (a Linear node: x, weight, optional bias) and <paramref name="chain"/> (the pointwise nodes
        /// after it, each the only reader of the previous one) into the epilogue kernel; the chain's end (or the Linear) is stored.
        /// </summary>
        public static LoweredGroup Lower(string name, Func<int, LoweringNode> node, int nodeCount, LoweringNode linear, IReadOnlyList<int> chain, EpiloguePool? pool = null,
            IReadOnlyList<int>? branch = null) =>
            Lower(name, node, nodeCount, linear, linear.Inputs.Count > 2 ? linear.Inputs[2] : -1, chain, pool, branch);

        /// <summary>
        /// The epilogue of any template whose result is a [.., C] tensor computed in registers (the GEMM's product, the attention's
        /// output): <paramref name="template"/>'s value is the accumulator, plus <paramref name="bias"/> (a graph value of shape [C])
        /// when it is not -1, then <paramref name="chain"/>, lowered over [rows, C].
        /// </summary>
        /// <param name="pool">
        /// A Sum or Mean of the chain's end (through permutes) that the epilogue accumulates instead of storing the end (a global
        /// average pool after a convolution's GEMM; <see cref="GroupLowering.LowerAccumulated"/>), or null.
        /// </param>
        /// <param name="branch">
        /// A pointwise chain of the chain's end (and constants) that the epilogue computes and stores besides the end (the next layer's
        /// quantize of a value the residual also reads), or null. Its last node is the first output: lowering walks back from it through
        /// the chain's end, which is stored where the walk reaches it (the second output). Not with a pool.
        /// </param>
        public static LoweredGroup Lower(string name, Func<int, LoweringNode> node, int nodeCount, LoweringNode template, int bias, IReadOnlyList<int> chain, EpiloguePool? pool = null,
            IReadOnlyList<int>? branch = null)
        {
            if (pool is not null && branch is { Count: > 0 }) throw new ArgumentException("an epilogue that pools stores nothing else", nameof(branch));
            int acc = AccumulatorId(nodeCount);
            var accNode = new LoweringNode(acc, "Accumulator", EquatableArray<int>.Empty, AttributeSet.Empty, template.Shape, template.Type);
            // The template's value is the accumulator plus its bias, or the accumulator as is (a cast to f32: free, so the result
            // stays float32 into the chain as it does with a bias; only the store rounds).
            var templateNode = bias >= 0
                ? new LoweringNode(template.Id, Ops.Add.Name, EquatableArray.Of(acc, bias), AttributeSet.Empty, template.Shape, template.Type)
                : new LoweringNode(template.Id, Ops.Cast.Name, EquatableArray.Of(acc), AttributeSet.Of(OpAttribute.Int("to", (long)FloatType.F32)), template.Shape, template.Type);
            var members = new HashSet<int>(chain) { template.Id };
            int root = chain.Count > 0 ? chain[chain.Count - 1] : template.Id;
            var outputs = new List<int> { root };
            if (branch is { Count: > 0 })
            {
                members.UnionWith(branch);
                outputs.Insert(0, branch[branch.Count - 1]);
            }
            var rows = Dims.Product(template.Shape.Take(template.Shape.Count - 1)) ?? throw new LoweringException("the template's rows hold two batch axes");
            var domain = new[] { rows, template.Shape[template.Shape.Count - 1] };
            LoweringNode Node(int id) => id == acc ? accNode : id == template.Id ? templateNode : node(id);
            // Views in the chain (a window reverse, a roll): the result is stored through them at the GEMM's own index.
            var through = chain.Where(id => Ops.Get(node(id).Op) is ViewOp).ToList();
            if (through.Count > 0 && (pool is not null || branch is { Count: > 0 }))
                throw new LoweringException("an epilogue stored through views neither pools nor stores a second value");
            return pool is null
                ? GroupLowering.Lower(name, Node, members, outputs, acc, domain: domain, storedThrough: through.Count > 0 ? through : null)
                : GroupLowering.LowerAccumulated(name, Node, members, root, pool.Permutes, pool.Reduction, acc, domain);
        }

        /// <summary>The epilogue's inputs other than the accumulator, in buffer order (the GEMM step's arguments after x and the weight).</summary>
        public static List<int> Inputs(LoweredGroup lowered, int nodeCount) => lowered.Inputs.Where(i => i != AccumulatorId(nodeCount)).ToList();

        /// <summary>
        /// cuBLASLt's form of the epilogue: bias, then relu (1), gelu (2, erf form) or gelu's tanh form (3), with a residual of the
        /// same shape and type added either last or just before the activation (<c>ResidualFirst</c>: relu(x·wᵀ + bias + residual),
        /// a ResNet block's end, is cuBLASLt's C with beta = 1, which it adds before its activation); a cast to the GEMM's own type
        /// changes nothing, and a last cast to the run's io type is cuBLASLt's store where io is the GEMM's type at run time (ToIo).
        /// (-1, -1, -1, false, false) when the chain is anything else. Bias and residual are indices into
        /// <paramref name="epilogueInputs"/>.
        /// </summary>
        public static (int Activation, int Bias, int Residual, bool ResidualFirst, bool ToIo) CublasForm(Func<int, LoweringNode> node, LoweringNode linear,
            IReadOnlyList<int> chain, IReadOnlyList<int> epilogueInputs)
        {
            int bias = linear.Inputs.Count > 2 ? IndexOf(epilogueInputs, linear.Inputs[2]) : -1;
            int activation = 0, residual = -1, at = 0, end = linear.Id;
            bool residualFirst = false;
            // The epilogue input added to the chain's current end by the add at chain[at], or -1 when it is no residual.
            int ResidualAt(int index)
            {
                if (index >= chain.Count || node(chain[index]).Op != Ops.Add.Name) return -1;
                var add = node(chain[index]);
                int other = add.Inputs[0] == end ? add.Inputs[1] : add.Inputs[0];
                return node(other).Shape.Equals(add.Shape) && node(other).Type == linear.Type && other != end ? IndexOf(epilogueInputs, other) : -1;
            }
            if (ResidualAt(0) is >= 0 and var early && chain.Count > 1 && ActivationCode(node(chain[1]).Op) is > 0 and var after)
            {
                (residual, activation, residualFirst, at) = (early, after, true, 2);
                end = chain[1];
            }
            else
            {
                if (at < chain.Count && ActivationCode(node(chain[at]).Op) is > 0 and var code)
                {
                    activation = code;
                    end = chain[at++];
                }
                if (ResidualAt(at) is >= 0 and var late)
                {
                    residual = late;
                    end = chain[at++];
                }
            }
            // Casts to the GEMM's own type change nothing; a last cast to the run's io type (a model's output) is cuBLASLt's store when
            // io is that type at run time (ToIo: the runtime checks, else the product and the epilogue kernel run).
            while (at < chain.Count && node(chain[at]).Op == Ops.Cast.Name && (node(chain[at]).Type == linear.Type || node(chain[at]).Type == FloatType.Io)) at++;
            var last = chain.Count > 0 ? node(chain[chain.Count - 1]) : linear;
            bool toIo = last.Type == FloatType.Io && linear.Type != FloatType.Io;
            return at == chain.Count && (last.Type == linear.Type || toIo) ? (activation, bias, residual, residualFirst, toIo) : (-1, -1, -1, false, false);
        }

        /// <summary>
        /// cuBLASLt's form of an FP8 product's epilogue (the Fp8 plan's Linear: the bare product of E4M3 codes, float32): first the
        /// product times a one-element value (the dequantize factor sₓ·s_w: cuBLASLt's A scale), then a bias [N], an activation, a
        /// residual of the output's shape in f16 (not after an activation: cuBLASLt adds C before it), and either an f16 result or
        /// the next layer's quantize, a one-element factor then a cast to f8 (cuBLASLt's D scale, E4M3 output). Scale, Bias, Residual
        /// and OutScale are indices into <paramref name="epilogueInputs"/> (-1 where absent); Activation is -1 when the chain is
        /// anything else.
        /// </summary>
        public static (int Activation, int Bias, int Residual, int Scale, int OutScale) CublasFp8Form(Func<int, LoweringNode> node, LoweringNode linear,
            IReadOnlyList<int> chain, IReadOnlyList<int> epilogueInputs)
        {
            var none = (-1, -1, -1, -1, -1);
            int at = 0, end = linear.Id, scale = -1, bias = -1, activation = 0, residual = -1, outScale = -1;
            int Other(LoweringNode binary) => binary.Inputs[0] == end ? binary.Inputs[1] : binary.Inputs[0];
            bool OneElement(int id) => node(id).Shape.All(d => !d.Dynamic && d.Value == 1);
            LoweringNode? Next(string op) => at < chain.Count && node(chain[at]).Op == op && node(chain[at]).Inputs.Contains(end) ? node(chain[at]) : null;
            if (Next(Ops.Mul.Name) is { } dequantize && OneElement(Other(dequantize)))
            {
                scale = IndexOf(epilogueInputs, Other(dequantize));
                end = chain[at++];
            }
            if (Next(Ops.Add.Name) is { } addBias && node(Other(addBias)).Shape.Count == 1 && node(Other(addBias)).Shape[0].Equals(linear.Shape[linear.Shape.Count - 1]))
            {
                bias = IndexOf(epilogueInputs, Other(addBias));
                end = chain[at++];
            }
            if (at < chain.Count && ActivationCode(node(chain[at]).Op) is > 0 and var code)
            {
                activation = code;
                end = chain[at++];
            }
            if (activation == 0 && Next(Ops.Add.Name) is { } add && node(Other(add)).Shape.Equals(add.Shape) && node(Other(add)).Type == FloatType.F16)
            {
                residual = IndexOf(epilogueInputs, Other(add));
                end = chain[at++];
            }
            while (at < chain.Count && node(chain[at]).Op == Ops.Cast.Name && node(chain[at]).Type is FloatType.F16 or FloatType.F32) end = chain[at++];
            if (chain.Count - at == 2 && Next(Ops.Mul.Name) is { } requantize && OneElement(Other(requantize))
                && node(chain[at + 1]).Op == Ops.Cast.Name && node(chain[at + 1]).Type == FloatType.F8)
            {
                outScale = IndexOf(epilogueInputs, Other(requantize));
                at += 2;
            }
            var last = chain.Count > 0 ? node(chain[chain.Count - 1]) : linear;
            bool stored = outScale >= 0 ? last.Type == FloatType.F8 : last.Type == FloatType.F16;
            if (at != chain.Count || !stored || scale < 0 || (bias < 0 && activation != 0)) return none;
            return (activation, bias, residual, scale, outScale);
        }

        /// <summary>cuBLASLt's activation code of an operator: relu 1, gelu (erf) 2, gelu's tanh form 3; 0 for anything else.</summary>
        private static int ActivationCode(string op) => op switch { "Relu" => 1, "Gelu" => 2, "GeluTanh" => 3, _ => 0 };

        private static int IndexOf(IReadOnlyList<int> list, int value)
        {
            for (int i = 0; i < list.Count; i++)
                if (list[i] == value) return i;
            return -1;
        }
    }
}
