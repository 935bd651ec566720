using QuickSilver.Engine;
using QuickSilver.Engine.Runtime;
using QuickSilver.Policies;
using TorchSharp;

namespace QuickSilver.Cli.Calibration;

/// <summary>Per-layer drift and logit-lens entropy of every token of a calibration text, recorded with nothing halting.</summary>
internal sealed class SignalRecord
{
    public required int NumLayers { get; init; }
    /// <summary>[layer index] → values (layer index = blocks done − 1).</summary>
    public required List<float>[] Drift { get; init; }
    public required List<float>[] Entropy { get; init; }
    public required int Tokens { get; init; }

    public float[] Pool(List<float>[] series, IEnumerable<int> blocksDone) =>
        [.. blocksDone.Where(l => l >= 1 && l <= NumLayers).SelectMany(l => series[l - 1]).Where(v => !float.IsNaN(v))];

    /// <summary>Runs the text in consecutive chunks of <paramref name="window"/> tokens with halting enabled but never firing (thresholds 0, exact entropy at every layer).</summary>
    public static SignalRecord Record(LanguageModel lm, IReadOnlyList<int> ids, int window, DriftMode driftMode)
    {
        int layers = lm.Config.NumLayers;
        var policy = new QuickSilverPolicy
        {
            Name = "record",
            Halting = new HaltingPolicy { Enabled = true, MinLayer = 1, DriftThreshold = 0, EntropyThreshold = 0, DriftMode = driftMode, EntropyMode = EntropySignalMode.Exact },
            Lexicons = new TokenLexicons { ProtectNegations = false, ProtectJsonStructure = false },
        };
        var plan = new RoutingPlan(policy, lm.Config);
        var drift = Enumerable.Range(0, layers).Select(_ => new List<float>()).ToArray();
        var entropy = Enumerable.Range(0, layers).Select(_ => new List<float>()).ToArray();
        using var noGrad = torch.no_grad();
        for (int begin = 0; begin < ids.Count; begin += window)
        {
            var chunk = ids.Skip(begin).Take(window).ToList();
            if (chunk.Count < 2) break;
            var trace = new TokenTrace(chunk.Count, layers, begin);
            using var output = lm.Runner.Run(new ForwardInput { TokenIds = chunk, Plan = plan, Trace = trace });
            for (int t = 0; t < chunk.Count; t++)
                for (int l = 0; l < layers; l++)
                {
                    if (!float.IsNaN(trace.Drift[t, l])) drift[l].Add(trace.Drift[t, l]);
                    if (!float.IsNaN(trace.Entropy[t, l])) entropy[l].Add(trace.Entropy[t, l]);
                }
        }
        return new SignalRecord { NumLayers = layers, Drift = drift, Entropy = entropy, Tokens = ids.Count };
    }
}
