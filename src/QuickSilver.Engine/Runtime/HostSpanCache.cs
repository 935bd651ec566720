using TorchSharp;

namespace QuickSilver.Engine.Runtime;

/// <summary>
/// A float32 tensor's host span, looked up once: <see cref="HostMemory.Span"/> asks libtorch for the device, layout, size and
/// data pointer (several P/Invokes and an array per call), which the decode row path paid for every bias of every row.
/// A tensor's storage never moves while its owner holds it, so the owner keeps this beside the tensor and reads it per row.
/// </summary>
internal unsafe struct HostSpanCache
{
    private float* _pointer;
    private int _length;

    /// <summary>The values of <paramref name="tensor"/> (the same tensor on every call: the first call's address is kept).</summary>
    public Span<float> Get(torch.Tensor tensor)
    {
        if (_pointer is null)
        {
            var span = HostMemory.Span(tensor);
            if (span.IsEmpty) return span;
            fixed (float* p = span) _pointer = p;
            _length = span.Length;
        }
        return new Span<float>(_pointer, _length);
    }
}
