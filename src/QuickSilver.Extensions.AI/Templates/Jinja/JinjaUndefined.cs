namespace QuickSilver.Extensions.AI.Templates.Jinja;

/// <summary>The value of a missing variable, attribute or key: renders as "", is falsy, fails "is defined".</summary>
internal sealed class JinjaUndefined
{
    public static readonly JinjaUndefined Instance = new();

    private JinjaUndefined() { }

    public override string ToString() => "";
}
