using QuickSilver.Cli.Infrastructure;

namespace QuickSilver.Cli.Bench;

internal static class SummaryRunner
{
    public static string CheckPath(string path) => path;
    public static Dictionary<string, object?> Run(BenchSettings s, string? gguf, string? evalText, string? calibText, OutputFolder folder, Reporter reporter) => [];
    public static void Write(string path, Dictionary<string, object?> summary) { }
}
