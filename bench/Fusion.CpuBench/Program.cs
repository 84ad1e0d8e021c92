using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

// Micro-benchmarks of the CPU kernels with BenchmarkDotNet, e.g.
//   dotnet run -c Release --project bench/Fusion.CpuBench -- --filter '*' --job short
// Whole-model and GEMM-against-peak figures are Fusion.Bench's (`Fusion.Bench cpu`, docs/perf.md).
// Kernel names are long ("layer_norm_roll_window_partition_f32_64nx49x96"): shown whole.
var config = DefaultConfig.Instance.WithSummaryStyle(SummaryStyle.Default.WithMaxParameterColumnWidth(64));
BenchmarkSwitcher.FromAssembly(typeof(Fusion.CpuBench.GemmBenchmarks).Assembly).Run(args, config);
