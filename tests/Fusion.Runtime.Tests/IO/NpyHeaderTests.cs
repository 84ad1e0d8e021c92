using Fusion.IO;
using static Fusion.Runtime.Tests.IO.RawNpy;

namespace Fusion.Runtime.Tests.IO;

/// <summary>The strict header parser: the spellings numpy (and hand-written files) use, and malformed dicts rejected with the rule.</summary>
public sealed class NpyHeaderTests : TempDirectoryTest
{
    private string WriteWithHeader(string header, int dataBytes) => Dir.Write($"{Guid.NewGuid():N}.npy", Build(1, header, new byte[dataBytes]));

    [Theory]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", new[] { 2, 3 })]
    [InlineData("{'descr':'<f4','fortran_order':False,'shape':(2,3)}", new[] { 2, 3 })]
    [InlineData("  {\"descr\": \"<f4\", \"shape\": (6,), \"fortran_order\": False}  \n", new[] { 6 })]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (), }", new int[0])]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': ( ), }", new int[0])]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (3,) , }", new[] { 3 })]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 3L), }", new[] { 2, 3 })]
    [InlineData("{'descr': '<f4',\n 'fortran_order': False,\n 'shape': (1, 2, 3),\n}", new[] { 1, 2, 3 })]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 5), }", new[] { 0, 5 })]
    public void AcceptedHeaders(string header, int[] shape)
    {
        long count = new Shape(shape).ElementCount;
        using var t = NpyFile.Read(WriteWithHeader(header, (int)count * 4));
        Assert.Equal(new Shape(shape), t.Shape);
    }

    [Theory]
    [InlineData("", "must be a Python dict literal")]
    [InlineData("['descr']", "must be a Python dict literal")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (1,)", "header ends in the middle of the dict")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), } x", "unexpected 'x' after the header dict")]
    [InlineData("{'descr': '<f4' 'fortran_order': False, 'shape': (1,)}", "expected ',' or '}'")]
    [InlineData("{'descr' '<f4', 'fortran_order': False, 'shape': (1,)}", "expected ':'")]
    [InlineData("{'descr': '<f4, 'fortran_order': False, 'shape': (1,)}", "expected ',' or '}'")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'shape': (1,)}", "header key 'shape' appears more than once")]
    [InlineData("{'descr': '<f4', 'fortran_order': False}", "header keys must be exactly descr, fortran_order and shape")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'extra': 0}", "header keys must be exactly")]
    [InlineData("{descr: '<f4', 'fortran_order': False, 'shape': (1,)}", "keys must be quoted strings")]
    [InlineData("{'descr': '<f4', 'fortran_order': false, 'shape': (1,)}", "unsupported name 'false'")]
    [InlineData("{'descr': '<f4', 'fortran_order': 0, 'shape': (1,)}", "fortran_order must be True or False")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': [1]}", "shape must be a tuple of integers")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (1)}", "shape must be a tuple of integers")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (1,,)}", "unexpected ','")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (1.5,)}", "expected ',' or ')', found '.'")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': ('1',)}", "shape dimension 0 must be an integer")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}", "integer 99999999999999999999 does not fit in 64 bits")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (-,)}", "'-' must be followed by digits")]
    [InlineData("{'descr': '<\\x66\\x34', 'fortran_order': False, 'shape': (1,)}", "may not contain escapes")]
    [InlineData("{'descr': 7, 'fortran_order': False, 'shape': (1,)}", "descr must be a string")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': {'a': 1}}", "nested dicts are not supported")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': ((((((((((1,),),),),),),),),),)}", "nests deeper than 8 levels")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (__import__,)}", "unsupported name '__import__'")]
    public void RejectedHeaders(string header, string rule)
    {
        var path = WriteWithHeader(header, 4);
        var e = Assert.Throws<NpyFormatException>(() => NpyFile.Read(path).Dispose());
        Assert.StartsWith(path + ": ", e.Message, StringComparison.Ordinal);
        Assert.Contains(rule, e.Message, StringComparison.Ordinal);
    }
}
