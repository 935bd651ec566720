using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace QuickSilver.Policies;

/// <summary>Reads and writes <see cref="QuickSilverPolicy"/> as JSON: camelCase names, enums as camelCase strings, comments and trailing commas allowed on read.</summary>
/// <remarks>
/// Reading is strict: unknown properties, duplicate properties, wrong types, nulls where a value is required, numbers written as strings, NaN and
/// nesting deeper than <see cref="MaxDepth"/> are errors, and the text may not exceed <see cref="MaxJsonBytes"/>. Missing properties keep their
/// defaults (those of <c>new QuickSilverPolicy()</c>). Every loaded policy is validated. Every failure is a <see cref="PolicyValidationException"/>
/// whose <see cref="PolicyValidationException.Field"/> is the JSON path ("$.halting.driftThreshold") for parse errors and the dotted setting
/// ("Halting.DriftThreshold") for validation errors.
/// </remarks>
public static class PolicySerializer
{
    /// <summary>The largest policy text accepted, in UTF-8 bytes (1 MiB).</summary>
    public const int MaxJsonBytes = 1 << 20;

    /// <summary>The deepest JSON nesting accepted.</summary>
    public const int MaxDepth = 8;

    private static readonly JsonSerializerOptions Options = CreateOptions();

    /// <summary>Serializes a policy to indented JSON, after validating it.</summary>
    /// <param name="policy">The policy.</param>
    /// <exception cref="PolicyValidationException">The policy is invalid.</exception>
    public static string ToJson(QuickSilverPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        policy.Validate();
        return JsonSerializer.Serialize(policy, Options);
    }

    /// <summary>Parses and validates a policy.</summary>
    /// <param name="json">The JSON text.</param>
    /// <param name="numLayers">When given, layer settings are validated against this model depth.</param>
    /// <param name="vocabSize">When given, token ids are validated against this vocabulary size.</param>
    /// <exception cref="PolicyValidationException">The text is too large, malformed, does not match the policy schema, or describes an invalid policy.</exception>
    public static QuickSilverPolicy FromJson(string json, int? numLayers = null, int? vocabSize = null)
    {
        ArgumentNullException.ThrowIfNull(json);
        var byteCount = Encoding.UTF8.GetByteCount(json);
        if (byteCount > MaxJsonBytes)
        {
            throw TooLarge(byteCount, filePath: null);
        }

        return Parse(Encoding.UTF8.GetBytes(json), numLayers, vocabSize, filePath: null);
    }

    /// <summary>Loads and validates a policy file.</summary>
    /// <param name="path">The file path.</param>
    /// <param name="numLayers">When given, layer settings are validated against this model depth.</param>
    /// <param name="vocabSize">When given, token ids are validated against this vocabulary size.</param>
    /// <exception cref="QuickSilverException">The file cannot be read.</exception>
    /// <exception cref="PolicyValidationException">The file is too large, malformed, does not match the policy schema, or describes an invalid policy; the message names the file.</exception>
    public static QuickSilverPolicy Load(string path, int? numLayers = null, int? vocabSize = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        byte[] bytes;
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists)
            {
                throw new QuickSilverException($"Policy file '{path}' does not exist.");
            }

            if (info.Length > MaxJsonBytes)
            {
                throw TooLarge(info.Length, path);
            }

            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new QuickSilverException($"Policy file '{path}' could not be read: {e.Message}", e);
        }

        // The file may have grown between the length check and the read.
        if (bytes.Length > MaxJsonBytes)
        {
            throw TooLarge(bytes.Length, path);
        }

        return Parse(bytes, numLayers, vocabSize, path);
    }

    /// <summary>Validates a policy and writes it to a file as indented UTF-8 JSON (no byte-order mark), creating the folder if needed.</summary>
    /// <param name="policy">The policy.</param>
    /// <param name="path">The file path.</param>
    /// <exception cref="PolicyValidationException">The policy is invalid; nothing is written.</exception>
    /// <exception cref="QuickSilverException">The file cannot be written.</exception>
    public static void Save(QuickSilverPolicy policy, string path)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var json = ToJson(policy);
        try
        {
            var directory = Path.GetDirectoryName(Path.GetFullPath(path));
            if (!string.IsNullOrEmpty(directory))
            {
                Directory.CreateDirectory(directory);
            }

            File.WriteAllText(path, json + "\n", new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new QuickSilverException($"Policy file '{path}' could not be written: {e.Message}", e);
        }
    }

    private static QuickSilverPolicy Parse(ReadOnlySpan<byte> utf8, int? numLayers, int? vocabSize, string? filePath)
    {
        ReadOnlySpan<byte> bom = [0xEF, 0xBB, 0xBF];
        if (utf8.StartsWith(bom))
        {
            utf8 = utf8[bom.Length..];
        }

        QuickSilverPolicy? policy;
        try
        {
            policy = JsonSerializer.Deserialize<QuickSilverPolicy>(utf8, Options);
        }
        catch (JsonException e)
        {
            var where = e.Path ?? "$";
            var position = e.LineNumber is { } line ? $" (line {line + 1}, byte {e.BytePositionInLine + 1})" : string.Empty;
            // The parser repeats the location at the end of its message; we already give it in front.
            var detail = e.Message;
            var cut = detail.IndexOf(" Path: ", StringComparison.Ordinal);
            if (cut > 0)
            {
                detail = detail[..cut];
            }

            throw new PolicyValidationException(where, $"Invalid policy JSON at {where}{position}: {detail}", filePath, e);
        }

        if (policy is null)
        {
            throw new PolicyValidationException("$", "Invalid policy JSON at $: the document is null; expected an object.", filePath);
        }

        try
        {
            policy.Validate(numLayers, vocabSize);
        }
        catch (PolicyValidationException e) when (filePath is not null)
        {
            throw e.WithFile(filePath);
        }

        return policy;
    }

    private static PolicyValidationException TooLarge(long bytes, string? filePath) =>
        new("$", $"Policy JSON is {bytes} bytes; the limit is {MaxJsonBytes} bytes.", filePath);

    private static JsonSerializerOptions CreateOptions()
    {
        var options = new JsonSerializerOptions
        {
            PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
            WriteIndented = true,
            ReadCommentHandling = JsonCommentHandling.Skip,
            AllowTrailingCommas = true,
            UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
            MaxDepth = MaxDepth,
            RespectNullableAnnotations = true,
            IgnoreReadOnlyProperties = true,
            AllowDuplicateProperties = false,
            NumberHandling = JsonNumberHandling.Strict,
            Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase, allowIntegerValues: false) },
        };
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }
}
