using QuickSilver.Engine.Loading;
using QuickSilver.Engine.Models;
using QuickSilver.Engine.Tests.Loading;
using TorchSharp;
using QuickSilver.Testing.Conformance;

namespace QuickSilver.Engine.Tests.Architectures;

/// <summary>Every Llama-shaped family also runs with its Q8_0 matrices kept packed (fused Phi-3 matrices sliced by rows), equal to the decoded model.</summary>
public sealed class PackedArchitectureTests
{
    /// <summary>The Llama-shaped families: GPT-2 GGUFs are decoded to float32 at load (no packed path for its fused c_attn layout).</summary>
    public static TheoryData<string> Names() => [.. TinyArchitectures.All.Where(c => c.Config.FeedForward != FeedForwardKind.GeluTanh).Select(c => c.Name)];

    [Theory]
    [MemberData(nameof(Names))]
    public void Packed_weights_give_the_logits_of_the_decoded_weights(string name)
    {
        ArchitectureCase c = TinyArchitectures.ByName(name);
        using var temp = new TempDirectory();
        string path = ArchitectureWriters.WriteGguf(c, c.Weights(), temp.File(name + ".gguf"), GgufTensorType.Q8_0);
        CheckpointData packedData = GgufLoader.Load(path, keepQuantized: true);
        Assert.NotNull(packedData.Tensors[WeightNames.Query(0)].Packed);
        Assert.NotNull(packedData.Tensors[WeightNames.Gate(0)].Packed);
        using TransformerModel packed = TransformerModel.Create(packedData, torch.CPU, null, false);
        using TransformerModel dense = TransformerModel.Create(GgufLoader.Load(path), torch.CPU);
        int[] tokens = TestModels.RandomTokens(24, c.Config.VocabSize, 5);
        float[] a = Run(packed, tokens), b = Run(dense, tokens);
        Assert.True(TestModels.MaxAbsDiff(a, b) < 1e-3f, $"{name}: packed vs decoded max |Δlogit| {TestModels.MaxAbsDiff(a, b)}");
    }

    private static float[] Run(TransformerModel model, int[] tokens)
    {
        using var output = new QuickSilver.Engine.Runtime.ForwardRunner(model).Run(new QuickSilver.Engine.Runtime.ForwardInput { TokenIds = tokens, AllLogits = true });
        return TestModels.ToArray(output.Logits);
    }
}
