using System.Text;

namespace QuickSilver.Engine.Tests.Tokenization;

internal static class TokenDecodingTestHelpers
{
    /// <summary>What survives a trip through UTF-8: unpaired surrogates become U+FFFD.</summary>
    public static string Utf8RoundTrip(string text) => Encoding.UTF8.GetString(Encoding.UTF8.GetBytes(text));
}
