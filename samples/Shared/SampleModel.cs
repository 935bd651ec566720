namespace QuickSilver.Samples;

/// <summary>
/// Finds the model a sample runs on: <c>--model PATH</c>, else <c>$QUICKSILVER_MODEL</c>, else the default
/// <c>models/stories260K/stories260K.gguf</c> under <c>$QUICKSILVER_SHARED</c> or under a <c>shared</c> folder beside an ancestor
/// of the working directory or of the sample binary (the repository keeps it at <c>../shared</c>).
/// </summary>
internal static class SampleModel
{
    public const string ModelVariable = "QUICKSILVER_MODEL";
    public const string SharedVariable = "QUICKSILVER_SHARED";

    public static string Find(IReadOnlyList<string> args)
    {
        int index = args.ToList().IndexOf("--model");
        if (index >= 0)
        {
            if (index + 1 >= args.Count) throw new ArgumentException("--model needs a path.");
            return Existing(args[index + 1], "--model");
        }
        if (Environment.GetEnvironmentVariable(ModelVariable) is { Length: > 0 } fromEnv) return Existing(fromEnv, ModelVariable);
        string relative = Path.Combine("models", "stories260K", "stories260K.gguf");
        if (Environment.GetEnvironmentVariable(SharedVariable) is { Length: > 0 } shared) return Existing(Path.Combine(shared, relative), SharedVariable);
        foreach (string start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (DirectoryInfo? dir = new(start); dir is not null; dir = dir.Parent)
            {
                string candidate = Path.Combine(dir.FullName, "shared", relative);
                if (File.Exists(candidate)) return candidate;
            }
        }
        throw new FileNotFoundException($"No model found: pass --model PATH, set {ModelVariable} or {SharedVariable}, or keep shared/ beside the repository.");
    }

    /// <summary>The value after <paramref name="name"/>, or <paramref name="fallback"/>.</summary>
    public static string Option(IReadOnlyList<string> args, string name, string fallback)
    {
        int index = args.ToList().IndexOf(name);
        return index >= 0 && index + 1 < args.Count ? args[index + 1] : fallback;
    }

    private static string Existing(string path, string source)
        => File.Exists(path) || Directory.Exists(path) ? Path.GetFullPath(path) : throw new FileNotFoundException($"{source}: '{Path.GetFullPath(path)}' does not exist.");
}
