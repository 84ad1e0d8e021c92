using Fusion.Compiler;
using CDim = Fusion.Compiler.Dim;

namespace Fusion.Runtime.Tests.Compiler;

/// <summary>
/// A store rounds to its buffer's type, so a rounding to that same type just before it is printed away on the GPU
/// (<see cref="LoopAnalysis.StoresRoundOnce"/>): the store takes the unrounded value, the rounding stays for the instructions that read
/// it, and a rounding to another type is kept. Results are checked on the GPU (Int8RoundingGpuTests); here, what is printed.
/// </summary>
public sealed class StoreRoundingTests
{
    private static readonly CDim N = CDim.Batch();

    private static AttributeSet To(FloatType type) => AttributeSet.Of(OpAttribute.Int("to", (long)type));

    [Fact]
    public void AStoreOfARoundingToItsOwnTypeTakesTheUnroundedValue()
    {
        var g = new LoweringGraph();
        int x = g.Input(FloatType.F32, N, CDim.Static(40));
        int three = g.Const(3.0), half = g.Const(0.5);
        int scaled = g.Op(Ops.Mul, [x, three]);
        int code = g.Op(Ops.Cast, [scaled], To(FloatType.I8), FloatType.I8);
        int back = g.Op(Ops.Mul, [code, half], type: FloatType.F32);
        var kernel = g.Lower("round_once", [three, half, scaled, code, back], back, code).Kernel;

        var rewritten = LoopAnalysis.StoresRoundOnce(kernel);
        var round = kernel.Body.OfType<OpInstr>().Single(o => o.Op == ScalarOp.RoundI8);
        var stores = rewritten.Body.OfType<StoreInstr>().ToList();
        var codeStore = stores.Single(st => rewritten.Buffers[st.Buffer].Type == FloatType.I8);
        Assert.Equal(round.Args[0], codeStore.Value);
        // The float output still reads the rounding, and every other instruction is as lowered.
        var floatStore = stores.Single(st => rewritten.Buffers[st.Buffer].Type == FloatType.F32);
        Assert.Contains(round.Id, ((OpInstr)rewritten.Body[floatStore.Value]).Args);
        Assert.Equal(kernel.Body.Count, rewritten.Body.Count);
        Assert.Equal(kernel.Body.Where(i => i is not StoreInstr), rewritten.Body.Where(i => i is not StoreInstr));

        // Printed, the rounding is still there for the float output.
        Assert.Contains("fusion_round_i8(", CudaKernelPrinter.Print(kernel).Source);
    }

    [Fact]
    public void ARoundingToAnotherTypeThanTheBuffersIsKept()
    {
        // A code rounded to int8 and stored as f16 (a fake quantize) must keep its rounding: the f16 store alone would not round to a code.
        var g = new LoweringGraph();
        int x = g.Input(FloatType.F16, N, CDim.Static(24));
        int code = g.Op(Ops.Cast, [x], To(FloatType.I8), FloatType.I8);
        int stored = g.Op(Ops.Cast, [code], To(FloatType.F16), FloatType.F16);
        var kernel = g.Lower("fake_quantize", [code, stored], stored).Kernel;
        var rewritten = LoopAnalysis.StoresRoundOnce(kernel);
        var store = rewritten.Body.OfType<StoreInstr>().Single();
        var value = rewritten.Body[store.Value];
        // Whatever the lowering made of the f16 cast, the int8 rounding is still on the stored value's path.
        Assert.True(Reaches(rewritten, store.Value, ScalarOp.RoundI8), LoopIrText.Print(rewritten));
        Assert.IsNotType<LoadInstr>(value);
    }

    [Fact]
    public void AKernelWithoutSuchStoresIsReturnedAsItIs()
    {
        var g = new LoweringGraph();
        int x = g.Input(FloatType.F32, N, CDim.Static(8));
        int two = g.Const(2.0);
        int y = g.Op(Ops.Mul, [x, two]);
        var kernel = g.Lower("plain", [two, y], y).Kernel;
        Assert.Same(kernel, LoopAnalysis.StoresRoundOnce(kernel));
    }

    private static bool Reaches(LoopKernel k, int id, ScalarOp op) => k.Body[id] switch
    {
        OpInstr o when o.Op == op => true,
        OpInstr o => o.Args.Any(a => Reaches(k, a, op)),
        _ => false,
    };
}
