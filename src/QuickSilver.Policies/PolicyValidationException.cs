namespace QuickSilver.Policies;

/// <summary>A policy (or policy file) is invalid. <see cref="Field"/> names the offending setting.</summary>
public sealed class PolicyValidationException : QuickSilverException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="field">The dotted path of the setting at fault (for example "Halting.DriftThreshold"), or a JSON path ("$.halting.driftThreshold") for parse errors.</param>
    /// <param name="message">A message that names the setting and the bad value.</param>
    /// <param name="filePath">The policy file the setting came from, when there is one.</param>
    /// <param name="innerException">The parser error that caused this one, if any.</param>
    public PolicyValidationException(string field, string message, string? filePath = null, Exception? innerException = null)
        : base(filePath is null ? message : $"Policy file '{filePath}': {message}", innerException)
    {
        ArgumentNullException.ThrowIfNull(field);
        Field = field;
        FilePath = filePath;
        Detail = message;
    }

    /// <summary>The dotted path of the setting at fault, such as "Halting.DriftThreshold" or "Lexicons.FullProcessingIds[2]".</summary>
    public string Field { get; }

    /// <summary>The policy file the setting came from, or null when the policy was built in code.</summary>
    public string? FilePath { get; }

    /// <summary>Returns a copy that names <paramref name="path"/> as the file the policy came from.</summary>
    internal PolicyValidationException WithFile(string path) => new(Field, Detail, path, InnerException);

    /// <summary>The message without the file prefix.</summary>
    internal string Detail { get; }
}
