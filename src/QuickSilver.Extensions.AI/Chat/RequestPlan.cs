using System.Text.Json;
using Microsoft.Extensions.AI;
using QuickSilver.Engine.Generation;

namespace QuickSilver.Extensions.AI.Chat;

/// <summary>Everything one request needs once its <see cref="ChatOptions"/> are mapped and validated.</summary>
internal sealed class RequestPlan
{
    /// <summary>The planned sampling settings; never changed after planning (see <see cref="CreateRequest"/>).</summary>
    public required GenerationRequest Request { get; init; }

    public required IReadOnlyList<string> StopSequences { get; init; }

    /// <summary>
    /// The stop sequences that end the reply text: none for structured replies, which end when the constraint says the value
    /// is complete (a stop sequence must not cut them short).
    /// </summary>
    public IReadOnlyList<string> TextStopSequences => ToolRequired || JsonOutput ? [] : StopSequences;

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

    /// <summary>The lossless decode accelerations this request runs with.</summary>
    public AccelerationSettings Acceleration { get; init; } = AccelerationSettings.None;

    /// <summary>
    /// The request the generator runs: the planned settings with the constraint and budget chosen for the encoded prompt, the
    /// template's end-of-turn ids and the reply's stop texts. A new object; the plan is left as planned.
    /// </summary>
    public GenerationRequest CreateRequest(ConstraintFactory.Choice choice, IReadOnlyCollection<int> stopTokenIds)
    {
        GenerationRequest request = Request.Clone();
        request.MaxNewTokens = choice.MaxNewTokens;
        request.Constraint = choice.Constraint;
        request.StopTokenIds = stopTokenIds;
        request.StopSequences = TextStopSequences;
        return request;
    }
}
