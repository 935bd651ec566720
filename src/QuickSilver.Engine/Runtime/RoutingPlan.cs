using QuickSilver.Engine.Models;
using QuickSilver.Policies;

namespace QuickSilver.Engine.Runtime;

/// <summary>A policy resolved against one model: effective layers and thresholds, ready for the per-layer loop.</summary>
public sealed class RoutingPlan
{
    /// <summary>Validates <paramref name="policy"/> against <paramref name="config"/> and resolves it.</summary>
    /// <exception cref="PolicyValidationException">A setting is invalid for this model.</exception>
    public RoutingPlan(QuickSilverPolicy policy, ModelConfig config)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(config);
        Policy = policy.Clone();
        Policy.Validate(config.NumLayers, config.VocabSize);
        int layers = config.NumLayers;
        Layers = layers;
        MinLayer = Policy.Halting.ResolveMinLayer(layers);
        WindowEnd = Policy.Halting.ResolveWindowEnd(layers);
        DecisionLayer = Math.Clamp(Policy.Quantization.ResolveDecisionLayer(layers), 1, layers);
        FusionStartLayer = Policy.Fusion.ResolveStartLayer(layers);
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
    /// <summary>Model depth.</summary>
    public int Layers { get; }
    /// <summary>log |V|, for entropy normalization.</summary>
    public double LogVocab { get; }

    /// <summary>True when halting may be decided after <paramref name="blocksDone"/> blocks.</summary>
    public bool HaltingEligible(int blocksDone) => Policy.Halting.Enabled && Policy.Halting.IsHaltingLayer(blocksDone, Layers);

    /// <summary>True when fusion may be decided after <paramref name="blocksDone"/> blocks of <paramref name="layers"/>.</summary>
    public bool FusionEligible(int blocksDone, int layers) => Policy.Fusion.Enabled && blocksDone >= FusionStartLayer && blocksDone < layers;

    /// <summary>True when bits are assigned after <paramref name="blocksDone"/> blocks (never after the last: nothing would use them).</summary>
    public bool QuantizationDecision(int blocksDone) => Policy.Quantization.Enabled && blocksDone == DecisionLayer && blocksDone < Layers;
}
