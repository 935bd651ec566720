using Microsoft.Win32.SafeHandles;

namespace QuickSilver.Engine.Loading;

/// <summary>
/// Where a deferred <see cref="HostTensor"/>'s values live: a row range of one GGUF tensor, optionally in another row
/// order. Nothing is read until <see cref="ReadInto"/>, which decodes straight into the caller's memory (the model's own
/// tensor storage), so loading a float file holds each weight once instead of as a float[] plus its torch copy.
/// </summary>
internal sealed class GgufTensorSlice
{
    /// <summary>Rows [<paramref name="firstRow"/>, + <paramref name="rows"/>) of <paramref name="tensor"/>; <paramref name="rowOrder"/> gives,
    /// for each destination row, its source row within the slice (null: in order). Checks type and bounds now, so a bad
    /// file fails at load, naming the file and tensor.</summary>
    /// <exception cref="ModelFormatException">The type cannot be decoded, or the rows end beyond the end of the file.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The rows or the order are outside the tensor.</exception>
    public GgufTensorSlice(GgufFile file, GgufTensorInfo tensor, long firstRow, long rows, int[]? rowOrder = null)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentNullException.ThrowIfNull(tensor);
        long width = GgufFile.RowWidth(tensor), total = tensor.ElementCount / Math.Max(1, width);
        if (firstRow < 0 || rows < 0 || firstRow + rows > total)
            throw new ArgumentOutOfRangeException(nameof(firstRow), $"Rows [{firstRow}, {firstRow + rows}) are outside tensor '{tensor.Name}' ({total} rows) in '{file.Path}'.");
        if (rowOrder is not null && (rowOrder.Length != rows || rowOrder.Any(r => (uint)r >= (ulong)rows)))
            throw new ArgumentOutOfRangeException(nameof(rowOrder), $"The row order for tensor '{tensor.Name}' in '{file.Path}' must name each of its {rows} rows.");
        long end = file.DataOffset + tensor.Offset + ((firstRow + rows) * file.RowBytes(tensor, file.FormatOf(tensor)));
        if (end > file.FileLength)
            throw new ModelFormatException(file.Path, $"tensor '{tensor.Name}' ends at byte {end}, beyond the end of the file ({file.FileLength} bytes).");
        File = file;
        Tensor = tensor;
        FirstRow = firstRow;
        Rows = rows;
        Width = width;
        RowOrder = rowOrder;
    }

    public GgufFile File { get; }
    public GgufTensorInfo Tensor { get; }
    public long FirstRow { get; }
    public long Rows { get; }
    public long Width { get; }
    public int[]? RowOrder { get; }

    /// <summary>The sub-range [<paramref name="start"/>, + <paramref name="rows"/>) of this slice's rows (in order only).</summary>
    public GgufTensorSlice SliceRows(long start, long rows)
    {
        if (RowOrder is not null) throw new InvalidOperationException($"Tensor '{Tensor.Name}': a reordered slice cannot be cut.");
        if (start < 0 || rows < 0 || start + rows > Rows)
            throw new ArgumentOutOfRangeException(nameof(start), $"Rows [{start}, {start + rows}) are outside the {Rows} rows of tensor '{Tensor.Name}' in '{File.Path}'.");
        return new GgufTensorSlice(File, Tensor, FirstRow + start, rows);
    }

    /// <summary>Decodes the slice into <paramref name="destination"/> (exactly <see cref="Rows"/> × <see cref="Width"/> values).</summary>
    public void ReadInto(Span<float> destination)
    {
        if (destination.Length != Rows * Width)
            throw new ArgumentException($"Tensor '{Tensor.Name}' slice holds {Rows * Width} values; the destination has {destination.Length}.", nameof(destination));
        using SafeFileHandle handle = FileSlice.OpenRead(File.Path);
        if (RowOrder is null)
        {
            File.ReadTensorRows(handle, Tensor, FirstRow, destination);
            return;
        }
        int width = (int)Width;
        for (int row = 0; row < RowOrder.Length;)
        {
            // Read runs of consecutive source rows in one call.
            int run = 1;
            while (row + run < RowOrder.Length && RowOrder[row + run] == RowOrder[row] + run) run++;
            File.ReadTensorRows(handle, Tensor, FirstRow + RowOrder[row], destination.Slice(row * width, run * width));
            row += run;
        }
    }
}
