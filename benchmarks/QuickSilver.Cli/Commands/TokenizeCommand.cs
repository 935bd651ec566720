using System.CommandLine;
using System.Text.Encodings.Web;
using System.Text.Json;
using QuickSilver.Cli.Infrastructure;
using QuickSilver.Engine.Tokenization;

namespace QuickSilver.Cli.Commands;

/// <summary>
/// <c>quicksilver tokenize --tokenizer PATH --input strings.json --output ids.json</c>: encodes each string of a JSON array
/// with no BOS and with special-token text as plain text, and writes <c>{"ids": [[…]…], "decoded": […]}</c>, where
/// <c>decoded[i]</c> is the tokenizer's decode of <c>ids[i]</c>. Used by conformance checks and to debug prompts.
/// </summary>
internal static class TokenizeCommand
{
    private static readonly JsonSerializerOptions OutputOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static Command Create(CommandContext context)
    {
        var tokenizer = new Option<string>("--tokenizer") { Description = "tokenizer.json, a Hugging Face folder, a .gguf, a tokenizer.model or a tok*.bin.", Required = true };
        var input = new Option<string>("--input", "-i") { Description = "A JSON array of strings.", Required = true };
        var output = new Option<string>("--output", "-o") { Description = "Where to write {\"ids\": [[…]…], \"decoded\": […]}.", Required = true };
        var command = new Command("tokenize", "Encode strings with a model's tokenizer (no BOS, special-token text as plain text) and decode them back.")
        {
            tokenizer, input, output,
        };
        command.SetAction(parse => context.Execute(() =>
        {
            string tokenizerPath = parse.GetValue(tokenizer)!;
            if (!File.Exists(tokenizerPath) && !Directory.Exists(tokenizerPath))
            {
                throw new CliException($"--tokenizer: '{tokenizerPath}' does not exist.");
            }
            string[] strings = ReadStrings(parse.GetValue(input)!);
            ITokenizer tok = TokenizerFactory.Load(tokenizerPath);
            var ids = new List<int[]>(strings.Length);
            var decoded = new List<string>(strings.Length);
            foreach (string text in strings)
            {
                int[] encoded = [.. tok.Encode(text, addBos: false)];
                ids.Add(encoded);
                decoded.Add(tok.Decode(encoded));
            }
            string outputPath = parse.GetValue(output)!;
            string? folder = Path.GetDirectoryName(Path.GetFullPath(outputPath));
            if (folder is not null) Directory.CreateDirectory(folder);
            File.WriteAllText(outputPath, JsonSerializer.Serialize(new TokenizeResult(ids, decoded), OutputOptions));
            context.Output.WriteLine($"{strings.Length} strings, {ids.Sum(a => a.Length)} tokens → {outputPath}");
            return ExitCodes.Success;
        }));
        return command;
    }

    /// <summary>The input file as an array of strings.</summary>
    /// <exception cref="CliException">Missing file, invalid JSON, or not an array of strings; the message names the file and the entry.</exception>
    internal static string[] ReadStrings(string path)
    {
        if (!File.Exists(path))
        {
            throw new CliException($"--input: '{path}' does not exist.");
        }
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
            if (doc.RootElement.ValueKind != JsonValueKind.Array)
            {
                throw new CliException($"--input: '{path}' must hold a JSON array of strings, not a {doc.RootElement.ValueKind}.");
            }
            var strings = new List<string>();
            foreach (var item in doc.RootElement.EnumerateArray())
            {
                strings.Add(item.ValueKind == JsonValueKind.String
                    ? item.GetString()!
                    : throw new CliException($"--input: '{path}' entry {strings.Count} is a {item.ValueKind}, not a string."));
            }
            return [.. strings];
        }
        catch (JsonException e)
        {
            throw new CliException($"--input: '{path}' is not valid JSON: {e.Message}", inner: e);
        }
    }

    private sealed record TokenizeResult(
        [property: System.Text.Json.Serialization.JsonPropertyName("ids")] IReadOnlyList<int[]> Ids,
        [property: System.Text.Json.Serialization.JsonPropertyName("decoded")] IReadOnlyList<string> Decoded);
}
