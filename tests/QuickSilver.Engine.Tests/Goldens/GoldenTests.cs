using System.Text.Json;
using QuickSilver.Engine.Generation;
using QuickSilver.Engine.Loading;
using QuickSilver.Engine.Models;
using QuickSilver.Engine.Runtime;
using QuickSilver.Testing;
using TorchSharp;

namespace QuickSilver.Engine.Tests.Goldens;

/// <summary>The engine against an independent float64 reference (shared/goldens), tolerance 1e-4 as its README states.</summary>
public sealed class GoldenTests
{
    private const float Tolerance = 1e-4f;
    private static readonly Lazy<JsonElement> Llama = new(() => JsonDocument.Parse(File.ReadAllText(SharedAssets.LlamaGolden)).RootElement);
    private static readonly Lazy<JsonElement> Gpt2 = new(() => JsonDocument.Parse(File.ReadAllText(SharedAssets.Gpt2Golden)).RootElement);

    public static TheoryData<string> Formats => new() { "bin", "gguf", "hf" };

    private static string PathOf(string format) => format switch
    {
        "bin" => SharedAssets.Stories260KBin,
        "gguf" => SharedAssets.Stories260KGguf,
        _ => SharedAssets.Stories260KHf,
    };

    private static int[] Ints(JsonElement e) => e.EnumerateArray().Select(x => x.GetInt32()).ToArray();
    private static float[] Floats(JsonElement e) => e.EnumerateArray().Select(x => (float)x.GetDouble()).ToArray();

    private static void AssertMatchesGolden(ForwardRunner runner, int[] ids, JsonElement golden, int vocab)
    {
        using var output = runner.Run(new ForwardInput { TokenIds = ids, AllLogits = true });
        using var scope = torch.NewDisposeScope();
        var logits = output.Logits; // (T, V)
        var last = TestModels.ToArray(logits[ids.Length - 1]);
        Assert.True(TestModels.MaxAbsDiff(Floats(golden.GetProperty("last_logits")), last) <= Tolerance);
        Assert.Equal(Ints(golden.GetProperty("argmax")), logits.argmax(-1).data<long>().ToArray().Select(x => (int)x));
        var lse = TestModels.ToArray(logits.to(torch.float64).logsumexp(-1).to(torch.float32));
        Assert.True(TestModels.MaxAbsDiff(Floats(golden.GetProperty("logsumexp")), lse) <= Tolerance);
    }

    [Theory]
    [MemberData(nameof(Formats))]
    public void Stories260K_matches_the_golden_logits_in_every_format(string format)
    {
        using var model = LanguageModel.Load(PathOf(format));
        Assert.Equal(64, model.Config.HiddenSize);
        foreach (var prompt in Llama.Value.GetProperty("prompts").EnumerateArray())
        {
            var ids = Ints(prompt.GetProperty("ids"));
            Assert.Equal(ids, model.Tokenizer.Encode(prompt.GetProperty("text").GetString()!, addBos: true));
            AssertMatchesGolden(model.Runner, ids, prompt, model.Config.VocabSize);
        }
    }

    [Fact]
    public void The_three_formats_agree_with_each_other()
    {
        var ids = Ints(Llama.Value.GetProperty("nll")[0].GetProperty("ids"))[..128];
        float[]? reference = null;
        foreach (string format in new[] { "bin", "gguf", "hf" })
        {
            using var model = LanguageModel.Load(PathOf(format));
            using var output = model.Runner.Run(new ForwardInput { TokenIds = ids, AllLogits = true });
            var logits = TestModels.ToArray(output.Logits);
            if (reference is null) reference = logits;
            else Assert.True(TestModels.MaxAbsDiff(reference, logits) <= 1e-5f, $"{format} differs from bin");
        }
    }

    [Theory]
    [MemberData(nameof(Formats))]
    public void Greedy_generation_from_bos_reproduces_the_golden_story(string format)
    {
        using var model = LanguageModel.Load(PathOf(format));
        var greedy = Llama.Value.GetProperty("greedy");
        using var session = model.CreateSession();
        var result = session.Generate(Ints(greedy.GetProperty("prompt_ids")), new GenerationRequest { MaxNewTokens = greedy.GetProperty("n_new").GetInt32(), Temperature = 0 });
        Assert.Equal(Ints(greedy.GetProperty("ids")), result.Tokens);
        Assert.Equal(GenerationFinishReason.Length, result.FinishReason);
        Assert.Equal(greedy.GetProperty("text").GetString(), model.Tokenizer.Decode(result.Tokens));
    }

    [Fact]
    public void Teacher_forced_nll_matches_the_golden()
    {
        using var model = LanguageModel.Load(SharedAssets.Stories260KBin);
        var nll = Llama.Value.GetProperty("nll")[0];
        var ids = Ints(nll.GetProperty("ids"));
        using var output = model.Runner.Run(new ForwardInput { TokenIds = ids[..^1], AllLogits = true });
        using var scope = torch.NewDisposeScope();
        var logp = output.Logits.log_softmax(-1);
        var targets = torch.tensor(ids[1..].Select(x => (long)x).ToArray(), torch.int64).unsqueeze(1);
        var perToken = TestModels.ToArray(-logp.gather(1, targets).squeeze(1));
        Assert.True(TestModels.MaxAbsDiff(Floats(nll.GetProperty("per_token_nll")), perToken) <= Tolerance);
        Assert.Equal(nll.GetProperty("mean_nll").GetDouble(), perToken.Average(), 4);
    }

    [Fact]
    public void Gpt2_tiny_random_matches_its_golden_logits()
    {
        var checkpoint = CheckpointLoader.Load(SharedAssets.Gpt2TinyRandomHf);
        using var model = TransformerModel.Create(checkpoint, torch.CPU);
        var runner = new ForwardRunner(model);
        foreach (var sequence in Gpt2.Value.GetProperty("sequences").EnumerateArray())
            AssertMatchesGolden(runner, Ints(sequence.GetProperty("ids")), sequence, model.Config.VocabSize);
    }

    [Fact]
    public void Gpt2_tiny_random_greedy_continuation_through_the_kv_cache_matches()
    {
        var checkpoint = CheckpointLoader.Load(SharedAssets.Gpt2TinyRandomHf);
        using var model = TransformerModel.Create(checkpoint, torch.CPU);
        var runner = new ForwardRunner(model);
        var greedy = Gpt2.Value.GetProperty("greedy");
        var prompt = Ints(greedy.GetProperty("prompt_ids"));
        using var cache = new KvCache(model.Config, model.Config.MaxPositions, torch.CPU);
        var generated = new List<int>();
        var output = runner.Run(new ForwardInput { TokenIds = prompt, Cache = cache });
        for (int i = 0; i < greedy.GetProperty("n_new").GetInt32(); i++)
        {
            int next = (int)output.Logits.argmax(-1).item<long>();
            output.Dispose();
            generated.Add(next);
            output = runner.Run(new ForwardInput { TokenIds = [next], StartPosition = cache.Length, Cache = cache });
        }
        output.Dispose();
        Assert.Equal(Ints(greedy.GetProperty("new_ids")), generated);
    }
}
