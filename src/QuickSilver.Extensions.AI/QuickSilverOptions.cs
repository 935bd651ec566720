using QuickSilver.Policies;

namespace QuickSilver.Extensions.AI;

/// <summary>
/// Settings of a <see cref="QuickSilverChatClient"/>: which model to load and how, default generation settings, the QuickSilver
/// policy, lexicons, chat template and conversation cache. Bind from configuration (section "QuickSilver") or set in code;
/// <see cref="QuickSilverOptionsValidator"/> checks every value at start.
/// </summary>
public sealed class QuickSilverOptions
{
    /// <summary>The configuration section name used by convention ("QuickSilver").</summary>
    public const string SectionName = "QuickSilver";

    /// <summary>Model to load: an HF folder, a .gguf file, or a llama2.c .bin with its tokenizer beside it. Required.</summary>
    public string? ModelPath { get; set; }
    /// <summary>"auto" (detect from the path), "hf", "gguf" or "llama2c"; a value other than auto must match the path.</summary>
    public string Format { get; set; } = "auto";
    /// <summary>Tokenizer file to use instead of the one found with the model.</summary>
    public string? TokenizerPath { get; set; }
    /// <summary>Torch device: "cpu", "cuda" or "cuda:N".</summary>
    public string Device { get; set; } = "cpu";
    /// <summary>Intra-op threads; 0 keeps TorchSharp's default.</summary>
    public int Threads { get; set; }
    /// <summary>Context window override (positions); null uses the model's.</summary>
    public int? ContextLength { get; set; }
    /// <summary>
    /// K/V cache storage: Float32 (default, exact), Float16 (llama.cpp's default) or BFloat16, which halve the cache's memory at a
    /// small cost in logit accuracy. A policy that packs K/V (Quantization.QuantizeKv) needs Float32.
    /// </summary>
    public QuickSilver.Engine.KvCacheType KvCacheType { get; set; } = QuickSilver.Engine.KvCacheType.Float32;

    /// <summary>Default <c>MaxOutputTokens</c> when a request gives none.</summary>
    public int MaxOutputTokens { get; set; } = 256;
    /// <summary>Default sampling temperature (0 = greedy).</summary>
    public float Temperature { get; set; }
    /// <summary>Default nucleus mass in (0, 1].</summary>
    public float TopP { get; set; } = 1f;
    /// <summary>Default top-k (0 disables).</summary>
    public int TopK { get; set; }
    /// <summary>Default repetition penalty (1 disables).</summary>
    public float RepetitionPenalty { get; set; } = 1f;
    /// <summary>Default frequency penalty in [-2, 2].</summary>
    public float FrequencyPenalty { get; set; }
    /// <summary>Default presence penalty in [-2, 2].</summary>
    public float PresencePenalty { get; set; }
    /// <summary>Default seed; null draws one per request.</summary>
    public long? Seed { get; set; }

    /// <summary>
    /// Policy preset: "dense" (the default), "safe" or "paper". Ignored when <see cref="PolicyPath"/> is set. Dense is the
    /// default because the paper's mechanisms are opt-in: a routed sequence runs alone on the tensor path, so it neither
    /// joins the continuous batch nor takes drafted or forced multi-token steps (those are exact only on dense sequences).
    /// </summary>
    public string Policy { get; set; } = "dense";
    /// <summary>A calibrated policy JSON file; overrides <see cref="Policy"/>.</summary>
    public string? PolicyPath { get; set; }
    /// <summary>Individual switches and thresholds laid over the preset or file.</summary>
    public QuickSilverPolicyOverrides PolicyOverrides { get; set; } = new();
    /// <summary>
    /// Words, phrases and ids added to the policy's lexicons (forced halt, full processing, quantization override). Only the lists are
    /// used; the policy (preset or file) decides <c>ProtectNegations</c> and <c>ProtectJsonStructure</c>.
    /// </summary>
    public TokenLexicons Lexicons { get; set; } = new();

    /// <summary>Chat template: "auto" (the model's own, else plain), or a built-in name (see <c>ChatTemplate.BuiltInNames</c>).</summary>
    public string Template { get; set; } = "auto";
    /// <summary>A Jinja chat template to use instead of <see cref="Template"/>.</summary>
    public string? TemplateText { get; set; }

    /// <summary>Sessions (KV caches) kept for multi-turn reuse; the least recently used is evicted beyond this. At least 1.</summary>
    public int MaxCachedConversations { get; set; } = 4;
    /// <summary>Longest string (in characters) a constrained JSON value may have, unless its schema sets maxLength.</summary>
    public int MaxConstrainedStringLength { get; set; } = 128;

    /// <summary>
    /// Prompt-lookup drafting: tokens that followed an earlier occurrence of the context's last n-gram are verified in one
    /// step (pays when replies copy their input: tool arguments, quotes, code edits). Lossless: the reply is unchanged.
    /// </summary>
    public bool PromptLookup { get; set; } = true;
    /// <summary>
    /// Self-speculative early exit: QuickSilver's halting layer drafts tokens the full model verifies in one step (dense
    /// requests only). Lossless; off by default since on small models the shallow passes rarely pay.
    /// </summary>
    public bool EarlyExitDrafting { get; set; }
    /// <summary>Jump-forward: tokens a JSON or tool-call constraint forces are appended in one step without sampling. Lossless.</summary>
    public bool JumpForward { get; set; } = true;
    /// <summary>Most draft tokens verified per step (1 to 31).</summary>
    public int MaxDraftTokens { get; set; } = 8;
    /// <summary>
    /// Bytes of K/V kept for prompt prefixes shared across conversations (system prompts, tool lists, documents), LRU-evicted;
    /// 0 turns the prefix cache off. With it on, new conversations prefill in blocks of <see cref="PrefixCacheBlockTokens"/>.
    /// </summary>
    public long PrefixCacheBytes { get; set; }
    /// <summary>Prefix-cache granularity in tokens (1 to 4096): prefixes are reused and prefilled in whole blocks.</summary>
    public int PrefixCacheBlockTokens { get; set; } = 64;
    /// <summary>Most requests decoded together in one batched step (continuous batching); at least 1. Default 8.</summary>
    public int MaxBatchSize { get; set; } = 8;
    /// <summary>Most tokens of one prompt prefilled per step (a chunk), beside the decode rows of the running requests; at least 1. Default 256.</summary>
    public int PrefillChunkTokens { get; set; } = 256;
    /// <summary>Most prompt tokens one step prefills across concurrent requests (several prompts' chunks share a step); at least 1. Default 512.</summary>
    public int PrefillTokensPerStep { get; set; } = 512;
    /// <summary>Bound on K/V positions reserved by running requests (prompt + maximum output tokens each); null = unbounded.</summary>
    public int? MaxKvCacheTokens { get; set; }
    /// <summary>What a request that does not fit <see cref="MaxKvCacheTokens"/> does: wait (Queue, default) or fail with KvCacheFullException (Reject).</summary>
    public QuickSilver.Engine.Scheduling.KvCacheFullBehavior WhenKvCacheFull { get; set; } = QuickSilver.Engine.Scheduling.KvCacheFullBehavior.Queue;

    /// <summary>Creates a deep copy.</summary>
    public QuickSilverOptions Clone()
    {
        var copy = (QuickSilverOptions)MemberwiseClone();
        copy.PolicyOverrides = PolicyOverrides.Clone();
        copy.Lexicons = Lexicons.Clone();
        return copy;
    }
}
