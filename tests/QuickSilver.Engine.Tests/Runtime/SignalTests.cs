using QuickSilver.Engine.Generation;
using QuickSilver.Engine.Runtime;
using QuickSilver.Policies;
using QuickSilver.Testing;
using TorchSharp;

namespace QuickSilver.Engine.Tests.Runtime;

public sealed class SignalTests
{
    [Fact]
    public void Low_rank_entropy_proxy_tracks_the_exact_entropy_at_a_fraction_of_the_cost()
    {
        using var model = LanguageModel.Load(SharedAssets.Stories260KBin);
        var ids = model.Tokenizer.Encode(File.ReadAllText(SharedAssets.TinyStoriesSample), addBos: true).Take(200).ToArray();
        using var scope = torch.NewDisposeScope();
        var transformer = model.Transformer;
        var positions = TensorScalars.Range(ids.Length, torch.int64);
        var h = transformer.Embed(torch.tensor(ids.Select(x => (long)x).ToArray(), [1, ids.Length], torch.int64), positions);
        for (int l = 0; l < 3; l++) h = transformer.Blocks[l].Forward(new Models.BlockInput { Hidden = h, Positions = positions, FirstPosition = 0 }).Hidden;

        var exactStats = new RuntimeStats();
        var proxyStats = new RuntimeStats();
        var exact = model.Runner.ExactEntropy(h, exactStats).data<float>().ToArray();
        var lens = new LowRankLogitLens(transformer);
        var proxy = lens.Entropy(h, 64, proxyStats).data<float>().ToArray();
        double correlation = Pearson(exact, proxy);
        double meanError = exact.Zip(proxy).Average(p => Math.Abs(p.First - p.Second));
        Assert.True(correlation > 0.95, $"correlation {correlation:F3}");
        Assert.True(meanError < 0.15, $"mean error {meanError:F3} nats");
        Assert.True(proxyStats.RouterFlops < 0.5 * exactStats.RouterFlops);
        // Re-scoring the whole vocabulary exactly reproduces the exact entropy.
        var full = lens.Entropy(h, 512, new RuntimeStats()).data<float>().ToArray();
        Assert.True(TestModels.MaxAbsDiff(exact, full) < 1e-3f);
    }

    private static double Pearson(float[] a, float[] b)
    {
        double ma = a.Average(), mb = b.Average(), sab = 0, saa = 0, sbb = 0;
        for (int i = 0; i < a.Length; i++) { sab += (a[i] - ma) * (b[i] - mb); saa += (a[i] - ma) * (a[i] - ma); sbb += (b[i] - mb) * (b[i] - mb); }
        return sab / Math.Sqrt(saa * sbb);
    }

    [Fact]
    public void Decode_applies_the_policy_to_generated_tokens()
    {
        using var model = LanguageModel.Load(SharedAssets.Stories260KBin);
        var policy = new QuickSilverPolicy
        {
            Halting = new HaltingPolicy { Enabled = true, DriftThreshold = 1e9f, EntropyThreshold = 1e9f, EntropyMode = EntropySignalMode.Exact, MinLayer = 2 },
            KvSkip = new KvSkipPolicy { Enabled = true, Mode = KvSkipMode.Skip },
            Lexicons = new TokenLexicons { ProtectNegations = false, ProtectJsonStructure = false },
        };
        using var session = model.CreateSession();
        var prompt = model.Tokenizer.Encode("Once upon a time", addBos: true);
        var result = session.Generate(prompt, new GenerationRequest { MaxNewTokens = 10, Policy = policy });
        Assert.Equal(10, result.Tokens.Count);
        // Every token (prompt and generated but the last, which was never fed back) halted after 2 blocks: no K/V below.
        int fed = prompt.Count + 9;
        Assert.Equal(fed, session.Cache[1].Count);
        Assert.Equal(0, session.Cache[2].Count);
        Assert.Equal(fed * 3L, result.Stats.HaltedTokenLayers);
        Assert.True(result.Stats.KvBytes < result.Stats.DenseKvBytes);
    }

    [Fact]
    public void Session_reuses_the_cached_prefix_and_matches_a_fresh_run()
    {
        using var model = LanguageModel.Load(SharedAssets.Stories260KBin);
        var first = model.Tokenizer.Encode("Once upon a time, there was a girl", addBos: true);
        using var session = model.CreateSession();
        var a = session.Generate(first, new GenerationRequest { MaxNewTokens = 8 });
        var second = first.Concat(a.Tokens).Concat(model.Tokenizer.Encode(" She liked", addBos: false)).ToList();
        var b = session.Generate(second, new GenerationRequest { MaxNewTokens = 8 });
        Assert.Equal(first.Count + a.Tokens.Count - 1, b.CachedPromptTokens); // the last generated token was never fed
        using var fresh = model.CreateSession();
        var c = fresh.Generate(second, new GenerationRequest { MaxNewTokens = 8 });
        Assert.Equal(0, c.CachedPromptTokens);
        Assert.Equal(c.Tokens, b.Tokens);
    }

    [Fact]
    public void Bad_requests_are_rejected_and_cancellation_leaves_the_session_usable()
    {
        using var model = LanguageModel.Load(SharedAssets.Stories260KBin);
        using var session = model.CreateSession(64);
        Assert.Throws<ArgumentException>(() => session.Generate([], new GenerationRequest()));
        Assert.Throws<ContextLengthExceededException>(() => session.Generate(Enumerable.Repeat(5, 64).ToList(), new GenerationRequest()));
        Assert.Throws<ArgumentOutOfRangeException>(() => session.Generate([1], new GenerationRequest { Temperature = float.NaN }));
        Assert.Throws<ArgumentOutOfRangeException>(() => session.Generate([1], new GenerationRequest { TopP = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => session.Generate([1, 9999], new GenerationRequest()));
        var bad = new QuickSilverPolicy { Halting = new HaltingPolicy { Enabled = true, DriftThreshold = float.NaN } };
        var error = Assert.Throws<PolicyValidationException>(() => session.Generate([1], new GenerationRequest { Policy = bad }));
        Assert.Equal("Halting.DriftThreshold", error.Field);

        using var cts = new CancellationTokenSource();
        int seen = 0;
        Assert.ThrowsAny<OperationCanceledException>(() => session.Generate([1], new GenerationRequest { MaxNewTokens = 50 }, _ => { if (++seen == 3) cts.Cancel(); }, cts.Token));
        Assert.Equal(3, seen); // stopped within one token
        var after = session.Generate([1], new GenerationRequest { MaxNewTokens = 5 });
        Assert.Equal(5, after.Tokens.Count);
    }
}
