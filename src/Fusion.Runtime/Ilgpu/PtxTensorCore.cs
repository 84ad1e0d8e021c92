using ILGPU.Backends;
using ILGPU.Backends.PTX;
using ILGPU.IR;
using ILGPU.IR.Intrinsics;
using ILGPU.IR.Types;
using ILGPU.IR.Values;
using Register = ILGPU.Backends.RegisterAllocator<ILGPU.Backends.PTX.PTXRegisterKind>.Register;
using CompoundRegister = ILGPU.Backends.RegisterAllocator<ILGPU.Backends.PTX.PTXRegisterKind>.CompoundRegister;
using PrimitiveRegister = ILGPU.Backends.RegisterAllocator<ILGPU.Backends.PTX.PTXRegisterKind>.PrimitiveRegister;

namespace Fusion.Ilgpu;

/// <summary>
/// The PTX of <see cref="TensorCore"/>'s methods: ILGPU code generators (registered on every compiler context) that write each as
/// its one instruction on the call's own registers, so an mma's accumulators stay in registers across the K loop. (ILGPU's
/// CudaAsm passes operands through memory: a local depot with a store and a load around each instruction.) A shared-memory
/// address ILGPU holds as a generic pointer is converted to the shared window first; one it knows is shared is used as it is.
/// </summary>
internal static class PtxTensorCore
{
    /// <summary>Makes the compiler behind <paramref name="intrinsics"/> write these instructions for TensorCore's methods.</summary>
    public static void Register(IntrinsicImplementationManager intrinsics)
    {
        foreach (var name in new[] { nameof(TensorCore.Mma), nameof(TensorCore.MmaS8), nameof(TensorCore.LoadMatrix4), nameof(TensorCore.LoadMatrix4Transposed), nameof(TensorCore.CopyAsync16), nameof(TensorCore.Commit),
                     nameof(TensorCore.WaitAll), nameof(TensorCore.WaitAllButOne) })
        {
            intrinsics.RegisterMethod(typeof(TensorCore).GetMethod(name)!,
                new PTXIntrinsic(typeof(PtxTensorCore), name, IntrinsicImplementationMode.GenerateCode));
        }
    }

    public static void Mma(PTXBackend backend, PTXCodeGenerator code, Value value) => MmaSync(code, value, "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32");

    public static void MmaS8(PTXBackend backend, PTXCodeGenerator code, Value value) => MmaSync(code, value, "mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32");

    /// <summary>One mma.sync: d (four accumulators) = a (four fragment registers) · (b0, b1) + c, all on the call's registers.</summary>
    private static void MmaSync(PTXCodeGenerator code, Value value, string instruction)
    {
        var call = (MethodCall)value;
        var c = Children(code.Load(call[0]), 4);
        var a = Children(code.Load(call[1]), 4);
        var b = new[] { code.LoadPrimitive(call[2]), code.LoadPrimitive(call[3]) };
        var d = Children(code.Allocate(call), 4);
        using var command = code.BeginCommand(instruction);
        command.AppendVectorArgument(d);
        command.AppendVectorArgument(a);
        command.AppendVectorArgument(b);
        command.AppendVectorArgument(c);
    }

    public static void LoadMatrix4(PTXBackend backend, PTXCodeGenerator code, Value value) => LoadMatrix(code, value, "ldmatrix.sync.aligned.m8n8.x4.shared.b16");

    public static void LoadMatrix4Transposed(PTXBackend backend, PTXCodeGenerator code, Value value) => LoadMatrix(code, value, "ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16");

    private static void LoadMatrix(PTXCodeGenerator code, Value value, string instruction)
    {
        var call = (MethodCall)value;
        var d = Children(code.Allocate(call), 4);
        code.Builder.Append("\t{\n");
        string address = Address(code, call[0], MemoryAddressSpace.Shared, "%fusion_shared");
        using (var command = code.BeginCommand(instruction))
        {
            command.AppendVectorArgument(d);
            command.AppendRawString($", [{address}]");
        }
        code.Builder.Append("\t}\n");
    }

    public static void CopyAsync16(PTXBackend backend, PTXCodeGenerator code, Value value)
    {
        var call = (MethodCall)value;
        var inside = code.LoadPrimitive(call[2]);
        code.Builder.Append("\t{\n");
        string target = Address(code, call[0], MemoryAddressSpace.Shared, "%fusion_shared");
        string source = Address(code, call[1], MemoryAddressSpace.Global, "%fusion_global");
        // The source size is 16 where the chunk is inside the matrix, else 0: cp.async then writes 16 zero bytes and reads nothing.
        string bytes = "%fusion_n";
        if (inside is RegisterAllocator<PTXRegisterKind>.ConstantRegister constant) bytes = constant.Value.Int1Value ? "16" : "0";
        else code.Builder.Append("\t.reg .b32 %fusion_n;\n\tselp.b32 %fusion_n, 16, 0, ").Append(Name(code, inside)).Append(";\n");
        code.Builder.Append("\tcp.async.cg.shared.global [").Append(target).Append("], [").Append(source).Append("], 16, ").Append(bytes).Append(";\n");
        code.Builder.Append("\t}\n");
    }

    public static void Commit(PTXBackend backend, PTXCodeGenerator code, Value value) => code.Builder.Append("\tcp.async.commit_group;\n");

    public static void WaitAll(PTXBackend backend, PTXCodeGenerator code, Value value) => code.Builder.Append("\tcp.async.wait_group 0;\n");

    public static void WaitAllButOne(PTXBackend backend, PTXCodeGenerator code, Value value) => code.Builder.Append("\tcp.async.wait_group 1;\n");

    /// <summary>
    /// <paramref name="pointer"/> as an address in <paramref name="space"/>, inside the PTX scope the caller has opened: its own
    /// register when ILGPU's type says it is one already, else <paramref name="scratch"/>, declared in that scope and converted
    /// from the generic address (cvta.to).
    /// </summary>
    private static string Address(PTXCodeGenerator code, Value pointer, MemoryAddressSpace space, string scratch)
    {
        string name = Name(code, code.LoadPrimitive(pointer));
        if (((PointerType)pointer.Type).AddressSpace == space) return name;
        code.Builder.Append($"\t.reg .b64 {scratch};\n");
        code.Builder.Append($"\tcvta.to.{(space == MemoryAddressSpace.Shared ? "shared" : "global")}.u64 {scratch}, {name};\n");
        return scratch;
    }

    /// <summary>A register's PTX name, "%r12".</summary>
    internal static string Name(PTXCodeGenerator code, PrimitiveRegister register)
    {
        var text = new System.Text.StringBuilder();
        using (var emitter = new PTXCodeGenerator.CommandEmitter(text, "", "")) emitter.AppendArgument(register);
        return text.ToString().Trim();
    }

    private static PrimitiveRegister[] Children(Register register, int count) => ((CompoundRegister)register).SliceAs<PrimitiveRegister>(0, count);
}
