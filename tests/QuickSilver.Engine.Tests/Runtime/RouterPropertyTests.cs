using CsCheck;
using QuickSilver.Engine.Models;
using QuickSilver.Engine.Runtime;
using QuickSilver.Policies;
using TorchSharp;

namespace QuickSilver.Engine.Tests.Runtime;

public sealed class RouterPropertyTests
{
    private static readonly Gen<(ModelConfig Config, int Tokens, int Seed)> Cases =
        from layers in Gen.Int[1, 4]
        from kvHeads in Gen.Int[1, 2]
        from groups in Gen.Int[1, 2]
        from headHalf in Gen.Int[2, 4]
        let headDim = headHalf * 2
        from gpt2 in Gen.Bool
        from tokens in Gen.Int[2, 24]
        from seed in Gen.Int[0, 1000]
        let heads = kvHeads * groups
        select (new ModelConfig
        {
            Architecture = gpt2 ? "gpt2" : "llama", VocabSize = 40, HiddenSize = heads * headDim, NumLayers = layers,
            NumHeads = gpt2 ? heads : heads, NumKvHeads = gpt2 ? heads : kvHeads, HeadDim = headDim, IntermediateSize = 24, MaxPositions = 32,
            Norm = gpt2 ? NormKind.LayerNorm : NormKind.RmsNorm, Positions = gpt2 ? PositionEncodingKind.Learned : PositionEncodingKind.Rotary,
            FeedForward = gpt2 ? FeedForwardKind.GeluTanh : FeedForwardKind.SwiGlu, AttentionBias = gpt2, MlpBias = gpt2, TiedEmbeddings = gpt2,
        }, tokens, seed);

    [Fact]
    public void Never_firing_policies_equal_dense_and_forced_halts_only_remove_work_on_random_shapes()
    {
        Cases.Sample(c =>
        {
            using var model = TransformerModel.Create(RandomCheckpoint.Create(c.Config, c.Seed, 0.3f), torch.CPU);
            var runner = new ForwardRunner(model);
            var ids = TestModels.RandomTokens(c.Tokens, c.Config.VocabSize, c.Seed);
            using var dense = runner.Run(new ForwardInput { TokenIds = ids, AllLogits = true });
            var never = new QuickSilverPolicy
            {
                Halting = new HaltingPolicy { Enabled = true, DriftThreshold = 0, EntropyThreshold = 0, MinLayer = 1 },
                KvSkip = new KvSkipPolicy { Enabled = true, Mode = KvSkipMode.Skip },
                Fusion = new FusionPolicy { Enabled = true, DistanceThreshold = 0, StartLayer = 1 },
            };
            var stats = new RuntimeStats();
            using var routed = runner.Run(new ForwardInput { TokenIds = ids, AllLogits = true, Plan = new RoutingPlan(never, c.Config), Stats = stats });
            if (TestModels.MaxAbsDiff(TestModels.ToArray(dense.Logits), TestModels.ToArray(routed.Logits)) > 1e-4f) return false;
            if (stats.ActiveTokenLayers != (long)c.Tokens * c.Config.NumLayers) return false;

            // Forced halting of every other token: active token-layers drop by exactly what was prescribed.
            var flags = new TokenFlags(c.Tokens);
            for (int i = 0; i < c.Tokens; i += 2) flags.ForcedHalt[i] = true;
            var halted = new RuntimeStats();
            using var h = runner.Run(new ForwardInput { TokenIds = ids, Plan = new RoutingPlan(never, c.Config), Flags = flags, Stats = halted });
            int k = Math.Max(1, Math.Min(1, c.Config.NumLayers - 1));
            long expectedRemoved = c.Config.NumLayers > 1 ? (long)((c.Tokens + 1) / 2) * (c.Config.NumLayers - k) : 0;
            return halted.ActiveTokenLayers == (long)c.Tokens * c.Config.NumLayers - expectedRemoved
                && halted.HaltedTokenLayers == expectedRemoved;
        }, iter: 40);
    }
}
