namespace QuickSilver.Cli.Compare;

internal sealed class CompareSettings
{
    public required string Model { get; init; }
    public required string Text { get; init; }
    public string Policy { get; init; } = "paper";
    public int Threads { get; init; }
    public int PromptTokens { get; init; } = 512;
    public int DecodeTokens { get; init; } = 128;
    public int DecodePromptTokens { get; init; } = 32;
    public int Window { get; init; } = 256;
    public int Stride { get; init; } = 128;
    public int MaxTokens { get; init; } = 4096;
    public int Runs { get; init; } = 5;
}
