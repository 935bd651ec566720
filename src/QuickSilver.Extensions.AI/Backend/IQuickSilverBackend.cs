using QuickSilver.Engine.Generation;
using QuickSilver.Engine.Tokenization;

namespace QuickSilver.Extensions.AI.Backend;

/// <summary>
/// The seam between the chat client and the engine: a loaded model seen through the step API. The client runs the real
/// <see cref="Generator"/> over <see cref="Steps"/>; the real implementation wraps <see cref="Engine.LanguageModel"/>, unit tests
/// a logits source without torch.
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

    /// <summary>The step API: sequences, prefill and decode.</summary>
    IStepModel Steps { get; }

    /// <summary>The clock for request timings (time to first token, total).</summary>
    TimeProvider TimeProvider => TimeProvider.System;

    /// <summary>Called on the decode thread when a request starts, before its first step (accounting, diagnostics).</summary>
    void OnRequestStarting(IReadOnlyList<int> promptIds, GenerationRequest request)
    {
    }
}
