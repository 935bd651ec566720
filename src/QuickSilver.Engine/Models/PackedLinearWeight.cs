using System.Runtime.InteropServices;
using QuickSilver.Engine.Kernels;
using QuickSilver.Engine.Runtime;
using TorchSharp;

namespace QuickSilver.Engine.Models;

/// <summary>
/// A weight kept in ggml blocks (<see cref="QuantizedMatrix"/>, possibly several row-stacked parts such as q|k|v, each in
/// its own format, never copied together) and multiplied by the managed kernels: activations are quantized to 8 bits once
/// per form the parts need (32-value blocks for Q8_0/Q4_x/Q5_x/IQ4_NL, 256-value Q8_K blocks for the k-quants and IQ4_XS),
/// as llama.cpp multiplies these formats, then every part writes its columns of the output. F16/BF16 parts multiply float32
/// activations. CPU only.
/// </summary>
public sealed class PackedLinearWeight : LinearWeight
{
    [ThreadStatic] private static Q8Activations? t_activations;
    [ThreadStatic] private static Q8KActivations? t_kActivations;
    private readonly QuantizedMatrix[] _parts;
    private readonly bool _needsBlocks32, _needsBlocks256; // the activation forms the parts multiply

    /// <summary>Wraps <paramref name="matrix"/>.</summary>
    /// <param name="matrix">The blocks.</param>
    /// <param name="quantizeActivations">
    /// True (default): activations quantized per block to 8 bits, as llama.cpp multiplies these formats. False: float32
    /// activations against blocks decoded on the fly, equal to a float product on the decoded weights up to float rounding.
    /// </param>
    public PackedLinearWeight(QuantizedMatrix matrix, bool quantizeActivations = true) : this([matrix], quantizeActivations) { }

    /// <summary>Row-stacks <paramref name="parts"/> (same input width) without copying them.</summary>
    public PackedLinearWeight(IReadOnlyList<QuantizedMatrix> parts, bool quantizeActivations = true)
    {
        ArgumentNullException.ThrowIfNull(parts);
        if (parts.Count == 0 || parts.Any(p => p is null || p.Columns != parts[0].Columns))
            throw new ArgumentException("Need at least one part, all with the same number of columns.", nameof(parts));
        (_parts, QuantizeActivations) = (parts.ToArray(), quantizeActivations);
        _needsBlocks256 = _parts.Any(p => KQuantDot.Handles(p.Type));
        _needsBlocks32 = _parts.Any(p => !KQuantDot.Handles(p.Type) && !QuantizedMatrix.IsHalfPrecision(p.Type));
    }

    /// <summary>The blocks of a single-part weight (e.g. an embedding table).</summary>
    /// <exception cref="InvalidOperationException">The weight is stacked from several parts (see <see cref="Parts"/>).</exception>
    public QuantizedMatrix Matrix => _parts.Length == 1 ? _parts[0] : throw new InvalidOperationException("A stacked weight has several parts; use Parts.");

    /// <summary>The row-stacked parts, top to bottom.</summary>
    public IReadOnlyList<QuantizedMatrix> Parts => _parts;

    /// <summary>Whether activations are quantized to 8 bits before the product.</summary>
    public bool QuantizeActivations { get; }

    /// <inheritdoc />
    public override long OutFeatures => _parts.Sum(p => (long)p.Rows);

    /// <inheritdoc />
    public override long InFeatures => _parts[0].Columns;

    /// <inheritdoc />
    public override string Format => string.Join("+", _parts.Select(p => p.Type.ToString()).Distinct());

    /// <inheritdoc />
    public override long StorageBytes => _parts.Sum(p => p.ByteSize);

    /// <inheritdoc />
    public override torch.Tensor Apply(torch.Tensor x, torch.Tensor? bias = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.device_type != DeviceType.CPU) throw new NotSupportedException("Quantized weights run on the CPU only; load with float weights for another device.");
        long[] shape = x.shape;
        if (shape[^1] != InFeatures) throw new ArgumentException($"Input has {shape[^1]} features but the weight expects {InFeatures}.", nameof(x));
        using var scope = torch.NewDisposeScope();
        long n = x.NumberOfElements / InFeatures;
        int outFeatures = (int)OutFeatures;
        var flat = x.reshape(n, InFeatures).to(torch.float32).contiguous(); // (N, in)
        var y = torch.empty(n, outFeatures, torch.float32); // (N, out)
        var input = MemoryMarshal.Cast<byte, float>(flat.bytes);
        var output = MemoryMarshal.Cast<byte, float>(y.bytes);
        // A prefill's rows in pieces: the 8-bit activations are sized by the piece, not the prompt, with the same result (see RowChunks).
        foreach (var (first, count) in RowChunks.Of(n))
            Multiply(input.Slice((int)(first * InFeatures), (int)(count * InFeatures)), (int)count, output.Slice((int)(first * outFeatures), (int)(count * outFeatures)));
        if (bias is not null) TensorScalars.AddInPlace(y, bias);
        shape[^1] = outFeatures;
        return y.view(shape).MoveToOuterDisposeScope(); // (…, out)
    }

    /// <summary>
    /// <paramref name="n"/> host rows (n × in) into <paramref name="output"/> (n × out) without tensors: what
    /// <see cref="Apply"/> computes for one piece of rows (same kernels, same bits), for callers that keep their own buffers.
    /// </summary>
    internal void MultiplyRows(ReadOnlySpan<float> input, int n, Span<float> output)
    {
        if (input.Length < (long)n * InFeatures || output.Length < (long)n * OutFeatures) throw new ArgumentException("Rows or output are too short.");
        Multiply(input, n, output);
    }

    /// <summary><paramref name="n"/> rows of <paramref name="input"/> (n × in) into <paramref name="output"/> (n × out), every part into its columns.</summary>
    private void Multiply(ReadOnlySpan<float> input, int n, Span<float> output)
    {
        int outFeatures = (int)OutFeatures;
        if (QuantizeActivations)
        {
            // Each activation form (32-value blocks, 256-value Q8_K blocks) is made at most once for all parts.
            Q8Activations? blocks32 = null;
            Q8KActivations? blocks256 = null;
            int offset = 0;
            foreach (var part in _parts)
            {
                long start;
                if (QuantizedMatrix.IsHalfPrecision(part.Type))
                {
                    start = OpProfile.Start();
                    QuantizedMatMul.MultiplyExact(part, input, n, output, KernelSettings.Isa != KernelIsa.Scalar, KernelSettings.Threads, outFeatures, offset);
                }
                else if (KQuantDot.Handles(part.Type))
                {
                    if (blocks256 is null)
                    {
                        start = OpProfile.Start();
                        blocks256 = t_kActivations ??= new Q8KActivations();
                        blocks256.Quantize(input, n, (int)InFeatures);
                        OpProfile.Stop("quantize activations", start);
                    }
                    start = OpProfile.Start();
                    QuantizedMatMul.Multiply(part, blocks256, output, KernelSettings.Isa, KernelSettings.Threads, outFeatures, offset);
                }
                else
                {
                    if (blocks32 is null)
                    {
                        start = OpProfile.Start();
                        blocks32 = t_activations ??= new Q8Activations();
                        blocks32.Quantize(input, n, (int)InFeatures);
                        OpProfile.Stop("quantize activations", start);
                    }
                    start = OpProfile.Start();
                    QuantizedMatMul.Multiply(part, blocks32, output, KernelSettings.Isa, KernelSettings.Threads, outFeatures, offset);
                }
                OpProfile.Stop($"{part.Type} matmul (managed)", start);
                offset += part.Rows;
            }
        }
        else
        {
            int offset = 0;
            foreach (var part in _parts)
            {
                long start = OpProfile.Start();
                QuantizedMatMul.MultiplyExact(part, input, n, output, KernelSettings.Isa != KernelIsa.Scalar, KernelSettings.Threads, outFeatures, offset);
                OpProfile.Stop($"{part.Type} exact matmul (managed)", start);
                offset += part.Rows;
            }
        }
    }

    /// <inheritdoc />
    internal override void ApplyRow(ReadOnlySpan<float> x, Span<float> y) => ApplyRows(x, 1, y);

    /// <inheritdoc />
    internal override void ApplyRows(ReadOnlySpan<float> x, int n, Span<float> y)
    {
        // n rows go through the decode kernels together (weights streamed once for all rows); each row's result is the
        // one it gets alone, since every (weight row, activation row) dot is computed on its own.
        int outFeatures = (int)OutFeatures, inFeatures = (int)InFeatures;
        if (x.Length < (long)n * inFeatures || y.Length < (long)n * outFeatures) throw new ArgumentException("Rows or output are too short.");
        var plan = _rowPlan;
        if (plan is null || plan.Threads != KernelSettings.Threads) _rowPlan = plan = PackedRowPlan.Create(_parts, KernelSettings.Threads);
        var input = x[..(n * inFeatures)];
        if (QuantizeActivations)
        {
            Q8Activations? blocks32 = null;
            Q8KActivations? blocks256 = null;
            if (_needsBlocks256)
            {
                blocks256 = t_kActivations ??= new Q8KActivations();
                blocks256.Quantize(input, n, inFeatures);
            }
            if (_needsBlocks32)
            {
                blocks32 = t_activations ??= new Q8Activations();
                blocks32.Quantize(input, n, inFeatures);
            }
            plan.Multiply(input, n, blocks32, blocks256, y[..(n * outFeatures)], outFeatures, KernelSettings.Isa);
        }
        else plan.MultiplyExact(input, n, y[..(n * outFeatures)], outFeatures, KernelSettings.Isa != KernelIsa.Scalar);
    }

    private PackedRowPlan? _rowPlan;

    /// <summary>Rows <paramref name="ids"/> (any shape) decoded to float32: an embedding lookup, (…) → (…, in).</summary>
    /// <remarks>
    /// Decoded straight into the result's storage: a managed copy of a prompt's rows (2 MB for 512 tokens of width 1024, and
    /// the same again when handed to libtorch) would go through the GC's gen0 budget, whose pages then stay resident.
    /// </remarks>
    public unsafe torch.Tensor GatherRows(torch.Tensor ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        using var flat = ids.reshape(-1).to(torch.int64, torch.CPU).contiguous();
        long count = flat.NumberOfElements;
        long* idValues = count == 0 ? null : HostMemory.Longs(flat);
        for (long i = 0; i < count; i++)
            if ((ulong)idValues[i] >= (ulong)OutFeatures) throw new ArgumentOutOfRangeException(nameof(ids), $"Row {idValues[i]} is outside [0, {OutFeatures}).");
        var result = torch.empty([.. ids.shape, InFeatures], torch.float32);
        if (count == 0) return result;
        float* values = HostMemory.Floats(result);
        int width = (int)InFeatures;
        for (long i = 0; i < count; i++)
        {
            var (part, row) = Locate((int)idValues[i]);
            part.DequantizeRow(row, new Span<float>(values + (i * width), width));
        }
        return result;
    }

    /// <summary>Row <paramref name="row"/> decoded to float32 into <paramref name="destination"/> (in): one embedding lookup.</summary>
    internal void DecodeRow(int row, Span<float> destination)
    {
        if ((uint)row >= (ulong)OutFeatures) throw new ArgumentOutOfRangeException(nameof(row), $"Row {row} is outside [0, {OutFeatures}).");
        var (part, local) = Locate(row);
        part.DequantizeRow(local, destination[..(int)InFeatures]);
    }

    /// <inheritdoc />
    public override torch.Tensor ToDense()
    {
        var values = _parts.SelectMany(p => p.Dequantize()).ToArray();
        return torch.tensor(values, [OutFeatures, InFeatures], torch.float32);
    }

    /// <inheritdoc />
    public override LinearWeight Rows(long start, long count)
    {
        var chosen = new List<QuantizedMatrix>();
        long at = 0;
        foreach (var part in _parts)
        {
            long from = Math.Max(start, at), to = Math.Min(start + count, at + part.Rows);
            if (from < to) chosen.Add(from == at && to == at + part.Rows ? part : part.SliceRows((int)(from - at), (int)(to - from)));
            at += part.Rows;
        }
        if (start < 0 || count <= 0 || start + count > at) throw new ArgumentOutOfRangeException(nameof(count), $"Rows [{start}, {start + count}) are outside [0, {at}).");
        return new PackedLinearWeight(chosen, QuantizeActivations);
    }

    private (QuantizedMatrix Part, int Row) Locate(int row)
    {
        foreach (var part in _parts)
        {
            if (row < part.Rows) return (part, row);
            row -= part.Rows;
        }
        throw new ArgumentOutOfRangeException(nameof(row));
    }
}
