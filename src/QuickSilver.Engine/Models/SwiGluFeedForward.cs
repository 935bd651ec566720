using TorchSharp;

namespace QuickSilver.Engine.Models;

/// <summary>down(act(gate(x)) · up(x)): Llama's SwiGLU (act = SiLU) or Gemma's GeGLU (act = tanh-GELU). Gate and up run as one matmul.</summary>
public sealed class SwiGluFeedForward : IFeedForward, IRowFeedForward
{
    private readonly LinearWeight _gateUp; // (2I, d)
    private readonly torch.Tensor? _gateUpBias;
    private readonly LinearWeight _down;
    private readonly torch.Tensor? _downBias;
    private Runtime.HostSpanCache _gateUpBiasRow, _downBiasRow; // the biases' host spans, looked up once
    private readonly long _inner;
    private readonly bool _gelu;

    /// <summary>Creates the MLP from float tensors; it takes ownership of them.</summary>
    /// <param name="geluGate">Gate with tanh-approximated GELU (GeGLU) instead of SiLU.</param>
    public SwiGluFeedForward(torch.Tensor gate, torch.Tensor? gateBias, torch.Tensor up, torch.Tensor? upBias, torch.Tensor down, torch.Tensor? downBias, bool geluGate = false)
        : this(new DenseLinearWeight(gate), gateBias, new DenseLinearWeight(up), upBias, new DenseLinearWeight(down), downBias, geluGate) { }

    /// <summary>Creates the MLP; it takes ownership of the weights and tensors.</summary>
    /// <param name="geluGate">Gate with tanh-approximated GELU (GeGLU) instead of SiLU.</param>
    public SwiGluFeedForward(LinearWeight gate, torch.Tensor? gateBias, LinearWeight up, torch.Tensor? upBias, LinearWeight down, torch.Tensor? downBias, bool geluGate = false)
    {
        ArgumentNullException.ThrowIfNull(gate);
        ArgumentNullException.ThrowIfNull(down);
        _gelu = geluGate;
        _inner = gate.OutFeatures;
        _gateUp = LinearWeight.Concat([gate, up]);
        _gateUpBias = gateBias is null || upBias is null ? null : torch.cat([gateBias, upBias], 0);
        gateBias?.Dispose(); upBias?.Dispose();
        (_down, _downBias) = (down, downBias);
        FlopsPerToken = 2.0 * 3 * _inner * down.OutFeatures;
    }

    /// <inheritdoc />
    public double FlopsPerToken { get; }

    /// <inheritdoc />
    public torch.Tensor Apply(torch.Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        long[] shape = x.shape;
        long rows = x.NumberOfElements / shape[^1];
        // A prefill's (T, 2I) gate|up and (T, I) product are the largest temporaries of a block: with packed weights (whose
        // rows do not depend on each other, see RowChunks) the MLP runs over pieces of rows into one output instead.
        if (_gateUp is PackedLinearWeight gateUp && _down is PackedLinearWeight down && !_gelu && _gateUpBias is null && _downBias is null
            && !x.requires_grad && Runtime.HostMemory.IsHostFloat32(x))
            return ApplyHostRows(x, gateUp, down);
        if (_gateUp is not PackedLinearWeight || _down is not PackedLinearWeight || !RowChunks.Splits(rows)) return ApplyRows(x);
        using var scope = torch.NewDisposeScope();
        var flat = x.reshape(rows, shape[^1]); // (N, d)
        var y = torch.empty(rows, _down.OutFeatures, torch.float32); // (N, d_out)
        foreach (var (first, count) in RowChunks.Of(rows))
        {
            using var piece = torch.NewDisposeScope();
            y.narrow(0, first, count).copy_(ApplyRows(flat.narrow(0, first, count)));
        }
        shape[^1] = _down.OutFeatures;
        return y.view(shape).MoveToOuterDisposeScope(); // (…, d_out)
    }

    /// <summary>
    /// The SiLU MLP of packed weights over host rows, piece by piece (<see cref="RowChunks"/>) through one per-thread
    /// buffer reused across pieces, layers and calls, with the down projection written straight into the output rows.
    /// The same kernels as the tensor path on pieces that give the same bits; what goes is a fresh (T, 2I) gate|up and
    /// (T, I) product per piece: blocks of over 1 MiB that malloc maps and unmaps each time (see NativeAllocator), so
    /// every page of them was a page fault and a cleared page, ~15% of a prefill's CPU before.
    /// </summary>
    /// <remarks>
    /// The buffer is resident for the life of the thread, so it is kept small: pieces of <see cref="PieceRows"/> rows
    /// (the other products take 128), and each row's silu(gate)·up is written over the buffer's own front, rows packed
    /// (I wide) where the consumed gate|up rows (2I wide) were, instead of into a second buffer. 1.4 MB instead of 4.3 MB
    /// on the 374M model (I = 2816).
    /// </remarks>
    private unsafe torch.Tensor ApplyHostRows(torch.Tensor x, PackedLinearWeight gateUp, PackedLinearWeight down)
    {
        long[] shape = x.shape;
        int d = (int)shape[^1], inner = (int)_inner, dOut = (int)down.OutFeatures;
        long rows = x.NumberOfElements / d;
        using var scope = torch.NewDisposeScope();
        var flat = x.reshape(rows, d).contiguous(); // (N, d)
        var y = torch.empty(rows, dOut, torch.float32); // (N, d_out)
        float* input = Runtime.HostMemory.Floats(flat), output = Runtime.HostMemory.Floats(y);
        foreach (var (first, count) in RowChunks.Of(rows, RowChunks.PieceRowsFor(PieceRows)))
        {
            int n = (int)count;
            var both = MlpScratch.Get(ref MlpScratch.t_both, (long)n * 2 * inner); // (n, 2I) gate | up, then (n, I) products at its front
            gateUp.MultiplyRows(new ReadOnlySpan<float>(input + (first * d), n * d), n, both);
            // Row r's product goes to [r·I, (r + 1)·I): for r ≥ 1 that lies below row r's gate|up at 2r·I, over rows already
            // consumed; row 0's is its own gate, which SiluMul reads before it writes each value.
            for (int r = 0; r < n; r++)
                Kernels.RowOps.SiluMul(both.Slice(r * 2 * inner, inner), both.Slice((r * 2 * inner) + inner, inner), both.Slice(r * inner, inner));
            down.MultiplyRows(both[..(n * inner)], n, new Span<float>(output + (first * dOut), n * dOut));
        }
        shape[^1] = dOut;
        return y.view(shape).MoveToOuterDisposeScope(); // (…, d_out)
    }

    /// <summary>Rows per piece of the host MLP (see <see cref="ApplyHostRows"/>), before <see cref="RowChunks.PieceRowsFor"/> rounds it.</summary>
    internal const int PieceRows = 64;

    /// <summary>The MLP over all rows of <paramref name="x"/> (…, d) in one go.</summary>
    private torch.Tensor ApplyRows(torch.Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        var both = _gateUp.Apply(x, _gateUpBias); // (…, 2I)
        if (!_gelu && !both.requires_grad && Runtime.HostMemory.IsHostFloat32(both))
        {
            // Host rows (a prefill): silu(gate)·up per row with the row path's kernel, in one pass and one allocation.
            var product = HostGatedProduct(both); // (…, I)
            both.Dispose();
            return _down.Apply(product, _downBias).MoveToOuterDisposeScope();
        }
        var gate = both.narrow(-1, 0, _inner);
        var up = both.narrow(-1, _inner, _inner);
        var hidden = _gelu ? torch.nn.functional.gelu(gate, TorchSharp.Modules.GELU.Approximate.tanh, false) : torch.nn.functional.silu(gate, false);
        hidden.mul_(up); // (…, I), in place: a prefill's (T, I) product is the MLP's biggest temporary after gate|up
        // gate|up (T, 2I) is consumed: free it before the down projection rather than when the scope ends.
        up.Dispose();
        gate.Dispose();
        both.Dispose();
        return _down.Apply(hidden, _downBias).MoveToOuterDisposeScope();
    }

    // silu(gate)·up of host rows (…, 2I) → (…, I). (GeGLU stays on libtorch's vectorized tanh-GELU.)
    private unsafe torch.Tensor HostGatedProduct(torch.Tensor both)
    {
        int inner = (int)_inner;
        long[] shape = both.shape;
        long rows = both.NumberOfElements / (2 * inner);
        shape[^1] = inner;
        var product = torch.empty(shape, torch.float32); // (…, I)
        float* from = Runtime.HostMemory.Floats(both), to = Runtime.HostMemory.Floats(product);
        for (long r = 0; r < rows; r++)
        {
            var gate = new ReadOnlySpan<float>(from + (r * 2 * inner), inner);
            var up = new ReadOnlySpan<float>(from + (r * 2 * inner) + inner, inner);
            var y = new Span<float>(to + (r * inner), inner);
            Kernels.RowOps.SiluMul(gate, up, y);
        }
        return product;
    }

    /// <inheritdoc />
    bool IRowFeedForward.SupportsRows => (_gateUpBias is null || Runtime.HostMemory.IsHostFloat32(_gateUpBias)) && (_downBias is null || Runtime.HostMemory.IsHostFloat32(_downBias));

    /// <inheritdoc />
    void IRowFeedForward.ApplyRow(ReadOnlySpan<float> x, Span<float> y)
    {
        int inner = (int)_inner;
        var both = RowBuffers.Get(RowBuffers.MlpBoth, 2 * inner);
        _gateUp.ApplyRow(x, both); // gate | up
        if (_gateUpBias is not null) Kernels.RowOps.Add(both, _gateUpBiasRow.Get(_gateUpBias));
        var hidden = RowBuffers.Get(RowBuffers.MlpHidden, inner);
        if (_gelu) Kernels.RowOps.GeluTanhMul(both[..inner], both[inner..], hidden);
        else Kernels.RowOps.SiluMul(both[..inner], both[inner..], hidden);
        _down.ApplyRow(hidden, y);
        if (_downBias is not null) Kernels.RowOps.Add(y, _downBiasRow.Get(_downBias));
    }

    /// <inheritdoc />
    void IRowFeedForward.ApplyRows(ReadOnlySpan<float> x, int n, Span<float> y)
    {
        int inner = (int)_inner, d = (int)_down.OutFeatures;
        var both = RowBuffers.Get(RowBuffers.MlpBoth, n * 2 * inner); // (n, gate | up)
        _gateUp.ApplyRows(x, n, both);
        var hidden = RowBuffers.Get(RowBuffers.MlpHidden, n * inner); // (n, I)
        for (int i = 0; i < n; i++)
        {
            var row = both.Slice(i * 2 * inner, 2 * inner);
            if (_gateUpBias is not null) Kernels.RowOps.Add(row, _gateUpBiasRow.Get(_gateUpBias));
            if (_gelu) Kernels.RowOps.GeluTanhMul(row[..inner], row[inner..], hidden.Slice(i * inner, inner));
            else Kernels.RowOps.SiluMul(row[..inner], row[inner..], hidden.Slice(i * inner, inner));
        }
        _down.ApplyRows(hidden, n, y);
        if (_downBias is not null) for (int i = 0; i < n; i++) Kernels.RowOps.Add(y.Slice(i * d, d), _downBiasRow.Get(_downBias));
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _gateUp.Dispose(); _gateUpBias?.Dispose(); _down.Dispose(); _downBias?.Dispose();
    }
}
