namespace QuickSilver.Testing;

/// <summary>Locates the read-only shared assets (models, goldens, data) beside the repository.</summary>
internal static class SharedAssets
{
    /// <summary>Environment variable that overrides the location of the shared folder.</summary>
    public const string EnvironmentVariable = "QUICKSILVER_SHARED";

    private static readonly Lazy<string> RootPath = new(FindRoot);

    /// <summary>The shared folder: $QUICKSILVER_SHARED, else the first "shared" folder found beside an ancestor of the test binary.</summary>
    public static string Root => RootPath.Value;

    public static string Path(params string[] parts) => System.IO.Path.Combine([Root, .. parts]);

    public static string Stories260KDir => Path("models", "stories260K");
    public static string Stories260KBin => Path("models", "stories260K", "stories260K.bin");
    public static string Stories260KTokenizer => Path("models", "stories260K", "tok512.bin");
    public static string Stories260KGguf => Path("models", "stories260K", "stories260K.gguf");
    public static string Stories260KHf => Path("models", "stories260K", "hf");
    public static string Gpt2TinyRandomHf => Path("goldens", "gpt2-tiny-random");
    public static string LlamaGolden => Path("goldens", "llama-stories260K.json");
    public static string Gpt2Golden => Path("goldens", "gpt2-tiny-random.json");
    public static string TinyStoriesSample => Path("data", "tinystories", "tinystories_sample.txt");
    public static string TinyStoriesValid => Path("data", "tinystories", "tinystories_valid_excerpt.txt");
    public static string Gpt2TokenizerDir => Path("models", "tokenizers", "gpt2");
    public static string Llama2TokenizerDir => Path("models", "tokenizers", "llama2-32k");

    private static string FindRoot()
    {
        string? env = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrEmpty(env))
        {
            return Directory.Exists(env) ? env : throw new DirectoryNotFoundException($"{EnvironmentVariable}={env} does not exist.");
        }
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = System.IO.Path.Combine(dir.FullName, "shared");
            if (Directory.Exists(System.IO.Path.Combine(candidate, "models"))) return candidate;
        }
        throw new DirectoryNotFoundException($"Shared assets not found: set {EnvironmentVariable} or place 'shared' beside the repository.");
    }
}
