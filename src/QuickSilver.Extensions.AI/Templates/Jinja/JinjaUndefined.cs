namespace QuickSilver.Extensions.AI.Templates.Jinja;

/// <summary>
/// Jinja2's default <c>Undefined</c>: the value of a missing variable, attribute or key. It prints as "", is falsy,
/// iterates as empty and has length 0; reading an attribute or item of it, or doing arithmetic with it, is an error.
/// </summary>
internal sealed class JinjaUndefined
{
    public static readonly JinjaUndefined Instance = new("a value is undefined");

    public JinjaUndefined(string hint) => Hint = hint;

    /// <summary>What was missing, for error messages ("'dict object' has no attribute 'x'", "'foo' is undefined").</summary>
    public string Hint { get; }

    public static JinjaUndefined Variable(string name) => new($"'{name}' is undefined");

    public static JinjaUndefined Member(object? owner, string key) => new($"{JinjaRuntime.TypeName(owner)} has no attribute or key '{key}'");

    public override string ToString() => "";
}
