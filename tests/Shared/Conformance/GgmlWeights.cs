using QuickSilver.Engine.Loading;
using QuickSilver.Testing.LlamaCpp;

namespace QuickSilver.Testing.Conformance;

/// <summary>
/// Tensors of a GGUF decoded by llama.cpp's own <c>to_float</c> (not by the engine's decoders), widened to float64: the
/// weights an independent reference forward runs on.
/// </summary>
internal static class GgmlWeights
{
    /// <summary>Tensor <paramref name="name"/> row-major in its PyTorch shape, or null when absent.</summary>
    public static double[]? TryRead(GgufFile file, string name)
    {
        if (!file.TryGetTensor(name, out GgufTensorInfo? info)) return null;
        long[] shape = info.Shape;
        long columns = shape[^1], rows = info.ElementCount / columns;
        long bytes = info.Type == GgufTensorType.F32 ? info.ElementCount * 4 : GgmlReference.RowSize(info.Type, columns) * rows;
        var raw = new byte[bytes];
        using (FileStream stream = File.OpenRead(file.Path))
        {
            stream.Position = file.DataOffset + info.Offset;
            stream.ReadExactly(raw);
        }
        float[] values = info.Type == GgufTensorType.F32
            ? [.. Enumerable.Range(0, raw.Length / 4).Select(i => BitConverter.ToSingle(raw, 4 * i))]
            : GgmlReference.Dequantize(info.Type, raw);
        return [.. values.Select(v => (double)v)];
    }

    /// <summary>Tensor <paramref name="name"/> row-major in its PyTorch shape.</summary>
    /// <exception cref="InvalidDataException">The tensor is missing.</exception>
    public static double[] Read(GgufFile file, string name) =>
        TryRead(file, name) ?? throw new InvalidDataException($"{file.Path}: tensor '{name}' is missing.");
}
