using QuickSilver.Engine.Tokenization;

namespace QuickSilver.Extensions.AI.Backend;

/// <summary>
/// The seam between the chat client and the engine: a loaded model that hands out sessions.
/// The real implementation wraps <see cref="Engine.LanguageModel"/>; unit tests use a deterministic fake without torch.
/// </summary>
internal interface IQuickSilverBackend : IDisposable
{
    /// <summary>The model's short id.</summary>
    string ModelId { get; }

    /// <summary>The tokenizer.</summary>
    ITokenizer Tokenizer { get; }

    /// <summary>Context window in positions.</summary>
    int ContextLength { get; }

    /// <summary>String metadata (e.g. "tokenizer.chat_template").</summary>
    IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>The underlying engine object, for <c>GetService</c> (null for fakes).</summary>
    object? Model { get; }

    /// <summary>Creates a session with its own KV cache.</summary>
    IQuickSilverSession CreateSession();
}
