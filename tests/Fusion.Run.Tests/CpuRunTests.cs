using System.Globalization;
using System.Text.Json;
using Fusion.IO;

namespace Fusion.Run.Tests;

/// <summary>The Swin blocks end to end on the CPU through the tool: printed lines, JSON file, profile table.</summary>
public class CpuRunTests
{
    [Fact]
    public void SwinBlocksRunPrintsEveryStepAndTheClosingStatistics()
    {
        var run = ToolRun.Of("swin-blocks", "--device", "cpu", "--batch", "1", "--warmup", "1", "--iters", "2");
        Assert.True(run.ExitCode == 0, run.Error);
        Assert.Equal("", run.Error);
        var lines = run.OutputLines;
        Assert.StartsWith("fusion-run ", lines[0]);
        Assert.Contains("fusion: using cpu: ", lines[1]);
        Assert.Contains(lines, l => l == "device:      cpu (fp32)");
        Assert.Contains(lines, l => l.StartsWith("model:       SwinStage1Blocks: ", StringComparison.Ordinal) && l.Contains("generated kernels"));
        Assert.Contains(lines, l => l == "weights:     random, seed 0");
        Assert.Contains(lines, l => l == "input:       x [1, 56, 56, 96] as f32 from random, seed 1");
        Assert.Contains(lines, l => l.StartsWith("load:        ", StringComparison.Ordinal) && l.EndsWith(" ms", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("preparation: ", StringComparison.Ordinal));
        Assert.Single(lines, l => l.StartsWith("warm-up ", StringComparison.Ordinal));
        var iterations = lines.Where(l => l.StartsWith("iter ", StringComparison.Ordinal)).ToList();
        Assert.Equal(["iter 1:", "iter 2:"], iterations.Select(l => l.Split(' ', 3)[0] + " " + l.Split(' ', 3)[1]));
        Assert.All(iterations, l => Assert.DoesNotContain("device", l)); // no CUDA events on the CPU
        Assert.Contains(lines, l => l.StartsWith("output:      [1, 56, 56, 96] f32", StringComparison.Ordinal));
        var closing = Assert.Single(lines, l => l.StartsWith("wall: avg ", StringComparison.Ordinal));
        Assert.EndsWith("over 2 iterations", closing);
        Assert.DoesNotContain(lines, l => l.StartsWith("device: avg", StringComparison.Ordinal));

        // The closing line is the statistics of the printed iteration times. Those are rounded to 1 µs, so the
        // average recomputed from them may differ from the printed one (computed unrounded) by up to 1 µs.
        var times = iterations.Select(l => double.Parse(l.Split("wall", 2)[1].Trim().Split(' ')[0], CultureInfo.InvariantCulture)).ToList();
        double printedAverage = double.Parse(closing.Split(' ')[2], CultureInfo.InvariantCulture);
        Assert.InRange(printedAverage, TimingStats.Of(times).Mean - 0.0015, TimingStats.Of(times).Mean + 0.0015);
    }

    /// <summary>--output writes what the model returned: the file's values are the ones the printed statistics describe.</summary>
    [Fact]
    public void OutputIsWrittenAsNpy()
    {
        using var folder = new TempFolder();
        var path = folder.File("out.npy");
        var run = ToolRun.Of("swin-blocks", "--device", "cpu", "--warmup", "0", "--iters", "1", "--seed", "7", "--output", path);
        Assert.True(run.ExitCode == 0, run.Error);
        Assert.Contains($"written:     {path}: [1, 56, 56, 96] f32", run.OutputLines);
        using var written = NpyFile.Read(path);
        Assert.Equal(new[] { 1, 56, 56, 96 }, written.Shape.ToArray());
        var values = written.ToFloatArray();
        var line = Assert.Single(run.OutputLines, l => l.StartsWith("output:      ", StringComparison.Ordinal));
        var match = System.Text.RegularExpressions.Regex.Match(line, @"mean (-?[0-9.]+), mean \|x\| ([0-9.]+)$");
        Assert.True(match.Success, line);
        Assert.Equal(double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture), values.Average(), 5);
        Assert.Equal(double.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture), values.Average(MathF.Abs), 5);
        Assert.Single(Directory.GetFiles(folder.Path)); // no temporary file left beside it
    }

    [Fact]
    public void JsonFileHasEveryDocumentedField()
    {
        using var folder = new TempFolder();
        var json = folder.File("run.json");
        var input = folder.File("x.npy");
        var values = Enumerable.Range(0, 56 * 56 * 96).Select(i => (float)Math.Sin(i)).ToArray();
        using (var tensor = CpuTensor.FromArray(values, 1, 56, 56, 96)) NpyFile.Write(input, tensor);

        var run = ToolRun.Of("swin-blocks", "--device", "cpu", "--input", "x:" + input, "--warmup", "1", "--iters", "2", "--json", json);
        Assert.True(run.ExitCode == 0, run.Error);
        Assert.Contains($"json:        {json}", run.OutputLines);

        using var document = JsonDocument.Parse(File.ReadAllText(json));
        var root = document.RootElement;
        Assert.Equal(1, root.GetProperty("schema").GetInt32());
        Assert.Equal("fusion-run", root.GetProperty("tool").GetProperty("name").GetString());
        Assert.False(string.IsNullOrEmpty(root.GetProperty("tool").GetProperty("version").GetString()));
        foreach (var key in new[] { "dotnet", "os", "fusionRuntime" })
            Assert.Equal(JsonValueKind.String, root.GetProperty("runtime").GetProperty(key).ValueKind);

        var device = root.GetProperty("device");
        Assert.Equal("cpu", device.GetProperty("name").GetString());
        Assert.Equal(JsonValueKind.String, device.GetProperty("reason").ValueKind);
        Assert.Equal("fp32", device.GetProperty("precision").GetString());
        Assert.Equal(JsonValueKind.Null, device.GetProperty("gemmPolicy").ValueKind);

        var options = root.GetProperty("options");
        Assert.Equal("swin-blocks", options.GetProperty("model").GetString());
        Assert.Equal(JsonValueKind.Null, options.GetProperty("assembly").ValueKind);
        Assert.Equal(JsonValueKind.Null, options.GetProperty("weights").ValueKind);
        Assert.Equal("x:" + input, Assert.Single(options.GetProperty("inputs").EnumerateArray()).GetString());
        Assert.Equal(1, options.GetProperty("batch").GetInt32());
        Assert.Equal("cpu", options.GetProperty("device").GetString());
        Assert.Equal(JsonValueKind.Null, options.GetProperty("precision").ValueKind);
        Assert.Equal(1, options.GetProperty("warmup").GetInt32());
        Assert.Equal(2, options.GetProperty("iters").GetInt32());
        foreach (var flag in new[] { "graphs", "fastRun", "profile" })
            Assert.Equal(JsonValueKind.False, options.GetProperty(flag).ValueKind);
        Assert.Equal(0, options.GetProperty("seed").GetInt32());
        Assert.Equal(JsonValueKind.Null, options.GetProperty("output").ValueKind);

        var model = root.GetProperty("model");
        Assert.Equal("SwinStage1Blocks", model.GetProperty("name").GetString());
        Assert.True(model.GetProperty("operators").GetInt32() > 0);
        Assert.True(model.GetProperty("generatedKernels").GetInt32() > 0);
        Assert.True(model.GetProperty("parameters").GetInt64() > 0);
        Assert.Equal("random, seed 0", model.GetProperty("weights").GetString());
        Assert.Equal($"x [1, 56, 56, 96] as f32 from {input}", Assert.Single(model.GetProperty("inputs").EnumerateArray()).GetString());

        Assert.True(root.GetProperty("loadMs").GetDouble() > 0);
        Assert.True(root.GetProperty("preparationMs").GetDouble() > 0);
        var warmup = Assert.Single(root.GetProperty("warmup").EnumerateArray());
        Assert.Equal(1, warmup.GetProperty("index").GetInt32());
        var iterations = root.GetProperty("iterations").EnumerateArray().ToList();
        Assert.Equal([1, 2], iterations.Select(i => i.GetProperty("index").GetInt32()));
        foreach (var record in iterations.Append(warmup))
        {
            Assert.True(record.GetProperty("wallMs").GetDouble() > 0);
            Assert.Equal(JsonValueKind.Null, record.GetProperty("deviceMs").ValueKind);
        }

        var wall = root.GetProperty("stats").GetProperty("wall");
        var expected = TimingStats.Of(iterations.Select(i => i.GetProperty("wallMs").GetDouble()).ToList());
        Assert.Equal(2, wall.GetProperty("count").GetInt32());
        Assert.Equal(expected.Mean, wall.GetProperty("mean").GetDouble(), 9);
        Assert.Equal(expected.Median, wall.GetProperty("median").GetDouble(), 9);
        Assert.Equal(expected.StdDev, wall.GetProperty("std").GetDouble(), 9);
        Assert.Equal(expected.Min, wall.GetProperty("min").GetDouble());
        Assert.Equal(expected.Max, wall.GetProperty("max").GetDouble());
        Assert.Equal(JsonValueKind.Null, root.GetProperty("stats").GetProperty("device").ValueKind);
        Assert.StartsWith("[1, 56, 56, 96] f32", root.GetProperty("output").GetString());
        Assert.Equal(JsonValueKind.Null, root.GetProperty("deviceMemoryBytes").ValueKind); // the CPU has no device allocator
        Assert.Equal(JsonValueKind.Null, root.GetProperty("graphNodes").ValueKind); // no --graphs on the CPU
        Assert.Equal(JsonValueKind.Null, root.GetProperty("profile").ValueKind);
    }

    [Fact]
    public void ProfileOnTheCpuPrintsATableWhoseSharesSumToAHundred()
    {
        using var folder = new TempFolder();
        var json = folder.File("profile.json");
        var run = ToolRun.Of("swin-blocks", "--device", "cpu", "--warmup", "0", "--iters", "1", "--profile", "--json", json);
        Assert.True(run.ExitCode == 0, run.Error);
        var lines = run.OutputLines.ToList();
        int header = lines.FindIndex(l => l.StartsWith("profile: per forward pass", StringComparison.Ordinal));
        Assert.True(header >= 0, run.Output);
        Assert.Matches(@"^kernel\s+calls\s+total ms\s+share$", lines[header + 1]);
        var rows = lines.Skip(header + 2).TakeWhile(l => !l.StartsWith("total", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(rows);
        double shares = rows.Sum(r => double.Parse(r.Split(' ', StringSplitOptions.RemoveEmptyEntries)[^1].TrimEnd('%'), CultureInfo.InvariantCulture));
        Assert.InRange(shares, 99.0, 101.0); // one decimal per row
        // Fused ops appear under their generated kernel's name.
        Assert.Contains(rows, r => r.StartsWith("window_attention_", StringComparison.Ordinal));
        Assert.Contains(rows, r => r.StartsWith("layer_norm_roll_window_partition_", StringComparison.Ordinal));

        using var document = JsonDocument.Parse(File.ReadAllText(json));
        var profile = document.RootElement.GetProperty("profile");
        Assert.Equal(1, profile.GetProperty("runs").GetInt32());
        Assert.Equal("host stopwatch per call", profile.GetProperty("clock").GetString());
        var kernels = profile.GetProperty("kernels").EnumerateArray().ToList();
        Assert.Equal(rows.Count, kernels.Count);
        Assert.Equal(100.0, kernels.Sum(k => k.GetProperty("share").GetDouble()), 6);
        Assert.Equal(profile.GetProperty("totalMs").GetDouble(), kernels.Sum(k => k.GetProperty("totalMs").GetDouble()), 6);
        Assert.All(kernels, k => Assert.True(k.GetProperty("calls").GetDouble() >= 1 && k.GetProperty("name").GetString()!.Length > 0));
    }
}
