// Linked into every test project (tests/Directory.Build.props): the run's closing skip summary.
[assembly: Xunit.AssemblyFixture(typeof(Fusion.Testing.SkipSummary))]
