using System.Text.Json.Serialization;

namespace QuickSilver.Policies.Calibration;

/// <summary>One evaluated combination of a <see cref="GridSweep"/>.</summary>
/// <remarks>
/// Sign conventions: <see cref="FlopsReduction"/> is the fraction of the dense FLOPs saved (0.30 = 30% fewer FLOPs; larger is better).
/// <see cref="PplRelativeIncrease"/> is (PPL_policy − PPL_dense) / PPL_dense (0.01 = perplexity 1% worse; smaller is better, negative is an improvement).
/// <see cref="Utility"/> = λ·FlopsReduction − PplRelativeIncrease (paper E.9's U = λ·ΔFLOPs − ΔPPL, with ΔPPL taken relative rather than absolute so λ
/// is comparable across models).
/// </remarks>
public sealed class GridPoint
{
    /// <summary>The threshold values of this point, by dotted name.</summary>
    public required IReadOnlyDictionary<string, float> Values { get; init; }

    /// <summary>Fraction of dense FLOPs saved (positive = cheaper).</summary>
    public required double FlopsReduction { get; init; }

    /// <summary>Relative perplexity increase over dense (positive = worse).</summary>
    public required double PplRelativeIncrease { get; init; }

    /// <summary>λ·FlopsReduction − PplRelativeIncrease.</summary>
    public required double Utility { get; init; }

    /// <summary>Whether PplRelativeIncrease ≤ the budget.</summary>
    public required bool WithinBudget { get; init; }

    /// <summary>Whether no other point saves at least as many FLOPs at no more perplexity cost, and strictly better in one of them.</summary>
    public bool OnParetoFront { get; internal set; }

    /// <summary>The policy evaluated at this point.</summary>
    [JsonIgnore]
    public required QuickSilverPolicy Policy { get; init; }
}
