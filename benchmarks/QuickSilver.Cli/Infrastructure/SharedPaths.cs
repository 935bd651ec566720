namespace QuickSilver.Cli.Infrastructure;

/// <summary>Default inputs: the repository's read-only shared assets ($QUICKSILVER_SHARED, else a "shared" folder beside an ancestor of the working or binary folder).</summary>
internal static class SharedPaths
{
    private static readonly Lazy<string?> RootPath = new(FindRoot);

    public static string? Root => RootPath.Value;

    public static string? Find(params string[] parts)
    {
        if (Root is null) return null;
        string path = Path.Combine([Root, .. parts]);
        return File.Exists(path) || Directory.Exists(path) ? path : null;
    }

    public static string? Stories260KBin => Find("models", "stories260K", "stories260K.bin");
    public static string? Stories260KGguf => Find("models", "stories260K", "stories260K.gguf");
    public static string? TinyStoriesSample => Find("data", "tinystories", "tinystories_sample.txt");
    public static string? TinyStoriesValid => Find("data", "tinystories", "tinystories_valid_excerpt.txt");
    public static string? WikiTextTest => Find("data", "wikitext-2", "wiki.test.raw");

    private static string? FindRoot()
    {
        string? env = Environment.GetEnvironmentVariable("QUICKSILVER_SHARED");
        if (!string.IsNullOrEmpty(env) && Directory.Exists(env)) return env;
        foreach (string start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
            for (DirectoryInfo? dir = new(start); dir is not null; dir = dir.Parent)
            {
                string candidate = Path.Combine(dir.FullName, "shared");
                if (Directory.Exists(Path.Combine(candidate, "models"))) return candidate;
            }
        return null;
    }
}
