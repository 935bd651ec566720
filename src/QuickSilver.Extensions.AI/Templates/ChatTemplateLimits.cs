namespace QuickSilver.Extensions.AI.Templates;

/// <summary>
/// Bounds the Jinja chat-template interpreter enforces, because a template is code that arrives inside a downloaded model
/// (GGUF <c>tokenizer.chat_template</c> or <c>tokenizer_config.json</c>). Exceeding any of them throws
/// <see cref="ChatTemplateException"/>; none is reached by published chat templates.
/// </summary>
public static class ChatTemplateLimits
{
    /// <summary>Longest template source accepted, in characters.</summary>
    public const int MaxSourceLength = 1 << 20;

    /// <summary>Deepest nesting of blocks (if/for) and of expressions (parentheses, operators, literals) the parser accepts.</summary>
    public const int MaxNestingDepth = 64;

    /// <summary>Most loop iterations one render may run, over all loops together; also the longest list <c>range()</c> may build.</summary>
    public const int MaxLoopIterations = 1_000_000;

    /// <summary>Longest rendered prompt, and longest string or list any expression may build, in characters or items.</summary>
    public const int MaxOutputLength = 16 << 20;

    /// <summary>Deepest nesting of values (lists and mappings inside each other) that printing, <c>tojson</c> and comparison follow.</summary>
    public const int MaxValueDepth = 32;
}
