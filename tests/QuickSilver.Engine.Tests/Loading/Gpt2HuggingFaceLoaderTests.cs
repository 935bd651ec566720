using System.Text.Json;
using System.Text.Json.Nodes;
using QuickSilver.Engine.Loading;
using QuickSilver.Engine.Models;
using QuickSilver.Testing;

namespace QuickSilver.Engine.Tests.Loading;

public sealed class Gpt2HuggingFaceLoaderTests
{
    private static readonly Lazy<CheckpointData> Shared = new(() => HuggingFaceLoader.Load(SharedAssets.Gpt2TinyRandomHf));
    private static string SharedSafetensors => Path.Combine(SharedAssets.Gpt2TinyRandomHf, "model.safetensors");
    private static string SharedConfig => Path.Combine(SharedAssets.Gpt2TinyRandomHf, "config.json");

    [Fact]
    public void SharedCheckpoint_LoadsGpt2Config()
    {
        ModelConfig config = Shared.Value.Config;
        Assert.Equal("gpt2", config.Architecture);
        Assert.Equal(1024, config.VocabSize);
        Assert.Equal(64, config.HiddenSize);
        Assert.Equal(4, config.NumLayers);
        Assert.Equal(4, config.NumHeads);
        Assert.Equal(4, config.NumKvHeads);
        Assert.Equal(16, config.HeadDim);
        Assert.Equal(256, config.IntermediateSize);
        Assert.Equal(128, config.MaxPositions);
        Assert.Equal(1e-5f, config.NormEps);
        Assert.Equal(NormKind.LayerNorm, config.Norm);
        Assert.Equal(PositionEncodingKind.Learned, config.Positions);
        Assert.Equal(FeedForwardKind.GeluTanh, config.FeedForward);
        Assert.True(config.AttentionBias);
        Assert.True(config.MlpBias);
        Assert.True(config.TiedEmbeddings);
        Assert.Equal(1023, config.BosTokenId);
        Assert.Equal(1023, config.EosTokenId);
        Assert.Equal(WeightLayout.ExpectedShapes(config).Keys.Order(), Shared.Value.Tensors.Keys.Order());
        // embed, pos_embed, final norm weight+bias; per layer 2 norms × (weight+bias) and 6 projections × (weight+bias).
        Assert.Equal(4 + (4 * 16), Shared.Value.Tensors.Count);
    }

    [Fact]
    public void Conv1DWeights_AreSplitAndTransposed()
    {
        IReadOnlyDictionary<string, HostTensor> raw = SafetensorsReader.ReadAll(SharedSafetensors);
        IReadOnlyDictionary<string, HostTensor> t = Shared.Value.Tensors;
        const int d = 64, inner = 256;
        for (int layer = 0; layer < 4; layer++)
        {
            float[] cAttn = raw[$"transformer.h.{layer}.attn.c_attn.weight"].Data; // [in=64, out=192]
            float[] cAttnBias = raw[$"transformer.h.{layer}.attn.c_attn.bias"].Data;
            string[] targets = [WeightNames.Query(layer), WeightNames.Key(layer), WeightNames.Value(layer)];
            for (int part = 0; part < 3; part++)
            {
                float[] w = t[targets[part]].Data;
                for (int o = 0; o < d; o++)
                {
                    for (int i = 0; i < d; i++) Assert.Equal(cAttn[(i * 3 * d) + (part * d) + o], w[(o * d) + i]);
                    Assert.Equal(cAttnBias[(part * d) + o], t[WeightNames.BiasOf(targets[part])].Data[o]);
                }
            }
            float[] fc = raw[$"transformer.h.{layer}.mlp.c_fc.weight"].Data; // [64, 256]
            float[] up = t[WeightNames.Up(layer)].Data; // [256, 64]
            float[] proj = raw[$"transformer.h.{layer}.mlp.c_proj.weight"].Data; // [256, 64]
            float[] down = t[WeightNames.Down(layer)].Data; // [64, 256]
            for (int o = 0; o < inner; o++)
            {
                for (int i = 0; i < d; i++)
                {
                    Assert.Equal(fc[(i * inner) + o], up[(o * d) + i]);
                    Assert.Equal(proj[(o * d) + i], down[(i * inner) + o]);
                }
            }
            float[] attnProj = raw[$"transformer.h.{layer}.attn.c_proj.weight"].Data;
            float[] output = t[WeightNames.Output(layer)].Data;
            Assert.Equal(attnProj[(3 * d) + 5], output[(5 * d) + 3]);
            Assert.Equal(raw[$"transformer.h.{layer}.ln_2.bias"].Data, t[WeightNames.MlpNormBias(layer)].Data);
        }
        Assert.Equal(raw["transformer.wpe.weight"].Data, t[WeightNames.PositionEmbedding].Data);
        Assert.Equal(raw["transformer.ln_f.weight"].Data, t[WeightNames.FinalNormWeight].Data);
    }

    [Fact]
    public void UnprefixedKeys_WithCausalMaskBuffers_LoadTheSameTensors()
    {
        using var temp = new TempDirectory();
        List<SafetensorsTestWriter.Entry> entries = SafetensorsTestWriter.CopyEntries(SharedSafetensors,
            name => name.StartsWith("transformer.", StringComparison.Ordinal) ? name["transformer.".Length..] : name);
        for (int layer = 0; layer < 4; layer++)
        {
            // Old OpenAI checkpoints carry the causal mask and masked_bias as buffers.
            entries.Add(SafetensorsTestWriter.F32($"h.{layer}.attn.bias", [1, 1, 128, 128], new float[128 * 128]));
            entries.Add(new SafetensorsTestWriter.Entry($"h.{layer}.attn.masked_bias", "I64", [], new byte[8]));
        }
        SafetensorsTestWriter.Write(temp.File("model.safetensors"), entries);
        File.Copy(SharedConfig, temp.File("config.json"));

        CheckpointData loaded = HuggingFaceLoader.Load(temp.Path);
        TestData.AssertSameTensors(Shared.Value.Tensors, loaded.Tensors);
    }

    [Fact]
    public void ShardedCheckpoint_WithIndex_LoadsTheSameTensors()
    {
        using var temp = new TempDirectory();
        List<SafetensorsTestWriter.Entry> entries = SafetensorsTestWriter.CopyEntries(SharedSafetensors);
        int half = entries.Count / 2;
        SafetensorsTestWriter.Write(temp.File("model-00001-of-00002.safetensors"), entries.Take(half));
        SafetensorsTestWriter.Write(temp.File("model-00002-of-00002.safetensors"), entries.Skip(half));
        var weightMap = new JsonObject();
        for (int i = 0; i < entries.Count; i++)
            weightMap[entries[i].Name] = i < half ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors";
        File.WriteAllText(temp.File(SafetensorsReader.IndexFileName), new JsonObject { ["metadata"] = new JsonObject { ["total_size"] = 1 }, ["weight_map"] = weightMap }.ToJsonString());
        File.Copy(SharedConfig, temp.File("config.json"));

        using (SafetensorsCheckpoint checkpoint = SafetensorsReader.OpenCheckpoint(temp.Path))
        {
            Assert.Equal(2, checkpoint.Files.Count);
            Assert.EndsWith("model-00002-of-00002.safetensors", checkpoint.FileOf(entries[^1].Name));
        }
        TestData.AssertSameTensors(Shared.Value.Tensors, HuggingFaceLoader.Load(temp.Path).Tensors);
    }

    [Fact]
    public void ShardIndex_NamingAMissingShard_Throws()
    {
        using var temp = new TempDirectory();
        File.WriteAllText(temp.File(SafetensorsReader.IndexFileName), """{"weight_map": {"wte.weight": "model-00009.safetensors"}}""");
        var ex = Assert.Throws<ModelFormatException>(() => SafetensorsReader.OpenCheckpoint(temp.Path));
        Assert.Contains(SafetensorsReader.IndexFileName, ex.Message);
        Assert.Contains("model-00009.safetensors", ex.Message);
        Assert.Contains("wte.weight", ex.Message);
    }

    [Fact]
    public void ShardIndex_WithPathTraversal_Throws()
    {
        using var temp = new TempDirectory();
        File.WriteAllText(temp.File(SafetensorsReader.IndexFileName), """{"weight_map": {"wte.weight": "../secret.safetensors"}}""");
        var ex = Assert.Throws<ModelFormatException>(() => SafetensorsReader.OpenCheckpoint(temp.Path));
        Assert.Contains("../secret.safetensors", ex.Message);
    }

    [Fact]
    public void UntiedConfig_WithLmHead_LoadsTheHead()
    {
        using var temp = new TempDirectory();
        List<SafetensorsTestWriter.Entry> entries = SafetensorsTestWriter.CopyEntries(SharedSafetensors);
        float[] head = TestData.Random(1024 * 64, 3);
        entries.Add(SafetensorsTestWriter.F32("lm_head.weight", [1024, 64], head));
        SafetensorsTestWriter.Write(temp.File("model.safetensors"), entries);
        WriteEditedConfig(temp.File("config.json"), c => c["tie_word_embeddings"] = false);

        CheckpointData loaded = HuggingFaceLoader.Load(temp.Path);
        Assert.False(loaded.Config.TiedEmbeddings);
        Assert.Equal(head, loaded.Tensors[WeightNames.LmHead].Data);
    }

    [Fact]
    public void ConfigShapeMismatch_NamesTensorAndBothShapes()
    {
        using var temp = new TempDirectory();
        File.Copy(SharedSafetensors, temp.File("model.safetensors"));
        WriteEditedConfig(temp.File("config.json"), c => c["n_positions"] = 256);
        var ex = Assert.Throws<ModelFormatException>(() => HuggingFaceLoader.Load(temp.Path));
        Assert.Contains("transformer.wpe.weight", ex.Message);
        Assert.Contains("[128, 64]", ex.Message);
        Assert.Contains("[256, 64]", ex.Message);
        Assert.Contains("model.safetensors", ex.Message);
    }

    [Fact]
    public void MissingTensor_IsNamed()
    {
        using var temp = new TempDirectory();
        SafetensorsTestWriter.Write(temp.File("model.safetensors"),
            SafetensorsTestWriter.CopyEntries(SharedSafetensors, n => n == "transformer.h.2.mlp.c_fc.bias" ? null : n));
        File.Copy(SharedConfig, temp.File("config.json"));
        var ex = Assert.Throws<ModelFormatException>(() => HuggingFaceLoader.Load(temp.Path));
        Assert.Contains("transformer.h.2.mlp.c_fc.bias", ex.Message);
        Assert.Contains(temp.Path, ex.Message);
    }

    [Fact]
    public void UnknownModelType_IsNamed()
    {
        using var temp = new TempDirectory();
        File.Copy(SharedSafetensors, temp.File("model.safetensors"));
        WriteEditedConfig(temp.File("config.json"), c => c["model_type"] = "falcon");
        var ex = Assert.Throws<ModelFormatException>(() => HuggingFaceLoader.Load(temp.Path));
        Assert.Contains("falcon", ex.Message);
        Assert.Contains("config.json", ex.Message);
    }

    [Theory]
    [InlineData("activation_function", "\"gelu\"", "activation_function")]
    [InlineData("n_embd", "\"64\"", "n_embd")]
    [InlineData("n_embd", "65", "n_embd")]
    [InlineData("n_layer", "0", "NumLayers")]
    [InlineData("n_layer", "3000000000", "n_layer")]
    [InlineData("layer_norm_epsilon", "-1", "NormEps")]
    public void InvalidConfigFields_AreNamed(string key, string json, string expectedField)
    {
        using var temp = new TempDirectory();
        File.Copy(SharedSafetensors, temp.File("model.safetensors"));
        WriteEditedConfig(temp.File("config.json"), c => c[key] = JsonNode.Parse(json));
        var ex = Assert.Throws<ModelFormatException>(() => HuggingFaceLoader.Load(temp.Path));
        Assert.Contains(expectedField, ex.Message);
        Assert.Contains("config.json", ex.Message);
    }

    [Fact]
    public void MissingFolder_AndMissingConfig_AreNamed()
    {
        using var temp = new TempDirectory();
        string missing = temp.File("nope");
        var ex = Assert.Throws<ModelFormatException>(() => HuggingFaceLoader.Load(missing));
        Assert.Contains(missing, ex.Message);
        ex = Assert.Throws<ModelFormatException>(() => HuggingFaceLoader.Load(temp.Path));
        Assert.Contains("config.json", ex.Message);
        Assert.IsType<FileNotFoundException>(ex.InnerException);
    }

    [Fact]
    public void TokenizerFiles_AndChatTemplate_AreRecordedInMetadata()
    {
        using var temp = new TempDirectory();
        File.Copy(SharedSafetensors, temp.File("model.safetensors"));
        File.Copy(SharedConfig, temp.File("config.json"));
        File.Copy(Path.Combine(SharedAssets.Gpt2TokenizerDir, "vocab.json"), temp.File("vocab.json"));
        File.Copy(Path.Combine(SharedAssets.Gpt2TokenizerDir, "merges.txt"), temp.File("merges.txt"));
        File.WriteAllText(temp.File("tokenizer.json"), "{}");
        File.WriteAllText(temp.File("tokenizer_config.json"), """{"chat_template": "{% for m in messages %}{{ m.content }}{% endfor %}"}""");

        CheckpointData loaded = HuggingFaceLoader.Load(temp.Path);
        Assert.Null(loaded.Tokenizer);
        Assert.Equal(temp.File("vocab.json"), loaded.Metadata[HuggingFaceLoader.VocabJsonPathKey]);
        Assert.Equal(temp.File("merges.txt"), loaded.Metadata[HuggingFaceLoader.MergesTxtPathKey]);
        Assert.Equal(temp.File("tokenizer.json"), loaded.Metadata[HuggingFaceLoader.TokenizerJsonPathKey]);
        Assert.DoesNotContain(HuggingFaceLoader.TokenizerModelPathKey, loaded.Metadata.Keys);
        Assert.Equal("{% for m in messages %}{{ m.content }}{% endfor %}", loaded.Metadata[HuggingFaceLoader.ChatTemplateKey]);
    }

    [Fact]
    public void NamedChatTemplates_UseTheDefaultOne()
    {
        using var temp = new TempDirectory();
        File.Copy(SharedSafetensors, temp.File("model.safetensors"));
        File.Copy(SharedConfig, temp.File("config.json"));
        File.WriteAllText(temp.File("tokenizer_config.json"), """{"chat_template": [{"name": "tool_use", "template": "T"}, {"name": "default", "template": "D"}]}""");
        Assert.Equal("D", HuggingFaceLoader.Load(temp.Path).Metadata[HuggingFaceLoader.ChatTemplateKey]);
    }

    internal static void WriteEditedConfig(string path, Action<JsonObject> edit)
    {
        var config = JsonNode.Parse(File.ReadAllText(SharedConfig))!.AsObject();
        edit(config);
        File.WriteAllText(path, config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }
}
