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
    internal GridPoint(IReadOnlyDictionary<string, float> values, double flopsReduction, double pplRelativeIncrease, double lambda, double pplBudget, QuickSilverPolicy policy)
    {
        Values = values;
        FlopsReduction = flopsReduction;
        PplRelativeIncrease = pplRelativeIncrease;
        Utility = (lambda * flopsReduction) - pplRelativeIncrease;
        WithinBudget = pplRelativeIncrease <= pplBudget;
        Policy = policy;
    }

    /// <summary>The threshold values of this point, by dotted name.</summary>
    public IReadOnlyDictionary<string, float> Values { get; }

    /// <summary>Fraction of dense FLOPs saved (positive = cheaper).</summary>
    public double FlopsReduction { get; }

    /// <summary>Relative perplexity increase over dense (positive = worse).</summary>
    public double PplRelativeIncrease { get; }

    /// <summary>λ·FlopsReduction − PplRelativeIncrease.</summary>
    public double Utility { get; }

    /// <summary>Whether PplRelativeIncrease ≤ the budget.</summary>
    public bool WithinBudget { get; }

    /// <summary>Whether no other point saves at least as many FLOPs at no more perplexity cost, and strictly better in one of them.</summary>
    public bool OnParetoFront { get; internal set; }

    /// <summary>The policy evaluated at this point.</summary>
    [JsonIgnore]
    public QuickSilverPolicy Policy { get; }
}
