using QuickSilver.Engine.Models;
using QuickSilver.Engine.Runtime;
using QuickSilver.Engine.Speculative;
using QuickSilver.Policies;
using TorchSharp;

namespace QuickSilver.Engine.Tests.Speculative;

public sealed class EarlyExitDrafterTests
{
    [Fact]
    public void Drafts_AreTheShallowModelsGreedyTokens_AndTheCacheIsLeftAsItWas()
    {
        var config = TestModels.TinyLlama(layers: 4);
        using var model = TestModels.Create(config);
        var runner = new ForwardRunner(model);
        int[] prompt = TestModels.RandomTokens(20, config.VocabSize, seed: 3);
        using var cache = new KvCache(config, config.MaxPositions, torch.CPU);
        using (runner.Run(new ForwardInput { TokenIds = prompt, Cache = cache })) { }
        var before = Snapshot(cache);

        var drafter = new EarlyExitDrafter(model, exitLayer: 2);
        var drafts = drafter.Propose(cache, pendingToken: 7, maxTokens: 5);

        Assert.Equal(5, drafts.Count);
        Assert.Equal(prompt.Length, cache.Length);
        var after = Snapshot(cache);
        for (int l = 0; l < config.NumLayers; l++) Assert.Equal(before[l], after[l]);

        // Reference: the same greedy loop, each step recomputing the whole context through the first two blocks.
        var context = prompt.Append(7).ToList();
        foreach (int draft in drafts)
        {
            Assert.Equal(ShallowGreedy(model, context, 2), draft);
            context.Add(draft);
        }
    }

    [Fact]
    public void StopsAtTheEndOfTheContext()
    {
        var config = TestModels.TinyLlama(layers: 2);
        using var model = TestModels.Create(config);
        using var cache = new KvCache(config, 12, torch.CPU);
        using (new ForwardRunner(model).Run(new ForwardInput { TokenIds = TestModels.RandomTokens(9, config.VocabSize, 1), Cache = cache })) { }
        // Position 9 holds the pending token and the verifying pass needs room for every draft: two are possible.
        Assert.Equal(2, new EarlyExitDrafter(model, 1).Propose(cache, 5, 8).Count);
    }

    [Fact]
    public void ExitLayer_FollowsTheHaltingPolicy_AndIsChecked()
    {
        var config = TestModels.TinyLlama(layers: 6);
        Assert.Equal(3, EarlyExitDrafter.DefaultExitLayer(config, null));
        Assert.Equal(3, EarlyExitDrafter.DefaultExitLayer(config, QuickSilverPolicy.Dense()));
        var policy = QuickSilverPolicy.Safe();
        policy.Halting.MinLayer = 2;
        Assert.Equal(2, EarlyExitDrafter.DefaultExitLayer(config, policy));
        using var model = TestModels.Create(TestModels.TinyLlama(layers: 2));
        Assert.Contains("between 1 and 1", Assert.Throws<ArgumentOutOfRangeException>(() => new EarlyExitDrafter(model, 2)).Message);
    }

    private static int ShallowGreedy(TransformerModel model, List<int> tokens, int layers)
    {
        using var scope = torch.NewDisposeScope();
        var ids = torch.tensor(tokens.Select(t => (long)t).ToArray(), [1, tokens.Count], torch.int64);
        var positions = TensorScalars.Range(tokens.Count, torch.int64);
        var h = model.Embed(ids, positions);
        for (int l = 0; l < layers; l++) h = model.Blocks[l].Forward(new BlockInput { Hidden = h, Positions = positions, FirstPosition = 0 }).Hidden;
        return (int)model.Logits(h.narrow(1, tokens.Count - 1, 1)).reshape(-1).argmax().item<long>();
    }

    private static float[][] Snapshot(KvCache cache)
    {
        var result = new float[cache.Config.NumLayers][];
        for (int l = 0; l < result.Length; l++)
        {
            var (k, v, p) = cache[l].View();
            result[l] = [.. TestModels.ToArray(k), .. TestModels.ToArray(v), .. p.data<long>().ToArray().Select(x => (float)x)];
        }
        return result;
    }
}
