using System.Text.Json;

namespace QuickSilver.Engine.Loading;

/// <summary>Typed, bounds-checked access to a Hugging Face config.json; every failure names the file and the field.</summary>
internal sealed class JsonConfigReader
{
    private readonly JsonElement _root;
    private readonly string _prefix;

    public JsonConfigReader(string path, JsonElement root, string prefix = "")
    {
        Path = path;
        _root = root;
        _prefix = prefix;
    }

    /// <summary>A reader over the object field <paramref name="key"/> (messages name "key.sub"), or null when it is absent or null.</summary>
    public JsonConfigReader? OptionalObject(string key)
    {
        if (!_root.TryGetProperty(key, out JsonElement value) || value.ValueKind == JsonValueKind.Null) return null;
        if (value.ValueKind != JsonValueKind.Object) throw Invalid(key, value, "an object or null");
        return new JsonConfigReader(Path, value, _prefix + key + ".");
    }

    /// <summary>The names of every field present (null-valued ones included).</summary>
    public IEnumerable<string> Keys => _root.EnumerateObject().Select(p => p.Name);

    /// <summary>A list of finite numbers, or null when absent.</summary>
    public float[]? OptionalFloatArray(string key)
    {
        if (!_root.TryGetProperty(key, out JsonElement value) || value.ValueKind == JsonValueKind.Null) return null;
        if (value.ValueKind != JsonValueKind.Array) throw Invalid(key, value, "a list of numbers");
        var result = new float[value.GetArrayLength()];
        int i = 0;
        foreach (JsonElement item in value.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetDouble(out double number) || !double.IsFinite(number))
                throw Invalid($"{key}[{i}]", item, "a finite number");
            result[i++] = (float)number;
        }
        return result;
    }

    /// <summary>A list of strings, or null when absent.</summary>
    public string[]? OptionalStringArray(string key)
    {
        if (!_root.TryGetProperty(key, out JsonElement value) || value.ValueKind == JsonValueKind.Null) return null;
        if (value.ValueKind != JsonValueKind.Array) throw Invalid(key, value, "a list of strings");
        return value.EnumerateArray().Select((item, i) => item.ValueKind == JsonValueKind.String ? item.GetString()! : throw Invalid($"{key}[{i}]", item, "a string")).ToArray();
    }

    public string Path { get; }

    public bool Has(string key) => _root.TryGetProperty(key, out JsonElement value) && value.ValueKind != JsonValueKind.Null;

    public int RequireInt(string key) => OptionalInt(key) ?? throw Missing(key);

    public int? OptionalInt(string key)
    {
        if (!_root.TryGetProperty(key, out JsonElement value) || value.ValueKind == JsonValueKind.Null) return null;
        if (value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out int result)) return result;
        if (value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out double real) && real == Math.Floor(real) && real is >= int.MinValue and <= int.MaxValue)
            return (int)real;
        throw Invalid(key, value, "a 32-bit integer");
    }

    public float? OptionalFloat(string key)
    {
        if (!_root.TryGetProperty(key, out JsonElement value) || value.ValueKind == JsonValueKind.Null) return null;
        if (value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out double result) && double.IsFinite(result) && Math.Abs(result) <= float.MaxValue)
            return (float)result;
        throw Invalid(key, value, "a finite number");
    }

    public bool? OptionalBool(string key)
    {
        if (!_root.TryGetProperty(key, out JsonElement value) || value.ValueKind == JsonValueKind.Null) return null;
        return value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw Invalid(key, value, "true or false"),
        };
    }

    public string? OptionalString(string key)
    {
        if (!_root.TryGetProperty(key, out JsonElement value) || value.ValueKind == JsonValueKind.Null) return null;
        return value.ValueKind == JsonValueKind.String ? value.GetString() : throw Invalid(key, value, "a string");
    }

    /// <summary>A token id that may also be given as a list (the first entry counts) or null.</summary>
    public int? OptionalTokenId(string key)
    {
        if (!_root.TryGetProperty(key, out JsonElement value) || value.ValueKind == JsonValueKind.Null) return null;
        if (value.ValueKind == JsonValueKind.Array)
        {
            if (value.GetArrayLength() == 0) return null;
            value = value[0];
        }
        return value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out int id)
            ? id
            : throw Invalid(key, value, "a token id, a list of token ids or null");
    }

    /// <summary>The string field <paramref name="subKey"/> of the object field <paramref name="key"/>, or null when either is absent.</summary>
    public string? OptionalNestedString(string key, string subKey)
    {
        if (!_root.TryGetProperty(key, out JsonElement value) || value.ValueKind == JsonValueKind.Null) return null;
        if (value.ValueKind != JsonValueKind.Object) throw Invalid(key, value, "an object or null");
        if (!value.TryGetProperty(subKey, out JsonElement inner) || inner.ValueKind == JsonValueKind.Null) return null;
        return inner.ValueKind == JsonValueKind.String ? inner.GetString() : throw Invalid($"{key}.{subKey}", inner, "a string");
    }

    public ModelFormatException Missing(string key) => new(Path, $"config field '{_prefix}{key}' is missing.");

    public ModelFormatException Invalid(string key, string reason) => new(Path, $"config field '{_prefix}{key}' {reason}");

    private ModelFormatException Invalid(string key, JsonElement value, string expected)
    {
        string text = value.GetRawText();
        if (text.Length > 60) text = text[..60] + "…";
        return new ModelFormatException(Path, $"config field '{_prefix}{key}' must be {expected} (got {text}).");
    }
}
