using QuickSilver.Policies;

namespace QuickSilver.Engine.Generation;

/// <summary>Settings fixed for the lifetime of a <see cref="Sequence"/>: what its K/V and routing state depend on.</summary>
public sealed class SequenceOptions
{
    /// <summary>The QuickSilver policy its forward passes run under; null means dense.</summary>
    public QuickSilverPolicy? Policy { get; set; }

    /// <summary>Extra token ids that must never be halted, fused or quantized below 8 bits (e.g. tool names).</summary>
    public IReadOnlyCollection<int> ProtectedTokenIds { get; set; } = [];

    /// <summary>Maximum positions; null uses the model's default context length.</summary>
    public int? ContextLength { get; set; }

    // Named literals: an invalid policy (NaN threshold) must reach validation, which names the field, not fail here.
    private static readonly System.Text.Json.JsonSerializerOptions KeyJson = new() { NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };

    /// <summary>A copy (the collections are shared; they are never modified).</summary>
    public SequenceOptions Clone() => new() { Policy = Policy?.Clone(), ProtectedTokenIds = ProtectedTokenIds, ContextLength = ContextLength };

    /// <summary>
    /// A key that is equal for two option sets exactly when a cache computed under one is valid under the other: the policy
    /// and, under a routed policy, the protected ids (dense passes ignore them).
    /// </summary>
    public string CacheKey()
    {
        if (Policy is null || Policy.IsDense) return "dense";
        string ids = string.Join(',', ProtectedTokenIds.Distinct().Order());
        return System.Text.Json.JsonSerializer.Serialize(Policy, KeyJson) + "|" + ids;
    }
}
