using System.Text.Json;

[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace QuickSilver.Cli.Tests;

/// <summary>Runs the CLI in-process and captures what it prints.</summary>
internal sealed record CliRun(int ExitCode, string Output, string Error)
{
    public static CliRun Invoke(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = CliApp.Run(args, output, error);
        return new CliRun(code, output.ToString(), error.ToString());
    }
}

/// <summary>A scratch folder deleted after the test.</summary>
internal sealed class TempFolder : IDisposable
{
    public TempFolder() => Directory.CreateDirectory(Path);
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "qs-cli-tests-" + Guid.NewGuid().ToString("N"));
    public string File(string name) => System.IO.Path.Combine(Path, name);

    public string WriteText(string name, string content)
    {
        string path = File(name);
        System.IO.File.WriteAllText(path, content);
        return path;
    }

    public JsonElement Json(string relative) => JsonDocument.Parse(System.IO.File.ReadAllText(File(relative))).RootElement;

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }
}

internal static class Texts
{
    /// <summary>About 900 bytes of plain English: enough windows for the tiny byte-level model.</summary>
    public const string English =
        "Once upon a time there was a little girl named Lily. She liked to play in the park with her dog. " +
        "One day the sun was bright and the sky was blue, so she ran to the big tree near the pond. " +
        "The dog barked at a bird, and the bird flew over the water. Lily laughed because it was funny. " +
        "Her mother called her home for dinner, but she wanted to stay a little longer. " +
        "They walked back together and talked about the birds, the trees and the water. " +
        "At home they ate soup and bread, and then Lily went to bed. She dreamed of the park and the dog. " +
        "In the morning she woke up early and looked out of the window. It was raining, and the garden was wet. " +
        "She put on her boots and jumped in the puddles with her dog until they were both very muddy.";
}
