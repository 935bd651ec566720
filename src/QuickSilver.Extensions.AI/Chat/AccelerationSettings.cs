using Microsoft.Extensions.AI;

namespace QuickSilver.Extensions.AI.Chat;

/// <summary>One request's lossless decode accelerations: the client's defaults with the request's own keys applied.</summary>
internal sealed record AccelerationSettings(bool PromptLookup, bool EarlyExitDrafting, bool JumpForward, int MaxDraftTokens)
{
    /// <summary>Everything off.</summary>
    public static AccelerationSettings None { get; } = new(false, false, false, 1);

    /// <summary>Whether any draft provider runs.</summary>
    public bool Drafts => PromptLookup || EarlyExitDrafting;

    /// <summary>The settings of a request: <paramref name="defaults"/>, overridden by its <see cref="QuickSilverChatOptionKeys"/>.</summary>
    /// <exception cref="ArgumentException">A key's value has the wrong type or is out of range (the message names the key).</exception>
    public static AccelerationSettings For(QuickSilverOptions defaults, AdditionalPropertiesDictionary? extra)
    {
        ArgumentNullException.ThrowIfNull(defaults);
        bool lookup = defaults.PromptLookup, early = defaults.EarlyExitDrafting, jump = defaults.JumpForward;
        int drafts = defaults.MaxDraftTokens;
        if (extra is not null)
        {
            if (extra.TryGetValue(QuickSilverChatOptionKeys.PromptLookup, out object? a)) lookup = RequestPlanner.AsBool(QuickSilverChatOptionKeys.PromptLookup, a);
            if (extra.TryGetValue(QuickSilverChatOptionKeys.EarlyExitDrafting, out object? b)) early = RequestPlanner.AsBool(QuickSilverChatOptionKeys.EarlyExitDrafting, b);
            if (extra.TryGetValue(QuickSilverChatOptionKeys.JumpForward, out object? c)) jump = RequestPlanner.AsBool(QuickSilverChatOptionKeys.JumpForward, c);
            if (extra.TryGetValue(QuickSilverChatOptionKeys.MaxDraftTokens, out object? d))
            {
                float value = RequestPlanner.AsFloat(QuickSilverChatOptionKeys.MaxDraftTokens, d);
                if (value != MathF.Round(value) || value < 1 || value > 31)
                    throw new ArgumentOutOfRangeException(QuickSilverChatOptionKeys.MaxDraftTokens, value, $"AdditionalProperties['{QuickSilverChatOptionKeys.MaxDraftTokens}'] must be a whole number between 1 and 31.");
                drafts = (int)value;
            }
        }
        return new AccelerationSettings(lookup, early, jump, drafts);
    }
}
