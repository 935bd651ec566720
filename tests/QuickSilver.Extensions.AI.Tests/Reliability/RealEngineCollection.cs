using QuickSilver.Extensions.AI.Tests.RealEngine;

namespace QuickSilver.Extensions.AI.Tests.Reliability;

/// <summary>
/// The real-engine reliability tests share one stories260K and run alone: they count live TorchSharp tensors (a process-wide
/// number) and measure memory, which other tests running beside them would disturb.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class RealEngineCollection : ICollectionFixture<Stories260KFixture>
{
    public const string Name = "Reliability on the real engine";
}
