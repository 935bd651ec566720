using System.Text.Json;

namespace QuickSilver.Engine.Loading;

/// <summary>
/// A model's id from its own metadata: GGUF <c>general.name</c>, Hugging Face <c>_name_or_path</c> (config.json), else the file name
/// without its extension (for a folder: its name, or its parent's when the folder has a generic name such as <c>hf</c>).
/// A name that only repeats the architecture (llama.cpp's llama2.c converter writes <c>general.name = "llama"</c>) is no id.
/// </summary>
public static class ModelIdentity
{
    private static readonly HashSet<string> GenericFolderNames = new(StringComparer.OrdinalIgnoreCase)
    {
        "hf", "model", "models", "checkpoint", "checkpoints", "weights", "safetensors", "snapshot", "snapshots", "main", "latest",
    };

    /// <summary>The id of <paramref name="checkpoint"/>.</summary>
    public static string From(CheckpointData checkpoint)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        string source = checkpoint.Source.TrimEnd('/', '\\');
        checkpoint.Metadata.TryGetValue("general.architecture", out string? architecture);
        if (checkpoint.Metadata.TryGetValue("general.name", out string? name) && Meaningful(name, architecture))
        {
            return name!.Trim();
        }
        if (Directory.Exists(source))
        {
            if (NameOrPath(source) is { } fromConfig && Meaningful(fromConfig, architecture)) return fromConfig;
            return FolderId(source);
        }
        string stem = Path.GetFileNameWithoutExtension(source);
        return stem.Length > 0 ? stem : Path.GetFileName(source);
    }

    private static bool Meaningful(string? name, string? architecture)
        => !string.IsNullOrWhiteSpace(name)
            && name.Trim() != "."
            && !string.Equals(name.Trim(), architecture, StringComparison.OrdinalIgnoreCase);

    private static string FolderId(string folder)
    {
        var info = new DirectoryInfo(folder);
        return GenericFolderNames.Contains(info.Name) && info.Parent is { } parent ? parent.Name : info.Name;
    }

    /// <summary>config.json's <c>_name_or_path</c>; a local path there keeps only its last segment.</summary>
    private static string? NameOrPath(string folder)
    {
        string config = Path.Combine(folder, "config.json");
        if (!File.Exists(config)) return null;
        try
        {
            using var stream = File.OpenRead(config);
            using JsonDocument document = JsonDocument.Parse(stream);
            if (document.RootElement.ValueKind != JsonValueKind.Object
                || !document.RootElement.TryGetProperty("_name_or_path", out JsonElement value)
                || value.ValueKind != JsonValueKind.String) return null;
            string text = value.GetString()!.Trim().TrimEnd('/', '\\');
            if (text.Length == 0) return null;
            return Path.IsPathRooted(text) || text.StartsWith('.') ? Path.GetFileName(text) : text;
        }
        catch (Exception ex) when (ex is IOException or JsonException or UnauthorizedAccessException)
        {
            return null; // The loader has already read this file; an id is not worth failing for.
        }
    }
}
