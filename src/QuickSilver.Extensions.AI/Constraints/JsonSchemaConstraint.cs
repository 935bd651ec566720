using System.Text;
using System.Text.Json;
using QuickSilver.Engine.Generation;
using QuickSilver.Engine.Speculative;
using QuickSilver.Engine.Tokenization;
using static QuickSilver.Extensions.AI.Constraints.JsonGrammar;

namespace QuickSilver.Extensions.AI.Constraints;

/// <summary>
/// Constrained decoding: before each sample, masks every token whose bytes cannot extend the output to a prefix of
/// compact JSON that follows the schema (or the tool-call envelope). Complete when the value is closed.
/// With a token budget, it also keeps the output finishable: once the budget gets tight, only tokens after which the shortest
/// completion still fits in the remaining tokens are allowed (every token adds at least one byte, and vocabularies with byte
/// tokens can spell any completion one byte per token), so a required tool call or JSON reply is closed in time instead of truncated.
/// With <see cref="CanonicalForcedSpans"/>, text the schema forces (keys, punctuation, the rest of an enum value or tool name)
/// is allowed only in its canonical tokenization (<see cref="CanonicalTokenization"/>), one token at a time: that is the
/// tokenization the model saw such text in, and it makes forced text a run of single-token masks that jump-forward can append.
/// </summary>
public sealed class JsonSchemaConstraint : ITokenConstraint, IForcedContinuation
{
    // Forced runs are looked at this many bytes ahead: longer than any token, short enough to stay cheap.
    private const int ForcedLookahead = 64;

    private static readonly Func<JsonState, byte, JsonState?> StepByte = (s, b) => s.Top.Step(s, b);

    private readonly ITokenizer _tokenizer;
    private readonly TokenTrie _trie;
    private bool[]? _allowed;
    private ByteChain _bytes = ByteChain.Empty;
    private readonly int? _maxTokens;
    private JsonState _state;
    private int _accepted;

    private JsonSchemaConstraint(ITokenizer tokenizer, JsonState start, int? maxTokens)
    {
        _tokenizer = tokenizer;
        _trie = TokenTrie.For(tokenizer);
        _state = start;
        _maxTokens = maxTokens;
    }

    private JsonSchemaConstraint(JsonSchemaConstraint source)
    {
        _tokenizer = source._tokenizer;
        _trie = source._trie;
        _state = source._state;
        _maxTokens = source._maxTokens;
        _accepted = source._accepted;
        _bytes = source._bytes;
        CanonicalForcedSpans = source.CanonicalForcedSpans;
    }

    private JsonSchemaConstraint(Checkpoint checkpoint)
    {
        _tokenizer = checkpoint.Tokenizer;
        _trie = checkpoint.Trie;
        _maxTokens = checkpoint.MaxTokens;
        _state = checkpoint.State;
        _bytes = checkpoint.Bytes;
        _accepted = checkpoint.Accepted;
        CanonicalForcedSpans = checkpoint.CanonicalForcedSpans;
    }

    /// <summary>
    /// Whether forced text is allowed only in its canonical tokenization (see the class remarks). Off by default, so the mask
    /// is exactly grammar validity; the chat client turns it on for every constrained request, with or without jump-forward.
    /// </summary>
    public bool CanonicalForcedSpans { get; set; }

    /// <summary>An independent copy in the same state (grammar states and the output chain are immutable, so this is O(1)).</summary>
    public JsonSchemaConstraint Fork() => new(this);

    // The budget filter starts this many tokens early; it is exact, so the slack only saves work.
    private const int BudgetSlack = 8;

    /// <summary>Constrains output to a value of <paramref name="schema"/> (null: any JSON value, as for <c>ChatResponseFormat.Json</c>).</summary>
    /// <param name="tokenizer">The model's tokenizer (its token bytes are indexed once and cached).</param>
    /// <param name="schema">The JSON schema, or null for any JSON value.</param>
    /// <param name="maxStringLength">Longest string unless the schema sets maxLength.</param>
    /// <param name="maxTokens">The token budget; when given, the output is kept finishable within it.</param>
    /// <exception cref="ArgumentException">The schema uses an unsupported type or an unresolvable $ref.</exception>
    public static JsonSchemaConstraint ForSchema(ITokenizer tokenizer, JsonElement? schema, int maxStringLength = JsonSchemaNode.DefaultMaxStringLength, int? maxTokens = null)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxStringLength, 1);
        JsonSchemaNode node = schema is { } s ? JsonSchemaNode.Compile(s, maxStringLength) : JsonSchemaNode.AnyValue;
        return new JsonSchemaConstraint(tokenizer, Start(node), maxTokens);
    }

    /// <summary>Constrains output to one call <c>{"name":…,"arguments":…}</c> of one of <paramref name="tools"/>.</summary>
    /// <param name="tokenizer">The model's tokenizer.</param>
    /// <param name="tools">Tool names and their parameter schemas.</param>
    /// <param name="maxStringLength">Longest string argument unless its schema sets maxLength.</param>
    /// <param name="maxTokens">The token budget; when given, the call is kept finishable within it.</param>
    /// <exception cref="ArgumentException">No tools, or a schema is unsupported.</exception>
    public static JsonSchemaConstraint ForToolCall(ITokenizer tokenizer, IReadOnlyList<(string Name, JsonElement Schema)> tools, int maxStringLength = JsonSchemaNode.DefaultMaxStringLength, int? maxTokens = null)
        => ForToolCall(tokenizer, tools, maxStringLength, maxTokens, "arguments", spaced: false);

    /// <summary>
    /// Constrains output to one call <c>{"name": …, "&lt;argumentsKey&gt;": …}</c>; <paramref name="spaced"/> writes the envelope
    /// with Python's ", " and ": " separators, as native tool-call formats are trained (the arguments stay compact).
    /// </summary>
    /// <param name="tokenizer">The model's tokenizer.</param>
    /// <param name="tools">Tool names and their parameter schemas.</param>
    /// <param name="maxStringLength">Longest string argument unless its schema sets maxLength.</param>
    /// <param name="maxTokens">The token budget; when given, the call is kept finishable within it.</param>
    /// <param name="argumentsKey">"arguments", or "parameters" for Llama 3.</param>
    /// <param name="spaced">Whether the envelope uses ", " and ": " separators.</param>
    /// <exception cref="ArgumentException">No tools, or a schema is unsupported.</exception>
    public static JsonSchemaConstraint ForToolCall(ITokenizer tokenizer, IReadOnlyList<(string Name, JsonElement Schema)> tools, int maxStringLength, int? maxTokens, string argumentsKey, bool spaced)
    {
        ArgumentException.ThrowIfNullOrEmpty(argumentsKey);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(tools);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxStringLength, 1);
        if (tools.Count == 0) throw new ArgumentException("A tool-call constraint needs at least one tool.", nameof(tools));
        var compiled = tools.Select(t => (t.Name, JsonSchemaNode.Compile(t.Schema, maxStringLength))).ToList();
        return new JsonSchemaConstraint(tokenizer, StartToolCall(compiled, argumentsKey, spaced), maxTokens);
    }

    /// <inheritdoc />
    public bool IsComplete => _state.IsDone;

    /// <summary>The fewest bytes (hence at most this many tokens) that complete the output from here.</summary>
    public int MinimumBytesToComplete => _state.MinimumBytesToComplete();

    /// <summary>The accepted output so far.</summary>
    public string Text => Encoding.UTF8.GetString(_bytes.ToArray());

    /// <inheritdoc />
    /// <remarks>
    /// The whole mutable state is the grammar state (an immutable stack of immutable frames), the output (an immutable
    /// <see cref="ByteChain"/>), the accepted-token count and <see cref="CanonicalForcedSpans"/>; the mask buffer is scratch.
    /// So a snapshot is a few references, O(1) to take at every step, and nothing in it can change later: it can be restored
    /// any number of times, in any order, also after the constraint went on along another path.
    /// </remarks>
    public object? Snapshot() => new Checkpoint(_tokenizer, _trie, _maxTokens, _state, _bytes, _accepted, CanonicalForcedSpans);

    /// <inheritdoc />
    /// <exception cref="ArgumentNullException"><paramref name="snapshot"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="snapshot"/> is not a JSON constraint's, or is one over another tokenizer or token budget.</exception>
    public void Restore(object snapshot)
    {
        Checkpoint checkpoint = AsCheckpoint(snapshot);
        if (!ReferenceEquals(checkpoint.Trie, _trie) || checkpoint.MaxTokens != _maxTokens)
            throw new ArgumentException("The snapshot was taken from a JSON constraint over another tokenizer or token budget.", nameof(snapshot));
        _state = checkpoint.State;
        _bytes = checkpoint.Bytes;
        _accepted = checkpoint.Accepted;
        CanonicalForcedSpans = checkpoint.CanonicalForcedSpans;
    }

    /// <summary>A new constraint in the state <paramref name="snapshot"/> captured (a composite whose envelope was not built yet restores with it).</summary>
    /// <exception cref="ArgumentException"><paramref name="snapshot"/> is not a JSON constraint's.</exception>
    internal static JsonSchemaConstraint FromSnapshot(object snapshot) => new(AsCheckpoint(snapshot));

    private static Checkpoint AsCheckpoint(object snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        return snapshot as Checkpoint
            ?? throw new ArgumentException($"Not a snapshot of a {nameof(JsonSchemaConstraint)} (got a {snapshot.GetType().Name}).", nameof(snapshot));
    }

    // Tokenizer, trie and budget are the constraint's fixed configuration: carried so FromSnapshot can rebuild one, and
    // compared on Restore so a snapshot cannot be applied to a constraint over another vocabulary.
    private sealed record Checkpoint(ITokenizer Tokenizer, TokenTrie Trie, int? MaxTokens, JsonState State, ByteChain Bytes, int Accepted, bool CanonicalForcedSpans);

    /// <inheritdoc />
    public void Apply(Span<float> logits)
    {
        bool[] allowed = ComputeMask();
        int n = Math.Min(logits.Length, allowed.Length);
        for (int i = 0; i < n; i++)
        {
            if (!allowed[i]) logits[i] = float.NegativeInfinity;
        }
        for (int i = n; i < logits.Length; i++) logits[i] = float.NegativeInfinity;
    }

    /// <summary>The tokens allowed next (shared buffer; valid until the next call).</summary>
    public bool[] ComputeMask()
    {
        bool[] allowed = _allowed ??= new bool[_trie.VocabSize];
        Array.Clear(allowed);
        if (CanonicalForcedSpans && CanonicalForcedToken() is int forced and >= 0)
        {
            // The output must go on with the forced bytes: only their canonical first token is allowed (no budget can do better).
            allowed[forced] = true;
            return allowed;
        }
        int? remaining = _maxTokens - _accepted;
        if (remaining is { } r && _state.MinimumBytesToComplete() + BudgetSlack >= r)
        {
            // After this token, r - 1 tokens remain: the rest of the output must fit in them.
            _trie.Walk(_state, StepByte, allowed, next => next.MinimumBytesToComplete() <= r - 1);
            if (Array.IndexOf(allowed, true) < 0 && !_state.CanEnd)
            {
                _trie.Walk(_state, StepByte, allowed);   // the budget cannot be met any more: fall back to plain validity
            }
        }
        else if (JsonGrammar.TryGetPlainString(_state, out int length, out int maxLength))
        {
            // Inside a string, most tokens are plain text: decide those by their character count alone, and step only the few
            // tokens holding quotes, backslashes or partial characters through the grammar (a full trie walk costs ~50 ms at 50k tokens).
            int[] counts = _trie.PlainCharCounts;
            int room = maxLength - length;
            for (int id = 0; id < counts.Length; id++)
            {
                if (counts[id] >= 0 && counts[id] <= room) allowed[id] = true;
            }
            foreach (int id in _trie.NonPlainTokens)
            {
                if (JsonGrammar.Step(_state, _trie.TokenBytes[id]) is not null) allowed[id] = true;
            }
        }
        else
        {
            _trie.Walk(_state, StepByte, allowed);
        }
        if (_state.CanEnd)
        {
            foreach (int id in _trie.EmptyTokens) allowed[id] = true;
        }
        return allowed;
    }

    /// <summary>
    /// The token forced next, or -1: with <see cref="CanonicalForcedSpans"/>, the canonical first token of the forced text; without,
    /// the token when the mask allows exactly one.
    /// </summary>
    public int ForcedToken()
    {
        if (CanonicalForcedSpans) return CanonicalForcedToken();
        if (FastForcedToken() is int fast and >= -1) return fast;
        bool[] mask = ComputeMask();
        int only = -1;
        for (int id = 0; id < mask.Length; id++)
        {
            if (!mask[id]) continue;
            if (only >= 0) return -1;
            only = id;
        }
        return only;
    }

    /// <summary>
    /// <see cref="ForcedToken"/> without a vocabulary walk when the grammar knows its one next byte (keys, punctuation, the
    /// rest of an enum value): the mask can then hold only tokens starting with that byte, so the walk of that byte's subtree
    /// decides. -2 when this shortcut does not apply (the output may end, so empty tokens are allowed; the budget filters the
    /// mask; the grammar has a choice of bytes).
    /// </summary>
    private int FastForcedToken()
    {
        if (_maxTokens is { } max && _state.MinimumBytesToComplete() + BudgetSlack >= max - _accepted) return -2;
        if (_state.CanEnd || _state.Top.OnlyByte(_state) is not (int first and >= 0)) return -2;
        JsonState? after = _state.Top.Step(_state, (byte)first);
        if (after is null) return -2;
        return _trie.OnlyTokenStartingWith((byte)first, after, StepByte);
    }

    /// <inheritdoc />
    public int PeekForced(Span<int> destination)
    {
        if (destination.IsEmpty) return 0;
        JsonSchemaConstraint fork = Fork();
        int count = 0;
        while (count < destination.Length && fork.ForcedToken() is int token and >= 0)
        {
            destination[count++] = token;
            fork.Accept(token);
        }
        return count;
    }

    private int CanonicalForcedToken()
    {
        Span<byte> forced = stackalloc byte[ForcedLookahead];
        int n = JsonGrammar.ForcedBytes(_state, forced);
        return n == 0 ? -1 : CanonicalTokenization.For(_tokenizer).FirstToken(forced[..n]);
    }

    /// <summary>Whether <paramref name="bytes"/> can follow the output so far (without accepting them).</summary>
    public bool Allows(ReadOnlySpan<byte> bytes) => JsonGrammar.Step(_state, bytes) is not null;

    /// <summary>Whether <paramref name="bytes"/> continue the output and leave the value complete.</summary>
    public bool IsCompletedBy(ReadOnlySpan<byte> bytes) => JsonGrammar.Step(_state, bytes) is { IsDone: true };

    /// <summary>Accepts raw bytes (tests and callers that work below the token level).</summary>
    public void AcceptBytes(ReadOnlySpan<byte> bytes)
    {
        _state = JsonGrammar.Step(_state, bytes) ?? throw new QuickSilverException($"Constrained decoding: bytes do not continue the JSON output \"{Text}\".");
        _bytes = _bytes.AppendCopy(bytes);
    }

    /// <inheritdoc />
    /// <exception cref="QuickSilverException">The token cannot continue the output (the mask was not applied).</exception>
    public void Accept(int tokenId)
    {
        if ((uint)tokenId >= (uint)_trie.VocabSize) return;
        _accepted++;
        byte[] bytes = _trie.TokenBytes[tokenId];
        if (bytes.Length == 0) return;
        JsonState? next = JsonGrammar.Step(_state, bytes)
            ?? throw new QuickSilverException($"Constrained decoding: token {tokenId} does not continue the JSON output \"{Text}\" (was the mask applied?).");
        _state = next;
        _bytes = _bytes.AppendShared(bytes);
    }
}
