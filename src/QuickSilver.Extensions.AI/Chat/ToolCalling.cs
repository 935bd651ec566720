using System.Text;
using System.Text.Json;
using Microsoft.Extensions.AI;
using QuickSilver.Engine.Tokenization;

namespace QuickSilver.Extensions.AI.Chat;

/// <summary>
/// The tool-calling protocol shown to the model: each tool is described by its name, description and JSON schema, and a
/// call is the compact JSON object <c>{"name":…,"arguments":{…}}</c> (several calls: one per line or a JSON array).
/// </summary>
internal static class ToolCalling
{
    /// <summary>
    /// Describes the tools compactly, one line each, as a signature derived from the tool's JSON schema
    /// (<c>name(city: string, days?: integer) description</c>): small models have small context windows, and the exact
    /// schema is enforced by constrained decoding when a call is required. The text does not depend on the tool mode: constrained
    /// decoding enforces a required call, and an unchanged system prompt lets the next tool-loop iteration reuse the KV cache.
    /// </summary>
    public static string Describe(IReadOnlyList<AIFunctionDeclaration> tools)
    {
        var sb = new StringBuilder();
        sb.Append("Tools. To call one, reply with only {\"name\":\"<tool>\",\"arguments\":{...}}.\n");
        foreach (AIFunctionDeclaration tool in tools)
        {
            sb.Append("- ").Append(Signature(tool.Name, tool.JsonSchema));
            if (!string.IsNullOrWhiteSpace(tool.Description)) sb.Append(' ').Append(tool.Description.Trim());
            sb.Append('\n');
        }
        return sb.ToString().TrimEnd();
    }

    internal static string Signature(string name, JsonElement schema)
    {
        var parameters = new List<string>();
        if (schema.ValueKind == JsonValueKind.Object && schema.TryGetProperty("properties", out JsonElement properties) && properties.ValueKind == JsonValueKind.Object)
        {
            var required = schema.TryGetProperty("required", out JsonElement r) && r.ValueKind == JsonValueKind.Array
                ? r.EnumerateArray().Select(e => e.GetString()).ToHashSet()
                : [];
            foreach (JsonProperty property in properties.EnumerateObject())
            {
                parameters.Add(property.Name + (required.Contains(property.Name) ? "" : "?") + ": " + TypeName(property.Value, 0));
            }
        }
        return name + "(" + string.Join(", ", parameters) + ")";
    }

    private static string TypeName(JsonElement schema, int depth)
    {
        if (schema.ValueKind != JsonValueKind.Object || depth > 4) return "any";
        if (schema.TryGetProperty("enum", out JsonElement values) && values.ValueKind == JsonValueKind.Array)
        {
            return string.Join("|", values.EnumerateArray().Select(v => v.GetRawText()));
        }
        if (!schema.TryGetProperty("type", out JsonElement type)) return schema.TryGetProperty("properties", out _) ? "object" : "any";
        IEnumerable<string> names = type.ValueKind == JsonValueKind.Array ? type.EnumerateArray().Select(t => t.GetString() ?? "any") : [type.GetString() ?? "any"];
        return string.Join("|", names.Select(n => n == "array" && schema.TryGetProperty("items", out JsonElement items) ? TypeName(items, depth + 1) + "[]" : n));
    }

    public static string FormatCall(string name, IDictionary<string, object?>? arguments)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream))
        {
            writer.WriteStartObject();
            writer.WriteString("name", name);
            writer.WritePropertyName("arguments");
            JsonSerializer.Serialize(writer, arguments ?? new Dictionary<string, object?>(), AIJsonUtilities.DefaultOptions.GetTypeInfo(typeof(IDictionary<string, object?>)));
            writer.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    public static string FormatResult(string name, FunctionResultContent result) => $"Result of {name}: {FormatResultValue(result)}";

    /// <summary>A tool result as the model reads it: text as is, anything else as JSON, a failure as "Error: …".</summary>
    public static string FormatResultValue(FunctionResultContent result) => result.Exception is { } ex ? "Error: " + ex.Message
        : result.Result switch
        {
            null => "null",
            string s => s,
            JsonElement { ValueKind: JsonValueKind.String } e => e.GetString()!,
            JsonElement e => e.GetRawText(),
            object o => JsonSerializer.Serialize(o, AIJsonUtilities.DefaultOptions.GetTypeInfo(o.GetType())),
        };

    /// <summary>A call's arguments as one JSON object.</summary>
    public static string SerializeArguments(IDictionary<string, object?>? arguments)
        => JsonSerializer.Serialize(arguments ?? new Dictionary<string, object?>(), AIJsonUtilities.DefaultOptions.GetTypeInfo(typeof(IDictionary<string, object?>)));

    /// <summary>
    /// Parses tool calls from the reply: one JSON object, a JSON array of them, or several objects one after another.
    /// False when the text is not entirely tool calls to known tools.
    /// </summary>
    public static bool TryParseCalls(string text, IReadOnlyList<AIFunctionDeclaration> tools, bool allowMultiple, out List<FunctionCallContent> calls)
    {
        calls = [];
        var names = tools.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        byte[] utf8 = Encoding.UTF8.GetBytes(text.Trim());
        if (utf8.Length == 0 || utf8[0] is not ((byte)'{' or (byte)'[')) return false;
        var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { AllowMultipleValues = true, CommentHandling = JsonCommentHandling.Skip });
        try
        {
            while (reader.Read())
            {
                using JsonDocument document = JsonDocument.ParseValue(ref reader);
                JsonElement root = document.RootElement;
                IEnumerable<JsonElement> items = root.ValueKind == JsonValueKind.Array ? root.EnumerateArray() : [root];
                foreach (JsonElement item in items)
                {
                    if (item.ValueKind != JsonValueKind.Object
                        || !item.TryGetProperty("name", out JsonElement name) || name.ValueKind != JsonValueKind.String
                        || !names.Contains(name.GetString()!))
                    {
                        return false;
                    }
                    var arguments = new Dictionary<string, object?>(StringComparer.Ordinal);
                    if (item.TryGetProperty("arguments", out JsonElement args))
                    {
                        if (args.ValueKind != JsonValueKind.Object) return false;
                        foreach (JsonProperty property in args.EnumerateObject())
                        {
                            arguments[property.Name] = property.Value.Clone();
                        }
                    }
                    calls.Add(new FunctionCallContent("call_" + Guid.NewGuid().ToString("N")[..12], name.GetString()!, arguments));
                }
            }
        }
        catch (JsonException)
        {
            calls.Clear();
            return false;
        }
        if (!allowMultiple && calls.Count > 1) calls.RemoveRange(1, calls.Count - 1);
        return calls.Count > 0;
    }

    /// <summary>
    /// Token ids that tool calling must keep at full precision: the tokens of every tool and argument name (alone, quoted
    /// and space-prefixed) and every token made only of JSON structure characters.
    /// </summary>
    public static HashSet<int> ProtectedTokenIds(ITokenizer tokenizer, IReadOnlyList<AIFunctionDeclaration> tools)
    {
        var ids = new HashSet<int>();
        var words = new HashSet<string>(StringComparer.Ordinal) { "name", "arguments" };
        foreach (AIFunctionDeclaration tool in tools)
        {
            words.Add(tool.Name);
            CollectPropertyNames(tool.JsonSchema, words, 0);
        }
        foreach (string word in words)
        {
            foreach (string form in (ReadOnlySpan<string>)[word, "\"" + word + "\"", " " + word])
            {
                ids.UnionWith(tokenizer.Encode(form, addBos: false));
            }
        }
        ids.UnionWith(JsonStructureTokenIds(tokenizer));
        return ids;
    }

    /// <summary>Tokens made only of JSON structure characters (<c>{ } [ ] : , "</c>, optionally with spaces).</summary>
    public static IEnumerable<int> JsonStructureTokenIds(ITokenizer tokenizer)
    {
        for (int id = 0; id < tokenizer.VocabSize; id++)
        {
            byte[] bytes = tokenizer.TokenBytes(id);
            if (bytes.Length > 0 && bytes.All(b => b is (byte)'{' or (byte)'}' or (byte)'[' or (byte)']' or (byte)':' or (byte)',' or (byte)'"' or (byte)' ')
                && !bytes.All(b => b == (byte)' '))
            {
                yield return id;
            }
        }
    }

    private static void CollectPropertyNames(JsonElement schema, HashSet<string> names, int depth)
    {
        if (depth > 16 || schema.ValueKind != JsonValueKind.Object) return;
        if (schema.TryGetProperty("properties", out JsonElement properties) && properties.ValueKind == JsonValueKind.Object)
        {
            foreach (JsonProperty property in properties.EnumerateObject())
            {
                names.Add(property.Name);
                CollectPropertyNames(property.Value, names, depth + 1);
            }
        }
        if (schema.TryGetProperty("items", out JsonElement items)) CollectPropertyNames(items, names, depth + 1);
    }
}
