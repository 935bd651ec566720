using System.Runtime.InteropServices;
using QuickSilver.Engine.Kernels;
using QuickSilver.Engine.Runtime;
using TorchSharp;

namespace QuickSilver.Engine.Models;

/// <summary>
/// An 8-bit weight held as nested bit planes (<see cref="BitPlaneMatrix"/>, possibly several row-stacked parts such as
/// q|k|v), multiplied by the plane kernels: each input row reads the planes of its width from <see cref="WeightPrecision"/>
/// (8 bits outside a scope), so a token the quantization policy gives 4 bits reads half the weight bytes. Activations are
/// quantized per 32-value block to 8 bits, as for <see cref="PackedLinearWeight"/>. CPU only.
/// </summary>
public sealed class BitPlaneLinearWeight : LinearWeight
{
    [ThreadStatic] private static PlaneActivations? t_activations;
    private static long s_bytesRead;
    private readonly BitPlaneMatrix[] _parts;

    /// <summary>Row-stacks <paramref name="parts"/> (same input width) without copying them.</summary>
    public BitPlaneLinearWeight(IReadOnlyList<BitPlaneMatrix> parts)
    {
        ArgumentNullException.ThrowIfNull(parts);
        if (parts.Count == 0 || parts.Any(p => p is null || p.Columns != parts[0].Columns))
            throw new ArgumentException("Need at least one part, all with the same number of columns.", nameof(parts));
        _parts = parts.ToArray();
    }

    /// <summary>
    /// Weight bytes the plane kernels of every <see cref="BitPlaneLinearWeight"/> have been asked to read since the process
    /// started (planes and block scales; per pass, the planes of its widest row): the traffic a benchmark divides by tokens.
    /// </summary>
    public static long TotalBytesRead => Interlocked.Read(ref s_bytesRead);

    /// <summary>
    /// <paramref name="weight"/> as bit planes when it is held in Q8_0 blocks (every part), else <paramref name="weight"/> itself.
    /// Takes ownership of <paramref name="weight"/>.
    /// </summary>
    public static LinearWeight FromQ8_0(LinearWeight weight)
    {
        ArgumentNullException.ThrowIfNull(weight);
        if (weight is not PackedLinearWeight packed || packed.Parts.Any(p => p.Type != Loading.GgufTensorType.Q8_0)) return weight;
        var planes = new BitPlaneLinearWeight(packed.Parts.Select(BitPlaneMatrix.FromQ8_0).ToArray());
        weight.Dispose();
        return planes;
    }

    /// <summary>The row-stacked parts, top to bottom.</summary>
    public IReadOnlyList<BitPlaneMatrix> Parts => _parts;

    /// <inheritdoc />
    public override long OutFeatures => _parts.Sum(p => (long)p.Rows);

    /// <inheritdoc />
    public override long InFeatures => _parts[0].Columns;

    /// <inheritdoc />
    public override string Format => "Q8_0 planes";

    /// <inheritdoc />
    public override long StorageBytes => _parts.Sum(p => p.ByteSize);

    /// <summary>Bytes one pass reads at <paramref name="bits"/> (8, 4 or 2).</summary>
    public long BytesRead(int bits) => _parts.Sum(p => p.BytesRead(bits));

    /// <inheritdoc />
    /// <exception cref="InvalidOperationException">A <see cref="WeightPrecision"/> scope is active whose row count differs from the input's.</exception>
    public override torch.Tensor Apply(torch.Tensor x, torch.Tensor? bias = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.device_type != DeviceType.CPU) throw new NotSupportedException("Bit-plane weights run on the CPU only; load without bit planes for another device.");
        long[] shape = x.shape;
        if (shape[^1] != InFeatures) throw new ArgumentException($"Input has {shape[^1]} features but the weight expects {InFeatures}.", nameof(x));
        using var scope = torch.NewDisposeScope();
        int n = (int)(x.NumberOfElements / InFeatures), outFeatures = (int)OutFeatures;
        int[] bits = RowBits(n);
        var flat = x.reshape(n, InFeatures).to(torch.float32).contiguous(); // (N, in)
        var y = torch.empty(n, outFeatures, torch.float32); // (N, out)
        var output = MemoryMarshal.Cast<byte, float>(y.bytes);
        long start = OpProfile.Start();
        var activations = t_activations ??= new PlaneActivations();
        activations.Quantize(MemoryMarshal.Cast<byte, float>(flat.bytes), n, (int)InFeatures);
        OpProfile.Stop("quantize activations", start);
        Multiply(activations, bits, output);
        if (bias is not null) TensorScalars.AddInPlace(y, bias);
        shape[^1] = outFeatures;
        return y.view(shape).MoveToOuterDisposeScope(); // (…, out)
    }

    /// <inheritdoc />
    internal override void ApplyRow(ReadOnlySpan<float> x, Span<float> y) => ApplyRows(x, 1, y);

    /// <inheritdoc />
    /// <exception cref="InvalidOperationException">A <see cref="WeightPrecision"/> scope is active whose row count differs from <paramref name="n"/>.</exception>
    internal override void ApplyRows(ReadOnlySpan<float> x, int n, Span<float> y)
    {
        // The decode row path: no tensors; each row's result is the one it gets alone (the kernels compute every pair alone).
        int inFeatures = (int)InFeatures, outFeatures = (int)OutFeatures;
        if (x.Length < (long)n * inFeatures || y.Length < (long)n * outFeatures) throw new ArgumentException("Rows or output are too short.");
        int[] bits = RowBits(n);
        long start = OpProfile.Start();
        var activations = t_activations ??= new PlaneActivations();
        activations.Quantize(x[..(n * inFeatures)], n, inFeatures);
        OpProfile.Stop("quantize activations", start);
        Multiply(activations, bits, y[..(n * outFeatures)]);
    }

    private void Multiply(PlaneActivations activations, int[] bits, Span<float> output)
    {
        int widest = bits.Max();
        long start = OpProfile.Start();
        PlaneMatMul.Multiply(_parts, activations, bits, output, KernelSettings.Isa, KernelSettings.Threads, (int)OutFeatures, 0);
        OpProfile.Stop($"Q8_0 {widest}-bit planes matmul (managed)", start);
        Interlocked.Add(ref s_bytesRead, BytesRead(widest));
    }

    private static readonly int[] EightBitsOneRow = [8];

    private static int[] RowBits(int n)
    {
        int[]? ambient = WeightPrecision.RowBits;
        if (ambient is null && n == 1) return EightBitsOneRow;
        var bits = new int[n];
        if (ambient is null) { Array.Fill(bits, 8); return bits; }
        if (ambient.Length != n)
            throw new InvalidOperationException($"The weight precision scope has {ambient.Length} row widths but the input has {n} rows.");
        for (int i = 0; i < n; i++) bits[i] = ambient[i] >= 8 ? 8 : ambient[i] >= 4 ? 4 : 2;
        return bits;
    }

    /// <inheritdoc />
    public override torch.Tensor ToDense()
    {
        var values = _parts.SelectMany(p => p.Dequantize(8)).ToArray();
        return torch.tensor(values, [OutFeatures, InFeatures], torch.float32);
    }

    /// <inheritdoc />
    public override LinearWeight Rows(long start, long count)
    {
        var chosen = new List<BitPlaneMatrix>();
        long at = 0;
        foreach (var part in _parts)
        {
            long from = Math.Max(start, at), to = Math.Min(start + count, at + part.Rows);
            if (from < to) chosen.Add(from == at && to == at + part.Rows ? part : part.SliceRows((int)(from - at), (int)(to - from)));
            at += part.Rows;
        }
        if (start < 0 || count <= 0 || start + count > at) throw new ArgumentOutOfRangeException(nameof(count), $"Rows [{start}, {start + count}) are outside [0, {at}).");
        return new BitPlaneLinearWeight(chosen);
    }
}
