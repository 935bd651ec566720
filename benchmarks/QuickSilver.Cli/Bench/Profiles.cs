using QuickSilver.Engine.Runtime;
using QuickSilver.Policies;

namespace QuickSilver.Cli.Bench;

/// <summary>A prescribed routing profile: a policy whose own signals never fire plus per-position flags that decide everything.</summary>
internal sealed record Profile(string Name, string Description, QuickSilverPolicy Policy, TokenFlags Flags, double TargetRemovedFraction);

/// <summary>
/// Builds the prescribed profiles of the realization benchmark. Thresholds are 0 so that drift, entropy and distance
/// never trigger anything; the flags alone choose which token-layers disappear, so the FLOPs saved are known in advance
/// and the benchmark measures only how much of that saving the runtime turns into time.
/// </summary>
internal static class Profiles
{
    /// <summary>The depth at which prescribed halts and fusions happen: a third of the model (at least 1 block).</summary>
    public static int DecisionDepth(int layers) => Math.Max(1, layers / 3);

    private static QuickSilverPolicy Quiet(string name) => new()
    {
        Name = name,
        Lexicons = new TokenLexicons { ProtectNegations = false, ProtectJsonStructure = false },
    };

    /// <summary>Halts a random subset of positions at depth k so that about <paramref name="fraction"/> of all token-layers are skipped; halted tokens write no deeper K/V.</summary>
    public static Profile Halting(double fraction, int tokens, int layers, int seed)
    {
        int k = DecisionDepth(layers);
        double p = Math.Min(1.0, fraction * layers / (layers - k));
        var policy = Quiet($"halting-{fraction * 100:F0}");
        policy.Halting = new HaltingPolicy
        {
            Enabled = true, MinLayer = k, DriftThreshold = 0, EntropyThreshold = 0, DriftMode = DriftMode.Absolute, EntropyMode = EntropySignalMode.DriftGated,
        };
        policy.KvSkip = new KvSkipPolicy { Enabled = true, Mode = KvSkipMode.Skip, HaltingDelay = 0 };
        var flags = new TokenFlags(tokens);
        var random = new Random(seed);
        int count = (int)Math.Round(p * (tokens - 1));
        foreach (int i in Enumerable.Range(0, tokens - 1).OrderBy(_ => random.Next()).Take(count)) flags.ForcedHalt[i] = true; // the last position keeps its logits honest
        return new Profile(policy.Name, $"ForcedHalt on {count}/{tokens} random positions after {k}/{layers} blocks, KV skip", policy, flags, count * (double)(layers - k) / (tokens * (double)layers));
    }

    /// <summary>Fuses every even position with the next one after depth k: half the tokens stop running from there on.</summary>
    public static Profile Fusion(int tokens, int layers)
    {
        int k = DecisionDepth(layers);
        var policy = Quiet("fusion-pairs");
        policy.Fusion = new FusionPolicy { Enabled = true, StartLayer = k, DistanceThreshold = 0, RelativeDistance = false, Weighting = FusionWeighting.Uniform };
        var flags = new TokenFlags(tokens);
        int pairs = 0;
        for (int i = 0; i + 1 < tokens; i += 2) { flags.ForceFuseWithNext[i] = true; pairs++; }
        return new Profile(policy.Name, $"ForceFuseWithNext on every even position ({pairs} pairs) after {k}/{layers} blocks", policy, flags, pairs * (double)(layers - k) / (tokens * (double)layers));
    }

    /// <summary>All four mechanisms on, nothing firing: the pure cost of the router's signals and bookkeeping.</summary>
    public static Profile NothingFiring(int tokens, int layers, bool includeQuantization = true)
    {
        var policy = Quiet(includeQuantization ? "all-on-nothing-firing" : "halting-kv-fusion-nothing-firing");
        policy.Halting = new HaltingPolicy { Enabled = true, MinLayer = 1, DriftThreshold = 0, EntropyThreshold = 0, DriftMode = DriftMode.Absolute, EntropyMode = EntropySignalMode.DriftGated };
        policy.KvSkip = new KvSkipPolicy { Enabled = true, Mode = KvSkipMode.Skip };
        policy.Fusion = new FusionPolicy { Enabled = true, StartLayer = 1, DistanceThreshold = 0, RelativeDistance = false };
        if (includeQuantization)
            policy.Quantization = new QuantizationPolicy
            {
                Enabled = true, DecisionLayer = layers, Normalization = EntropyNormalization.None, LowThreshold = 0, HighThreshold = 0,
                ProtectNumbers = false, RareTokenIdFraction = null,
            };
        return new Profile(policy.Name, includeQuantization
            ? "halting, KV skip, fusion and quantization enabled, thresholds 0, bits decided after the last layer"
            : "halting, KV skip and fusion enabled, thresholds 0 (quantization off)", policy, new TokenFlags(tokens), 0);
    }
}
