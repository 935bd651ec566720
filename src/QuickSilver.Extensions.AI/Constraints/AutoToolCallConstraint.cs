using QuickSilver.Engine.Generation;
using QuickSilver.Engine.Speculative;
using QuickSilver.Engine.Tokenization;

namespace QuickSilver.Extensions.AI.Constraints;

/// <summary>
/// Tool mode Auto: the model may answer in text or call a tool. Output is free until its first non-blank character; if that is
/// '{', the rest is constrained to the tool-call envelope, so a call the model starts is always well formed.
/// </summary>
internal sealed class AutoToolCallConstraint(ITokenizer tokenizer, JsonSchemaConstraint envelope) : ITokenConstraint, IForcedContinuation
{
    private readonly TokenTrie _trie = TokenTrie.For(tokenizer);
    private Mode _mode;

    private enum Mode { Undecided, Text, Call }

    /// <summary>Whether the reply turned out to be a tool call.</summary>
    public bool IsCall => _mode == Mode.Call;

    public bool IsComplete => _mode == Mode.Call && envelope.IsComplete;

    /// <inheritdoc />
    /// <remarks>Inside a call only (the envelope's forced tokens); before the reply has chosen text or a call, nothing is forced.</remarks>
    public int PeekForced(Span<int> destination) => _mode == Mode.Call ? envelope.PeekForced(destination) : 0;

    /// <inheritdoc />
    /// <remarks>The mode and the envelope's state, whose snapshot is O(1) (see <see cref="JsonSchemaConstraint.Snapshot"/>): cheap at every step.</remarks>
    public object? Snapshot() => new Checkpoint(this, _mode, envelope.Snapshot()!);

    /// <inheritdoc />
    /// <exception cref="ArgumentNullException"><paramref name="snapshot"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="snapshot"/> is not this constraint's.</exception>
    public void Restore(object snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        // The envelope is given from outside and restored in place, so only this constraint's own snapshots fit it.
        if (snapshot is not Checkpoint checkpoint || !ReferenceEquals(checkpoint.Owner, this))
            throw new ArgumentException($"Not a snapshot of this {nameof(AutoToolCallConstraint)} (got a {snapshot.GetType().Name}).", nameof(snapshot));
        _mode = checkpoint.Mode;
        envelope.Restore(checkpoint.Envelope);
    }

    private sealed record Checkpoint(AutoToolCallConstraint Owner, Mode Mode, object Envelope);

    public void Apply(Span<float> logits)
    {
        switch (_mode)
        {
            case Mode.Call:
                envelope.Apply(logits);
                return;
            case Mode.Text:
                return;
        }
        // Undecided: every token is allowed except those opening '{' in a way no tool call can continue.
        int n = Math.Min(logits.Length, _trie.VocabSize);
        for (int id = 0; id < n; id++)
        {
            ReadOnlySpan<byte> rest = TrimBlank(_trie.TokenBytes[id]);
            if (rest.Length > 0 && rest[0] == (byte)'{' && !envelope.Allows(rest))
            {
                logits[id] = float.NegativeInfinity;
            }
        }
    }

    public void Accept(int tokenId)
    {
        if ((uint)tokenId >= (uint)_trie.VocabSize) return;
        switch (_mode)
        {
            case Mode.Call:
                envelope.Accept(tokenId);
                return;
            case Mode.Text:
                return;
        }
        ReadOnlySpan<byte> rest = TrimBlank(_trie.TokenBytes[tokenId]);
        if (rest.Length == 0) return;
        if (rest[0] == (byte)'{')
        {
            _mode = Mode.Call;
            envelope.AcceptBytes(rest);
        }
        else
        {
            _mode = Mode.Text;
        }
    }

    private static ReadOnlySpan<byte> TrimBlank(byte[] bytes)
    {
        int i = 0;
        while (i < bytes.Length && bytes[i] is (byte)' ' or (byte)'\n' or (byte)'\r' or (byte)'\t') i++;
        return bytes.AsSpan(i);
    }
}
