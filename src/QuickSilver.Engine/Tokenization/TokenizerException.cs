namespace QuickSilver.Engine.Tokenization;

/// <summary>A tokenizer file is invalid, or a token id is outside the vocabulary.</summary>
public sealed class TokenizerException : QuickSilverException
{
    /// <summary>Creates the exception.</summary>
    public TokenizerException(string message, Exception? innerException = null) : base(message, innerException) { }
}
