using QuickSilver.Engine.Generation;

namespace QuickSilver.Extensions.AI.Backend;

/// <summary>One KV cache and the tokens it holds; used by one thread at a time.</summary>
internal interface IQuickSilverSession : IDisposable
{
    /// <summary>Token ids whose K/V the cache holds.</summary>
    IReadOnlyList<int> CachedTokens { get; }

    /// <summary>Prefills the uncached part of the prompt, then decodes (see <see cref="Engine.InferenceSession.Generate"/>).</summary>
    GenerationResult Generate(IReadOnlyList<int> promptIds, GenerationRequest request, Action<int>? onToken, CancellationToken cancellationToken);

    /// <summary>Forgets the cached tokens.</summary>
    void Reset();
}
