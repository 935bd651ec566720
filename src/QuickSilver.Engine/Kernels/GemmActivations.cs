namespace QuickSilver.Engine.Kernels;

/// <summary>
/// Quantized activation rows laid out for <see cref="QuantizedGemm"/>: tokens in groups of <see cref="GroupTokens"/>, and
/// within a group each run of 4 values of the 16 tokens side by side (<c>[group][k/4][token][4]</c>), so one 256-bit load
/// holds the 16 tokens' 4-value words for vpmaddubsw against a broadcast word of unsigned weight codes. Per token and
/// block the layout also keeps the code sums the kernels need for a format's code offset or minimum. The codes and scales are those of the <see cref="Q8Activations"/>/<see cref="Q8KActivations"/> the caller quantized,
/// unchanged, so the GEMM and the decode kernels multiply the same activations. Padding tokens of the last group are zero
/// codes with zero scale and sums.
/// </summary>
internal sealed unsafe class GemmActivations
{
    /// <summary>Tokens per group: two 256-bit vectors of 8 tokens.</summary>
    public const int GroupTokens = 16;

    private byte[] _codes = [];
    private object? _source; // the activations last laid out, and their version then: q|k|v parts share one layout
    private long _sourceVersion;
    private float[] _scales = [];
    private int[] _sums = [];

    /// <summary>Tokens held (without padding).</summary>
    public int Rows { get; private set; }

    /// <summary>Values per token.</summary>
    public int Columns { get; private set; }

    /// <summary>Values per scale block: 32 (from <see cref="Q8Activations"/>) or 256 (from <see cref="Q8KActivations"/>).</summary>
    public int BlockValues { get; private set; }

    /// <summary>Token groups (the last one padded).</summary>
    public int Groups => (Rows + GroupTokens - 1) / GroupTokens;

    /// <summary>Bytes of one group's codes: <c>Columns/4 · 64</c>.</summary>
    public int GroupCodeBytes => Columns * GroupTokens;

    /// <summary>Floats of one group's scales: <c>blocks · 16</c>.</summary>
    public int GroupScales => Columns / BlockValues * GroupTokens;

    /// <summary>
    /// Ints of one group's sums: 32-value blocks <c>blocks · 16</c> (Σ codes of the block), 256-value blocks
    /// <c>blocks · 8 · 16</c> (pairs of 16-value sums).
    /// </summary>
    public int GroupSums => Columns / BlockValues * (BlockValues == 256 ? 8 : 1) * GroupTokens;

    /// <summary>Interleaved codes, pinned.</summary>
    public byte[] Codes => _codes;

    /// <summary>Scales <c>[group][block][token]</c>, pinned.</summary>
    public float[] Scales => _scales;

    /// <summary>
    /// 32-value blocks: <c>[group][block][token]</c> Σ codes. 256-value blocks: <c>[group][block][pair][token]</c>, each int
    /// the two int16 sums of codes 32p..32p+15 and 32p+16..32p+31, for vpmaddwd against a row's pair of multipliers.
    /// </summary>
    public int[] Sums => _sums;

    /// <summary>Lays out 32-value block activations.</summary>
    public void Load(Q8Activations source)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (ReferenceEquals(_source, source) && _sourceVersion == source.Version) return;
        _source = null;
        Ensure(source.Rows, source.Columns, Q8Activations.BlockSize);
        fixed (sbyte* codes = source.Codes)
        fixed (float* scales = source.Scales)
        fixed (int* sums = _sums)
        {
            Interleave(codes);
            ScalesOf(scales);
            int nb = Columns / BlockValues;
            for (int t = 0; t < Groups * GroupTokens; t++)
            {
                int* to = sums + ((long)(t / GroupTokens) * GroupSums) + (t % GroupTokens);
                sbyte* from = codes + ((long)t * Columns);
                for (int b = 0; b < nb; b++)
                {
                    int sum = 0;
                    if (t < Rows) for (int i = 0; i < 32; i++) sum += from[(32 * b) + i];
                    to[b * GroupTokens] = sum;
                }
            }
        }
        (_source, _sourceVersion) = (source, source.Version);
    }

    /// <summary>Lays out 256-value block activations with their sub-block sums.</summary>
    public void Load(Q8KActivations source)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (ReferenceEquals(_source, source) && _sourceVersion == source.Version) return;
        _source = null;
        Ensure(source.Rows, source.Columns, Q8KActivations.BlockSize);
        fixed (sbyte* codes = source.Codes)
        fixed (float* scales = source.Scales)
        fixed (short* sums = source.Sums)
        fixed (int* pairs = _sums)
        {
            Interleave(codes);
            ScalesOf(scales);
            int nb = Columns / BlockValues;
            for (int t = 0; t < Groups * GroupTokens; t++)
            {
                int group = t / GroupTokens, lane = t % GroupTokens;
                for (int b = 0; b < nb; b++)
                {
                    short* s = sums + ((((long)t * nb) + b) * 16);
                    int* to = pairs + ((long)group * GroupSums) + (b * 8 * GroupTokens) + lane;
                    for (int p = 0; p < 8; p++) to[p * GroupTokens] = t < Rows ? (ushort)s[2 * p] | (s[(2 * p) + 1] << 16) : 0; // padding sums to zero
                }
            }
        }
        (_source, _sourceVersion) = (source, source.Version);
    }

    private void Ensure(int rows, int columns, int blockValues)
    {
        (Rows, Columns, BlockValues) = (rows, columns, blockValues);
        long codes = (long)Groups * GroupCodeBytes, scales = (long)Groups * GroupScales;
        if (_codes.Length < codes) _codes = GC.AllocateUninitializedArray<byte>((int)codes, pinned: true);
        if (_scales.Length < scales) _scales = GC.AllocateUninitializedArray<float>((int)scales, pinned: true);
        if (_sums.Length < (long)Groups * GroupSums)
            _sums = GC.AllocateUninitializedArray<int>(Groups * GroupSums, pinned: true);
    }

    private void Interleave(sbyte* source)
    {
        int words = Columns / 4, padded = Groups * GroupTokens;
        fixed (byte* codes = _codes)
        {
            for (int t = 0; t < padded; t++)
            {
                uint* to = (uint*)(codes + ((long)(t / GroupTokens) * GroupCodeBytes)) + (t % GroupTokens);
                if (t >= Rows)
                {
                    for (int k = 0; k < words; k++) to[k * GroupTokens] = 0;
                    continue;
                }
                uint* from = (uint*)(source + ((long)t * Columns));
                for (int k = 0; k < words; k++) to[k * GroupTokens] = from[k];
            }
        }
    }

    private void ScalesOf(float* source)
    {
        int nb = Columns / BlockValues, padded = Groups * GroupTokens;
        fixed (float* scales = _scales)
        {
            for (int t = 0; t < padded; t++)
            {
                float* to = scales + ((long)(t / GroupTokens) * GroupScales) + (t % GroupTokens);
                for (int b = 0; b < nb; b++) to[b * GroupTokens] = t < Rows ? source[((long)t * nb) + b] : 0f;
            }
        }
    }
}
