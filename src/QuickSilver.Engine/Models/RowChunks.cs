using QuickSilver.Engine.Kernels;

namespace QuickSilver.Engine.Models;

/// <summary>
/// Splits a long run of activation rows (a prefill's tokens) into pieces that the packed kernels multiply one after the
/// other with the same result as one call, so a product's temporaries (8-bit activations, an MLP's gate|up) are sized
/// by the piece, not by the prompt.
/// </summary>
/// <remarks>
/// The same result needs the per-row invariant of the packed kernels (a row's result does not depend on how many rows
/// are in the call) and the same kernel choice: every piece has at least <see cref="KernelSettings.GemmMinTokens"/>
/// rows, so a prompt that takes the GEMM whole takes it in every piece. Pieces also start at multiples of 64 rows, so
/// each row sits at the same place in the kernels' 4- and 16-token tiles as in the whole call, and the tail rows are
/// the same rows. Float weights multiplied by libtorch have no such guarantee and are never split.
/// </remarks>
internal static class RowChunks
{
    /// <summary>Rows per piece unless <see cref="KernelSettings.GemmMinTokens"/> asks for more.</summary>
    public const int DefaultRows = 128;

    private const int Alignment = 64;

    /// <summary>Rows per piece: <see cref="DefaultRows"/> or <see cref="KernelSettings.GemmMinTokens"/>, whichever is larger, rounded up to 64.</summary>
    public static long PieceRows => PieceRowsFor(DefaultRows);

    /// <summary>
    /// The pieces of <paramref name="rows"/> rows in order, as (start, count): one piece when fewer than two pieces' worth,
    /// otherwise pieces of <see cref="PieceRows"/> with the last one taking the remainder (between one and two pieces' worth).
    /// </summary>
    public static IEnumerable<(long Start, long Count)> Of(long rows) => Of(rows, PieceRows);

    /// <summary>
    /// As <see cref="Of(long)"/> with pieces of <paramref name="pieceRows"/> rows (a multiple of 64, at least
    /// <see cref="KernelSettings.GemmMinTokens"/>; see <see cref="PieceRowsFor"/>): a caller whose temporaries per row are wide
    /// (an MLP's gate|up) takes smaller pieces, with the same result.
    /// </summary>
    public static IEnumerable<(long Start, long Count)> Of(long rows, long pieceRows)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        if (pieceRows <= 0 || pieceRows % Alignment != 0 || pieceRows < KernelSettings.GemmMinTokens)
            throw new ArgumentOutOfRangeException(nameof(pieceRows), pieceRows, $"Pieces must be a positive multiple of {Alignment} rows and at least GemmMinTokens ({KernelSettings.GemmMinTokens}).");
        long piece = pieceRows, start = 0;
        while (rows - start >= 2 * piece)
        {
            yield return (start, piece);
            start += piece;
        }
        yield return (start, rows - start);
    }

    /// <summary>Rows per piece for a caller that wants <paramref name="wanted"/>: at least <see cref="KernelSettings.GemmMinTokens"/>, rounded up to 64.</summary>
    public static long PieceRowsFor(long wanted) => (Math.Max(Math.Max(wanted, 1), (long)KernelSettings.GemmMinTokens) + Alignment - 1) / Alignment * Alignment;

    /// <summary>Whether <paramref name="rows"/> rows are split at all.</summary>
    public static bool Splits(long rows) => rows >= 2 * PieceRows;
}
