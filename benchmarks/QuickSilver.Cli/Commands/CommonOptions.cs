using System.CommandLine;
using QuickSilver.Cli.Infrastructure;

namespace QuickSilver.Cli.Commands;

/// <summary>Options several commands share, with the same names and checks everywhere.</summary>
internal static class CommonOptions
{
    public static Option<string> Out(string command) => new("--out", "-o")
    {
        Description = "Folder for the Markdown and JSON results (created if missing).",
        DefaultValueFactory = _ => Path.Combine("qs-results", command),
    };

    public static Option<int> Threads() => new("--threads")
    {
        Description = "Intra-op threads for TorchSharp (and LLamaSharp in compare); 0 = all logical cores.",
        DefaultValueFactory = _ => 0,
    };

    public static Option<string?> Model(bool required, string? defaultPath = null, string description = "Model checkpoint (file or folder), or random:gpt2-small / random:tiny.")
    {
        var option = new Option<string?>("--model", "-m") { Description = description, Required = required && defaultPath is null };
        if (defaultPath is not null) option.DefaultValueFactory = _ => defaultPath;
        return option;
    }

    public static Option<string?> Text(string name, string description, string? defaultPath) => new(name)
    {
        Description = description,
        DefaultValueFactory = _ => defaultPath,
    };

    public static Option<string> Policy() => new("--policy", "-p")
    {
        Description = "Policy: a preset (dense, safe, paper) or a policy JSON file.",
        DefaultValueFactory = _ => "dense",
    };

    public static int ResolveThreads(int threads)
    {
        if (threads < 0) throw new CliException($"--threads must be 0 (all cores) or positive (got {threads}).");
        int n = threads == 0 ? Environment.ProcessorCount : threads;
        TorchSharp.torch.set_num_threads(n);
        return n;
    }

    public static void Positive(int value, string name)
    {
        if (value <= 0) throw new CliException($"{name} must be positive (got {value}).");
    }
}
