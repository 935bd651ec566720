namespace QuickSilver.Testing.Conformance;

/// <summary>The architectures the conformance matrix covers. Add a line here to add a row.</summary>
internal static class ConformanceArchitectures
{
    /// <summary>Every registered architecture, in matrix order.</summary>
    public static IReadOnlyList<IConformanceArchitecture> All { get; } =
    [
        new LlamaConformanceModel(),
    ];

    /// <summary>The architecture named <paramref name="name"/> (case-insensitive).</summary>
    /// <exception cref="ArgumentException">No such architecture; the message lists the known ones.</exception>
    public static IConformanceArchitecture Get(string name) =>
        All.FirstOrDefault(a => string.Equals(a.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new ArgumentException($"Unknown conformance architecture '{name}' (known: {string.Join(", ", All.Select(a => a.Name))}).", nameof(name));
}
