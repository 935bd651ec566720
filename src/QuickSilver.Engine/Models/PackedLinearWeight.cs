using System.Runtime.InteropServices;
using QuickSilver.Engine.Kernels;
using TorchSharp;

namespace QuickSilver.Engine.Models;

/// <summary>
/// A weight kept in ggml blocks (<see cref="QuantizedMatrix"/>) and multiplied by the managed kernels: activations are
/// quantized per 32-value block to 8 bits, as llama.cpp multiplies these formats, then <see cref="QuantizedMatMul"/> runs.
/// CPU tensors only.
/// </summary>
public sealed class PackedLinearWeight : LinearWeight
{
    [ThreadStatic] private static Q8Activations? t_activations;

    /// <summary>Wraps <paramref name="matrix"/>.</summary>
    /// <param name="matrix">The blocks.</param>
    /// <param name="quantizeActivations">
    /// True (default): activations quantized per block to 8 bits, as llama.cpp multiplies these formats. False: float32
    /// activations against blocks decoded on the fly, equal to a float product on the decoded weights up to float rounding.
    /// </param>
    public PackedLinearWeight(QuantizedMatrix matrix, bool quantizeActivations = true)
    {
        ArgumentNullException.ThrowIfNull(matrix);
        (Matrix, QuantizeActivations) = (matrix, quantizeActivations);
    }

    /// <summary>Whether activations are quantized to 8 bits before the product.</summary>
    public bool QuantizeActivations { get; }

    /// <summary>The blocks.</summary>
    public QuantizedMatrix Matrix { get; }

    /// <inheritdoc />
    public override long OutFeatures => Matrix.Rows;

    /// <inheritdoc />
    public override long InFeatures => Matrix.Columns;

    /// <inheritdoc />
    public override string Format => Matrix.Type.ToString();

    /// <inheritdoc />
    public override long StorageBytes => Matrix.ByteSize;

    /// <inheritdoc />
    public override torch.Tensor Apply(torch.Tensor x, torch.Tensor? bias = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.device_type != DeviceType.CPU) throw new NotSupportedException("Quantized weights run on the CPU only; load with float weights for another device.");
        long[] shape = x.shape;
        if (shape[^1] != InFeatures) throw new ArgumentException($"Input has {shape[^1]} features but the weight expects {InFeatures}.", nameof(x));
        using var scope = torch.NewDisposeScope();
        long n = x.NumberOfElements / InFeatures;
        var flat = x.reshape(n, InFeatures).to(torch.float32).contiguous(); // (N, in)
        var y = torch.empty(n, OutFeatures, torch.float32); // (N, out)
        if (QuantizeActivations)
        {
            var activations = t_activations ??= new Q8Activations();
            activations.Quantize(MemoryMarshal.Cast<byte, float>(flat.bytes), (int)n, (int)InFeatures);
            QuantizedMatMul.Multiply(Matrix, activations, MemoryMarshal.Cast<byte, float>(y.bytes));
        }
        else
        {
            QuantizedMatMul.MultiplyExact(Matrix, MemoryMarshal.Cast<byte, float>(flat.bytes), (int)n, MemoryMarshal.Cast<byte, float>(y.bytes),
                KernelSettings.Isa != KernelIsa.Scalar, KernelSettings.Threads);
        }
        if (bias is not null) y.add_(bias);
        shape[^1] = OutFeatures;
        return y.view(shape).MoveToOuterDisposeScope(); // (…, out)
    }

    /// <summary>Rows <paramref name="ids"/> (any shape) decoded to float32: an embedding lookup, (…) → (…, in).</summary>
    public torch.Tensor GatherRows(torch.Tensor ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        long[] idValues = ids.reshape(-1).to(torch.int64).data<long>().ToArray();
        var values = new float[idValues.LongLength * InFeatures];
        for (int i = 0; i < idValues.Length; i++)
        {
            if ((ulong)idValues[i] >= (ulong)OutFeatures) throw new ArgumentOutOfRangeException(nameof(ids), $"Row {idValues[i]} is outside [0, {OutFeatures}).");
            Matrix.DequantizeRow((int)idValues[i], values.AsSpan((int)(i * InFeatures), (int)InFeatures));
        }
        return torch.tensor(values, [.. ids.shape, InFeatures], torch.float32);
    }

    /// <inheritdoc />
    public override torch.Tensor ToDense() => torch.tensor(Matrix.Dequantize(), [OutFeatures, InFeatures], torch.float32);

    /// <inheritdoc />
    public override LinearWeight Rows(long start, long count) => new PackedLinearWeight(Matrix.SliceRows(checked((int)start), checked((int)count)), QuantizeActivations);
}
