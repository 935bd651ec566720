using QuickSilver.Policies;

namespace QuickSilver.Engine.Generation;

/// <summary>Settings for one generation call.</summary>
public sealed class GenerationRequest
{
    /// <summary>Maximum number of new tokens.</summary>
    public int MaxNewTokens { get; set; } = 128;
    /// <summary>Sampling temperature; 0 means greedy.</summary>
    public float Temperature { get; set; }
    /// <summary>Keep only the k most likely tokens; 0 disables.</summary>
    public int TopK { get; set; }
    /// <summary>Nucleus sampling mass; 1 disables.</summary>
    public float TopP { get; set; } = 1f;
    /// <summary>CTRL-style repetition penalty over prompt and output; 1 disables.</summary>
    public float RepetitionPenalty { get; set; } = 1f;
    /// <summary>OpenAI-style frequency penalty over generated tokens; 0 disables.</summary>
    public float FrequencyPenalty { get; set; }
    /// <summary>OpenAI-style presence penalty over generated tokens; 0 disables.</summary>
    public float PresencePenalty { get; set; }
    /// <summary>Random seed; null draws one.</summary>
    public long? Seed { get; set; }
    /// <summary>Token ids that end generation (not emitted). The model's EOS is added automatically.</summary>
    public IReadOnlyCollection<int> StopTokenIds { get; set; } = [];
    /// <summary>Optional constraint that masks logits before sampling (JSON schema, tool calls).</summary>
    public ITokenConstraint? Constraint { get; set; }
    /// <summary>The QuickSilver policy for this call; null means dense (it selects the <see cref="Sequence"/> the call runs on).</summary>
    public QuickSilverPolicy? Policy { get; set; }
    /// <summary>Extra token ids that must never be halted, fused or quantized below 8 bits (e.g. tool names).</summary>
    public IReadOnlyCollection<int> ProtectedTokenIds { get; set; } = [];
    /// <summary>Collect a per-token trace (costs host syncs; off by default).</summary>
    public bool CollectTrace { get; set; }
    /// <summary>Strings that end generation once the output text contains one; the token that completes it is emitted (callers trim the text).</summary>
    public IReadOnlyList<string> StopSequences { get; set; } = [];
    /// <summary>Keep going past the model's EOS (benchmarks that need a fixed token count); <see cref="StopTokenIds"/> still stop.</summary>
    public bool IgnoreEndOfSequence { get; set; }
    /// <summary>Proposes draft tokens that one decode step verifies (lossless: the output equals plain decoding); null decodes one token per step.</summary>
    public IDraftProvider? DraftProvider { get; set; }
    /// <summary>Most draft tokens verified per step (0 to <see cref="Generator.MaxStepTokens"/> − 1).</summary>
    public int MaxDraftTokens { get; set; } = 4;
    /// <summary>
    /// Jump-forward: when the <see cref="Constraint"/> allows exactly one continuation (it implements
    /// <see cref="Speculative.IForcedContinuation"/>), append those tokens in the next step without sampling each one. The
    /// output and random draws equal sampling under the constraint. Off by default.
    /// </summary>
    public bool JumpForward { get; set; }
    /// <summary>Most forced tokens appended per step with <see cref="JumpForward"/> (1 to <see cref="Generator.MaxStepTokens"/> − 1).</summary>
    public int MaxForcedTokens { get; set; } = 24;

    /// <summary>A copy with the same settings (the constraint and draft provider objects are shared: they are per request).</summary>
    public GenerationRequest Clone() => (GenerationRequest)MemberwiseClone();
}
