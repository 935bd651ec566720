using QuickSilver.Engine.Loading;
using QuickSilver.Engine.Models;
using QuickSilver.Testing;

namespace QuickSilver.Engine.Tests.Loading;

/// <summary>The same trained model in three formats must yield the same canonical tensors (this pins the q/k permutation).</summary>
public sealed class Stories260KLoaderTests
{
    private static readonly Lazy<CheckpointData> Bin = new(() => Llama2cLoader.Load(SharedAssets.Stories260KBin));
    private static readonly Lazy<CheckpointData> Gguf = new(() => GgufLoader.Load(SharedAssets.Stories260KGguf));
    private static readonly Lazy<CheckpointData> Hf = new(() => HuggingFaceLoader.Load(SharedAssets.Stories260KHf));

    private static void AssertReadmeConfig(ModelConfig config, int maxPositions)
    {
        Assert.Equal(64, config.HiddenSize);
        Assert.Equal(172, config.IntermediateSize);
        Assert.Equal(5, config.NumLayers);
        Assert.Equal(8, config.NumHeads);
        Assert.Equal(4, config.NumKvHeads);
        Assert.Equal(8, config.HeadDim);
        Assert.Equal(512, config.VocabSize);
        Assert.Equal(maxPositions, config.MaxPositions);
        Assert.Equal(1e-5f, config.NormEps);
        Assert.Equal(10000f, config.RopeTheta);
        Assert.Equal(NormKind.RmsNorm, config.Norm);
        Assert.Equal(PositionEncodingKind.Rotary, config.Positions);
        Assert.Equal(FeedForwardKind.SwiGlu, config.FeedForward);
        Assert.False(config.AttentionBias);
        Assert.False(config.MlpBias);
        Assert.Equal(1, config.BosTokenId);
        Assert.Equal(2, config.EosTokenId);
    }

    [Fact]
    public void Llama2cBin_LoadsReadmeConfig_AndFindsTokenizer()
    {
        CheckpointData data = Bin.Value;
        AssertReadmeConfig(data.Config, maxPositions: 512);
        Assert.True(data.Config.TiedEmbeddings);
        Assert.DoesNotContain(WeightNames.LmHead, data.Tensors.Keys);
        Assert.Null(data.Tokenizer);
        Assert.Equal(Path.GetFullPath(SharedAssets.Stories260KTokenizer), Path.GetFullPath(data.Metadata[Llama2cLoader.TokenizerPathKey]));
        Assert.Equal(new long[] { 32, 64 }, data.Tensors[WeightNames.Key(4)].Shape);
        Assert.Equal(new long[] { 64, 172 }, data.Tensors[WeightNames.Down(0)].Shape);
    }

    [Fact]
    public void Gguf_LoadsReadmeConfig_WithItsOwnContextLengthAndSeparateOutput()
    {
        CheckpointData data = Gguf.Value;
        AssertReadmeConfig(data.Config, maxPositions: 2048);
        Assert.False(data.Config.TiedEmbeddings);
        Assert.Equal("llama", data.Metadata["general.name"]);
        Assert.Equal("llama", data.Metadata["tokenizer.ggml.model"]);
        // output.weight is a separate but identical copy of the embedding.
        Assert.Equal(data.Tensors[WeightNames.Embedding].Data, data.Tensors[WeightNames.LmHead].Data);
    }

    [Fact]
    public void HuggingFace_LoadsReadmeConfig()
    {
        CheckpointData data = Hf.Value;
        AssertReadmeConfig(data.Config, maxPositions: 512);
        Assert.True(data.Config.TiedEmbeddings);
        Assert.Equal("llama", data.Metadata[HuggingFaceLoader.ModelTypeKey]);
        Assert.DoesNotContain(HuggingFaceLoader.TokenizerJsonPathKey, data.Metadata.Keys);
    }

    [Fact]
    public void Bin_And_HuggingFace_GiveIdenticalCanonicalTensors()
    {
        TestData.AssertSameTensors(Hf.Value.Tensors, Bin.Value.Tensors, tolerance: 0f);
    }

    [Fact]
    public void Gguf_And_HuggingFace_GiveIdenticalCanonicalTensors()
    {
        TestData.AssertSameTensors(Hf.Value.Tensors, Gguf.Value.Tensors, tolerance: 0f, skip: [WeightNames.LmHead]);
        Assert.Equal(Hf.Value.Tensors[WeightNames.Embedding].Data, Gguf.Value.Tensors[WeightNames.LmHead].Data);
    }

    [Fact]
    public void RawGgufQueries_AreInterleaved_SoThePermutationIsWhatMakesThemMatch()
    {
        GgufFile file = GgufFile.Read(SharedAssets.Stories260KGguf);
        float[] raw = file.ReadTensorData(file.Tensors.Single(t => t.Name == "blk.0.attn_q.weight"));
        float[] hf = Hf.Value.Tensors[WeightNames.Query(0)].Data;
        Assert.NotEqual(hf, raw);
        Assert.Equal(hf, RopePermutation.InterleavedToRotateHalf(raw, 8, 8, 64));
        Assert.Equal(raw, RopePermutation.RotateHalfToInterleaved(hf, 8, 8, 64));
    }

    [Fact]
    public void GgufFile_ExposesTokenizerMetadataTyped()
    {
        GgufFile file = GgufFile.Read(SharedAssets.Stories260KGguf);
        Assert.Equal(3u, file.Version);
        Assert.Equal(32, file.Alignment);
        Assert.Equal(14176, file.DataOffset);
        Assert.Equal(48, file.Tensors.Count);
        string[] tokens = file.GetArray<string>("tokenizer.ggml.tokens");
        Assert.Equal(512, tokens.Length);
        Assert.Equal(["<unk>", "<s>", "</s>", "<0x00>", "<0x01>"], tokens[..5]);
        Assert.Equal(512, file.GetArray<float>("tokenizer.ggml.scores").Length);
        int[] types = file.GetArray<int>("tokenizer.ggml.token_type");
        Assert.Equal([2, 3, 3, 6, 6], types[..5]);
        Assert.Equal(253, types.Count(t => t == 1));
        Assert.Equal(1u, file.GetUInt32("tokenizer.ggml.bos_token_id"));
        Assert.Equal(2u, file.GetUInt32("tokenizer.ggml.eos_token_id"));
        Assert.Equal(0u, file.GetUInt32("tokenizer.ggml.unknown_token_id"));
        Assert.Equal(4294967295u, file.GetUInt32("tokenizer.ggml.seperator_token_id"));
        Assert.Equal(GgufValueType.UInt32, file.MetadataTypes["llama.block_count"]);
        Assert.Equal(9.999999747378752e-06f, file.GetFloat32("llama.attention.layer_norm_rms_epsilon"));
        Assert.False(file.TryGetFloat32("llama.rope.freq_base", out _));
        GgufTensorInfo k = file.Tensors.Single(t => t.Name == "blk.0.attn_k.weight");
        Assert.Equal(new long[] { 64, 32 }, k.Dimensions);
        Assert.Equal(new long[] { 32, 64 }, k.Shape);
        Assert.Equal(GgufTensorType.F32, k.Type);
        var ex = Assert.Throws<ModelFormatException>(() => file.GetString("llama.block_count"));
        Assert.Contains("llama.block_count", ex.Message);
    }

    [Fact]
    public void CheckpointLoader_DispatchesEachFormat()
    {
        Assert.Equal(SharedAssets.Stories260KBin, CheckpointLoader.Load(SharedAssets.Stories260KBin).Source);
        Assert.Equal(2048, CheckpointLoader.Load(SharedAssets.Stories260KGguf).Config.MaxPositions);
        Assert.Equal(512, CheckpointLoader.Load(SharedAssets.Stories260KHf).Config.MaxPositions);
        Assert.Equal(512, CheckpointLoader.Load(Path.Combine(SharedAssets.Stories260KHf, "model.safetensors")).Config.MaxPositions);
    }
}
