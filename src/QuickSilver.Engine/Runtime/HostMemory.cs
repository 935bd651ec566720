using TorchSharp;

namespace QuickSilver.Engine.Runtime;

/// <summary>
/// Raw pointers into contiguous CPU tensors, for the managed row kernels. A tensor's storage never moves while the
/// tensor lives, so a weight's pointer can be taken once and kept as long as its owner holds the tensor.
/// </summary>
internal static unsafe class HostMemory
{
    /// <summary>Whether <paramref name="tensor"/> is contiguous float32 in host memory.</summary>
    public static bool IsHostFloat32(torch.Tensor tensor) =>
        tensor.device_type == DeviceType.CPU && tensor.dtype == torch.ScalarType.Float32 && tensor.is_contiguous();

    /// <summary>The address of the first element (null for an empty tensor).</summary>
    /// <exception cref="ArgumentException">The tensor is not contiguous or not on the CPU.</exception>
    public static void* Pointer(torch.Tensor tensor)
    {
        if (tensor.device_type != DeviceType.CPU || !tensor.is_contiguous())
            throw new ArgumentException("Only a contiguous CPU tensor has a host pointer.", nameof(tensor));
        if (tensor.NumberOfElements == 0) return null;
        if (tensor.NumberOfElements * tensor.ElementSize <= int.MaxValue)
        {
            fixed (byte* p = tensor.bytes) return p;
        }
        // Spans are int-sized: the first element of a view starts where the tensor does.
        using var flat = tensor.view(-1);
        using var first = flat.narrow(0, 0, 1);
        fixed (byte* p = first.bytes) return p;
    }

    /// <summary>The float32 values of a contiguous CPU tensor.</summary>
    public static float* Floats(torch.Tensor tensor) =>
        tensor.dtype == torch.ScalarType.Float32 ? (float*)Pointer(tensor) : throw new ArgumentException($"Expected float32, got {tensor.dtype}.", nameof(tensor));

    /// <summary>The int64 values of a contiguous CPU tensor.</summary>
    public static long* Longs(torch.Tensor tensor) =>
        tensor.dtype == torch.ScalarType.Int64 ? (long*)Pointer(tensor) : throw new ArgumentException($"Expected int64, got {tensor.dtype}.", nameof(tensor));

    /// <summary>The values of a contiguous float32 CPU tensor as a span.</summary>
    public static Span<float> Span(torch.Tensor tensor) => new(Floats(tensor), checked((int)tensor.NumberOfElements));
}
