namespace QuickSilver.Extensions.AI.Templates;

/// <summary>A chat template could not be parsed or rendered (syntax error, unsupported construct, or the template's own <c>raise_exception</c>).</summary>
public sealed class ChatTemplateException : QuickSilverException
{
    /// <summary>Creates the exception.</summary>
    public ChatTemplateException(string message, Exception? innerException = null) : base(message, innerException) { }
}
