using QuickSilver.Engine.Loading;
using QuickSilver.Engine.Models;
using QuickSilver.Engine.Runtime;
using QuickSilver.Engine.Tests.Loading;
using QuickSilver.Testing.LlamaCpp;
using Xunit.Abstractions;
using QuickSilver.Testing.Conformance;

namespace QuickSilver.Engine.Tests.Architectures;

/// <summary>Each architecture, written as llama.cpp's converter and as transformers write it, loads to the same model and matches llama.cpp.</summary>
public sealed class ArchitectureConformanceTests(ITestOutputHelper output)
{
    /// <summary>Long enough to cross the tiny sliding windows (8) and llama3's shrunk original context (16).</summary>
    private static readonly int[] Prompt = TestModels.RandomTokens(40, 64, seed: 21);

    public static TheoryData<string> Names() => TinyArchitectures.Names();

    public static TheoryData<string, GgufTensorType> NamesAndTypes()
    {
        var data = new TheoryData<string, GgufTensorType>();
        foreach (ArchitectureCase c in TinyArchitectures.All)
        {
            data.Add(c.Name, GgufTensorType.F32);
            data.Add(c.Name, GgufTensorType.F16);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(NamesAndTypes))]
    public void Gguf_logits_match_llama_cpp_at_every_position(string name, GgufTensorType matrixType)
    {
        ArchitectureCase c = TinyArchitectures.ByName(name);
        using var temp = new TempDirectory();
        string path = ArchitectureWriters.WriteGguf(c, c.Weights(), temp.File(name + ".gguf"), matrixType);
        int[] tokens = Prompt;

        // The user's path: LanguageModel.Load resolves the loader and the GGUF vocabulary.
        using LanguageModel model = LanguageModel.Load(path);
        using ForwardOutput forward = model.Runner.Run(new ForwardInput { TokenIds = tokens, AllLogits = true });
        float[] ours = TestModels.ToArray(forward.Logits);
        // llama.cpp runs Mistral (converted as llama) without its window: there its cache is trimmed to the window instead.
        float[][] theirs = c.Config.SlidingWindow > 0 && !c.LlamaCppAppliesWindow
            ? LlamaCppModel.LogitsWithSlidingWindow(path, tokens, c.Config.SlidingWindow)
            : LlamaCppModel.LogitsAtEveryPosition(path, tokens);
        (float maxDelta, double argmaxAgreement) = Compare(ours, theirs, c.Config.VocabSize);
        output.WriteLine($"{name} {matrixType}: {tokens.Length} positions, max |Δlogit| vs llama.cpp = {maxDelta:G3}, argmax agreement {argmaxAgreement:P0}");
        AssertWithinGoal(c, path, tokens, matrixType, ours, theirs);
    }

    /// <summary>
    /// The user's path far beyond the window: a sequence prefilled then decoded token by token over the whole context, so its
    /// sliding-window layers evict (default margin: the bound is window + 32 + 8 = 48 entries; the context is 64) and the global
    /// layers do not. Every position's logits match llama.cpp's, and the windowed layers hold no more than their bound.
    /// </summary>
    [Theory]
    [InlineData("mistral")]
    [InlineData("gemma2")]
    [InlineData("gemma3")]
    public void Sequence_decoding_beyond_the_window_evicts_and_matches_llama_cpp(string name)
    {
        ArchitectureCase c = TinyArchitectures.ByName(name);
        using var temp = new TempDirectory();
        string path = ArchitectureWriters.WriteGguf(c, c.Weights(), temp.File(name + ".gguf"));
        int[] tokens = TestModels.RandomTokens(c.Config.MaxPositions, c.Config.VocabSize, seed: 22);
        using LanguageModel model = LanguageModel.Load(path);
        using var sequence = model.CreateSequence();
        const int prompt = 10;
        var rows = new List<float>();
        for (int at = 0; at < tokens.Length; at = sequence.Length)
        {
            int[] step = at == 0 ? tokens[..prompt] : [tokens[at]];
            var logits = model.Decode([new QuickSilver.Engine.Generation.SequenceStep(sequence, step)])[0];
            for (int r = 0; r < logits.RowCount; r++) rows.AddRange(logits.Row(r).ToArray());
        }
        float[][] theirs = c.Config.SlidingWindow > 0 && !c.LlamaCppAppliesWindow
            ? LlamaCppModel.LogitsWithSlidingWindow(path, tokens, c.Config.SlidingWindow)
            : LlamaCppModel.LogitsAtEveryPosition(path, tokens);
        (float maxDelta, double argmaxAgreement) = Compare([.. rows], theirs, c.Config.VocabSize);
        output.WriteLine($"{name}: {tokens.Length} positions decoded, max |Δlogit| vs llama.cpp = {maxDelta:G3}, argmax agreement {argmaxAgreement:P0}");
        Assert.True(maxDelta <= 0.02f, $"max |Δlogit| {maxDelta}");
        Assert.Equal(1.0, argmaxAgreement);

        KvCache cache = ((QuickSilver.Engine.Generation.ModelSequence)sequence).Cache;
        for (int l = 0; l < c.Config.NumLayers; l++)
        {
            if (c.Config.WindowOf(l) is null) Assert.Equal(tokens.Length, cache[l].Count);
            else Assert.True(cache[l].Count <= cache[l].EntryBound && cache[l].EntryBound < tokens.Length, $"layer {l}: {cache[l].Count} entries, bound {cache[l].EntryBound}");
        }
        Assert.True(cache.EarliestTruncation > 0);
        Assert.True(sequence.CanTruncateTo(tokens.Length - LayerKvCache.DefaultRollbackMargin));
        Assert.False(sequence.CanTruncateTo(prompt));

        // A new prompt sharing only an evicted prefix: the generator starts over instead of truncating into the evicted part.
        var generator = new QuickSilver.Engine.Generation.Generator(model, sequence, [.. tokens[..prompt], 5, 6], new QuickSilver.Engine.Generation.GenerationRequest { MaxNewTokens = 1 });
        Assert.Equal(0, generator.CachedPromptTokens);
        Assert.Equal(0, sequence.Length);
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Hf_folder_and_gguf_load_the_same_model(string name)
    {
        ArchitectureCase c = TinyArchitectures.ByName(name);
        CheckpointData weights = c.Weights();
        using var temp = new TempDirectory();
        CheckpointData gguf = GgufLoader.Load(ArchitectureWriters.WriteGguf(c, weights, temp.File("m.gguf")));
        CheckpointData hf = HuggingFaceLoader.Load(ArchitectureWriters.WriteHfFolder(c, weights, temp.SubDirectory("hf")));

        foreach (CheckpointData loaded in new[] { gguf, hf })
        {
            AssertSameConfig(c.Config, loaded.Config, loaded.Source);
            Assert.Equal(weights.Tensors.Keys.Order(), loaded.Tensors.Keys.Order());
            foreach ((string tensor, HostTensor expected) in weights.Tensors) Assert.True(expected.Data.SequenceEqual(loaded.Tensors[tensor].Data), $"{loaded.Source}: {tensor}");
        }
        float delta = TestModels.MaxAbsDiff(Logits(gguf, Prompt), Logits(hf, Prompt));
        Assert.True(delta < 1e-4f, $"{name}: GGUF vs HF max |Δlogit| {delta}");
    }

    /// <summary>
    /// F32: the goal, max |Δlogit| ≤ 0.02 and every argmax equal. F16: llama.cpp rounds F16 matmul inputs to fp16
    /// while we multiply the same weights in float32. On these tiny models (weights of std 0.25, logits of ±10) that
    /// rounding moves llama.cpp's logits by up to ~0.03 (the 0.02 goal is shown on the role-scaled models of the
    /// conformance matrix, TensorTypeConformanceTests). Here the test proves where the gap is: ours are within 1e-3 of a
    /// float64 forward on the same file, and any argmax flip is a near-tie llama.cpp's own distance from that forward can swap.
    /// </summary>
    internal static void AssertWithinGoal(ArchitectureCase c, string path, int[] tokens, GgufTensorType matrixType, float[] ours, float[][] theirs)
    {
        int vocab = c.Config.VocabSize;
        (float maxDelta, double argmaxAgreement) = Compare(ours, theirs, vocab);
        if (matrixType == GgufTensorType.F32)
        {
            Assert.True(maxDelta <= 0.02f, $"{matrixType}: max |Δlogit| {maxDelta}");
            Assert.Equal(1.0, argmaxAgreement);
            return;
        }
        double[][] exact = Float64Transformer.Logits(c, path, tokens);
        double[][] oursRows = ConformanceMetrics.Rows(ours, vocab), theirRows = ConformanceMetrics.Widen(theirs);
        double oursError = ConformanceMetrics.MaxAbsDelta(oursRows, exact), theirError = ConformanceMetrics.MaxAbsDelta(theirRows, exact);
        Assert.True(oursError <= 1e-3, $"{matrixType}: ours vs float64 {oursError}");
        Assert.True(maxDelta <= theirError + oursError + 1e-6, $"{matrixType}: max |Δlogit| {maxDelta} exceeds llama.cpp's own distance from float64 {theirError}");
        Assert.Equal(0, ConformanceMetrics.UnexplainedArgmaxFlips(oursRows, theirRows, exact, theirError));
    }

    internal static float[] Logits(CheckpointData checkpoint, int[] tokens)
    {
        using TransformerModel model = TransformerModel.Create(checkpoint, TorchSharp.torch.CPU);
        using ForwardOutput forward = new ForwardRunner(model).Run(new ForwardInput { TokenIds = tokens, AllLogits = true });
        return TestModels.ToArray(forward.Logits);
    }

    internal static (float MaxDelta, double ArgmaxAgreement) Compare(float[] ours, float[][] theirs, int vocab)
    {
        float max = 0;
        int agree = 0;
        for (int t = 0; t < theirs.Length; t++)
        {
            Assert.Equal(vocab, theirs[t].Length);
            int oursBest = 0, theirsBest = 0;
            for (int v = 0; v < vocab; v++)
            {
                float o = ours[(t * vocab) + v];
                max = Math.Max(max, Math.Abs(theirs[t][v] - o));
                if (o > ours[(t * vocab) + oursBest]) oursBest = v;
                if (theirs[t][v] > theirs[t][theirsBest]) theirsBest = v;
            }
            if (oursBest == theirsBest) agree++;
        }
        return (max, (double)agree / theirs.Length);
    }

    private static void AssertSameConfig(ModelConfig expected, ModelConfig actual, string source)
    {
        var normalized = actual with { Architecture = expected.Architecture, RopeScaling = expected.RopeScaling, SlidingWindowLayers = expected.SlidingWindowLayers };
        Assert.True(expected == normalized, $"{source}: config {actual} differs from {expected}");
        Assert.Equal(expected.SlidingWindowLayers ?? [], actual.SlidingWindowLayers ?? []);
        Assert.Equal(expected.RopeScaling is null, actual.RopeScaling is null);
        if (expected.RopeScaling is { } e && actual.RopeScaling is { } a)
        {
            Assert.Equal(e.PositionScale, a.PositionScale, 12);
            Assert.Equal(e.AttentionFactor, a.AttentionFactor, 6);
            Assert.Equal(e.FrequencyFactors ?? [], a.FrequencyFactors ?? []);
            Assert.Equal(e.LongFrequencyFactors ?? [], a.LongFrequencyFactors ?? []);
        }
    }
}
