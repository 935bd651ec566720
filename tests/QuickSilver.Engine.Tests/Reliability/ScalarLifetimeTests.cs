using QuickSilver.Tests.Hygiene;
using Xunit.Abstractions;

namespace QuickSilver.Engine.Tests.Reliability;

/// <summary>
/// Deterministic guard for the flaky libtorch asserts: no TorchSharp Scalar in the product assemblies may be left to the
/// finalizer (see <see cref="ScalarLifetimeScanner"/>). A GC during a native call made these fail at random; the IL rule
/// fails every time instead.
/// </summary>
public sealed class ScalarLifetimeTests(ITestOutputHelper output)
{
    [Fact]
    public void EveryScalarIsStoredAndDisposed()
    {
        var assemblies = ScalarLifetimeScanner.ProductAssemblies();
        Assert.Contains(assemblies, a => a.GetName().Name == "QuickSilver.Engine");
        var violations = ScalarLifetimeScanner.Violations(assemblies);
        foreach (var v in violations) output.WriteLine(v);
        Assert.True(violations.Count == 0, $"{violations.Count} Scalar(s) left to the GC; use TensorScalars:\n{string.Join("\n", violations)}");
    }

    [Fact]
    public void ScannerFlagsAnImplicitScalarAndAcceptsAUsingOne()
    {
        var flagged = typeof(ScalarSamples).GetMethod(nameof(ScalarSamples.Implicit))!;
        var clean = typeof(ScalarSamples).GetMethod(nameof(ScalarSamples.Explicit))!;
        Assert.Single(ScalarLifetimeScanner.Violations(flagged));
        Assert.Empty(ScalarLifetimeScanner.Violations(clean));
    }

    private static class ScalarSamples
    {
        public static TorchSharp.torch.Tensor Implicit(TorchSharp.torch.Tensor x) => x.clamp_min(1e-12);

        public static TorchSharp.torch.Tensor Explicit(TorchSharp.torch.Tensor x)
        {
            using var min = TorchSharp.ScalarExtensionMethods.ToScalar(1e-12);
            return x.clamp_min(min);
        }
    }
}
