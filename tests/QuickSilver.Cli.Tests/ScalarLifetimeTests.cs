using QuickSilver.Tests.Hygiene;
using Xunit.Abstractions;

namespace QuickSilver.Cli.Tests;

/// <summary>
/// The Scalar-lifetime rule (see <see cref="ScalarLifetimeScanner"/>) over every QuickSilver assembly the CLI ships,
/// the benchmark code included: a Scalar left to the finalizer can be freed during the native call that uses it.
/// </summary>
public sealed class ScalarLifetimeTests(ITestOutputHelper output)
{
    [Fact]
    public void EveryScalarIsStoredAndDisposed()
    {
        var assemblies = ScalarLifetimeScanner.ProductAssemblies();
        Assert.Contains(assemblies, a => string.Equals(a.GetName().Name, "quicksilver", StringComparison.OrdinalIgnoreCase));
        var violations = ScalarLifetimeScanner.Violations(assemblies);
        foreach (var v in violations) output.WriteLine(v);
        Assert.True(violations.Count == 0, $"{violations.Count} Scalar(s) left to the GC; use TensorScalars:\n{string.Join("\n", violations)}");
    }
}
