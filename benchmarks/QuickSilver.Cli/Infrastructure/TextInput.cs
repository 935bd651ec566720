namespace QuickSilver.Cli.Infrastructure;

/// <summary>Reads the text files commands evaluate on, with messages that name the option and the file.</summary>
internal static class TextInput
{
    public static void Check(string? path, string option)
    {
        if (string.IsNullOrWhiteSpace(path)) throw new CliException($"{option} is required.");
        if (Directory.Exists(path)) throw new CliException($"Text '{path}' ({option}) is a folder, not a file.");
        if (!File.Exists(path)) throw new CliException($"Text '{path}' ({option}) does not exist.");
    }

    public static string Read(string path, string option)
    {
        Check(path, option);
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CliException($"Text '{path}' ({option}) cannot be read: {e.Message}", ExitCodes.UsageError, e);
        }
        if (string.IsNullOrWhiteSpace(text)) throw new CliException($"Text '{path}' ({option}) is empty.");
        return text;
    }
}
