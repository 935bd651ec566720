using System.Runtime.CompilerServices;
using System.Threading.Channels;
using QuickSilver.Engine.Generation;

namespace QuickSilver.Engine.Scheduling;

/// <summary>The tokens of a scheduled request, streamed as the scheduler emits them, and its result.</summary>
public sealed class ScheduledGeneration : IAsyncEnumerable<GeneratedToken>
{
    private readonly ChannelReader<GeneratedToken> _reader;

    internal ScheduledGeneration(ChannelReader<GeneratedToken> reader, Task<GenerationResult> completion)
    {
        _reader = reader;
        Completion = completion;
    }

    /// <summary>The result once the request ends.</summary>
    public Task<GenerationResult> Completion { get; }

    /// <summary>Reads the tokens; ends when the request finishes, throws what failed it (or the cancellation).</summary>
    public async IAsyncEnumerable<GeneratedToken> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        while (await _reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            while (_reader.TryRead(out var token)) yield return token;
    }

    /// <inheritdoc />
    public IAsyncEnumerator<GeneratedToken> GetAsyncEnumerator(CancellationToken cancellationToken = default) => ReadAllAsync(cancellationToken).GetAsyncEnumerator(cancellationToken);
}
