using System.Globalization;
using System.Text.Json;
using Fusion.IO;
using Fusion.Run.Tests.Models;
using Fusion.Testing;
using SwinTiny;
using SwinTiny.Model;

namespace Fusion.Run.Tests;

/// <summary>
/// fusion-run convert on real files in temporary folders with fresh random weights: what it writes and prints, that the
/// converted file loads and runs like the FP32 one, and every refusal (its line and exit code: 2 command line, 3 input file).
/// </summary>
public class ConvertTests
{
    /// <summary>A model with fresh random weights, written as an FP32 safetensors file (with one metadata entry of its own).</summary>
    private static T WriteFloat32<T>(string path, int seed) where T : IFusedModel, new()
    {
        var model = new T();
        RandomWeights.Initialize(model, seed);
        SafetensorsWriter.Write(path, model.NamedParameters().Select(p => SafetensorsEntry.FromParameter(p.Key, p.Parameter)),
            new Dictionary<string, string> { ["source"] = "ConvertTests" });
        return model;
    }

    private static float[] RoundedToHalf(float[] values) => values.Select(v => (float)(Half)v).ToArray();

    [Fact]
    public void ConvertedFileRoundTrips_Fp16Rounded_KeptBitExact_PaddedCroppedBack()
    {
        using var folder = new TempFolder();
        string input = folder.File("odd.safetensors"), output = folder.File("odd-f16.safetensors");
        int seed = TestData.NewSeed();
        var original = WriteFloat32<OddMlp>(input, seed);

        var run = ToolRun.Of("convert", input, output, "--keep-f32", "norm.*");
        Assert.True(run.ExitCode == 0, run.Error);
        Assert.Equal("", run.Error);
        var lines = run.OutputLines;
        Assert.StartsWith("fusion-run ", lines[0]);
        Assert.Contains($"input:       {input}", lines);
        Assert.Contains($"output:      {output}", lines);
        Assert.Contains("converted:   4 tensors F32 → F16", lines);
        Assert.Contains("kept f32:    2 tensors", lines);
        Assert.Contains("norm.weight", lines);
        Assert.Contains("norm.bias", lines);
        Assert.Contains("padded:      2 GEMM weights to multiples of 8, logical → stored", lines);
        Assert.Contains("fc1.weight [45, 30] → [48, 32]", lines);
        Assert.Contains("fc2.weight [30, 45] → [32, 48]", lines);
        long inBytes = new FileInfo(input).Length, outBytes = new FileInfo(output).Length;
        Assert.Contains(lines, l => l.StartsWith(string.Create(CultureInfo.InvariantCulture, $"size:        {inBytes:N0} → {outBytes:N0} bytes ("), StringComparison.Ordinal)
            && l.EndsWith(string.Create(CultureInfo.InvariantCulture, $"ratio {(double)outBytes / inBytes:F3}"), StringComparison.Ordinal));
        Assert.Single(lines, l => l.StartsWith("time:        ", StringComparison.Ordinal) && l.EndsWith(" ms", StringComparison.Ordinal));

        using (var file = SafetensorsFile.Open(output))
        {
            Assert.Equal(new Shape(48, 32), file["fc1.weight"].Shape);
            Assert.Equal(new Shape(32, 48), file["fc2.weight"].Shape);
            Assert.Equal(new Shape(45), file["fc1.bias"].Shape); // 1-D: never padded
            Assert.Equal(SafetensorsDType.F16, file["fc1.weight"].DType);
            Assert.Equal(SafetensorsDType.F32, file["norm.weight"].DType);
            Assert.Equal("f16", file.Metadata["fusion.precision"]);
            Assert.Equal("norm.weight,norm.bias", file.Metadata["fusion.keep_f32"]);
            Assert.Equal("ConvertTests", file.Metadata["source"]);
            var logical = LogicalShapes.Read(output, file.Metadata);
            Assert.Equal([45, 30], logical["fc1.weight"]);
            Assert.Equal([30, 45], logical["fc2.weight"]);
            var stored = file.ReadFloat32("fc1.weight");
            for (int r = 0; r < 48; r++)
            for (int c = 0; c < 32; c++)
                if (r >= 45 || c >= 30) Assert.Equal(0f, stored[r * 32 + c]);
        }

        var loaded = new OddMlp();
        var report = loaded.LoadWeights(output);
        Assert.Equal(SafetensorsDType.F16, report.Loaded.Single(l => l.Key == "fc2.weight").StoredAs);
        foreach (var ((key, want), (_, got)) in original.NamedParameters().Zip(loaded.NamedParameters()))
        {
            var values = want.Value.ToFloatArray();
            var expected = key.StartsWith("norm.", StringComparison.Ordinal) ? values : RoundedToHalf(values);
            // Bit patterns: the kept tensors are the FP32 originals exactly, the others their FP16 rounding.
            Assert.True(expected.Select(BitConverter.SingleToInt32Bits).SequenceEqual(got.Value.ToFloatArray().Select(BitConverter.SingleToInt32Bits)),
                $"{key} (seed {seed})");
        }
    }

    [Fact]
    public void NoPadKeepsTheShapes()
    {
        using var folder = new TempFolder();
        string input = folder.File("odd.safetensors"), output = folder.File("odd-f16.safetensors");
        WriteFloat32<OddMlp>(input, TestData.NewSeed());

        var run = ToolRun.Of("convert", input, output, "--no-pad");
        Assert.True(run.ExitCode == 0, run.Error);
        Assert.Contains("padded:      off (--no-pad)", run.OutputLines);
        Assert.Contains("kept f32:    none", run.OutputLines);
        Assert.Contains("converted:   6 tensors F32 → F16", run.OutputLines);
        using var file = SafetensorsFile.Open(output);
        Assert.Equal(new Shape(45, 30), file["fc1.weight"].Shape);
        Assert.False(file.Metadata.ContainsKey(LogicalShapes.MetadataKey));
        Assert.All(file.Tensors, t => Assert.Equal(SafetensorsDType.F16, t.DType));
    }

    /// <summary>
    /// The converted file of swin-blocks (aligned weights) and of OddMlp (padded weights) runs through the tool, and through
    /// the model API gives (a) the output of the same model holding the FP16-rounded weights in memory (the file and the
    /// loader add nothing: the same float32 weights and arithmetic; 1e-6 relative only leaves room for a reordered sum), and (b) the FP32 file's output within FP16 weight rounding: a relative weight error of
    /// at most 2⁻¹¹ ≈ 4.9e-4 per weight moves the output by a relative L2 of about that size; the bound is 2e-3.
    /// </summary>
    [Theory]
    [InlineData("swin-blocks")]
    [InlineData("odd-mlp")]
    public void ConvertedFileRunsLikeTheFp32File(string which)
    {
        using var folder = new TempFolder();
        string fp32 = folder.File("model.safetensors"), fp16 = folder.File("model-f16.safetensors");
        int seed = TestData.NewSeed();
        Func<IFusedModel> make = which == "swin-blocks" ? () => new SwinStage1Blocks() : () => new OddMlp();
        string[] model = which == "swin-blocks" ? ["swin-blocks"] : [typeof(OddMlp).FullName!, "--assembly", typeof(OddMlp).Assembly.Location];
        RefTensor x;
        if (which == "swin-blocks")
        {
            WriteFloat32<SwinStage1Blocks>(fp32, seed);
            x = TestData.Random(seed + 1, 1, SwinStage1Blocks.Resolution, SwinStage1Blocks.Resolution, SwinStage1Blocks.Channels);
        }
        else
        {
            WriteFloat32<OddMlp>(fp32, seed);
            x = TestData.Random(seed + 1, 5, OddMlp.Width);
        }

        var convert = ToolRun.Of("convert", fp32, fp16);
        Assert.True(convert.ExitCode == 0, convert.Error);
        Assert.Contains(convert.OutputLines, l => l.StartsWith(which == "swin-blocks" ? "padded:      none" : "padded:      2 GEMM weights", StringComparison.Ordinal));
        foreach (var weights in new[] { fp32, fp16 })
        {
            var run = ToolRun.Of([.. model, "--device", "cpu", "--weights", weights, "--warmup", "0", "--iters", "1"]);
            Assert.True(run.ExitCode == 0, run.Error);
            Assert.Contains(run.OutputLines, l => l.StartsWith($"weights:     {weights}: ", StringComparison.Ordinal));
        }

        var fromFp32 = make();
        fromFp32.LoadWeights(fp32);
        var fromFp16 = make();
        fromFp16.LoadWeights(fp16);
        var rounded = make();
        foreach (var ((key, source), (_, target)) in fromFp32.NamedParameters().Zip(rounded.NamedParameters()))
            target.Load(RoundedToHalf(source.Value.ToFloatArray()), key);

        using var input = x.ToCpu();
        using var reference = fromFp32.Run([input]);
        using var converted = fromFp16.Run([input]);
        using var inMemory = rounded.Run([input]);
        var expected = RefTensor.FromCpu((CpuTensor)reference);
        Tolerance.AssertClose(converted, RefTensor.FromCpu((CpuTensor)inMemory), 1e-7, 1e-6, $"{which}: converted file vs FP16-rounded weights in memory (seed {seed})");
        double error = Tolerance.RelativeL2(converted, expected);
        Assert.True(error < 2e-3, $"{which}: relative L2 {error:E2} between the converted and the FP32 file's outputs (seed {seed})");
        Assert.True(error > 0, $"{which}: the converted weights should differ from the FP32 ones (seed {seed})");
    }

    [Fact]
    public void JsonFileHasEveryDocumentedField()
    {
        using var folder = new TempFolder();
        string input = folder.File("odd.safetensors"), output = folder.File("out/odd-f16.safetensors"), json = folder.File("reports/convert.json");
        WriteFloat32<OddMlp>(input, TestData.NewSeed());

        var run = ToolRun.Of("convert", input, output, "--keep-f32", "norm.bias", "--keep-f32", "fc2.*", "--json", json);
        Assert.True(run.ExitCode == 0, run.Error);
        Assert.Contains($"json:        {json}", run.OutputLines);

        using var document = JsonDocument.Parse(File.ReadAllText(json));
        var root = document.RootElement;
        Assert.Equal(1, root.GetProperty("schema").GetInt32());
        Assert.Equal("convert", root.GetProperty("command").GetString());
        Assert.Equal("fusion-run", root.GetProperty("tool").GetProperty("name").GetString());
        Assert.False(string.IsNullOrEmpty(root.GetProperty("tool").GetProperty("version").GetString()));
        var options = root.GetProperty("options");
        Assert.Equal(input, options.GetProperty("input").GetString());
        Assert.Equal(output, options.GetProperty("output").GetString());
        Assert.Equal(["norm.bias", "fc2.*"], options.GetProperty("keepF32").EnumerateArray().Select(e => e.GetString()));
        Assert.True(options.GetProperty("pad").GetBoolean());
        Assert.False(options.GetProperty("overwrite").GetBoolean());
        Assert.Equal(["fc1.weight", "fc1.bias", "norm.weight"], root.GetProperty("converted").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(["fc2.weight", "fc2.bias", "norm.bias"], root.GetProperty("keptF32").EnumerateArray().Select(e => e.GetString()));
        Assert.Empty(root.GetProperty("unchanged").EnumerateArray());
        var padded = Assert.Single(root.GetProperty("padded").EnumerateArray()); // fc2.weight is kept, so not padded
        Assert.Equal("fc1.weight", padded.GetProperty("name").GetString());
        Assert.Equal([45, 30], padded.GetProperty("logical").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal([48, 32], padded.GetProperty("stored").EnumerateArray().Select(e => e.GetInt32()));
        long inBytes = root.GetProperty("inputBytes").GetInt64(), outBytes = root.GetProperty("outputBytes").GetInt64();
        Assert.Equal(new FileInfo(input).Length, inBytes);
        Assert.Equal(new FileInfo(output).Length, outBytes);
        Assert.Equal((double)outBytes / inBytes, root.GetProperty("ratio").GetDouble(), 12);
        Assert.True(root.GetProperty("ms").GetDouble() > 0);
    }

    [Fact]
    public void TensorsOfOtherDTypesAreCopiedAndListed()
    {
        using var folder = new TempFolder();
        string input = folder.File("mixed.safetensors"), output = folder.File("mixed-f16.safetensors");
        var index = Enumerable.Range(0, 6).SelectMany(BitConverter.GetBytes).ToArray();
        SafetensorsWriter.Write(input, [
            SafetensorsEntry.FromFloat32("w.weight", [1f, 2f, 3f, 4f], [2, 2], SafetensorsDType.F32),
            new SafetensorsEntry("index", SafetensorsDType.I32, [6], index),
        ]);
        var run = ToolRun.Of("convert", input, output);
        Assert.True(run.ExitCode == 0, run.Error);
        Assert.Contains("unchanged:   1 tensor of other dtypes, copied", run.OutputLines);
        Assert.Contains("index", run.OutputLines);
        using var file = SafetensorsFile.Open(output);
        Assert.Equal(index, file.ReadBytes("index"));
        Assert.Equal(new Shape(8, 8), file["w.weight"].Shape);
    }

    [Fact]
    public void KeepListEntryThatMatchesNothing()
    {
        using var folder = new TempFolder();
        string input = folder.File("odd.safetensors"), output = folder.File("out.safetensors");
        WriteFloat32<OddMlp>(input, TestData.NewSeed());
        var run = ToolRun.Of("convert", input, output, "--keep-f32", "norm.*", "--keep-f32", "head.*");
        Assert.Equal(3, run.ExitCode);
        Assert.Equal($"error: {input}: keep-list entry 'head.*' matches no tensor of the file", run.Error.Trim());
        Assert.False(File.Exists(output));
    }

    [Theory]
    [InlineData("a*b", "--keep-f32 a*b: '*' is only understood at the end (a prefix)")]
    [InlineData("*", "--keep-f32 '*': give a tensor name or a prefix ending in '*'")]
    [InlineData("", "--keep-f32 '': give a tensor name or a prefix ending in '*'")]
    public void KeepListEntryThatIsNotANameOrPrefix(string entry, string message)
    {
        var run = ToolRun.Of("convert", "in.safetensors", "out.safetensors", "--keep-f32", entry);
        Assert.Equal(2, run.ExitCode);
        Assert.Equal("error: " + message, run.Error.Trim());
    }

    /// <summary>A file of F16 tensors only (from elsewhere): nothing to convert.</summary>
    [Fact]
    public void AlreadyFp16Input()
    {
        using var folder = new TempFolder();
        string input = folder.File("half.safetensors"), output = folder.File("out.safetensors");
        SafetensorsWriter.Write(input, [SafetensorsEntry.FromFloat32("w.weight", [1f, 2f, 3f, 4f], [2, 2], SafetensorsDType.F16)]);
        var run = ToolRun.Of("convert", input, output);
        Assert.Equal(3, run.ExitCode);
        Assert.Equal($"error: {input}: already FP16: no F32 tensor to convert (dtypes: F16)", run.Error.Trim());
        Assert.False(File.Exists(output));
    }

    /// <summary>
    /// A converted file still holds its kept FP32 tensors, but converting it again would undo the keep-list and replace the
    /// recorded logical shapes (fc1's here, with fc2's), so it is refused like any FP16 file.
    /// </summary>
    [Fact]
    public void ConvertedFileIsNotConvertedAgain()
    {
        using var folder = new TempFolder();
        string input = folder.File("odd.safetensors"), once = folder.File("once.safetensors"), twice = folder.File("twice.safetensors");
        WriteFloat32<OddMlp>(input, TestData.NewSeed());
        var first = ToolRun.Of("convert", input, once, "--keep-f32", "fc2.*");
        Assert.True(first.ExitCode == 0, first.Error);
        var run = ToolRun.Of("convert", once, twice);
        Assert.Equal(3, run.ExitCode);
        Assert.Equal($"error: {once}: already FP16: converted before (metadata fusion.precision = f16, kept FP32: fc2.weight,fc2.bias); " +
            "convert the original FP32 file instead", run.Error.Trim());
        Assert.False(File.Exists(twice));
        new OddMlp().LoadWeights(once); // the first conversion stays loadable
    }

    /// <summary>A file the loader would reject: the line names the file and the rule, nothing is written.</summary>
    [Theory]
    [InlineData("truncated", "bytes of data but the data section holds")]
    [InlineData("garbage", "header length")]
    [InlineData("short", "file is 3 bytes, shorter than the 8-byte header length")]
    [InlineData("not-json", "header is not valid JSON")]
    [InlineData("folder", "a folder, not a safetensors file")]
    public void MalformedInput(string kind, string rule)
    {
        using var folder = new TempFolder();
        string input = folder.File("bad.safetensors"), output = folder.File("out.safetensors");
        WriteFloat32<OddMlp>(input, TestData.NewSeed());
        var bytes = File.ReadAllBytes(input);
        switch (kind)
        {
            case "truncated": File.WriteAllBytes(input, bytes[..^5]); break;
            case "garbage": File.WriteAllBytes(input, Enumerable.Range(0, 4096).Select(_ => (byte)Random.Shared.Next(256)).Prepend((byte)0xff).ToArray()); break;
            case "short": File.WriteAllBytes(input, [1, 2, 3]); break;
            case "not-json": File.WriteAllBytes(input, [.. BitConverter.GetBytes(8L), .. "{nope:1}"u8]); break;
            default:
                File.Delete(input);
                Directory.CreateDirectory(input);
                break;
        }
        var run = ToolRun.Of("convert", input, output);
        Assert.Equal(3, run.ExitCode);
        Assert.StartsWith($"error: {input}: ", run.Error);
        Assert.Contains(rule, run.Error);
        Assert.Single(run.Error.Trim().Split('\n'));
        Assert.False(File.Exists(output));
    }

    [Fact]
    public void MissingInput()
    {
        using var folder = new TempFolder();
        var run = ToolRun.Of("convert", folder.File("none.safetensors"), folder.File("out.safetensors"));
        Assert.Equal(3, run.ExitCode);
        Assert.Equal($"error: {folder.File("none.safetensors")}: file not found", run.Error.Trim());
    }

    /// <summary>The same file under the same name, another spelling of it, or a symbolic link to it: refused (2), the input untouched.</summary>
    [Theory]
    [InlineData("same")]
    [InlineData("dotted")]
    [InlineData("link")]
    public void OutputThatIsTheInputIsRefused(string spelling)
    {
        using var folder = new TempFolder();
        var input = folder.File("model.safetensors");
        WriteFloat32<OddMlp>(input, TestData.NewSeed());
        var before = File.ReadAllBytes(input);
        string output = spelling switch
        {
            "same" => input,
            "dotted" => Path.Combine(folder.Path, ".", "sub", "..", "model.safetensors"),
            _ => File.CreateSymbolicLink(folder.File("link.safetensors"), input).FullName,
        };
        var run = ToolRun.Of("convert", input, output, "--overwrite");
        Assert.Equal(2, run.ExitCode);
        Assert.Equal($"error: {output}: the output is the input file; the converted file never replaces its input (choose another OUTPUT)", run.Error.Trim());
        Assert.Equal(before, File.ReadAllBytes(input));
    }

    [Fact]
    public void ExistingOutputNeedsOverwrite()
    {
        using var folder = new TempFolder();
        string input = folder.File("model.safetensors"), output = folder.File("out.safetensors");
        WriteFloat32<OddMlp>(input, TestData.NewSeed());
        byte[] old = [1, 2, 3, 4, 5];
        File.WriteAllBytes(output, old);

        var run = ToolRun.Of("convert", input, output);
        Assert.Equal(2, run.ExitCode);
        Assert.Equal($"error: {output}: file exists (pass --overwrite to replace it)", run.Error.Trim());
        Assert.Equal(old, File.ReadAllBytes(output));
        Assert.Empty(Directory.GetFiles(folder.Path, "*.tmp"));

        var again = ToolRun.Of("convert", input, output, "--overwrite");
        Assert.True(again.ExitCode == 0, again.Error);
        using var file = SafetensorsFile.Open(output);
        Assert.Equal("f16", file.Metadata["fusion.precision"]);
    }

    [Fact]
    public void JsonReportOverAFileOfTheConversionIsRefused()
    {
        using var folder = new TempFolder();
        string input = folder.File("model.safetensors"), output = folder.File("out.safetensors");
        WriteFloat32<OddMlp>(input, TestData.NewSeed());
        var before = File.ReadAllBytes(input);
        var run = ToolRun.Of("convert", input, output, "--json", input);
        Assert.Equal(2, run.ExitCode);
        Assert.Equal($"error: --json {input}: the report would overwrite INPUT; choose another file", run.Error.Trim());
        Assert.Equal(before, File.ReadAllBytes(input));
        Assert.False(File.Exists(output));
    }

    [Fact]
    public void HelpShowsBothUsages()
    {
        var root = ToolRun.Of("--help");
        Assert.Equal(0, root.ExitCode);
        Assert.Contains("fusion-run MODEL [options]", root.Output);
        Assert.Contains("fusion-run convert INPUT OUTPUT [options]", root.Output);
        Assert.Contains("convert <INPUT> <OUTPUT>", root.Output);

        var convert = ToolRun.Of("convert", "--help");
        Assert.Equal(0, convert.ExitCode);
        Assert.Contains(" convert <INPUT> <OUTPUT> [options]", convert.Output);
        Assert.DoesNotContain("<MODEL>", convert.Output);
        foreach (var option in new[] { "--keep-f32", "--no-pad", "--overwrite", "--json" })
            Assert.Contains(option, convert.Output);
        Assert.DoesNotContain("--weights", convert.Output);
    }

    [Theory]
    [InlineData("'convert' must be the first word", "swin-blocks", "convert", "a.safetensors", "b.safetensors")]
    [InlineData("'convert' must be the first word", "--device", "cpu", "convert", "a.safetensors", "b.safetensors")]
    [InlineData("unknown option '--bogus' (try fusion-run convert --help)", "convert", "--bogus", "a.safetensors", "b.safetensors")]
    [InlineData("unknown option '--bogus' (try fusion-run convert --help)", "convert", "a.safetensors", "b.safetensors", "--bogus")]
    [InlineData("Required argument missing", "convert", "a.safetensors")]
    [InlineData("Unrecognized command or argument 'c'", "convert", "a", "b", "c")]
    public void BadConvertCommandLines(string message, params string[] args)
    {
        var run = ToolRun.Of(args);
        Assert.Equal(2, run.ExitCode);
        Assert.StartsWith("error: ", run.Error);
        Assert.Contains(message, run.Error);
        Assert.Equal("", run.Output);
    }
}
