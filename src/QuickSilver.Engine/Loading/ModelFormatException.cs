namespace QuickSilver.Engine.Loading;

/// <summary>A model or tokenizer file is missing, truncated, corrupt, or describes something we cannot run.</summary>
public sealed class ModelFormatException : QuickSilverException
{
    /// <summary>Creates the exception. The message should name the file and the tensor or field at fault.</summary>
    public ModelFormatException(string? path, string message, Exception? innerException = null)
        : base(path is null ? message : $"{path}: {message}", innerException)
    {
        FilePath = path;
    }

    /// <summary>The file at fault, when there is one.</summary>
    public string? FilePath { get; }
}
