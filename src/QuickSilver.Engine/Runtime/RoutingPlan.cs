using QuickSilver.Engine.Models;
using QuickSilver.Policies;

namespace QuickSilver.Engine.Runtime;

/// <summary>A policy resolved against one model: effective layers and thresholds, ready for the per-layer loop.</summary>
public sealed class RoutingPlan
{
    /// <summary>Resolves <paramref name="policy"/> for <paramref name="config"/>.</summary>
    public RoutingPlan(QuickSilverPolicy policy, ModelConfig config)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(config);
        Policy = policy.Clone();
        int layers = config.NumLayers;
        // "Minimum depth 5, clamped for shallow models": a token must run at least one block and cannot halt after the last.
        MinLayer = Math.Clamp(Policy.Halting.MinLayer, 1, Math.Max(1, layers - 1));
        WindowEnd = Math.Clamp(Policy.Halting.WindowEnd ?? layers - 1, MinLayer, Math.Max(1, layers - 1));
        DecisionLayer = Math.Clamp(Policy.Quantization.DecisionLayer ?? Math.Max(1, layers / 2), 1, layers);
        FusionStartLayer = Math.Clamp(Policy.Fusion.StartLayer, 1, layers);
        CheckpointLayers = [.. Policy.Halting.CheckpointLayers];
        LogVocab = Math.Log(config.VocabSize);
    }

    /// <summary>The policy (a private copy: later edits to the caller's object do not reach a running request).</summary>
    public QuickSilverPolicy Policy { get; }
    /// <summary>Blocks a token runs before it may halt.</summary>
    public int MinLayer { get; }
    /// <summary>Last block count after which halting may start.</summary>
    public int WindowEnd { get; }
    /// <summary>Block count after which bits are assigned.</summary>
    public int DecisionLayer { get; }
    /// <summary>First block count after which fusion may happen.</summary>
    public int FusionStartLayer { get; }
    /// <summary>Checkpoint layers for the entropy signal.</summary>
    public HashSet<int> CheckpointLayers { get; }
    /// <summary>log |V|, for entropy normalization.</summary>
    public double LogVocab { get; }

    /// <summary>True when halting may be decided after <paramref name="blocksDone"/> blocks.</summary>
    public bool HaltingEligible(int blocksDone) =>
        Policy.Halting.Enabled && blocksDone >= MinLayer && blocksDone <= WindowEnd &&
        (Policy.Halting.EntropyMode != EntropySignalMode.CheckpointLayers || CheckpointLayers.Contains(blocksDone));

    /// <summary>True when fusion may be decided after <paramref name="blocksDone"/> blocks of <paramref name="layers"/>.</summary>
    public bool FusionEligible(int blocksDone, int layers) => Policy.Fusion.Enabled && blocksDone >= FusionStartLayer && blocksDone < layers;

    /// <summary>True when bits are assigned after <paramref name="blocksDone"/> blocks.</summary>
    public bool QuantizationDecision(int blocksDone) => Policy.Quantization.Enabled && blocksDone == DecisionLayer;
}
