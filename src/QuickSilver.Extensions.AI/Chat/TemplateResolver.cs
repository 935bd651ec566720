using System.Text.Json;
using Microsoft.Extensions.Logging;
using QuickSilver.Extensions.AI.Backend;
using QuickSilver.Extensions.AI.Templates;

namespace QuickSilver.Extensions.AI.Chat;

/// <summary>Picks the chat template: explicit text, a built-in by name, or the model's own (GGUF metadata, tokenizer, tokenizer_config.json).</summary>
internal static class TemplateResolver
{
    public static ChatTemplate Resolve(QuickSilverOptions options, IQuickSilverBackend backend, ILogger logger)
    {
        if (!string.IsNullOrWhiteSpace(options.TemplateText))
        {
            return ChatTemplate.FromJinja(options.TemplateText, StopsFor(backend));
        }
        if (!string.Equals(options.Template?.Trim(), "auto", StringComparison.OrdinalIgnoreCase))
        {
            return ChatTemplate.GetBuiltIn(options.Template!.Trim());
        }
        string? source = backend.Metadata.TryGetValue("tokenizer.chat_template", out string? fromModel) ? fromModel
            : backend.Tokenizer.ChatTemplate ?? ReadHfChatTemplate(options.ModelPath);
        if (string.IsNullOrWhiteSpace(source))
        {
            return ChatTemplate.Plain;
        }
        return LoadModelTemplate(source, backend);
    }

    public static ChatTemplate LoadModelTemplate(string source, IQuickSilverBackend backend)
    {
        try
        {
            return ChatTemplate.FromJinja(source, StopsFor(backend));
        }
        catch (ChatTemplateException ex)
        {
            // Never fall back silently: a model prompted in the wrong format answers badly and nobody notices why.
            throw new QuickSilverException(
                $"The model's own chat template cannot be used ({ex.Message}). Set QuickSilver:Template to a built-in ({string.Join(", ", ChatTemplate.BuiltInNames)}) or QuickSilver:TemplateText to a template that works.", ex);
        }
    }

    private static string[] StopsFor(IQuickSilverBackend backend)
        => backend.Tokenizer.EosTokenId >= 0 && backend.Tokenizer.TokenPiece(backend.Tokenizer.EosTokenId) is { Length: > 0 } eos ? [eos] : [];

    private static string? ReadHfChatTemplate(string? modelPath)
    {
        if (modelPath is null || !Directory.Exists(modelPath)) return null;
        string config = Path.Combine(modelPath, "tokenizer_config.json");
        if (!File.Exists(config)) return null;
        try
        {
            using JsonDocument document = JsonDocument.Parse(File.ReadAllText(config));
            return document.RootElement.TryGetProperty("chat_template", out JsonElement template) && template.ValueKind == JsonValueKind.String ? template.GetString() : null;
        }
        catch (JsonException ex)
        {
            throw new QuickSilverException($"ModelPath: '{config}' is not valid JSON: {ex.Message}", ex);
        }
    }
}
