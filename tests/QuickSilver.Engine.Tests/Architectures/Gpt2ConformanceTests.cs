using QuickSilver.Engine.Loading;
using QuickSilver.Engine.Models;
using QuickSilver.Engine.Tests.Loading;
using QuickSilver.Testing.LlamaCpp;
using Xunit.Abstractions;

namespace QuickSilver.Engine.Tests.Architectures;

/// <summary>GPT-2 written as llama.cpp's converter writes it (fused attn_qkv, LayerNorm biases, learned positions) matches llama.cpp.</summary>
public sealed class Gpt2ConformanceTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(GgufTensorType.F32)]
    [InlineData(GgufTensorType.F16)]
    public void Gguf_logits_match_llama_cpp_at_every_position(GgufTensorType matrixType)
    {
        ModelConfig config = TestModels.TinyGpt2(layers: 3) with { VocabSize = 64, MaxPositions = 64, TiedEmbeddings = false, BosTokenId = 1, EosTokenId = 2 };
        CheckpointData weights = RandomCheckpoint.Create(config, seed: 4, std: 0.25f);
        using var temp = new TempDirectory();
        string path = temp.File("gpt2.gguf");
        Write(config, weights, path, matrixType);
        int[] tokens = TestModels.RandomTokens(40, config.VocabSize, 23);

        float[] ours = ArchitectureConformanceTests.Logits(GgufLoader.Load(path), tokens);
        float[][] theirs = LlamaCppModel.LogitsAtEveryPosition(path, tokens);
        (float maxDelta, double agreement) = ArchitectureConformanceTests.Compare(ours, theirs, config.VocabSize);
        output.WriteLine($"gpt2 {matrixType}: {tokens.Length} positions, max |Δlogit| vs llama.cpp = {maxDelta:G3}, argmax agreement {agreement:P0}");
        ArchitectureConformanceTests.AssertWithinGoal(matrixType, maxDelta, agreement);
    }

    private static void Write(ModelConfig m, CheckpointData w, string path, GgufTensorType matrixType)
    {
        int d = m.HiddenSize, inner = m.IntermediateSize;
        var writer = new GgufWriter()
            .AddMetadata("general.architecture", "gpt2")
            .AddMetadata("general.name", "tiny")
            .AddMetadata("gpt2.context_length", (uint)m.MaxPositions)
            .AddMetadata("gpt2.embedding_length", (uint)d)
            .AddMetadata("gpt2.feed_forward_length", (uint)inner)
            .AddMetadata("gpt2.block_count", (uint)m.NumLayers)
            .AddMetadata("gpt2.attention.head_count", (uint)m.NumHeads)
            .AddMetadata("gpt2.attention.layer_norm_epsilon", m.NormEps)
            .AddMetadata("tokenizer.ggml.model", "llama")
            .AddMetadata("tokenizer.ggml.tokens", Enumerable.Range(0, m.VocabSize).Select(i => i == m.VocabSize - 1 ? "<0x0A>" : $"t{i}").ToArray())
            .AddMetadata("tokenizer.ggml.scores", Enumerable.Range(0, m.VocabSize).Select(i => -(float)i).ToArray())
            .AddMetadata("tokenizer.ggml.token_type", Enumerable.Range(0, m.VocabSize).Select(i => i == m.VocabSize - 1 ? 6 : 1).ToArray())
            .AddMetadata("tokenizer.ggml.bos_token_id", 1u)
            .AddMetadata("tokenizer.ggml.eos_token_id", 2u);
        float[] T(string name) => w.Tensors[name].Data;
        writer.AddTensor("token_embd.weight", [m.VocabSize, d], T(WeightNames.Embedding), matrixType);
        writer.AddTensor("position_embd.weight", [m.MaxPositions, d], T(WeightNames.PositionEmbedding));
        writer.AddTensor("output_norm.weight", [d], T(WeightNames.FinalNormWeight));
        writer.AddTensor("output_norm.bias", [d], T(WeightNames.FinalNormBias));
        writer.AddTensor("output.weight", [m.VocabSize, d], T(WeightNames.LmHead), matrixType);
        for (int l = 0; l < m.NumLayers; l++)
        {
            string p = $"blk.{l}.";
            writer.AddTensor(p + "attn_norm.weight", [d], T(WeightNames.AttnNormWeight(l)));
            writer.AddTensor(p + "attn_norm.bias", [d], T(WeightNames.AttnNormBias(l)));
            // The converter transposes GPT-2's Conv1D c_attn into one [3d, d] matrix of q | k | v rows.
            writer.AddTensor(p + "attn_qkv.weight", [3 * d, d], [.. T(WeightNames.Query(l)), .. T(WeightNames.Key(l)), .. T(WeightNames.Value(l))], matrixType);
            writer.AddTensor(p + "attn_qkv.bias", [3 * d],
                [.. T(WeightNames.BiasOf(WeightNames.Query(l))), .. T(WeightNames.BiasOf(WeightNames.Key(l))), .. T(WeightNames.BiasOf(WeightNames.Value(l)))]);
            writer.AddTensor(p + "attn_output.weight", [d, d], T(WeightNames.Output(l)), matrixType);
            writer.AddTensor(p + "attn_output.bias", [d], T(WeightNames.BiasOf(WeightNames.Output(l))));
            writer.AddTensor(p + "ffn_norm.weight", [d], T(WeightNames.MlpNormWeight(l)));
            writer.AddTensor(p + "ffn_norm.bias", [d], T(WeightNames.MlpNormBias(l)));
            writer.AddTensor(p + "ffn_up.weight", [inner, d], T(WeightNames.Up(l)), matrixType);
            writer.AddTensor(p + "ffn_up.bias", [inner], T(WeightNames.BiasOf(WeightNames.Up(l))));
            writer.AddTensor(p + "ffn_down.weight", [d, inner], T(WeightNames.Down(l)), matrixType);
            writer.AddTensor(p + "ffn_down.bias", [d], T(WeightNames.BiasOf(WeightNames.Down(l))));
        }
        writer.Write(path);
    }
}
