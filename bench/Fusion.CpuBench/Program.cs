using BenchmarkDotNet.Running;

// Micro-benchmarks of the CPU kernels with BenchmarkDotNet, e.g.
//   dotnet run -c Release --project bench/Fusion.CpuBench -- --filter '*' --job short
// Whole-model and GEMM-against-peak figures are Fusion.Bench's (`Fusion.Bench cpu`, docs/perf.md).
BenchmarkSwitcher.FromAssembly(typeof(Fusion.CpuBench.GemmBenchmarks).Assembly).Run(args);
