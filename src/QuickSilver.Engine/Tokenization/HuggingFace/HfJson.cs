using System.Text.Json;

namespace QuickSilver.Engine.Tokenization.HuggingFace;

/// <summary>Typed reads of tokenizer.json fields with errors that name the file and the field.</summary>
internal static class HfJson
{
    /// <summary>The <c>type</c> string of a component.</summary>
    public static string Type(JsonElement node, string what, string source) =>
        node.ValueKind == JsonValueKind.Object && node.TryGetProperty("type", out JsonElement t) && t.ValueKind == JsonValueKind.String
            ? t.GetString()!
            : throw new TokenizerException($"{source}: {what} has no 'type' string: {Clip(node.GetRawText())}.");

    /// <summary>A required string field.</summary>
    public static string String(JsonElement node, string field, string what, string source) =>
        node.TryGetProperty(field, out JsonElement v) && v.ValueKind == JsonValueKind.String
            ? v.GetString()!
            : throw new TokenizerException($"{source}: {what} needs a string field '{field}'.");

    /// <summary>An optional string field (absent or null gives null).</summary>
    public static string? OptionalString(JsonElement node, string field) =>
        node.ValueKind == JsonValueKind.Object && node.TryGetProperty(field, out JsonElement v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    /// <summary>An optional boolean field.</summary>
    public static bool Bool(JsonElement node, string field, bool fallback) =>
        node.ValueKind == JsonValueKind.Object && node.TryGetProperty(field, out JsonElement v) && v.ValueKind is JsonValueKind.True or JsonValueKind.False
            ? v.GetBoolean()
            : fallback;

    /// <summary>An optional non-negative integer field.</summary>
    public static int Int(JsonElement node, string field, int fallback) =>
        node.ValueKind == JsonValueKind.Object && node.TryGetProperty(field, out JsonElement v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int i)
            ? i
            : fallback;

    /// <summary>A required array field.</summary>
    public static IEnumerable<JsonElement> Array(JsonElement node, string field, string what, string source) =>
        node.TryGetProperty(field, out JsonElement v) && v.ValueKind == JsonValueKind.Array
            ? v.EnumerateArray()
            : throw new TokenizerException($"{source}: {what} needs an array field '{field}'.");

    /// <summary>The first 200 characters of a JSON text, for messages.</summary>
    public static string Clip(string json) => json.Length <= 200 ? json : json[..200] + "…";
}
