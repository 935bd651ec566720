using System.Text.Json;
using Microsoft.Extensions.AI;
using QuickSilver.Engine.Generation;

namespace QuickSilver.Extensions.AI.Chat;

/// <summary>Everything one request needs once its <see cref="ChatOptions"/> are mapped and validated.</summary>
internal sealed class RequestPlan
{
    public required GenerationRequest Request { get; init; }

    public required IReadOnlyList<string> StopSequences { get; init; }

    /// <summary>Tools described to the model (empty when none or ToolMode is None).</summary>
    public IReadOnlyList<AIFunctionDeclaration> Tools { get; init; } = [];

    /// <summary>A tool call is required: output is constrained to the call envelope.</summary>
    public bool ToolRequired { get; init; }

    /// <summary>The one tool the call must name (RequireSpecific), else null.</summary>
    public string? RequiredToolName { get; init; }

    public bool AllowMultipleToolCalls { get; init; } = true;

    /// <summary>Output must be JSON (ChatResponseFormat.Json or ForJsonSchema).</summary>
    public bool JsonOutput { get; init; }

    /// <summary>The JSON schema of the output, when given.</summary>
    public JsonElement? JsonSchema { get; init; }

    /// <summary>System text added after the conversation's own (instructions, tool descriptions, JSON format).</summary>
    public string? Preamble { get; init; }

    public string? ConversationId { get; init; }

    /// <summary>Longest constrained JSON string unless the schema says otherwise (from the options snapshot of the request).</summary>
    public int MaxConstrainedStringLength { get; init; } = 128;
}
