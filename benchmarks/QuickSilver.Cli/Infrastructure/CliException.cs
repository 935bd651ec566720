namespace QuickSilver.Cli.Infrastructure;

/// <summary>A problem with what the user asked for (an argument, a file, a folder): printed as one clear message, never a stack trace.</summary>
internal sealed class CliException : QuickSilverException
{
    public CliException(string message, int exitCode = ExitCodes.UsageError, Exception? inner = null) : base(message, inner) => ExitCode = exitCode;

    /// <summary>The process exit code this error maps to.</summary>
    public int ExitCode { get; }
}
