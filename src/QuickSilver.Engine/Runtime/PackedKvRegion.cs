using System.Runtime.InteropServices;
using TorchSharp;

namespace QuickSilver.Engine.Runtime;

/// <summary>
/// K/V entries stored at a fixed bit width: codes packed 8/bits to a byte along the head dimension, with a
/// float16 scale and minimum per (entry, head, group). The storage of record; <see cref="LayerKvCache"/> dequantizes each
/// entry once, when written (<see cref="DequantizeLast"/>), into the float buffers attention reads.
/// </summary>
internal sealed class PackedKvRegion : IDisposable
{
    private readonly int _bits, _kvHeads, _headDim, _group, _groups, _bytesPerRow, _maxEntries;
    private readonly torch.Device _device;
    private torch.Tensor _keyCodes, _valueCodes;     // (1, nkv, cap, hs·bits/8) uint8
    private torch.Tensor _keyScale, _keyMin;         // (1, nkv, cap, groups)
    private torch.Tensor _valueScale, _valueMin;
    private torch.Tensor _positions;                 // (cap) int64
    private int _capacity;

    public PackedKvRegion(int bits, int kvHeads, int headDim, int groupSize, int maxEntries, torch.Device device)
    {
        if (device.type != DeviceType.CPU) throw new NotSupportedException("Packed K/V runs on the CPU only; disable Quantization.QuantizeKv for another device.");
        if (headDim * bits % 8 != 0) throw new ArgumentException($"Head size {headDim} cannot be packed at {bits} bits.", nameof(bits));
        (_bits, _kvHeads, _headDim, _maxEntries, _device) = (bits, kvHeads, headDim, maxEntries, device);
        _group = GroupQuantizer.EffectiveGroupSize(headDim, groupSize);
        _groups = headDim / _group;
        _bytesPerRow = headDim * bits / 8;
        _capacity = Math.Min(16, maxEntries);
        (_keyCodes, _valueCodes, _keyScale, _keyMin, _valueScale, _valueMin, _positions) = Allocate(_capacity);
    }

    public int Count { get; private set; }

    public int Bits => _bits;

    /// <summary>Bytes of codes, float16 scales and minima, and positions.</summary>
    public long UsedBytes => (long)Count * BytesPerEntry;

    public long AllocatedBytes => (long)_capacity * BytesPerEntry;

    private long BytesPerEntry => 2L * _kvHeads * _bytesPerRow + 4L * _kvHeads * _groups * sizeof(short) + sizeof(long);

    /// <summary>Quantizes and appends entries (1, nkv, n, hs).</summary>
    public void Append(torch.Tensor keys, torch.Tensor values, torch.Tensor positions)
    {
        int n = (int)keys.shape[2];
        EnsureCapacity(Count + n);
        using var scope = torch.NewDisposeScope();
        var (kc, ks, km) = Pack(keys);
        var (vc, vs, vm) = Pack(values);
        _keyCodes.narrow(2, Count, n).copy_(kc);
        _keyScale.narrow(2, Count, n).copy_(ks);
        _keyMin.narrow(2, Count, n).copy_(km);
        _valueCodes.narrow(2, Count, n).copy_(vc);
        _valueScale.narrow(2, Count, n).copy_(vs);
        _valueMin.narrow(2, Count, n).copy_(vm);
        _positions.narrow(0, Count, n).copy_(positions);
        Count += n;
    }

    /// <summary>Dequantized keys, values (1, nkv, Count, hs) and positions (Count). The caller owns them.</summary>
    public (torch.Tensor Keys, torch.Tensor Values, torch.Tensor Positions) Dequantize()
    {
        using var scope = torch.NewDisposeScope();
        var k = Unpack(_keyCodes.narrow(2, 0, Count), _keyScale.narrow(2, 0, Count), _keyMin.narrow(2, 0, Count));
        var v = Unpack(_valueCodes.narrow(2, 0, Count), _valueScale.narrow(2, 0, Count), _valueMin.narrow(2, 0, Count));
        return (k.MoveToOuterDisposeScope(), v.MoveToOuterDisposeScope(), _positions.narrow(0, 0, Count).clone().MoveToOuterDisposeScope());
    }

    /// <summary>
    /// Quantizes and appends <paramref name="n"/> entries given as contiguous (nkv, n, hs) floats, exactly as <see cref="Append"/>
    /// does, and writes the values they are stored as into <paramref name="keysOut"/>/<paramref name="valuesOut"/> (rows
    /// (nkv, <paramref name="outStride"/>, hs), from row <paramref name="outAt"/>): the attended copy, made once. Managed code on
    /// the buffers' storage (CPU): a decode step packs one entry, a few hundred values, which a dozen tensor ops would cost more than.
    /// </summary>
    public void AppendInto(ReadOnlySpan<float> keys, ReadOnlySpan<float> values, ReadOnlySpan<long> positions, int n, Span<float> keysOut, Span<float> valuesOut, int outStride, int outAt)
    {
        EnsureCapacity(Count + n);
        PackInto(keys, n, _keyCodes, _keyScale, _keyMin, keysOut, outStride, outAt);
        PackInto(values, n, _valueCodes, _valueScale, _valueMin, valuesOut, outStride, outAt);
        positions[..n].CopyTo(MemoryMarshal.Cast<byte, long>(_positions.bytes).Slice(Count, n));
        Count += n;
    }

    /// <summary>The managed twin of <see cref="Pack"/> and <see cref="Unpack"/>: same float16 rounding, same codes, same decoded values.</summary>
    private void PackInto(ReadOnlySpan<float> x, int n, torch.Tensor codesTensor, torch.Tensor scaleTensor, torch.Tensor minTensor, Span<float> output, int outStride, int outAt)
    {
        Span<byte> codes = codesTensor.bytes;
        Span<Half> scales = MemoryMarshal.Cast<byte, Half>(scaleTensor.bytes), mins = MemoryMarshal.Cast<byte, Half>(minTensor.bytes);
        int levels = (1 << _bits) - 1, perByte = 8 / _bits;
        for (int h = 0; h < _kvHeads; h++)
        {
            for (int i = 0; i < n; i++)
            {
                int entry = Count + i;
                ReadOnlySpan<float> row = x.Slice(((h * n) + i) * _headDim, _headDim);
                Span<byte> rowCodes = codes.Slice(((h * _capacity) + entry) * _bytesPerRow, _bytesPerRow);
                Span<float> decoded = output.Slice(((h * outStride) + outAt + i) * _headDim, _headDim);
                rowCodes.Clear();
                for (int g = 0; g < _groups; g++)
                {
                    ReadOnlySpan<float> group = row.Slice(g * _group, _group);
                    float min = float.PositiveInfinity, max = float.NegativeInfinity;
                    foreach (float v in group) { min = MathF.Min(min, v); max = MathF.Max(max, v); }
                    float min16 = (float)(Half)min;
                    float scale = (float)(Half)MathF.Max((max - min16) / levels, 1e-4f);
                    int slot = (((h * _capacity) + entry) * _groups) + g;
                    (scales[slot], mins[slot]) = ((Half)scale, (Half)min16);
                    for (int j = 0; j < _group; j++)
                    {
                        int element = (g * _group) + j;
                        int code = (int)Math.Clamp(MathF.Round((group[j] - min16) / scale), 0f, levels);
                        rowCodes[element / perByte] |= (byte)(code << (element % perByte * _bits));
                        decoded[element] = (code * scale) + min16;
                    }
                }
            }
        }
    }

    /// <summary>The last <paramref name="n"/> entries dequantized (1, nkv, n, hs): exactly what <see cref="Dequantize"/> gives for them. The caller owns them.</summary>
    public (torch.Tensor Keys, torch.Tensor Values) DequantizeLast(int n)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(n, Count);
        using var scope = torch.NewDisposeScope();
        int from = Count - n;
        var k = Unpack(_keyCodes.narrow(2, from, n), _keyScale.narrow(2, from, n), _keyMin.narrow(2, from, n));
        var v = Unpack(_valueCodes.narrow(2, from, n), _valueScale.narrow(2, from, n), _valueMin.narrow(2, from, n));
        return (k.MoveToOuterDisposeScope(), v.MoveToOuterDisposeScope());
    }

    public void TruncateFrom(int position)
    {
        if (Count == 0) return;
        using var scope = torch.NewDisposeScope();
        Retain(TensorScalars.Below(_positions.narrow(0, 0, Count), position).nonzero().squeeze(1));
    }

    /// <summary>Drops every entry at a position below <paramref name="position"/> (sliding-window eviction), keeping the others in order.</summary>
    public void EvictBelow(long position)
    {
        if (Count == 0) return;
        using var scope = torch.NewDisposeScope();
        Retain(TensorScalars.AtLeast(_positions.narrow(0, 0, Count), position).nonzero().squeeze(1));
    }

    /// <summary>Keeps the entries at indices <paramref name="keep"/> (ascending), moved to the front.</summary>
    private void Retain(torch.Tensor keep)
    {
        int kept = (int)keep.shape[0];
        if (kept == Count) return;
        foreach (var buffer in new[] { _keyCodes, _valueCodes, _keyScale, _keyMin, _valueScale, _valueMin })
            buffer.narrow(2, 0, kept).copy_(buffer.narrow(2, 0, Count).index_select(2, keep));
        _positions.narrow(0, 0, kept).copy_(_positions.narrow(0, 0, Count).index_select(0, keep));
        Count = kept;
    }

    /// <summary>Replaces this region's entries with <paramref name="source"/>'s entries before <paramref name="position"/>, in order.</summary>
    public void CopyPrefixFrom(PackedKvRegion source, int position)
    {
        Count = 0;
        if (source.Count == 0) return;
        using var scope = torch.NewDisposeScope();
        var keep = TensorScalars.Below(source._positions.narrow(0, 0, source.Count), position).nonzero().squeeze(1);
        int kept = (int)keep.shape[0];
        if (kept == 0) return;
        EnsureCapacity(kept);
        var from = new[] { source._keyCodes, source._valueCodes, source._keyScale, source._keyMin, source._valueScale, source._valueMin };
        var to = new[] { _keyCodes, _valueCodes, _keyScale, _keyMin, _valueScale, _valueMin };
        for (int i = 0; i < from.Length; i++) to[i].narrow(2, 0, kept).copy_(from[i].narrow(2, 0, source.Count).index_select(2, keep));
        _positions.narrow(0, 0, kept).copy_(source._positions.narrow(0, 0, source.Count).index_select(0, keep));
        Count = kept;
    }

    public void Clear() => Count = 0;

    private (torch.Tensor Codes, torch.Tensor Scale, torch.Tensor Min) Pack(torch.Tensor x)
    {
        long n = x.shape[2];
        var grouped = x.reshape(1, _kvHeads, n, _groups, _group);
        // Scales and minima are stored as float16; quantize with the rounded values so the error bound holds for what is stored.
        var min = grouped.amin([-1], keepdim: true).to(torch.float16).to(torch.float32);
        var max = grouped.amax([-1], keepdim: true);
        int levels = (1 << _bits) - 1;
        var scale = TensorScalars.ClampedMin(TensorScalars.DividedBy(max - min, levels), 1e-4).to(torch.float16).to(torch.float32);
        var codes = TensorScalars.Clamped(((grouped - min) / scale).round(), 0, levels).to(torch.int32).reshape(1, _kvHeads, n, _bytesPerRow, 8 / _bits);
        var shifts = torch.tensor(Enumerable.Range(0, 8 / _bits).Select(i => 1 << (i * _bits)).ToArray(), torch.int32, _device);
        var packed = (codes * shifts).sum(-1).to(torch.uint8); // (1, nkv, n, hs·bits/8)
        return (packed, scale.squeeze(-1).to(torch.float16), min.squeeze(-1).to(torch.float16));
    }

    private torch.Tensor Unpack(torch.Tensor packed, torch.Tensor scale, torch.Tensor min)
    {
        long n = packed.shape[2];
        var shifts = torch.tensor(Enumerable.Range(0, 8 / _bits).Select(i => 1 << (i * _bits)).ToArray(), torch.int32, _device);
        var codes = packed.to(torch.int32).unsqueeze(-1).div(shifts, rounding_mode: torch.RoundingMode.floor);
        codes = TensorScalars.Remainder(codes, 1 << _bits); // (1, nkv, n, bytes, 8/bits)
        var grouped = codes.reshape(1, _kvHeads, n, _groups, _group).to(torch.float32);
        return TensorScalars.Sum(grouped * scale.to(torch.float32).unsqueeze(-1), min.to(torch.float32).unsqueeze(-1)).reshape(1, _kvHeads, n, _headDim);
    }

    private (torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor) Allocate(int capacity) => (
        torch.zeros(1, _kvHeads, capacity, _bytesPerRow, torch.uint8, _device).DetachFromDisposeScope(),
        torch.zeros(1, _kvHeads, capacity, _bytesPerRow, torch.uint8, _device).DetachFromDisposeScope(),
        torch.zeros(1, _kvHeads, capacity, _groups, torch.float16, _device).DetachFromDisposeScope(),
        torch.zeros(1, _kvHeads, capacity, _groups, torch.float16, _device).DetachFromDisposeScope(),
        torch.zeros(1, _kvHeads, capacity, _groups, torch.float16, _device).DetachFromDisposeScope(),
        torch.zeros(1, _kvHeads, capacity, _groups, torch.float16, _device).DetachFromDisposeScope(),
        torch.zeros(capacity, torch.int64, _device).DetachFromDisposeScope());

    private void EnsureCapacity(int needed)
    {
        if (needed > _maxEntries) throw new InvalidOperationException($"KV cache overflow: {needed} entries exceed the {_maxEntries} the context allows.");
        if (needed <= _capacity) return;
        int capacity = _capacity;
        while (capacity < needed) capacity = (int)Math.Min((long)capacity * 2, _maxEntries);
        var fresh = Allocate(capacity);
        var oldBuffers = new[] { _keyCodes, _valueCodes, _keyScale, _keyMin, _valueScale, _valueMin };
        var newBuffers = new[] { fresh.Item1, fresh.Item2, fresh.Item3, fresh.Item4, fresh.Item5, fresh.Item6 };
        for (int i = 0; i < oldBuffers.Length; i++) newBuffers[i].narrow(2, 0, Count).copy_(oldBuffers[i].narrow(2, 0, Count));
        fresh.Item7.narrow(0, 0, Count).copy_(_positions.narrow(0, 0, Count));
        Dispose();
        (_keyCodes, _valueCodes, _keyScale, _keyMin, _valueScale, _valueMin, _positions) = fresh;
        _capacity = capacity;
    }

    public void Dispose()
    {
        _keyCodes.Dispose(); _valueCodes.Dispose(); _keyScale.Dispose(); _keyMin.Dispose();
        _valueScale.Dispose(); _valueMin.Dispose(); _positions.Dispose();
    }
}
