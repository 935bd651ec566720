namespace QuickSilver.Engine.Generation;

/// <summary>A token the generator emitted: its id and its index in the output.</summary>
public readonly record struct GeneratedToken(int Id, int Index);
