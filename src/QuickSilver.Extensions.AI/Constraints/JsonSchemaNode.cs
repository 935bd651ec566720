using System.Text;
using System.Text.Json;

namespace QuickSilver.Extensions.AI.Constraints;

/// <summary>
/// A JSON schema reduced to what constrained decoding enforces: type(s), enum/const, object properties in declared order
/// with their required set, array items with min/max counts, and string length bounds. Unions (type arrays, anyOf, oneOf)
/// are merged per JSON type: the first byte of a value picks the type, and each type keeps the first alternative that has it.
/// </summary>
internal sealed class JsonSchemaNode
{
    [Flags]
    public enum JsonTypes
    {
        None = 0, Object = 1, Array = 2, String = 4, Number = 8, Integer = 16, Boolean = 32, Null = 64,
        Any = Object | Array | String | Number | Integer | Boolean | Null,
    }

    public const int DefaultMaxStringLength = 256;

    public static JsonSchemaNode AnyValue { get; } = new() { Types = JsonTypes.Any, FreeFormObject = true };

    public JsonTypes Types { get; private set; }

    /// <summary>Allowed values as compact JSON bytes; null when the schema has no enum/const.</summary>
    public byte[][]? EnumLiterals { get; private set; }

    public List<(string Name, JsonSchemaNode Schema)> Properties { get; } = [];

    public HashSet<string> Required { get; } = new(StringComparer.Ordinal);

    /// <summary>An object without declared properties: any keys, any values.</summary>
    public bool FreeFormObject { get; private set; }

    public JsonSchemaNode? Items { get; private set; }

    public int MinItems { get; private set; }

    public int MaxItems { get; private set; } = int.MaxValue;

    public int MinLength { get; private set; }

    public int MaxLength { get; private set; } = DefaultMaxStringLength;

    /// <summary>Compiles a JSON schema document.</summary>
    /// <exception cref="ArgumentException">The schema is not an object or boolean, or uses an unresolvable $ref.</exception>
    public static JsonSchemaNode Compile(JsonElement schema, int maxStringLength = DefaultMaxStringLength)
    {
        try
        {
            return new Compiler(schema, maxStringLength).Compile(schema, 0);
        }
        catch (Exception ex) when (ex is InvalidOperationException or FormatException or OverflowException)
        {
            // A keyword with a value of the wrong JSON kind ("type": 42, "$ref": 5, "maxLength": "long") is a bad schema, not a crash.
            throw new ArgumentException("Invalid JSON schema: " + ex.Message, ex);
        }
    }

    public bool Allows(JsonTypes type) => (Types & type) != 0;

    private int _minimumBytes = -1;

    /// <summary>The fewest bytes any value of this schema takes (compact JSON).</summary>
    public int MinimumValueBytes
    {
        get
        {
            if (_minimumBytes >= 0) return _minimumBytes;
            int best = int.MaxValue;
            if (EnumLiterals is { } literals)
            {
                best = literals.Length == 0 ? 0 : literals.Min(l => l.Length);
            }
            else
            {
                if (Allows(JsonTypes.Number | JsonTypes.Integer)) best = 1;
                if (Allows(JsonTypes.String)) best = Math.Min(best, 2 + MinLength);
                if (Allows(JsonTypes.Null | JsonTypes.Boolean)) best = Math.Min(best, 4);
                if (Allows(JsonTypes.Array)) best = Math.Min(best, 2 + (MinItems > 0 ? MinItems * (Items ?? AnyValue).MinimumValueBytes + MinItems - 1 : 0));
                if (Allows(JsonTypes.Object)) best = Math.Min(best, FreeFormObject ? 2 : 1 + RequiredBytesFrom(0, first: true));
            }
            _minimumBytes = best == int.MaxValue ? 0 : best;
            return _minimumBytes;
        }
    }

    /// <summary>
    /// Bytes to write every required property from index <paramref name="start"/> on, each with its leading comma (none before the
    /// first when <paramref name="first"/>), plus the closing brace.
    /// </summary>
    public int RequiredBytesFrom(int start, bool first)
    {
        int total = 1;
        for (int i = start; i < Properties.Count; i++)
        {
            (string name, JsonSchemaNode schema) = Properties[i];
            if (!Required.Contains(name)) continue;
            total += (first ? 0 : 1) + KeyBytes(name) + 1 + schema.MinimumValueBytes;
            first = false;
        }
        return total;
    }

    public static int KeyBytes(string name) => Encoding.UTF8.GetByteCount(JsonSerializer.Serialize(name));

    private sealed class Compiler(JsonElement root, int maxStringLength)
    {
        public JsonSchemaNode Compile(JsonElement schema, int depth)
        {
            if (depth > 32)
            {
                throw new ArgumentException("JSON schema nests deeper than 32 levels (recursive $ref?); constrained decoding cannot follow it.");
            }
            if (schema.ValueKind == JsonValueKind.True)
            {
                return AnyValue;
            }
            if (schema.ValueKind != JsonValueKind.Object)
            {
                throw new ArgumentException($"A JSON schema must be an object or true, not {schema.ValueKind}.");
            }
            if (schema.TryGetProperty("$ref", out JsonElement reference))
            {
                return Compile(Resolve(reference.GetString() ?? ""), depth + 1);
            }

            var node = new JsonSchemaNode { MaxLength = maxStringLength };
            if (schema.TryGetProperty("const", out JsonElement constant))
            {
                node.EnumLiterals = [Encoding.UTF8.GetBytes(JsonSerializer.Serialize(constant))];
            }
            else if (schema.TryGetProperty("enum", out JsonElement values) && values.ValueKind == JsonValueKind.Array)
            {
                node.EnumLiterals = values.EnumerateArray().Select(v => Encoding.UTF8.GetBytes(JsonSerializer.Serialize(v))).ToArray();
            }

            foreach (string keyword in (ReadOnlySpan<string>)["anyOf", "oneOf", "allOf"])
            {
                if (schema.TryGetProperty(keyword, out JsonElement alternatives) && alternatives.ValueKind == JsonValueKind.Array)
                {
                    foreach (JsonElement alternative in alternatives.EnumerateArray())
                    {
                        node.Merge(Compile(alternative, depth + 1));
                    }
                }
            }

            JsonTypes declared = JsonTypes.None;
            if (schema.TryGetProperty("type", out JsonElement type))
            {
                IEnumerable<string?> names = type.ValueKind == JsonValueKind.Array ? type.EnumerateArray().Select(t => t.GetString()) : [type.GetString()];
                foreach (string? name in names)
                {
                    declared |= name switch
                    {
                        "object" => JsonTypes.Object,
                        "array" => JsonTypes.Array,
                        "string" => JsonTypes.String,
                        "number" => JsonTypes.Number | JsonTypes.Integer,
                        "integer" => JsonTypes.Integer,
                        "boolean" => JsonTypes.Boolean,
                        "null" => JsonTypes.Null,
                        _ => throw new ArgumentException($"JSON schema type '{name}' is not supported."),
                    };
                }
            }
            else if (node.Types == JsonTypes.None)
            {
                declared = schema.TryGetProperty("properties", out _) ? JsonTypes.Object
                    : schema.TryGetProperty("items", out _) ? JsonTypes.Array
                    : JsonTypes.Any;
            }
            node.Types |= declared;

            if (schema.TryGetProperty("properties", out JsonElement properties) && properties.ValueKind == JsonValueKind.Object && node.Properties.Count == 0)
            {
                foreach (JsonProperty property in properties.EnumerateObject())
                {
                    node.Properties.Add((property.Name, Compile(property.Value, depth + 1)));
                }
            }
            if (schema.TryGetProperty("required", out JsonElement required) && required.ValueKind == JsonValueKind.Array)
            {
                foreach (JsonElement name in required.EnumerateArray())
                {
                    if (name.GetString() is { } n) node.Required.Add(n);
                }
            }
            foreach (string name in node.Required)
            {
                if (!node.Properties.Any(p => p.Name == name))
                {
                    node.Properties.Add((name, AnyValue));
                }
            }
            if (node.Allows(JsonTypes.Object) && node.Properties.Count == 0)
            {
                node.FreeFormObject = !(schema.TryGetProperty("additionalProperties", out JsonElement additional) && additional.ValueKind == JsonValueKind.False);
            }
            if (schema.TryGetProperty("items", out JsonElement items) && node.Items is null)
            {
                node.Items = Compile(items, depth + 1);
            }
            if (node.Allows(JsonTypes.Array)) node.Items ??= AnyValue;
            if (schema.TryGetProperty("minItems", out JsonElement minItems)) node.MinItems = minItems.GetInt32();
            if (schema.TryGetProperty("maxItems", out JsonElement maxItems)) node.MaxItems = maxItems.GetInt32();
            if (schema.TryGetProperty("minLength", out JsonElement minLength)) node.MinLength = minLength.GetInt32();
            if (schema.TryGetProperty("maxLength", out JsonElement maxLength)) node.MaxLength = maxLength.GetInt32();
            if (node.EnumLiterals is not null) node.Types = JsonTypes.Any;
            return node;
        }

        private JsonElement Resolve(string reference)
        {
            if (reference == "#") return root;
            if (!reference.StartsWith("#/", StringComparison.Ordinal))
            {
                throw new ArgumentException($"JSON schema $ref '{reference}' is not a local reference.");
            }
            JsonElement current = root;
            foreach (string part in reference[2..].Split('/'))
            {
                string key = part.Replace("~1", "/").Replace("~0", "~");
                if (current.ValueKind != JsonValueKind.Object || !current.TryGetProperty(key, out current))
                {
                    throw new ArgumentException($"JSON schema $ref '{reference}' does not resolve.");
                }
            }
            return current;
        }
    }

    private void Merge(JsonSchemaNode other)
    {
        JsonTypes added = other.Types & ~Types;
        if (other.EnumLiterals is not null)
        {
            EnumLiterals = [.. EnumLiterals ?? [], .. other.EnumLiterals];
        }
        Types |= other.Types;
        if ((added & JsonTypes.Object) != 0)
        {
            Properties.AddRange(other.Properties);
            Required.UnionWith(other.Required);
            FreeFormObject = other.FreeFormObject;
        }
        if ((added & JsonTypes.Array) != 0)
        {
            Items = other.Items;
            MinItems = other.MinItems;
            MaxItems = other.MaxItems;
        }
        if ((added & JsonTypes.String) != 0)
        {
            MinLength = other.MinLength;
            MaxLength = other.MaxLength;
        }
    }
}
