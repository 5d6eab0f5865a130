using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Running;

// Micro-benchmarks of the gateway's hot paths. Benchmark classes live in one folder per library
// (Pan/, Audit/, Policy/, Identity/, Mcp/, Http/). Run one filter, for example:
//   dotnet run -c Release --project bench/FastMcp.Benchmarks -- --filter '*PanScanBenchmarks*'
//   dotnet run -c Release --project bench/FastMcp.Benchmarks -- --list flat
// Every run reports allocated bytes per operation: the hot path's budget is zero.
var config = DefaultConfig.Instance
    .AddDiagnoser(MemoryDiagnoser.Default)
    .WithOptions(ConfigOptions.DisableLogFile);

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args, config);
