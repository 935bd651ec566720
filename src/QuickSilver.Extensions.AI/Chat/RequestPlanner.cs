using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.AI;
using QuickSilver.Engine.Generation;
using QuickSilver.Engine.Tokenization;
using QuickSilver.Extensions.AI.Policy;
using QuickSilver.Policies;

namespace QuickSilver.Extensions.AI.Chat;

/// <summary>Maps and validates <see cref="ChatOptions"/> (and QuickSilver's AdditionalProperties) into a <see cref="RequestPlan"/>.</summary>
internal static class RequestPlanner
{
    /// <param name="chat">The request's options.</param>
    /// <param name="defaults">The client's options.</param>
    /// <param name="basePolicy">The client's current policy.</param>
    /// <param name="modelId">The loaded model's id.</param>
    /// <param name="tokenizer">The model's tokenizer.</param>
    /// <param name="templateStops">Stop texts of the chat template.</param>
    /// <param name="nativeTools">The template lays out tools itself, so the preamble does not describe them.</param>
    public static RequestPlan Plan(ChatOptions? chat, QuickSilverOptions defaults, QuickSilverPolicy basePolicy, string modelId, ITokenizer tokenizer, IReadOnlyList<string> templateStops, bool nativeTools = false)
    {
        if (chat?.ModelId is { } requested && !string.Equals(requested, modelId, StringComparison.OrdinalIgnoreCase))
        {
            throw new ArgumentException($"ChatOptions.ModelId '{requested}' does not match the loaded model '{modelId}'; leave it null or use '{modelId}'.", nameof(chat));
        }

        float temperature = chat?.Temperature ?? defaults.Temperature;
        if (!float.IsFinite(temperature) || temperature < 0)
            throw new ArgumentOutOfRangeException("ChatOptions.Temperature", temperature, "Temperature must be a finite number >= 0.");
        float topP = chat?.TopP ?? defaults.TopP;
        if (!float.IsFinite(topP) || topP <= 0 || topP > 1)
            throw new ArgumentOutOfRangeException("ChatOptions.TopP", topP, "TopP must be in (0, 1].");
        int topK = chat?.TopK ?? defaults.TopK;
        if (topK < 0)
            throw new ArgumentOutOfRangeException("ChatOptions.TopK", topK, "TopK must be 0 (off) or positive.");
        int maxTokens = chat?.MaxOutputTokens ?? defaults.MaxOutputTokens;
        if (maxTokens <= 0)
            throw new ArgumentOutOfRangeException("ChatOptions.MaxOutputTokens", maxTokens, "MaxOutputTokens must be positive.");
        float frequency = chat?.FrequencyPenalty ?? defaults.FrequencyPenalty;
        if (!float.IsFinite(frequency) || Math.Abs(frequency) > 2)
            throw new ArgumentOutOfRangeException("ChatOptions.FrequencyPenalty", frequency, "FrequencyPenalty must be in [-2, 2].");
        float presence = chat?.PresencePenalty ?? defaults.PresencePenalty;
        if (!float.IsFinite(presence) || Math.Abs(presence) > 2)
            throw new ArgumentOutOfRangeException("ChatOptions.PresencePenalty", presence, "PresencePenalty must be in [-2, 2].");

        var stops = new List<string>(templateStops);
        if (chat?.StopSequences is { } userStops)
        {
            foreach (string stop in userStops)
            {
                if (string.IsNullOrEmpty(stop)) throw new ArgumentException("ChatOptions.StopSequences contains an empty stop sequence.", nameof(chat));
                stops.Add(stop);
            }
        }

        // Tools.
        var tools = new List<AIFunctionDeclaration>();
        foreach (AITool tool in chat?.Tools ?? [])
        {
            tools.Add(tool as AIFunctionDeclaration ?? throw new ArgumentException($"ChatOptions.Tools: '{tool.Name}' is a {tool.GetType().Name}; QuickSilver runs function tools (AIFunctionDeclaration) only.", nameof(chat)));
        }
        if (tools.Select(t => t.Name).GroupBy(n => n).FirstOrDefault(g => g.Count() > 1) is { } duplicate)
        {
            throw new ArgumentException($"ChatOptions.Tools has two tools named '{duplicate.Key}'.", nameof(chat));
        }
        ChatToolMode? mode = chat?.ToolMode;
        bool required = mode is RequiredChatToolMode;
        string? requiredName = (mode as RequiredChatToolMode)?.RequiredFunctionName;
        if (required && tools.Count == 0)
        {
            throw new ArgumentException("ChatOptions.ToolMode requires a tool call but ChatOptions.Tools is empty.", nameof(chat));
        }
        if (requiredName is not null && !tools.Any(t => t.Name == requiredName))
        {
            throw new ArgumentException($"ChatOptions.ToolMode requires tool '{requiredName}', which is not in ChatOptions.Tools ({string.Join(", ", tools.Select(t => t.Name))}).", nameof(chat));
        }
        if (mode is NoneChatToolMode)
        {
            tools.Clear();
        }

        // Policy: the snapshot this request keeps, with its own overrides.
        QuickSilverPolicy policy = basePolicy.Clone();
        var protectedWords = new List<string>();
        float repetition = defaults.RepetitionPenalty;
        bool collectTrace = false;
        if (chat?.AdditionalProperties is { } extra)
        {
            repetition = ApplyAdditionalProperties(extra, ref policy, protectedWords) ?? repetition;
            collectTrace = extra.TryGetValue(QuickSilverChatOptionKeys.Trace, out object? trace) && AsBool(QuickSilverChatOptionKeys.Trace, trace);
        }

        var protectedIds = new HashSet<int>();
        foreach (string word in protectedWords)
        {
            protectedIds.UnionWith(tokenizer.Encode(word, addBos: false));
            protectedIds.UnionWith(tokenizer.Encode(" " + word, addBos: false));
        }
        // Tool and argument names and JSON structure are protected by id, not by editing the policy's lexicons: the engine keys
        // its KV-prefix reuse on the policy, and a tool-calling loop must keep reusing the cache from one iteration to the next.
        if (tools.Count > 0)
        {
            protectedIds.UnionWith(ToolCalling.ProtectedTokenIds(tokenizer, tools));
        }

        JsonElement? schema = null;
        bool json = false;
        if (chat?.ResponseFormat is ChatResponseFormatJson format)
        {
            json = true;
            schema = format.Schema;
            protectedIds.UnionWith(ToolCalling.JsonStructureTokenIds(tokenizer));
        }


        return new RequestPlan
        {
            Request = new GenerationRequest
            {
                MaxNewTokens = maxTokens,
                Temperature = temperature,
                TopP = topP,
                TopK = topK,
                FrequencyPenalty = frequency,
                PresencePenalty = presence,
                RepetitionPenalty = repetition,
                Seed = chat?.Seed ?? defaults.Seed,
                Policy = policy,
                ProtectedTokenIds = protectedIds.Order().ToArray(),
                CollectTrace = collectTrace,
            },
            StopSequences = stops,
            Tools = tools,
            ToolRequired = required && tools.Count > 0,
            RequiredToolName = requiredName,
            AllowMultipleToolCalls = chat?.AllowMultipleToolCalls ?? true,
            JsonOutput = json,
            JsonSchema = schema,
            Preamble = Preamble(chat, tools, nativeTools),
            ConversationId = chat?.ConversationId,
            MaxConstrainedStringLength = defaults.MaxConstrainedStringLength,
            Acceleration = AccelerationSettings.For(defaults, chat?.AdditionalProperties),
        };
    }

    /// <summary>
    /// System text a request adds after the conversation's own: the instructions, the tool list (generic protocol only; a
    /// template with tool support renders <c>tools</c> itself) and, for JSON output, the format.
    /// </summary>
    public static string? Preamble(ChatOptions? chat, IReadOnlyList<AIFunctionDeclaration> tools, bool nativeTools)
    {
        var preamble = new List<string>();
        if (!string.IsNullOrWhiteSpace(chat?.Instructions)) preamble.Add(chat.Instructions.Trim());
        if (tools.Count > 0 && !nativeTools) preamble.Add(ToolCalling.Describe(tools));
        bool required = chat?.ToolMode is RequiredChatToolMode && tools.Count > 0;
        if (chat?.ResponseFormat is ChatResponseFormatJson format && !required)
        {
            preamble.Add(format.Schema is { } s ? "Reply with only JSON that follows this schema: " + JsonSerializer.Serialize(s) : "Reply with only a JSON value.");
        }
        return preamble.Count > 0 ? string.Join("\n\n", preamble) : null;
    }

    /// <summary>The function tools of a request, validated (ToolMode None: none).</summary>
    public static List<AIFunctionDeclaration> Tools(ChatOptions? chat)
    {
        var tools = new List<AIFunctionDeclaration>();
        foreach (AITool tool in chat?.Tools ?? [])
        {
            tools.Add(tool as AIFunctionDeclaration ?? throw new ArgumentException($"ChatOptions.Tools: '{tool.Name}' is a {tool.GetType().Name}; QuickSilver runs function tools (AIFunctionDeclaration) only.", nameof(chat)));
        }
        if (chat?.ToolMode is NoneChatToolMode) tools.Clear();
        return tools;
    }

    /// <returns>The repetition penalty when the request sets one.</returns>
    private static float? ApplyAdditionalProperties(AdditionalPropertiesDictionary extra, ref QuickSilverPolicy policy, List<string> protectedWords)
    {
        // The preset goes first so the other keys apply on top of it, whatever their order in the dictionary.
        if (extra.TryGetValue(QuickSilverChatOptionKeys.Policy, out object? preset))
        {
            string name = AsString(QuickSilverChatOptionKeys.Policy, preset);
            QuickSilverPolicy fresh = PolicyCatalog.FromPreset(name, QuickSilverChatOptionKeys.Policy);
            PolicyComposer.MergeLexicons(fresh.Lexicons, policy.Lexicons);
            policy = fresh;
        }
        float? repetition = null;
        var overrides = new QuickSilverPolicyOverrides();
        foreach ((string key, object? value) in extra)
        {
            if (!key.StartsWith(QuickSilverChatOptionKeys.Prefix, StringComparison.OrdinalIgnoreCase)) continue;
            switch (key)
            {
                case QuickSilverChatOptionKeys.Policy:
                    break;
                case QuickSilverChatOptionKeys.Mechanisms:
                    var set = AsStringList(key, value).Select(s => s.ToLowerInvariant()).ToHashSet();
                    foreach (string m in set)
                    {
                        if (m is not ("halting" or "kvskip" or "fusion" or "quantization" or "none"))
                            throw new ArgumentException($"AdditionalProperties['{key}']: unknown mechanism '{m}'; expected halting, kvskip, fusion, quantization or none.", key);
                    }
                    overrides.Halting = set.Contains("halting");
                    overrides.KvSkip = set.Contains("kvskip");
                    overrides.Fusion = set.Contains("fusion");
                    overrides.Quantization = set.Contains("quantization");
                    break;
                case QuickSilverChatOptionKeys.Halting: overrides.Halting = AsBool(key, value); break;
                case QuickSilverChatOptionKeys.KvSkip: overrides.KvSkip = AsBool(key, value); break;
                case QuickSilverChatOptionKeys.Fusion: overrides.Fusion = AsBool(key, value); break;
                case QuickSilverChatOptionKeys.Quantization: overrides.Quantization = AsBool(key, value); break;
                case QuickSilverChatOptionKeys.DriftThreshold: overrides.DriftThreshold = AsThreshold(key, value); break;
                case QuickSilverChatOptionKeys.EntropyThreshold: overrides.EntropyThreshold = AsThreshold(key, value); break;
                case QuickSilverChatOptionKeys.KvAttentionThreshold: overrides.KvAttentionThreshold = AsThreshold(key, value); break;
                case QuickSilverChatOptionKeys.FusionDistanceThreshold: overrides.FusionDistanceThreshold = AsThreshold(key, value); break;
                case QuickSilverChatOptionKeys.QuantizationLowThreshold: overrides.QuantizationLowThreshold = AsThreshold(key, value); break;
                case QuickSilverChatOptionKeys.QuantizationHighThreshold: overrides.QuantizationHighThreshold = AsThreshold(key, value); break;
                case QuickSilverChatOptionKeys.ProtectedWords:
                    foreach (string word in AsStringList(key, value))
                    {
                        if (string.IsNullOrWhiteSpace(word)) throw new ArgumentException($"AdditionalProperties['{key}'] contains an empty word.", key);
                        protectedWords.Add(word.Trim());
                    }
                    break;
                case QuickSilverChatOptionKeys.Trace:
                    AsBool(key, value); // validated here, read by Plan
                    break;
                case QuickSilverChatOptionKeys.PromptLookup:
                case QuickSilverChatOptionKeys.EarlyExitDrafting:
                case QuickSilverChatOptionKeys.JumpForward:
                case QuickSilverChatOptionKeys.MaxDraftTokens:
                    break; // validated and read by AccelerationSettings.For
                case QuickSilverChatOptionKeys.RepetitionPenalty:
                    float r = AsFloat(key, value);
                    if (r <= 0) throw new ArgumentOutOfRangeException(key, r, $"AdditionalProperties['{key}'] must be > 0.");
                    repetition = r;
                    break;
                default:
                    throw new ArgumentException($"AdditionalProperties['{key}'] is not a QuickSilver setting; known keys: {string.Join(", ", QuickSilverChatOptionKeys.All)}.", key);
            }
        }
        if (overrides.QuantizationLowThreshold is { } lo && overrides.QuantizationHighThreshold is { } hi && lo > hi)
        {
            throw new ArgumentException($"AdditionalProperties['{QuickSilverChatOptionKeys.QuantizationLowThreshold}'] ({lo}) exceeds '{QuickSilverChatOptionKeys.QuantizationHighThreshold}' ({hi}).", QuickSilverChatOptionKeys.QuantizationLowThreshold);
        }
        PolicyComposer.Apply(policy, overrides);
        return repetition;
    }

    private static float AsThreshold(string key, object? value)
    {
        float f = AsFloat(key, value);
        if (f < 0) throw new ArgumentOutOfRangeException(key, f, $"AdditionalProperties['{key}'] must be a non-negative number.");
        return f;
    }

    internal static float AsFloat(string key, object? value)
    {
        double d = value switch
        {
            float f => f,
            double x => x,
            int i => i,
            long l => l,
            decimal m => (double)m,
            string s when double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double p) => p,
            JsonElement { ValueKind: JsonValueKind.Number } e => e.GetDouble(),
            JsonElement { ValueKind: JsonValueKind.String } e when double.TryParse(e.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out double q) => q,
            _ => throw new ArgumentException($"AdditionalProperties['{key}'] must be a number (got {Describe(value)}).", key),
        };
        if (!double.IsFinite(d)) throw new ArgumentOutOfRangeException(key, d, $"AdditionalProperties['{key}'] must be finite.");
        return (float)d;
    }

    internal static bool AsBool(string key, object? value) => value switch
    {
        bool b => b,
        string s when bool.TryParse(s, out bool p) => p,
        JsonElement { ValueKind: JsonValueKind.True } => true,
        JsonElement { ValueKind: JsonValueKind.False } => false,
        _ => throw new ArgumentException($"AdditionalProperties['{key}'] must be true or false (got {Describe(value)}).", key),
    };

    private static string AsString(string key, object? value) => value switch
    {
        string s when !string.IsNullOrWhiteSpace(s) => s,
        JsonElement { ValueKind: JsonValueKind.String } e when !string.IsNullOrWhiteSpace(e.GetString()) => e.GetString()!,
        _ => throw new ArgumentException($"AdditionalProperties['{key}'] must be a non-empty string (got {Describe(value)}).", key),
    };

    private static List<string> AsStringList(string key, object? value) => value switch
    {
        string s => s.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).ToList(),
        IEnumerable<string> list => list.ToList(),
        JsonElement { ValueKind: JsonValueKind.Array } e => e.EnumerateArray().Select(x => x.ValueKind == JsonValueKind.String ? x.GetString()! : throw new ArgumentException($"AdditionalProperties['{key}'] must hold strings.", key)).ToList(),
        JsonElement { ValueKind: JsonValueKind.String } e => AsStringList(key, e.GetString()),
        _ => throw new ArgumentException($"AdditionalProperties['{key}'] must be a string list or a comma-separated string (got {Describe(value)}).", key),
    };

    private static string Describe(object? value) => value is null ? "null" : $"{value.GetType().Name} '{value}'";
}
