using QuickSilver.Cli.Infrastructure;

namespace QuickSilver.Cli.Commands;

/// <summary>Where a command writes, and the one place its errors become messages and exit codes.</summary>
internal sealed class CommandContext(TextWriter output, TextWriter error, bool interactive)
{
    public TextWriter Output { get; } = output;
    public TextWriter Error { get; } = error;
    public Reporter Reporter { get; } = new(output, interactive);

    /// <summary>
    /// The end every report command shares: writes <paramref name="name"/>.md and .json to <paramref name="folder"/>, prints
    /// the Markdown and then where the files are (with <paramref name="alsoWritten"/>, e.g. figures).
    /// </summary>
    public void Publish(OutputFolder folder, string name, string markdown, object result, params IEnumerable<string> alsoWritten)
    {
        var (md, js) = folder.WriteReport(name, markdown, result);
        Output.WriteLine(markdown);
        Output.WriteLine($"Results: {string.Join(", ", [md, js, .. alsoWritten])}");
    }

    /// <summary>Runs a command body: expected problems print one line to the error writer and map to a non-zero exit code.</summary>
    public int Execute(Func<int> body)
    {
        try
        {
            return body();
        }
        catch (CliException e)
        {
            Error.WriteLine($"error: {e.Message}");
            return e.ExitCode;
        }
        catch (QuickSilverException e)
        {
            Error.WriteLine($"error: {e.Message}");
            return ExitCodes.Failure;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Error.WriteLine($"error: {e.Message}");
            return ExitCodes.Failure;
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            Error.WriteLine($"error: {e.Message}");
            return ExitCodes.Failure;
        }
    }
}
