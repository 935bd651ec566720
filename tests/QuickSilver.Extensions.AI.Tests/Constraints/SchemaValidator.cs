using System.Text.Json;

namespace QuickSilver.Extensions.AI.Tests.Constraints;

/// <summary>An independent, minimal JSON-schema checker for the keywords the tests use.</summary>
internal static class SchemaValidator
{
    public static List<string> Validate(JsonElement value, JsonElement schema, string path = "$")
    {
        var errors = new List<string>();
        if (schema.TryGetProperty("enum", out JsonElement options) && !options.EnumerateArray().Any(o => JsonElement.DeepEquals(o, value)))
        {
            errors.Add($"{path}: not in enum");
        }
        if (schema.TryGetProperty("type", out JsonElement type))
        {
            var types = type.ValueKind == JsonValueKind.Array ? type.EnumerateArray().Select(t => t.GetString()!).ToList() : [type.GetString()!];
            bool ok = types.Any(t => t switch
            {
                "object" => value.ValueKind == JsonValueKind.Object,
                "array" => value.ValueKind == JsonValueKind.Array,
                "string" => value.ValueKind == JsonValueKind.String,
                "number" => value.ValueKind == JsonValueKind.Number,
                "integer" => value.ValueKind == JsonValueKind.Number && !value.GetRawText().Contains('.') && !value.GetRawText().Contains('e', StringComparison.OrdinalIgnoreCase),
                "boolean" => value.ValueKind is JsonValueKind.True or JsonValueKind.False,
                "null" => value.ValueKind == JsonValueKind.Null,
                _ => false,
            });
            if (!ok)
            {
                errors.Add($"{path}: expected {string.Join("|", types)}, got {value.ValueKind}");
                return errors;
            }
        }
        if (value.ValueKind == JsonValueKind.Object)
        {
            var properties = schema.TryGetProperty("properties", out JsonElement p) ? p : default;
            if (schema.TryGetProperty("required", out JsonElement required))
            {
                foreach (JsonElement name in required.EnumerateArray())
                {
                    if (!value.TryGetProperty(name.GetString()!, out _)) errors.Add($"{path}: missing {name.GetString()}");
                }
            }
            foreach (JsonProperty property in value.EnumerateObject())
            {
                if (properties.ValueKind == JsonValueKind.Object && properties.TryGetProperty(property.Name, out JsonElement sub))
                {
                    errors.AddRange(Validate(property.Value, sub, path + "." + property.Name));
                }
                else if (properties.ValueKind == JsonValueKind.Object)
                {
                    errors.Add($"{path}: unexpected property {property.Name}");
                }
            }
        }
        if (value.ValueKind == JsonValueKind.Array)
        {
            int count = value.GetArrayLength();
            if (schema.TryGetProperty("minItems", out JsonElement min) && count < min.GetInt32()) errors.Add($"{path}: fewer than {min} items");
            if (schema.TryGetProperty("maxItems", out JsonElement max) && count > max.GetInt32()) errors.Add($"{path}: more than {max} items");
            if (schema.TryGetProperty("items", out JsonElement items))
            {
                int i = 0;
                foreach (JsonElement item in value.EnumerateArray()) errors.AddRange(Validate(item, items, $"{path}[{i++}]"));
            }
        }
        if (value.ValueKind == JsonValueKind.String && schema.TryGetProperty("maxLength", out JsonElement maxLength) && value.GetString()!.EnumerateRunes().Count() > maxLength.GetInt32())
        {
            errors.Add($"{path}: longer than {maxLength}");
        }
        return errors;
    }
}
