using System.Text;
using QuickSilver.Engine.Generation;
using QuickSilver.Engine.Speculative;
using QuickSilver.Engine.Tokenization;
using QuickSilver.Extensions.AI.Chat.Protocols;

namespace QuickSilver.Extensions.AI.Constraints;

/// <summary>
/// Constrained decoding inside a model's native tool-call syntax. Text is free until the model writes the protocol's call
/// marker (<c>&lt;tool_call&gt;</c>, <c>&lt;|python_tag|&gt;</c>, <c>[TOOL_CALLS]</c>); from there the call object is constrained
/// to the envelope (a known tool name and arguments that follow its JSON schema), then text is free again, so the model can
/// close the block, call again or end its turn. With a required call, the marker and one call are forced from the first token.
/// </summary>
internal sealed class NativeToolCallConstraint : ITokenConstraint, IForcedContinuation
{
    private readonly TokenTrie _trie;
    private readonly ToolCallProtocol _protocol;
    private readonly Func<JsonSchemaConstraint> _newEnvelope;
    private readonly bool _required;
    private readonly HashSet<int> _markerIds;
    private readonly int[] _closingTokens;
    private readonly int _longestClosing;
    private float[] _saved = [];
    private readonly byte[] _marker;
    private readonly StringBuilder _recent = new();
    private JsonSchemaConstraint? _envelope;
    private Mode _mode;
    private int _forcedBytes;
    private bool _sawText;
    private int _calls;
    private bool _thinking;

    private enum Mode { Free, Marker, Lead, Call, Done }

    /// <param name="tokenizer">The model's tokenizer.</param>
    /// <param name="protocol">The native syntax.</param>
    /// <param name="newEnvelope">Builds the constraint for one call object.</param>
    /// <param name="required">A call is required: the marker and one call are forced, then the output is complete.</param>
    /// <param name="startsInReasoning">The prompt opened a <c>&lt;think&gt;</c> block: a marker written before <c>&lt;/think&gt;</c> is thought, not a call.</param>
    public NativeToolCallConstraint(ITokenizer tokenizer, ToolCallProtocol protocol, Func<JsonSchemaConstraint> newEnvelope, bool required, bool startsInReasoning = false)
    {
        _thinking = startsInReasoning && !required;
        _trie = TokenTrie.For(tokenizer);
        _protocol = protocol;
        _newEnvelope = newEnvelope;
        _required = required;
        _marker = Encoding.UTF8.GetBytes(protocol.CallMarker);
        (_markerIds, _closingTokens) = Vocabulary.GetValue(tokenizer, _ => new()).GetOrAdd(protocol.CallMarker, marker => Scan(tokenizer, _trie, marker));
        _longestClosing = _closingTokens.Length == 0 ? 0 : _closingTokens.Max(id => _trie.TokenBytes[id].Length);
        _mode = required ? Mode.Marker : Mode.Free;
    }

    // Per tokenizer and marker, computed once: the scans walk the whole vocabulary.
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<ITokenizer, System.Collections.Concurrent.ConcurrentDictionary<string, (HashSet<int>, int[])>> Vocabulary = new();

    private static (HashSet<int> Markers, int[] Closing) Scan(ITokenizer tokenizer, TokenTrie trie, string marker)
    {
        var markers = new HashSet<int>();
        for (int id = 0; id < tokenizer.VocabSize; id++)
        {
            if (tokenizer.TokenPiece(id) == marker) markers.Add(id);
        }
        // Tokens holding a '}' may close the call and carry on with text ("}}\n" in Qwen's vocabulary): the model's natural
        // way to end a call must not be masked just because its tail lies outside the envelope.
        int[] closing = Enumerable.Range(0, trie.VocabSize).Where(id => Array.IndexOf(trie.TokenBytes[id], (byte)'}') >= 0).ToArray();
        return (markers, closing);
    }

    /// <summary>How many call objects were completed under the constraint.</summary>
    public int CompletedCalls => _calls;

    /// <inheritdoc />
    public bool IsComplete => _mode == Mode.Done;

    /// <inheritdoc />
    public void Apply(Span<float> logits)
    {
        int n = Math.Min(logits.Length, _trie.VocabSize);
        switch (_mode)
        {
            case Mode.Call:
                if (_saved.Length < _closingTokens.Length) _saved = new float[_closingTokens.Length];
                for (int k = 0; k < _closingTokens.Length; k++) _saved[k] = _closingTokens[k] < logits.Length ? logits[_closingTokens[k]] : float.NegativeInfinity;
                _envelope!.Apply(logits);
                for (int k = 0; k < _closingTokens.Length; k++)
                {
                    int id = _closingTokens[k];
                    if (id < logits.Length && float.IsNegativeInfinity(logits[id]) && !_required && ClosingPrefix(_envelope, _trie.TokenBytes[id]) > 0) logits[id] = _saved[k];
                }
                return;
            case Mode.Marker:
                // Only the marker token, or bytes that spell the rest of the marker.
                ReadOnlySpan<byte> rest = _marker.AsSpan(_forcedBytes);
                for (int id = 0; id < n; id++)
                {
                    byte[] bytes = _trie.TokenBytes[id];
                    bool ok = (_forcedBytes == 0 && _markerIds.Contains(id)) || (bytes.Length > 0 && bytes.Length <= rest.Length && rest.StartsWith(bytes));
                    if (!ok) logits[id] = float.NegativeInfinity;
                }
                MaskBeyond(logits, n);
                return;
            case Mode.Lead:
                JsonSchemaConstraint envelope = _envelope ??= _newEnvelope();
                for (int id = 0; id < n; id++)
                {
                    ReadOnlySpan<byte> body = SkipLead(_trie.TokenBytes[id]);
                    bool ok = _trie.TokenBytes[id].Length > 0 && (body.Length == 0 || envelope.Allows(body));
                    if (!ok) logits[id] = float.NegativeInfinity;
                }
                MaskBeyond(logits, n);
                return;
            case Mode.Free when _protocol.BareJsonCalls && !_sawText:
                // A reply that opens with '{' is a call: block openings no call can continue.
                JsonSchemaConstraint bare = _envelope ??= _newEnvelope();
                for (int id = 0; id < n; id++)
                {
                    ReadOnlySpan<byte> body = TrimBlank(_trie.TokenBytes[id]);
                    if (body.Length > 0 && body[0] == (byte)'{' && !bare.Allows(body)) logits[id] = float.NegativeInfinity;
                }
                return;
        }
    }

    /// <inheritdoc />
    public void Accept(int tokenId)
    {
        if ((uint)tokenId >= (uint)_trie.VocabSize) return;
        byte[] bytes = _trie.TokenBytes[tokenId];
        switch (_mode)
        {
            case Mode.Call:
                if (_envelope!.Allows(bytes))
                {
                    _envelope.Accept(tokenId);
                    if (_envelope.IsComplete) EndCall();
                    return;
                }
                // A token that closes the call and goes on with text: the call part completes the envelope, the rest is free.
                int closing = ClosingPrefix(_envelope, bytes);
                if (closing <= 0) throw new QuickSilverException($"Constrained decoding: token {tokenId} does not continue the tool call \"{_envelope.Text}\" (was the mask applied?).");
                _envelope.AcceptBytes(bytes.AsSpan(0, closing));
                EndCall();
                _recent.Append(Encoding.UTF8.GetString(bytes, closing, bytes.Length - closing));
                return;
            case Mode.Marker:
                _forcedBytes = _markerIds.Contains(tokenId) ? _marker.Length : _forcedBytes + bytes.Length;
                if (_forcedBytes >= _marker.Length) _mode = Mode.Lead;
                return;
            case Mode.Lead:
                ReadOnlySpan<byte> body = SkipLead(bytes);
                if (body.Length > 0) StartCall(body);
                return;
            case Mode.Free:
                ReadOnlySpan<byte> text = TrimBlank(bytes);
                if (_protocol.BareJsonCalls && !_sawText && text.Length > 0 && text[0] == (byte)'{')
                {
                    _sawText = true;
                    StartCall(text);
                    return;
                }
                if (text.Length > 0 || _markerIds.Contains(tokenId)) _sawText = true;
                _recent.Append(_markerIds.Contains(tokenId) ? _protocol.CallMarker : Encoding.UTF8.GetString(bytes));
                if (_recent.Length > 64) _recent.Remove(0, _recent.Length - 32);
                string recent = _recent.ToString();
                // A marker inside <think>…</think> is the model reasoning about a call, not making one.
                if (recent.EndsWith("<think>", StringComparison.Ordinal)) _thinking = true;
                if (recent.EndsWith("</think>", StringComparison.Ordinal)) _thinking = false;
                if (!_thinking && recent.EndsWith(_protocol.CallMarker, StringComparison.Ordinal))
                {
                    _recent.Clear();
                    _envelope = null;
                    _mode = Mode.Lead;
                }
                return;
        }
    }

    /// <inheritdoc />
    /// <remarks>
    /// The mutable state is the mode, the marker bytes matched, the flags and call count, the recent-text window (at most 64
    /// characters, copied) and the envelope, whose own snapshot is O(1) (see <see cref="JsonSchemaConstraint.Snapshot"/>);
    /// the saved-logits buffer is scratch. So a snapshot is small and cheap enough to take at every step, and immutable.
    /// </remarks>
    public object? Snapshot() => new Checkpoint(_trie, _protocol, _mode, _forcedBytes, _sawText, _calls, _thinking, _recent.ToString(), _envelope?.Snapshot());

    /// <inheritdoc />
    /// <exception cref="ArgumentNullException"><paramref name="snapshot"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="snapshot"/> is not a native tool-call constraint's for this tokenizer and protocol.</exception>
    public void Restore(object snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        if (snapshot is not Checkpoint checkpoint)
            throw new ArgumentException($"Not a snapshot of a {nameof(NativeToolCallConstraint)} (got a {snapshot.GetType().Name}).", nameof(snapshot));
        if (!ReferenceEquals(checkpoint.Trie, _trie) || !ReferenceEquals(checkpoint.Protocol, _protocol))
            throw new ArgumentException("The snapshot was taken from a native tool-call constraint over another tokenizer or protocol.", nameof(snapshot));
        _mode = checkpoint.Mode;
        _forcedBytes = checkpoint.ForcedBytes;
        _sawText = checkpoint.SawText;
        _calls = checkpoint.Calls;
        _thinking = checkpoint.Thinking;
        _recent.Clear().Append(checkpoint.Recent);
        if (checkpoint.Envelope is null) _envelope = null;
        else if (_envelope is not null) _envelope.Restore(checkpoint.Envelope);  // the envelope is private to this constraint: reuse it
        else _envelope = JsonSchemaConstraint.FromSnapshot(checkpoint.Envelope);
    }

    private sealed record Checkpoint(TokenTrie Trie, ToolCallProtocol Protocol, Mode Mode, int ForcedBytes, bool SawText, int Calls, bool Thinking, string Recent, object? Envelope);

    /// <inheritdoc />
    /// <remarks>Only inside a call object: the envelope's forced tokens, up to the end of the call, and not where <see cref="Apply"/>
    /// would also let a token close the call and go on with text.</remarks>
    public int PeekForced(Span<int> destination)
    {
        if (_mode != Mode.Call || _envelope is null) return 0;
        JsonSchemaConstraint fork = _envelope.Fork();
        int count = 0;
        while (count < destination.Length && !fork.IsComplete && fork.ForcedToken() is int token and >= 0)
        {
            if (!_required && AnyClosingToken(fork, token)) break;
            destination[count++] = token;
            fork.Accept(token);
        }
        return count;
    }

    // Whether a token other than `except` could close the call from the envelope's state (Apply re-enables those).
    private bool AnyClosingToken(JsonSchemaConstraint envelope, int except)
    {
        if (envelope.MinimumBytesToComplete > _longestClosing) return false;
        foreach (int id in _closingTokens)
        {
            if (id != except && ClosingPrefix(envelope, _trie.TokenBytes[id]) > 0) return true;
        }
        return false;
    }

    // The length of the shortest prefix of the token that completes the call envelope, or 0.
    private static int ClosingPrefix(JsonSchemaConstraint envelope, byte[] bytes)
    {
        for (int i = 0; i < bytes.Length; i++)
        {
            if (bytes[i] == (byte)'}' && envelope.IsCompletedBy(bytes.AsSpan(0, i + 1))) return i + 1;
        }
        return 0;
    }

    private void StartCall(ReadOnlySpan<byte> body)
    {
        _envelope ??= _newEnvelope();
        _envelope.AcceptBytes(body);
        _mode = Mode.Call;
        if (_envelope.IsComplete) EndCall();
    }

    private void EndCall()
    {
        _calls++;
        _envelope = null;
        _mode = _required ? Mode.Done : Mode.Free;
    }

    private ReadOnlySpan<byte> SkipLead(byte[] bytes)
    {
        int i = 0;
        while (i < bytes.Length && _protocol.LeadCharacters.Contains((char)bytes[i])) i++;
        return bytes.AsSpan(i);
    }

    private static ReadOnlySpan<byte> TrimBlank(byte[] bytes)
    {
        int i = 0;
        while (i < bytes.Length && bytes[i] is (byte)' ' or (byte)'\n' or (byte)'\r' or (byte)'\t') i++;
        return bytes.AsSpan(i);
    }

    private static void MaskBeyond(Span<float> logits, int n)
    {
        for (int i = n; i < logits.Length; i++) logits[i] = float.NegativeInfinity;
    }
}
