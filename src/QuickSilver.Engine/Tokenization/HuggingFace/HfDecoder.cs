using System.Text;
using System.Text.Json;

namespace QuickSilver.Engine.Tokenization.HuggingFace;

/// <summary>
/// A tokenizer.json <c>decoder</c> chain, evaluated per token so that streaming and whole decoding agree: each token's
/// text becomes bytes, and a separate rule gives the bytes of a token that begins the text.
/// </summary>
/// <remarks>
/// Supported steps: <c>ByteLevel</c> (alphabet → bytes; a token with a character outside the alphabet keeps its UTF-8,
/// as the reference does), <c>ByteFallback</c> (<c>&lt;0xXX&gt;</c> → that byte), <c>Metaspace</c> (replacement → space,
/// one leading space dropped at the start of the text unless <c>prepend_scheme</c> is never), <c>Replace</c>,
/// <c>Fuse</c>, <c>Strip</c> and <c>Sequence</c>. The reference applies steps to the list of token strings; every
/// step except Strip acts on each token alone, and a Strip after Fuse acts on the start of the whole text, which is
/// what <see cref="ITokenizer.TokenBytesAtTextStart"/> expresses. A Strip that would cut the end of the fused text
/// cannot be expressed per token and is rejected.
/// </remarks>
internal sealed class HfDecoder
{
    /// <summary>The supported <c>type</c> values.</summary>
    public static readonly string[] Supported = ["ByteLevel", "ByteFallback", "Metaspace", "Replace", "Fuse", "Strip", "Sequence"];

    private readonly List<Func<byte[], bool, byte[]>> _steps = [];

    private HfDecoder()
    {
    }

    /// <summary>The decoder that maps each token to its UTF-8 text (no decoder in the file).</summary>
    public static HfDecoder Identity { get; } = new();

    /// <summary>Builds the chain of a JSON node (JSON null gives <see cref="Identity"/>).</summary>
    /// <exception cref="TokenizerException">An unsupported step, named with <paramref name="source"/>.</exception>
    public static HfDecoder Parse(JsonElement node, string source)
    {
        var decoder = new HfDecoder();
        if (node.ValueKind != JsonValueKind.Null)
        {
            bool fused = false;
            decoder.Add(node, source, ref fused);
        }
        return decoder;
    }

    /// <summary>The byte-level decoder (GGUF <c>gpt2</c> vocabularies).</summary>
    public static HfDecoder ByteLevel()
    {
        var decoder = new HfDecoder();
        decoder._steps.Add(static (bytes, _) => FromByteLevel(bytes));
        return decoder;
    }

    /// <summary>The bytes <paramref name="token"/> contributes; <paramref name="atTextStart"/> when it begins the text.</summary>
    public byte[] Decode(string token, bool atTextStart)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(token);
        foreach (var step in _steps)
        {
            bytes = step(bytes, atTextStart);
        }
        return bytes;
    }

    private void Add(JsonElement node, string source, ref bool fused)
    {
        string type = HfJson.Type(node, "decoder", source);
        switch (type)
        {
            case "ByteLevel":
                _steps.Add(static (bytes, _) => FromByteLevel(bytes));
                fused = true;
                break;
            case "ByteFallback":
                _steps.Add(static (bytes, _) => ByteFallback(bytes));
                break;
            case "Fuse":
                fused = true;
                break;
            case "Metaspace":
            {
                byte[] replacement = Encoding.UTF8.GetBytes(HfJson.String(node, "replacement", "decoder Metaspace", source));
                bool strip = HfPreTokenizers.ParsePrependScheme(node, source) != PrependScheme.Never;
                _steps.Add((bytes, atStart) =>
                {
                    byte[] replaced = ReplaceBytes(bytes, replacement, " "u8.ToArray());
                    return strip && atStart && replaced.Length > 0 && replaced[0] == (byte)' ' ? replaced[1..] : replaced;
                });
                break;
            }
            case "Replace":
            {
                var pattern = HfPattern.Parse(node, "decoder Replace", source);
                string content = HfJson.String(node, "content", "decoder Replace", source);
                _steps.Add((bytes, _) => pattern.LiteralText is { } literal
                    ? ReplaceBytes(bytes, Encoding.UTF8.GetBytes(literal), Encoding.UTF8.GetBytes(content))
                    : Encoding.UTF8.GetBytes(pattern.Replace(TokenDecoding.Utf8.GetString(bytes), content)));
                break;
            }
            case "Strip":
            {
                string content = HfJson.String(node, "content", "decoder Strip", source);
                int start = HfJson.Int(node, "start", 0), stop = HfJson.Int(node, "stop", 0);
                if (content.Length != 1)
                {
                    throw new TokenizerException($"{source}: decoder Strip content must be one character, not '{content}'.");
                }
                if (fused && stop > 0)
                {
                    throw new TokenizerException($"{source}: decoder Strip with stop = {stop} after Fuse cuts the end of the whole text, which cannot be decoded token by token; not supported.");
                }
                byte[] unit = Encoding.UTF8.GetBytes(content);
                bool onlyAtStart = fused;
                _steps.Add((bytes, atStart) => onlyAtStart && !atStart ? bytes : Strip(bytes, unit, start, onlyAtStart ? 0 : stop));
                break;
            }
            case "Sequence":
                foreach (var child in HfJson.Array(node, "decoders", "decoder Sequence", source))
                {
                    Add(child, source, ref fused);
                }
                break;
            default:
                throw new TokenizerException(
                    $"{source}: decoder type '{type}' is not supported (supported: {string.Join(", ", Supported)}); the tokenizer cannot be reproduced exactly.");
        }
    }

    private static byte[] FromByteLevel(byte[] utf8) =>
        Gpt2ByteAlphabet.TryDecode(Encoding.UTF8.GetString(utf8)) ?? utf8;

    private static byte[] ByteFallback(byte[] bytes)
    {
        // <0xXX>: six ASCII bytes, two hex digits.
        if (bytes.Length == 6 && bytes[0] == '<' && bytes[1] == '0' && bytes[2] == 'x' && bytes[5] == '>'
            && byte.TryParse(Encoding.ASCII.GetString(bytes, 3, 2), System.Globalization.NumberStyles.HexNumber, null, out byte value))
        {
            return [value];
        }
        return bytes;
    }

    private static byte[] ReplaceBytes(byte[] bytes, byte[] pattern, byte[] content)
    {
        if (pattern.Length == 0 || bytes.AsSpan().IndexOf(pattern) < 0)
        {
            return bytes;
        }
        var output = new List<byte>(bytes.Length);
        for (int i = 0; i < bytes.Length;)
        {
            if (bytes.AsSpan(i).StartsWith(pattern))
            {
                output.AddRange(content);
                i += pattern.Length;
            }
            else
            {
                output.Add(bytes[i++]);
            }
        }
        return [.. output];
    }

    private static byte[] Strip(byte[] bytes, byte[] unit, int start, int stop)
    {
        int from = 0, to = bytes.Length;
        for (int i = 0; i < start && bytes.AsSpan(from, to - from).StartsWith(unit); i++)
        {
            from += unit.Length;
        }
        for (int i = 0; i < stop && bytes.AsSpan(from, to - from).EndsWith(unit); i++)
        {
            to -= unit.Length;
        }
        return bytes[from..to];
    }
}
