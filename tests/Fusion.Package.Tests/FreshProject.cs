namespace Fusion.Package.Tests;

/// <summary>The files of a user's fresh console project that takes Fusion from a local package folder.</summary>
internal static class FreshProject
{
    public static void Write(string folder, string packageFolder, string version)
    {
        // Packages restore into the project's own folder, so a stale Fusion of the same version in the machine's
        // cache never stands in for the one just packed; Fusion's packages come only from the local folder.
        File.WriteAllText(Path.Combine(folder, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <add key="local" value="{packageFolder}" />
              </packageSources>
              <packageSourceMapping>
                <packageSource key="local"><package pattern="Fusion" /><package pattern="Fusion.*" /></packageSource>
                <packageSource key="nuget.org"><package pattern="*" /></packageSource>
              </packageSourceMapping>
            </configuration>
            """);
        File.WriteAllText(Path.Combine(folder, "App.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <Nullable>enable</Nullable>
                <ImplicitUsings>enable</ImplicitUsings>
                <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
                <RestorePackagesPath>packages</RestorePackagesPath>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="Fusion" Version="{version}" />
              </ItemGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(folder, "TinyBlock.cs"), """
            using Fusion;

            /// <summary>x + fc2(gelu_tanh(fc1(layer_norm(x)))), a transformer MLP block.</summary>
            [FusedModel]
            public partial class TinyBlock : Module
            {
                public readonly LayerNorm norm = new(40);
                public readonly Linear fc1 = new(40, 96);
                public readonly Linear fc2 = new(96, 40);

                public Tensor Forward([Shape(Dim.Batch, 7, 40)] Tensor x) =>
                    F.Add(x, F.Linear(F.GeluTanh(F.Linear(F.LayerNorm(x, norm), fc1)), fc2));
            }
            """);
        File.WriteAllText(Path.Combine(folder, "Program.cs"), """
            using Fusion;

            var random = new Random(20261201);
            var model = new TinyBlock();
            foreach (var p in new[] { model.norm.weight, model.norm.bias, model.fc1.weight, model.fc1.bias!, model.fc2.weight, model.fc2.bias! })
                p.InitUniform(random, 0.5f);
            var input = new float[3 * 7 * 40];
            for (int i = 0; i < input.Length; i++) input[i] = (float)(random.NextDouble() * 4 - 2);

            using var x = CpuTensor.FromArray(input, 3, 7, 40);
            using var y = model.Run(x);
            var got = ((CpuTensor)y).Span<float>().ToArray();

            double maxError = 0;
            for (int row = 0; row < 3 * 7; row++)
            {
                var expected = Reference(input.AsSpan(row * 40, 40));
                for (int c = 0; c < 40; c++) maxError = Math.Max(maxError, Math.Abs(expected[c] - got[row * 40 + c]));
            }
            Console.WriteLine($"shape {string.Join("x", y.Shape.Dims.ToArray())}, max abs error {maxError:E3}");

            // The eager path: the package's generator scopes this call (an interceptor), so only the result stays alive.
            long before = CpuTensor.LiveCount;
            using (var eager = model.Forward(x))
            {
                var eagerValues = ((CpuTensor)eager).Span<float>();
                double eagerDifference = 0;
                for (int i = 0; i < got.Length; i++) eagerDifference = Math.Max(eagerDifference, Math.Abs(eagerValues[i] - got[i]));
                Console.WriteLine($"eager: {CpuTensor.LiveCount - before - 1} intermediates alive, max difference to Run {eagerDifference:E3}");
            }

            double[] Reference(ReadOnlySpan<float> x)
            {
                double mean = 0, variance = 0;
                foreach (var v in x) mean += v;
                mean /= x.Length;
                foreach (var v in x) variance += (v - mean) * (v - mean);
                variance /= x.Length;
                var normed = new double[40];
                for (int c = 0; c < 40; c++)
                    normed[c] = (x[c] - mean) / Math.Sqrt(variance + 1e-5) * Value(model.norm.weight, c) + Value(model.norm.bias, c);
                var hidden = new double[96];
                for (int h = 0; h < 96; h++)
                {
                    double s = Value(model.fc1.bias!, h);
                    for (int c = 0; c < 40; c++) s += normed[c] * Value(model.fc1.weight, h * 40 + c);
                    hidden[h] = 0.5 * s * (1 + Math.Tanh(Math.Sqrt(2 / Math.PI) * (s + 0.044715 * s * s * s)));
                }
                var output = new double[40];
                for (int c = 0; c < 40; c++)
                {
                    double s = Value(model.fc2.bias!, c);
                    for (int h = 0; h < 96; h++) s += hidden[h] * Value(model.fc2.weight, c * 96 + h);
                    output[c] = x[c] + s;
                }
                return output;
            }

            static double Value(Parameter p, int i) => p.Value.Span<float>()[i];
            """);
    }
}
