using QuickSilver.Engine.Models;
using QuickSilver.Engine.Runtime;
using TorchSharp;

namespace QuickSilver.Engine.Tests.Runtime;

public sealed class DenseForwardTests
{
    public static TheoryData<string> Architectures => new() { "llama", "gpt2" };

    private static ModelConfig Config(string arch) => arch == "llama" ? TestModels.TinyLlama() : TestModels.TinyGpt2();

    [Theory]
    [MemberData(nameof(Architectures))]
    public void Incremental_decode_matches_full_prefill(string arch)
    {
        var config = Config(arch);
        using var model = TestModels.Create(config);
        var runner = new ForwardRunner(model);
        var tokens = TestModels.RandomTokens(40, config.VocabSize, seed: 7);

        using var full = runner.Run(new ForwardInput { TokenIds = tokens, AllLogits = true });
        var expected = TestModels.ToArray(full.Logits); // (T, V)

        // Prefill 25 tokens, then one token at a time through the cache.
        using var cache = new KvCache(config, 64, torch.CPU, initialCapacity: 4);
        var incremental = new List<float>();
        using (var prefill = runner.Run(new ForwardInput { TokenIds = tokens[..25], Cache = cache, AllLogits = true }))
            incremental.AddRange(TestModels.ToArray(prefill.Logits));
        for (int i = 25; i < tokens.Length; i++)
        {
            using var step = runner.Run(new ForwardInput { TokenIds = [tokens[i]], StartPosition = i, Cache = cache });
            incremental.AddRange(TestModels.ToArray(step.Logits));
        }
        Assert.True(TestModels.MaxAbsDiff(expected, [.. incremental]) < 1e-4f);
        Assert.Equal(tokens.Length, cache.Length);
        Assert.Equal(tokens.Length, cache[0].Count);
    }

    [Fact]
    public void Batched_dense_logits_match_single_sequences()
    {
        var config = TestModels.TinyLlama();
        using var model = TestModels.Create(config);
        var runner = new ForwardRunner(model);
        var a = TestModels.RandomTokens(20, config.VocabSize, 1);
        var b = TestModels.RandomTokens(20, config.VocabSize, 2);
        using var ids = torch.tensor(a.Concat(b).Select(x => (long)x).ToArray(), [2, 20], torch.int64);
        using var batch = runner.DenseBatchLogits(ids);
        using var single = runner.Run(new ForwardInput { TokenIds = b, AllLogits = true });
        Assert.True(TestModels.MaxAbsDiff(TestModels.ToArray(batch[1]), TestModels.ToArray(single.Logits)) < 1e-4f);
    }

    [Fact]
    public void Prompt_longer_than_the_context_is_rejected()
    {
        var config = TestModels.TinyLlama();
        using var model = TestModels.Create(config);
        var runner = new ForwardRunner(model);
        using var cache = new KvCache(config, 16, torch.CPU);
        var error = Assert.Throws<QuickSilver.Engine.Generation.ContextLengthExceededException>(() =>
            runner.Run(new ForwardInput { TokenIds = TestModels.RandomTokens(17, config.VocabSize, 3), Cache = cache }));
        Assert.Equal(16, error.ContextLength);
    }

    [Fact]
    public void Token_ids_out_of_range_are_rejected()
    {
        var config = TestModels.TinyLlama();
        using var model = TestModels.Create(config);
        var runner = new ForwardRunner(model);
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => runner.Run(new ForwardInput { TokenIds = [3, config.VocabSize] }));
        Assert.Contains(config.VocabSize.ToString(), error.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => runner.Run(new ForwardInput { TokenIds = [-1] }));
    }
}

[Collection(TensorCountCollection.Name)]
public sealed class LeakCheck
{
    [Fact]
    public void Two_hundred_forward_passes_leak_no_tensors()
    {
        var config = TestModels.TinyLlama();
        using var model = TestModels.Create(config);
        var runner = new ForwardRunner(model);
        var tokens = TestModels.RandomTokens(12, config.VocabSize, 5);
        using (var warm = runner.Run(new ForwardInput { TokenIds = tokens })) { }
        using var cache = new KvCache(config, 64, torch.CPU);
        Settle();
        long before = torch.Tensor.TotalCount;
        for (int i = 0; i < 200; i++)
        {
            if (i % 20 == 0) cache.Clear();
            using var output = runner.Run(new ForwardInput { TokenIds = [tokens[i % tokens.Length]], StartPosition = cache.Length, Cache = cache });
        }
        Settle();
        long after = torch.Tensor.TotalCount;
        Assert.Equal(before, after);
    }

    /// <summary>Finalizes garbage tensors other tests left behind, so the live count moves only with this test.</summary>
    internal static void Settle()
    {
        for (int i = 0; i < 3; i++) { GC.Collect(); GC.WaitForPendingFinalizers(); }
    }

    [Fact]
    public void Sessions_and_routed_passes_dispose_every_tensor_they_create()
    {
        // Strict: the count is read without a collection afterwards, so a tensor left to the finalizer shows up.
        using var model = LanguageModel.Load(QuickSilver.Testing.SharedAssets.Stories260KBin);
        var policy = QuickSilver.Policies.QuickSilverPolicy.Paper();
        using var session = model.CreateSession();
        var prompt = model.Tokenizer.Encode("Once upon a time", addBos: true);
        session.Generate(prompt, new QuickSilver.Engine.Generation.GenerationRequest { MaxNewTokens = 4, Policy = policy }); // warm caches (SVD, lexicons)
        // A policy change gives the session a new sequence; end the warm-up on the policy the loop ends on, so both counts hold one dense cache.
        session.Generate(prompt, new QuickSilver.Engine.Generation.GenerationRequest { MaxNewTokens = 4 });
        session.Reset();
        Settle();
        long before = torch.Tensor.TotalCount;
        for (int i = 0; i < 10; i++)
        {
            session.Reset();
            session.Generate(prompt, new QuickSilver.Engine.Generation.GenerationRequest { MaxNewTokens = 20, Policy = i % 2 == 0 ? policy : null });
        }
        session.Reset();
        long after = torch.Tensor.TotalCount;
        Assert.Equal(before, after);
    }
}
