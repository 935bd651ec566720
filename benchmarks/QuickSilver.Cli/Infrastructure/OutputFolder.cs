namespace QuickSilver.Cli.Infrastructure;

/// <summary>The folder a command writes its Markdown, JSON and PNG results to; checked for writability before any work starts.</summary>
internal sealed class OutputFolder
{
    private OutputFolder(string path) => Path = path;

    public string Path { get; }

    /// <summary>Creates the folder if needed and proves it can be written by writing and deleting a probe file.</summary>
    public static OutputFolder Prepare(string path)
    {
        if (string.IsNullOrWhiteSpace(path)) throw new CliException("The output folder (--out) is empty.");
        string full = System.IO.Path.GetFullPath(path);
        try
        {
            if (System.IO.File.Exists(full)) throw new CliException($"Output folder '{path}' cannot be written: a file with that name exists.");
            Directory.CreateDirectory(full);
            string probe = System.IO.Path.Combine(full, $".quicksilver-write-test-{Environment.ProcessId}");
            System.IO.File.WriteAllText(probe, "ok");
            System.IO.File.Delete(probe);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            throw new CliException($"Output folder '{path}' cannot be written: {e.Message}", ExitCodes.UsageError, e);
        }
        return new OutputFolder(full);
    }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    /// <summary>Writes <paramref name="name"/>.md and <paramref name="name"/>.json.</summary>
    public (string Markdown, string Json) WriteReport(string name, string markdown, object json)
    {
        string md = File(name + ".md"), js = File(name + ".json");
        try
        {
            System.IO.File.WriteAllText(md, markdown);
            System.IO.File.WriteAllText(js, JsonOutput.Serialize(json));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CliException($"Cannot write results to '{Path}': {e.Message}", ExitCodes.Failure, e);
        }
        return (md, js);
    }
}
