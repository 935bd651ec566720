namespace QuickSilver;

/// <summary>Base class of every exception QuickSilver throws on purpose, so callers can catch ours apart from bugs.</summary>
public class QuickSilverException : Exception
{
    /// <summary>Creates an exception with a message.</summary>
    public QuickSilverException(string message) : base(message) { }

    /// <summary>Creates an exception with a message and the exception that caused it.</summary>
    public QuickSilverException(string message, Exception? innerException) : base(message, innerException) { }
}
