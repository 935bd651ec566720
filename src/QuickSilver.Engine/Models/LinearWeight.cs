using TorchSharp;

namespace QuickSilver.Engine.Models;

/// <summary>
/// The weight of a linear projection (out × in), however it is held: a float tensor multiplied by libtorch, or ggml
/// blocks multiplied by the managed kernels. Blocks call <see cref="Apply"/> and never ask which.
/// </summary>
public abstract class LinearWeight : IDisposable
{
    /// <summary>Output features (rows).</summary>
    public abstract long OutFeatures { get; }

    /// <summary>Input features (columns).</summary>
    public abstract long InFeatures { get; }

    /// <summary>How the weight is held, e.g. "F32", "Q8_0", or "Q4_0+Q8_0" for stacked parts.</summary>
    public abstract string Format { get; }

    /// <summary>Bytes of weight data held.</summary>
    public abstract long StorageBytes { get; }

    /// <summary>x (…, in) → x·Wᵀ + bias (…, out), float32.</summary>
    public abstract torch.Tensor Apply(torch.Tensor x, torch.Tensor? bias = null);

    /// <summary>
    /// One activation row: <paramref name="y"/> (out) = W·<paramref name="x"/> (in), no bias, on the CPU. The decode step's
    /// product without tensors; formats with a managed kernel override it, others go through <see cref="Apply"/>.
    /// </summary>
    internal virtual void ApplyRow(ReadOnlySpan<float> x, Span<float> y)
    {
        using var scope = torch.NewDisposeScope();
        var input = torch.tensor(x[..(int)InFeatures].ToArray(), [1, InFeatures], torch.float32);
        var output = Apply(input).to(torch.float32).contiguous();
        System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(output.bytes)[..(int)OutFeatures].CopyTo(y);
    }

    /// <summary>
    /// <paramref name="n"/> activation rows (n × in) into <paramref name="y"/> (n × out): the batched decode product, one
    /// row per sequence. Each row's result equals <see cref="ApplyRow"/> on that row alone bit for bit (the per-row
    /// invariant); formats with a multi-row kernel read the weights once for all rows, others run row by row.
    /// </summary>
    internal virtual void ApplyRows(ReadOnlySpan<float> x, int n, Span<float> y)
    {
        int inFeatures = (int)InFeatures, outFeatures = (int)OutFeatures;
        for (int i = 0; i < n; i++) ApplyRow(x.Slice(i * inFeatures, inFeatures), y.Slice(i * outFeatures, outFeatures));
    }

    /// <summary>The weight as a float32 tensor (out, in): exact for float weights, the decoded blocks otherwise. The caller owns it.</summary>
    public abstract torch.Tensor ToDense();

    /// <summary>A view of rows [<paramref name="start"/>, start + <paramref name="count"/>) sharing this weight's storage; disposing it frees nothing shared.</summary>
    public abstract LinearWeight Rows(long start, long count);

    /// <summary>Stacks weights of one width along the rows, taking ownership of <paramref name="parts"/>.</summary>
    public static LinearWeight Concat(IReadOnlyList<LinearWeight> parts)
    {
        ArgumentNullException.ThrowIfNull(parts);
        if (parts.Count == 0) throw new ArgumentException("Nothing to stack.", nameof(parts));
        if (parts.Count == 1) return parts[0];
        if (parts.Any(p => p.InFeatures != parts[0].InFeatures))
            throw new ArgumentException("Stacked weights must have the same number of input features.", nameof(parts));
        if (parts.All(p => p is DenseLinearWeight))
        {
            var dense = torch.cat(parts.Select(p => ((DenseLinearWeight)p).Weight).ToArray(), 0);
            foreach (var p in parts) p.Dispose();
            return new DenseLinearWeight(dense);
        }
        if (parts.All(p => p is PackedLinearWeight q && q.QuantizeActivations == ((PackedLinearWeight)parts[0]).QuantizeActivations))
        {
            // Packed parts stay where they are: the stacked weight runs each part into its own output columns.
            return new PackedLinearWeight(parts.SelectMany(p => ((PackedLinearWeight)p).Parts).ToArray(), ((PackedLinearWeight)parts[0]).QuantizeActivations);
        }
        if (parts.All(p => p is BitPlaneLinearWeight))
            return new BitPlaneLinearWeight(parts.SelectMany(p => ((BitPlaneLinearWeight)p).Parts).ToArray());
        return new StackedLinearWeight(parts, ownsParts: true);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Frees held storage.</summary>
    protected virtual void Dispose(bool disposing) { }
}
