namespace QuickSilver.Cli.Infrastructure;

/// <summary>Process exit codes of the CLI.</summary>
internal static class ExitCodes
{
    public const int Success = 0;
    /// <summary>The run itself failed (a model that does not load, a measurement that threw).</summary>
    public const int Failure = 1;
    /// <summary>Bad arguments, missing inputs or an output folder that cannot be written.</summary>
    public const int UsageError = 2;
}
