using QuickSilver.Engine.Generation;
using QuickSilver.Engine.Models;
using QuickSilver.Engine.Runtime;
using QuickSilver.Engine.Tests.Generation;

namespace QuickSilver.Engine.Tests.Speculative;

/// <summary>A short multi-token step (verification, jump-forward) equals one-token steps bit for bit: logits rows and the K/V left behind.</summary>
public sealed class MultiRowStepTests
{
    [Theory]
    [InlineData(2)]
    [InlineData(5)]
    [InlineData(31)]
    public void A_k_token_step_equals_k_one_token_steps_on_stories260K(int k)
    {
        var model = StepApiTests.Model;
        var prompt = StepApiTests.Prompt();
        var tokens = TestModels.RandomTokens(k, model.VocabSize, seed: k);
        using var single = model.CreateSequence();
        model.Prefill(single, prompt);
        var expected = new List<float[]>();
        foreach (int t in tokens) expected.Add(model.Decode([new SequenceStep(single, [t])])[0].LastRow.ToArray());
        var nextExpected = model.Decode([new SequenceStep(single, [7])])[0].LastRow.ToArray();

        using var multi = model.CreateSequence();
        model.Prefill(multi, prompt);
        var rows = model.Decode([new SequenceStep(multi, tokens)])[0];
        Assert.Equal(k, rows.RowCount);
        for (int i = 0; i < k; i++) Assert.Equal(expected[i], rows.Row(i).ToArray());
        Assert.Equal(nextExpected, model.Decode([new SequenceStep(multi, [7])])[0].LastRow.ToArray()); // the K/V it left equals
    }

    [Fact]
    public void LogitsFrom_returns_only_the_wanted_rows_and_the_same_state()
    {
        var model = StepApiTests.Model;
        var prompt = StepApiTests.Prompt();
        int[] tokens = [10, 20, 30, 40, 50];
        using var all = model.CreateSequence();
        model.Prefill(all, prompt);
        var every = model.Decode([new SequenceStep(all, tokens)])[0];
        using var tail = model.CreateSequence();
        model.Prefill(tail, prompt);
        var some = model.Decode([new SequenceStep(tail, tokens, LogitsFrom: 3)])[0];
        Assert.Equal(2, some.RowCount);
        Assert.Equal(every.Row(3).ToArray(), some.Row(0).ToArray());
        Assert.Equal(every.Row(4).ToArray(), some.Row(1).ToArray());
        Assert.Equal(model.Decode([new SequenceStep(all, [9])])[0].LastRow.ToArray(), model.Decode([new SequenceStep(tail, [9])])[0].LastRow.ToArray());
    }

    [Theory]
    [InlineData("llama")]
    [InlineData("gpt2")]
    public void Rows_equal_one_token_steps_on_random_models(string kind)
    {
        var config = kind == "llama" ? TestModels.TinyLlama() : TestModels.TinyGpt2();
        using var model = TestModels.Create(config);
        var runner = new ForwardRunner(model);
        var prompt = TestModels.RandomTokens(9, config.VocabSize, 3);
        var tokens = TestModels.RandomTokens(6, config.VocabSize, 4);
        float[] Run(KvCache cache, IReadOnlyList<int> ids, bool all)
        {
            using var output = runner.Run(new ForwardInput { TokenIds = ids, StartPosition = cache.Length, Cache = cache, AllLogits = all });
            return TestModels.ToArray(output.Logits);
        }
        using var a = new KvCache(config, 64, model.Device);
        using var b = new KvCache(config, 64, model.Device);
        Run(a, prompt, false);
        Run(b, prompt, false);
        var expected = tokens.SelectMany(t => Run(a, [t], true)).ToArray();
        Assert.Equal(expected, Run(b, tokens, true));
        Assert.Equal(Run(a, [5], true), Run(b, [5], true));
    }
}
