using QuickSilver.Engine.Loading;
using QuickSilver.Engine.Models;

namespace QuickSilver.Engine.Tests.Loading;

/// <summary>A synthetic GQA Llama written in each format loads to the same canonical tensors.</summary>
public sealed class LlamaFormatsTests
{
    private static Dictionary<string, float[]> ExpectedCanonical(TinyLlama m, bool withHead)
    {
        var expected = new Dictionary<string, float[]> { [WeightNames.Embedding] = m.Embedding, [WeightNames.FinalNormWeight] = m.FinalNorm };
        if (withHead) expected[WeightNames.LmHead] = m.Classifier;
        for (int l = 0; l < m.Layers; l++)
        {
            expected[WeightNames.AttnNormWeight(l)] = m.AttnNorm[l];
            expected[WeightNames.Query(l)] = TinyLlama.ToRotateHalf(m.Wq[l], m.Heads, m.HeadDim, m.Dim);
            expected[WeightNames.Key(l)] = TinyLlama.ToRotateHalf(m.Wk[l], m.KvHeads, m.HeadDim, m.Dim);
            expected[WeightNames.Value(l)] = m.Wv[l];
            expected[WeightNames.Output(l)] = m.Wo[l];
            expected[WeightNames.MlpNormWeight(l)] = m.FfnNorm[l];
            expected[WeightNames.Gate(l)] = m.W1[l];
            expected[WeightNames.Down(l)] = m.W2[l];
            expected[WeightNames.Up(l)] = m.W3[l];
        }
        return expected;
    }

    private static void AssertCanonical(TinyLlama m, CheckpointData data, bool withHead)
    {
        Dictionary<string, float[]> expected = ExpectedCanonical(m, withHead);
        Assert.Equal(expected.Keys.Order(), data.Tensors.Keys.Order());
        foreach ((string name, float[] values) in expected) Assert.Equal(values, data.Tensors[name].Data);
    }

    private static void AssertTinyConfig(TinyLlama m, ModelConfig config)
    {
        Assert.Equal(m.Dim, config.HiddenSize);
        Assert.Equal(m.Hidden, config.IntermediateSize);
        Assert.Equal(m.Layers, config.NumLayers);
        Assert.Equal(m.Heads, config.NumHeads);
        Assert.Equal(m.KvHeads, config.NumKvHeads);
        Assert.Equal(m.HeadDim, config.HeadDim);
        Assert.Equal(m.Vocab, config.VocabSize);
        Assert.Equal(m.SeqLen, config.MaxPositions);
        Assert.Equal(1, config.BosTokenId);
        Assert.Equal(2, config.EosTokenId);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Llama2c_LoadsPermutedWeights(bool separateClassifier)
    {
        using var temp = new TempDirectory();
        TinyLlama m = TinyLlama.Create();
        string path = temp.File("tiny.bin");
        File.WriteAllBytes(path, m.Llama2cBytes(separateClassifier));
        File.WriteAllBytes(temp.File("tokenizer.bin"), [0]);
        CheckpointData data = Llama2cLoader.Load(path);
        AssertTinyConfig(m, data.Config);
        Assert.Equal(!separateClassifier, data.Config.TiedEmbeddings);
        AssertCanonical(m, data, withHead: separateClassifier);
        Assert.Equal(temp.File("tokenizer.bin"), data.Metadata[Llama2cLoader.TokenizerPathKey]);
    }

    [Fact]
    public void Gguf_F32_LoadsPermutedWeights()
    {
        using var temp = new TempDirectory();
        TinyLlama m = TinyLlama.Create();
        string path = temp.File("tiny.gguf");
        m.GgufWriter().Write(path);
        CheckpointData data = GgufLoader.Load(path);
        AssertTinyConfig(m, data.Config);
        Assert.False(data.Config.TiedEmbeddings);
        AssertCanonical(m, data, withHead: true);
        Assert.Equal("tiny", data.Metadata["general.name"]);
    }

    [Theory]
    [InlineData("llama")]
    [InlineData("qwen2")]
    public void Gguf_WithBiases_PermutesOnlyInterleavedArchitectures(string architecture)
    {
        using var temp = new TempDirectory();
        TinyLlama m = TinyLlama.Create();
        string path = temp.File("tiny.gguf");
        m.GgufWriter(architecture: architecture, withBiases: true).Write(path);
        CheckpointData data = GgufLoader.Load(path);
        Assert.Equal(architecture, data.Config.Architecture);
        Assert.True(data.Config.AttentionBias);
        Dictionary<string, float[]> expected = ExpectedCanonical(m, withHead: true);
        foreach ((string name, float[] values) in expected) Assert.Equal(values, data.Tensors[name].Data);
        bool interleaved = architecture == "llama";
        for (int l = 0; l < m.Layers; l++)
        {
            Assert.Equal(interleaved ? TinyLlama.ToRotateHalf(m.QBias(l), m.Heads, m.HeadDim, 1) : m.QBias(l), data.Tensors[WeightNames.BiasOf(WeightNames.Query(l))].Data);
            Assert.Equal(interleaved ? TinyLlama.ToRotateHalf(m.KBias(l), m.KvHeads, m.HeadDim, 1) : m.KBias(l), data.Tensors[WeightNames.BiasOf(WeightNames.Key(l))].Data);
            Assert.Equal(m.VBias(l), data.Tensors[WeightNames.BiasOf(WeightNames.Value(l))].Data);
            Assert.All(data.Tensors[WeightNames.BiasOf(WeightNames.Output(l))].Data, v => Assert.Equal(0f, v));
        }
    }

    [Fact]
    public void Gguf_WithoutOutput_IsTied()
    {
        using var temp = new TempDirectory();
        TinyLlama m = TinyLlama.Create();
        string path = temp.File("tiny.gguf");
        m.GgufWriter(withOutput: false).Write(path);
        CheckpointData data = GgufLoader.Load(path);
        Assert.True(data.Config.TiedEmbeddings);
        AssertCanonical(m, data, withHead: false);
    }

    [Theory]
    [InlineData(GgufTensorType.F16, 1e-3f)]
    [InlineData(GgufTensorType.Q8_0, 1e-2f)]
    [InlineData(GgufTensorType.Q4_0, 0.15f)]
    public void Gguf_Quantized_LoadsWithinQuantizationError(GgufTensorType type, float tolerance)
    {
        using var temp = new TempDirectory();
        TinyLlama m = TinyLlama.Create();
        string path = temp.File("tiny.gguf");
        m.GgufWriter(type).Write(path);
        CheckpointData data = GgufLoader.Load(path);
        foreach ((string name, float[] values) in ExpectedCanonical(m, withHead: true))
        {
            float[] actual = data.Tensors[name].Data;
            for (int i = 0; i < values.Length; i++)
                Assert.True(Math.Abs(values[i] - actual[i]) <= tolerance, $"{name}[{i}]: {values[i]} vs {actual[i]}");
        }
        // Values in [-1, 1] quantized to Q4_0 cannot all survive exactly: the test would notice a silent F32 fallback.
        if (type != GgufTensorType.F16) Assert.NotEqual(m.Wv[0], data.Tensors[WeightNames.Value(0)].Data);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void HuggingFace_Llama_LoadsWithGqaAndEosList(bool withHead)
    {
        using var temp = new TempDirectory();
        TinyLlama m = TinyLlama.Create();
        CheckpointData data = HuggingFaceLoader.Load(m.WriteHfFolder(temp.Path, withHead));
        AssertTinyConfig(m, data.Config);
        Assert.Equal(!withHead, data.Config.TiedEmbeddings);
        Assert.Equal(1e-5f, data.Config.NormEps);
        AssertCanonical(m, data, withHead);
    }

    [Fact]
    public void HuggingFace_AllFormatsAgree()
    {
        using var temp = new TempDirectory();
        TinyLlama m = TinyLlama.Create();
        File.WriteAllBytes(temp.File("tiny.bin"), m.Llama2cBytes(separateClassifier: true));
        m.GgufWriter().Write(temp.File("tiny.gguf"));
        CheckpointData hf = CheckpointLoader.Load(m.WriteHfFolder(temp.SubDirectory("hf"), withHead: true));
        TestData.AssertSameTensors(hf.Tensors, CheckpointLoader.Load(temp.File("tiny.bin")).Tensors);
        TestData.AssertSameTensors(hf.Tensors, CheckpointLoader.Load(temp.File("tiny.gguf")).Tensors);
    }

    [Fact]
    public void HuggingFace_Qwen2_GetsQkvBiasesAndAZeroOutputBias()
    {
        using var temp = new TempDirectory();
        TinyLlama m = TinyLlama.Create();
        var entries = m.HfEntries(withHead: false).ToList();
        for (int l = 0; l < m.Layers; l++)
        {
            entries.Add(SafetensorsTestWriter.F32($"model.layers.{l}.self_attn.q_proj.bias", [m.Dim], TestData.Random(m.Dim, 100 + l)));
            entries.Add(SafetensorsTestWriter.F32($"model.layers.{l}.self_attn.k_proj.bias", [m.KvDim], TestData.Random(m.KvDim, 200 + l)));
            entries.Add(SafetensorsTestWriter.F32($"model.layers.{l}.self_attn.v_proj.bias", [m.KvDim], TestData.Random(m.KvDim, 300 + l)));
        }
        SafetensorsTestWriter.Write(temp.File("model.safetensors"), entries);
        Dictionary<string, object?> config = m.HfConfig(tied: true);
        config["model_type"] = "qwen2";
        File.WriteAllText(temp.File("config.json"), System.Text.Json.JsonSerializer.Serialize(config));

        CheckpointData data = HuggingFaceLoader.Load(temp.Path);
        Assert.True(data.Config.AttentionBias);
        Assert.Equal(TestData.Random(m.KvDim, 201), data.Tensors[WeightNames.BiasOf(WeightNames.Key(1))].Data);
        Assert.All(data.Tensors[WeightNames.BiasOf(WeightNames.Output(0))].Data, v => Assert.Equal(0f, v));
    }

    [Fact]
    public void HuggingFace_Qwen2_MissingRequiredBias_IsNamed()
    {
        using var temp = new TempDirectory();
        TinyLlama m = TinyLlama.Create();
        m.WriteHfFolder(temp.Path, withHead: false, c => c["model_type"] = "qwen2");
        var ex = Assert.Throws<ModelFormatException>(() => HuggingFaceLoader.Load(temp.Path));
        Assert.Contains("model.layers.0.self_attn.q_proj.bias", ex.Message);
    }

    [Theory]
    [InlineData("rope_scaling", "yarn")]
    [InlineData("hidden_act", "gelu")]
    public void HuggingFace_UnsupportedSemantics_AreRejected(string key, string value)
    {
        using var temp = new TempDirectory();
        TinyLlama m = TinyLlama.Create();
        m.WriteHfFolder(temp.Path, withHead: false, c => c[key] = key == "rope_scaling" ? new Dictionary<string, object> { ["rope_type"] = value, ["factor"] = 8.0 } : value);
        var ex = Assert.Throws<ModelFormatException>(() => HuggingFaceLoader.Load(temp.Path));
        Assert.Contains(key, ex.Message);
        Assert.Contains(value, ex.Message);
    }

    [Fact]
    public void HuggingFace_KeyShapeMismatch_NamesTensorAndShapes()
    {
        using var temp = new TempDirectory();
        TinyLlama m = TinyLlama.Create();
        m.WriteHfFolder(temp.Path, withHead: false, c => c["num_key_value_heads"] = 4);
        var ex = Assert.Throws<ModelFormatException>(() => HuggingFaceLoader.Load(temp.Path));
        Assert.Contains("model.layers.0.self_attn.k_proj.weight", ex.Message);
        Assert.Contains("[16, 32]", ex.Message);
        Assert.Contains("[32, 32]", ex.Message);
    }
}
