using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace QuickSilver.Engine.Kernels;

/// <summary>
/// Where a Q4_0 row's nibble bytes sit in <see cref="QuantizedMatrix.Codes"/> (same bytes as GGUF, moved within the row).
/// Each whole group of 16 blocks (256 bytes) is stored transposed by 4-byte words: word k of block j (bytes 4k..4k+3,
/// elements 4k..4k+3 in the low nibbles and 16+4k..16+4k+3 in the high ones) at 64·k + 4·j of the group. One 64-byte
/// load then holds word k of 16 blocks, so the decode kernel's integer dots end with one int32 lane per block and need
/// no lane reduction (a third of the old kernel's vector work). The last <c>nb mod 16</c> blocks keep the GGUF order,
/// 16 bytes each. The permutation never crosses a row, so row views, stacking and row permutations copy rows unchanged.
/// </summary>
internal static unsafe class Q4_0Layout
{
    /// <summary>Blocks per transposed group.</summary>
    public const int GroupBlocks = 16;

    /// <summary>Bytes per transposed group (16 blocks × 16 bytes).</summary>
    public const int GroupBytes = 256;

    /// <summary>Offset within a row of <paramref name="nb"/> blocks of byte <paramref name="i"/> (0..15) of block <paramref name="b"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Offset(int nb, int b, int i)
    {
        if (b >= nb / GroupBlocks * GroupBlocks) return (b * 16) + i;
        return (b / GroupBlocks * GroupBytes) + (i / 4 * 64) + (b % GroupBlocks * 4) + (i % 4);
    }

    /// <summary>Block <paramref name="b"/>'s 16 bytes in GGUF order, from a row of <paramref name="nb"/> blocks as stored.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<byte> LoadBlock(byte* row, int nb, int b)
    {
        if (b >= nb / GroupBlocks * GroupBlocks) return Vector128.Load(row + (b * 16));
        uint* word = (uint*)(row + (b / GroupBlocks * GroupBytes) + (b % GroupBlocks * 4));
        return Vector128.Create(word[0], word[16], word[32], word[48]).AsByte();
    }

    /// <summary>Stores one block's 16 GGUF-order bytes into a row of <paramref name="nb"/> blocks.</summary>
    public static void StoreBlock(ReadOnlySpan<byte> block, Span<byte> row, int nb, int b)
    {
        if (b >= nb / GroupBlocks * GroupBlocks)
        {
            block[..16].CopyTo(row.Slice(b * 16, 16));
            return;
        }
        int at = (b / GroupBlocks * GroupBytes) + (b % GroupBlocks * 4);
        for (int k = 0; k < 4; k++) block.Slice(4 * k, 4).CopyTo(row.Slice(at + (64 * k), 4));
    }
}
