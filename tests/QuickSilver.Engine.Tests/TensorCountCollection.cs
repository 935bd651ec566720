namespace QuickSilver.Engine.Tests;

/// <summary>Tests that count live TorchSharp tensors (a process-wide number) run alone, not beside other tests.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TensorCountCollection
{
    public const string Name = "Live tensor count";
}
