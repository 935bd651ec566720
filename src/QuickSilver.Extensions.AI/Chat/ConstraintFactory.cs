using Microsoft.Extensions.Logging;
using QuickSilver.Engine.Generation;
using QuickSilver.Engine.Tokenization;
using QuickSilver.Extensions.AI.Chat.Protocols;
using QuickSilver.Extensions.AI.Constraints;

namespace QuickSilver.Extensions.AI.Chat;

/// <summary>
/// Builds a request's constraint before it is queued (so a bad schema fails the call at once): the native tool-call
/// constraint for templates with a known call syntax, the generic JSON envelope otherwise, or the response schema.
/// A structured reply cut short is useless, so the token budget it returns may exceed the plan's (context permitting).
/// </summary>
internal static class ConstraintFactory
{
    /// <summary>The constraint (null for free text) and the token budget the request runs with.</summary>
    public readonly record struct Choice(ITokenConstraint? Constraint, int MaxNewTokens);

    public static Choice Create(RequestPlan plan, int promptTokens, ITokenizer tokenizer, int contextLength, ToolCallProtocol? protocol, ILogger logger, bool startsInReasoning = false)
    {
        int room = contextLength - promptTokens;
        int budget = Math.Min(plan.Request.MaxNewTokens, room);
        int maxString = plan.MaxConstrainedStringLength;
        var tools = plan.Tools.Where(t => !plan.ToolRequired || plan.RequiredToolName is null || t.Name == plan.RequiredToolName).Select(t => (t.Name, t.JsonSchema)).ToList();

        if (protocol is not null && plan.Tools.Count > 0 && !plan.JsonOutput)
        {
            if (!protocol.ConstrainsEnvelope) return new Choice(null, Math.Max(plan.Request.MaxNewTokens, budget));
            JsonSchemaConstraint Envelope() => JsonSchemaConstraint.ForToolCall(tokenizer, tools, maxString, budget, protocol.ArgumentsKey, spaced: true);
            JsonSchemaConstraint first = Wrap(Envelope, "ChatOptions.Tools (a tool's parameter schema)", "ChatOptions.Tools");
            if (plan.ToolRequired)
            {
                // Marker, separator and the shortest call must fit: raise the limit as for the generic envelope.
                int needed = first.MinimumBytesToComplete + protocol.CallMarker.Length + 2;
                if (needed > budget && budget < room)
                {
                    budget = Math.Min(needed, room);
                    logger.LogDebug("MaxOutputTokens is below the shortest native tool call; raised to {Raised}.", Math.Max(plan.Request.MaxNewTokens, budget));
                }
            }
            return new Choice(new NativeToolCallConstraint(tokenizer, protocol, Envelope, plan.ToolRequired, startsInReasoning), Math.Max(plan.Request.MaxNewTokens, budget));
        }

        if (!plan.ToolRequired && !plan.JsonOutput)
        {
            // Tools on Auto: free text, or (if the reply opens with '{') a constrained, well-formed call.
            if (plan.Tools.Count == 0) return new Choice(null, Math.Max(plan.Request.MaxNewTokens, budget));
            var all = plan.Tools.Select(t => (t.Name, t.JsonSchema)).ToList();
            return new Choice(new AutoToolCallConstraint(tokenizer, Wrap(() => JsonSchemaConstraint.ForToolCall(tokenizer, all, maxString, budget), "ChatOptions.Tools (a tool's parameter schema)", "ChatOptions.Tools")), Math.Max(plan.Request.MaxNewTokens, budget));
        }
        string source = plan.ToolRequired ? "ChatOptions.Tools (a tool's parameter schema)" : "ChatOptions.ResponseFormat";
        string parameter = plan.ToolRequired ? "ChatOptions.Tools" : "ChatOptions.ResponseFormat";
        JsonSchemaConstraint Build(int b) => plan.ToolRequired
            ? JsonSchemaConstraint.ForToolCall(tokenizer, tools, maxString, b)
            : JsonSchemaConstraint.ForSchema(tokenizer, plan.JsonSchema, maxString, b);
        JsonSchemaConstraint constraint = Wrap(() => Build(budget), source, parameter);
        if (constraint.MinimumBytesToComplete > budget && budget < room)
        {
            // A structured reply cut short is useless: raise the limit to what the shortest valid reply can need.
            int raised = Math.Min(constraint.MinimumBytesToComplete, room);
            logger.LogDebug("MaxOutputTokens {Budget} is below the shortest valid structured reply; raised to {Raised}.", budget, raised);
            constraint = Build(raised);
            budget = raised;
        }
        // Forced text in its canonical tokenization only, with or without jump-forward, so that the two give the same reply
        // and jump-forward can append keys and punctuation on vocabularies with several spellings of them.
        constraint.CanonicalForcedSpans = true;
        return new Choice(constraint, Math.Max(plan.Request.MaxNewTokens, budget));
    }

    private static JsonSchemaConstraint Wrap(Func<JsonSchemaConstraint> build, string source, string parameter)
    {
        try
        {
            return build();
        }
        catch (ArgumentException ex)
        {
            throw new ArgumentException($"{source}: {ex.Message}", parameter, ex);
        }
    }
}
