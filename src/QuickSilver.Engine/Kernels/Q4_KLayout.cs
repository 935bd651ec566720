using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace QuickSilver.Engine.Kernels;

/// <summary>
/// Where a Q4_K block's 128 nibble bytes sit in <see cref="QuantizedMatrix.Codes"/> (the same 144 bytes as GGUF, moved
/// within the block; d, dmin and the 12 packed scale bytes stay at bytes 0..15). GGUF holds the values in four 32-byte
/// chunks, chunk c carrying sub-block 2c in its low nibbles and 2c+1 in its high ones. Stored, the nibble bytes are two
/// 64-byte halves k = 0, 1 of sixteen 4-byte words L; word L of half k is word <c>m = 2·(L / 4) + k</c> of chunk
/// <c>c = L mod 4</c>. So in either half, word L always belongs to chunk L mod 4: the decode kernel's byte products of the
/// two halves' low nibbles add in 16-bit lanes that all carry sub-block 2c (and the high nibbles 2c+1), and one multiply
/// by the sub-block scales per nibble kind ends a block, instead of a scale permute, a multiply and an add per 64 values.
/// The activations meet this order through <see cref="Q8KActivations.K4Order"/>. The permutation never leaves a block.
/// </summary>
internal static unsafe class Q4_KLayout
{
    /// <summary>Bytes before the nibbles (d, dmin, 12 scale bytes), unchanged.</summary>
    public const int HeaderBytes = 16;

    /// <summary>The GGUF word (0..31: chunk·8 + word in chunk) held by stored word <paramref name="stored"/> (0..31: half·16 + L).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int GgufWord(int stored)
    {
        int k = stored >> 4, lane = stored & 15;
        return (8 * (lane & 3)) + (2 * (lane >> 2)) + k;
    }

    /// <summary>The stored word holding GGUF word <paramref name="gguf"/> (the inverse of <see cref="GgufWord"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int StoredWord(int gguf)
    {
        int c = gguf >> 3, m = gguf & 7;
        return (16 * (m & 1)) + c + (4 * (m >> 1));
    }

    /// <summary>
    /// Position in <see cref="Q8KActivations.K4Order"/> (within a 256-value block) of value <paramref name="value"/>
    /// (0..255, GGUF order): code vector <c>2k + nibble</c> (64 bytes each), word L, byte i.
    /// </summary>
    public static int ActivationPosition(int value)
    {
        int c = value >> 6, nibble = (value >> 5) & 1, l = value & 31;
        int stored = StoredWord((8 * c) + (l >> 2));
        int k = stored >> 4, lane = stored & 15;
        return (64 * ((2 * k) + nibble)) + (4 * lane) + (l & 3);
    }

    /// <summary>Moves one GGUF block (144 bytes) into <paramref name="stored"/> in this layout.</summary>
    public static void StoreBlock(ReadOnlySpan<byte> gguf, Span<byte> stored)
    {
        gguf[..HeaderBytes].CopyTo(stored);
        for (int s = 0; s < 32; s++) gguf.Slice(HeaderBytes + (4 * GgufWord(s)), 4).CopyTo(stored.Slice(HeaderBytes + (4 * s), 4));
    }

    /// <summary>One stored block (144 bytes) back in GGUF order.</summary>
    public static void LoadBlock(ReadOnlySpan<byte> stored, Span<byte> gguf)
    {
        stored[..HeaderBytes].CopyTo(gguf);
        for (int s = 0; s < 32; s++) stored.Slice(HeaderBytes + (4 * s), 4).CopyTo(gguf.Slice(HeaderBytes + (4 * GgufWord(s)), 4));
    }

    /// <summary>GGUF chunk <paramref name="c"/> (32 bytes) of a block's stored nibbles <paramref name="qs"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<byte> LoadChunk(byte* qs, int c)
    {
        uint* word = (uint*)qs + c;
        // Words m = 0..7 of chunk c are stored words c + 4·(m / 2) + 16·(m mod 2).
        return Vector256.Create(word[0], word[16], word[4], word[20], word[8], word[24], word[12], word[28]).AsByte();
    }
}
