namespace QuickSilver.Testing.Conformance;

/// <summary>The architectures the conformance matrix covers: every case of <see cref="ArchitectureCases.Conformance"/>.</summary>
internal static class ConformanceArchitectures
{
    /// <summary>Every registered architecture, in matrix order.</summary>
    public static IReadOnlyList<IConformanceArchitecture> All { get; } =
        [.. ArchitectureCases.Conformance.All.Select(c => new CaseConformanceModel(c))];

    /// <summary>The architecture named <paramref name="name"/> (case-insensitive).</summary>
    /// <exception cref="ArgumentException">No such architecture; the message lists the known ones.</exception>
    public static IConformanceArchitecture Get(string name) =>
        All.FirstOrDefault(a => string.Equals(a.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new ArgumentException($"Unknown conformance architecture '{name}' (known: {string.Join(", ", All.Select(a => a.Name))}).", nameof(name));
}
