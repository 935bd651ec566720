namespace QuickSilver.Extensions.AI.Constraints;

/// <summary>
/// Append-only output bytes as an immutable chain of chunks, newest last. Appending shares every earlier chunk, so a constraint
/// can put its output into a snapshot (or a fork) in O(1) per step, where copying a list would cost the whole reply each time.
/// The bytes are materialized only when asked for (<see cref="ToArray"/>: error messages, tests).
/// </summary>
internal sealed class ByteChain
{
    /// <summary>No bytes.</summary>
    public static ByteChain Empty { get; } = new(null, [], 0);

    private readonly ByteChain? _previous;
    private readonly byte[] _chunk;

    private ByteChain(ByteChain? previous, byte[] chunk, int length)
    {
        _previous = previous;
        _chunk = chunk;
        Length = length;
    }

    /// <summary>How many bytes the chain holds.</summary>
    public int Length { get; }

    /// <summary>
    /// The chain with <paramref name="shared"/> appended, without copying it: the caller must never write to the array again
    /// (a token trie's byte arrays qualify: they are written once, when the trie is built).
    /// </summary>
    public ByteChain AppendShared(byte[] shared) => shared.Length == 0 ? this : new ByteChain(this, shared, Length + shared.Length);

    /// <summary>The chain with a copy of <paramref name="bytes"/> appended.</summary>
    public ByteChain AppendCopy(ReadOnlySpan<byte> bytes) => bytes.IsEmpty ? this : new ByteChain(this, bytes.ToArray(), Length + bytes.Length);

    /// <summary>All bytes, oldest first.</summary>
    public byte[] ToArray()
    {
        var result = new byte[Length];
        int end = Length;
        // Iterative: a long reply is a long chain, and recursion would cost a stack frame per token.
        for (ByteChain? node = this; node is not null; node = node._previous)
        {
            end -= node._chunk.Length;
            node._chunk.CopyTo(result, end);
        }
        return result;
    }
}
