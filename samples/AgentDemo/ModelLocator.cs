namespace AgentDemo;

/// <summary>Finds the model: --model PATH, else $QUICKSILVER_MODEL, else shared/models/stories260K beside the repository.</summary>
internal static class ModelLocator
{
    public const string EnvironmentVariable = "QUICKSILVER_MODEL";

    public static string Find(string[] args)
    {
        int index = Array.IndexOf(args, "--model");
        if (index >= 0)
        {
            if (index + 1 >= args.Length) throw new ArgumentException("--model needs a path.");
            return Existing(args[index + 1], "--model");
        }
        if (Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } fromEnv)
        {
            return Existing(fromEnv, EnvironmentVariable);
        }
        foreach (string start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (DirectoryInfo? dir = new(start); dir is not null; dir = dir.Parent)
            {
                string candidate = Path.Combine(dir.FullName, "shared", "models", "stories260K", "stories260K.bin");
                if (File.Exists(candidate)) return candidate;
            }
        }
        throw new FileNotFoundException($"No model found: pass --model PATH, set {EnvironmentVariable}, or place shared/models/stories260K beside the repository (../shared from the repo root).");
    }

    private static string Existing(string path, string source)
        => File.Exists(path) || Directory.Exists(path) ? Path.GetFullPath(path) : throw new FileNotFoundException($"{source}: '{path}' does not exist.");
}
