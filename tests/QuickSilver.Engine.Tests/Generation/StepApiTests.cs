using QuickSilver.Engine.Generation;
using QuickSilver.Policies;
using QuickSilver.Testing;

namespace QuickSilver.Engine.Tests.Generation;

public sealed class StepApiTests
{
    private static readonly Lazy<LanguageModel> Stories = new(() => LanguageModel.Load(SharedAssets.Stories260KBin));

    internal static LanguageModel Model => Stories.Value;

    internal static IReadOnlyList<int> Prompt(string text = "Once upon a time, there was a little girl named Lily. She") => Model.Tokenizer.Encode(text, addBos: true);

    // Halting with K/V skipping, and entropy-based precision whose min-max normalization reads earlier positions' statistics.
    internal static QuickSilverPolicy RoutedPolicy() => new()
    {
        Halting = new HaltingPolicy { Enabled = true, DriftThreshold = 1e9f, EntropyThreshold = 3f, EntropyMode = EntropySignalMode.Exact, MinLayer = 2 },
        KvSkip = new KvSkipPolicy { Enabled = true, Mode = KvSkipMode.Skip },
        Quantization = new QuantizationPolicy { Enabled = true, Normalization = EntropyNormalization.MinMax, LowThreshold = 0.3f, HighThreshold = 0.7f },
        Lexicons = new TokenLexicons { ProtectNegations = false, ProtectJsonStructure = false },
    };

    private static float[] Row(StepLogits logits, int i) => logits.Row(i).ToArray();

    [Fact]
    public void Prefill_then_decode_equals_one_pass()
    {
        var ids = Prompt();
        using var whole = Model.CreateSequence();
        var reference = Model.Decode([new SequenceStep(whole, ids)])[0];
        Assert.Equal(ids.Count, reference.RowCount);

        using var split = Model.CreateSequence();
        float[] last = Model.Prefill(split, ids.Take(6).ToList());
        Assert.True(TestModels.MaxAbsDiff(Row(reference, 5), last) < 1e-4f);
        var rows = Model.Decode([new SequenceStep(split, ids.Skip(6).Take(3).ToList())])[0];
        Assert.Equal(3, rows.RowCount);
        for (int i = 0; i < 3; i++) Assert.True(TestModels.MaxAbsDiff(Row(reference, 6 + i), Row(rows, i)) < 1e-4f);
        for (int i = 9; i < ids.Count; i++)
        {
            var one = Model.Decode([new SequenceStep(split, [ids[i]])])[0];
            Assert.True(TestModels.MaxAbsDiff(Row(reference, i), Row(one, 0)) < 1e-4f, $"position {i}");
        }
        Assert.Equal(ids, split.Tokens);
    }

    [Fact]
    public void A_batch_equals_each_sequence_alone_and_keeps_routing_per_sequence()
    {
        var a = Prompt();
        var b = Prompt("The cat sat on the mat and looked at the bird.");
        using var denseAlone = Model.CreateSequence();
        using var routedAlone = Model.CreateSequence(new SequenceOptions { Policy = RoutedPolicy() });
        float[] denseRef = Model.Prefill(denseAlone, a);
        float[] routedRef = Model.Prefill(routedAlone, b);
        long haltedAlone = routedAlone.Stats.HaltedTokenLayers;
        Assert.True(haltedAlone > 0);

        using var dense = Model.CreateSequence();
        using var routed = Model.CreateSequence(new SequenceOptions { Policy = RoutedPolicy() });
        var batch = Model.Decode([new SequenceStep(dense, a, LastRowOnly: true), new SequenceStep(routed, b, LastRowOnly: true)]);
        Assert.Equal(denseRef, batch[0].LastRow.ToArray());
        Assert.Equal(routedRef, batch[1].LastRow.ToArray());
        Assert.Equal(0, dense.Stats.HaltedTokenLayers);
        Assert.Equal(haltedAlone, routed.Stats.HaltedTokenLayers);

        Assert.Throws<ArgumentException>(() => Model.Decode([new SequenceStep(dense, [5]), new SequenceStep(dense, [6])]));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Truncating_and_redecoding_equals_never_having_gone_there(bool routed)
    {
        var options = new SequenceOptions { Policy = routed ? RoutedPolicy() : null };
        var ids = Prompt();
        int keep = 8;
        var detour = new[] { 400, 12, 77, 301, 5 };

        using var sequence = Model.CreateSequence(options);
        Model.Prefill(sequence, ids.Take(keep).ToList());
        foreach (int t in detour) Model.Decode([new SequenceStep(sequence, [t])]);
        Model.Decode([new SequenceStep(sequence, detour)]);
        sequence.TruncateTo(keep);
        Assert.Equal(ids.Take(keep), sequence.Tokens);

        using var fresh = Model.CreateSequence(options);
        Model.Prefill(fresh, ids.Take(keep).ToList());
        for (int i = keep; i < ids.Count; i++)
        {
            var x = Model.Decode([new SequenceStep(sequence, [ids[i]])])[0].LastRow.ToArray();
            var y = Model.Decode([new SequenceStep(fresh, [ids[i]])])[0].LastRow.ToArray();
            Assert.Equal(y, x);
        }
        var cacheA = ((ModelSequence)sequence).Cache;
        var cacheB = ((ModelSequence)fresh).Cache;
        for (int l = 0; l < Model.Config.NumLayers; l++) Assert.Equal(cacheB[l].Count, cacheA[l].Count);
        for (int p = 0; p < ids.Count; p++) Assert.Equal(cacheB.DecisionEntropy(p), cacheA.DecisionEntropy(p));
    }

    [Fact]
    public void Sequences_sharing_a_prefix_agree_on_it_under_a_routed_policy()
    {
        var prefix = Prompt().Take(7).ToList();
        var options = new SequenceOptions { Policy = RoutedPolicy() };
        using var a = Model.CreateSequence(options);
        using var b = Model.CreateSequence(options);
        var rowsA = Model.Decode([new SequenceStep(a, [.. prefix, 300, 301])])[0];
        var rowsB = Model.Decode([new SequenceStep(b, [.. prefix, 9, 10, 11])])[0];
        for (int i = 0; i < prefix.Count; i++) Assert.True(TestModels.MaxAbsDiff(Row(rowsA, i), Row(rowsB, i)) < 1e-4f, $"position {i}");
    }

    [Fact]
    public void Bad_steps_are_rejected()
    {
        using var sequence = Model.CreateSequence(new SequenceOptions { ContextLength = 8 });
        Assert.Throws<ArgumentException>(() => Model.Decode([new SequenceStep(sequence, [])]));
        Assert.Throws<ArgumentOutOfRangeException>(() => Model.Decode([new SequenceStep(sequence, [Model.VocabSize])]));
        Assert.Throws<ContextLengthExceededException>(() => Model.Prefill(sequence, Enumerable.Repeat(5, 9).ToList()));
        Assert.Throws<ArgumentOutOfRangeException>(() => Model.CreateSequence(new SequenceOptions { ContextLength = Model.Config.MaxPositions + 1 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => sequence.TruncateTo(1));
        Assert.Empty(sequence.Tokens);
        sequence.Dispose();
        Assert.Throws<ObjectDisposedException>(() => Model.Prefill(sequence, [1]));
    }
}
