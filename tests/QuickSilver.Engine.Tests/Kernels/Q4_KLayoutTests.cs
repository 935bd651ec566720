using QuickSilver.Engine.Kernels;
using QuickSilver.Engine.Loading;
using QuickSilver.Engine.Quantization;
using Xunit;

namespace QuickSilver.Engine.Tests.Kernels;

/// <summary>
/// The stored Q4_K layout (<see cref="Q4_KLayout"/>: each block's nibble bytes moved by 4-byte words so that word L of
/// either 64-byte half belongs to chunk L mod 4) and the activation order that meets it
/// (<see cref="Q8KActivations.K4Order"/>), against their definitions written out by index; every Q4_K kernel against a
/// float64 product of the reference decoder's weights and the activations' decoded codes, on random blocks and block
/// counts 1..11.
/// </summary>
public sealed unsafe class Q4_KLayoutTests
{
    [Fact]
    public void StoredNibblesFollowTheWordPermutationAndTheBlocksComeBack()
    {
        var random = new Random(43);
        foreach (int nb in new[] { 1, 3, 4, 11 })
        {
            const int Rows = 3;
            var matrix = PackedFormatKernelTests.RandomMatrix(random, GgufTensorType.Q4_K, Rows, nb * 256);
            byte[] blocks = matrix.ToGgufBlocks();
            Assert.Equal(blocks.Length, matrix.Codes.Length);
            for (int b = 0; b < Rows * nb; b++)
            {
                int at = b * BlockQ4_K.Bytes;
                Assert.Equal(blocks.AsSpan(at, 16).ToArray(), matrix.Codes.AsSpan(at, 16).ToArray()); // d, dmin, scales stay
                for (int k = 0; k < 2; k++)
                    for (int lane = 0; lane < 16; lane++)
                        for (int i = 0; i < 4; i++)
                        {
                            // Word L of half k is word 2·(L / 4) + k of chunk L mod 4.
                            int gguf = (32 * (lane % 4)) + (4 * ((2 * (lane / 4)) + k)) + i;
                            Assert.Equal(blocks[at + 16 + gguf], matrix.Codes[at + 16 + (64 * k) + (4 * lane) + i]);
                        }
                fixed (byte* qs = &matrix.Codes[at + 16])
                {
                    for (int c = 0; c < 4; c++)
                        Assert.Equal(blocks.AsSpan(at + 16 + (32 * c), 32).ToArray(), ToArray(Q4_KLayout.LoadChunk(qs, c)));
                }
            }
            var decoded = new float[Rows * nb * 256];
            BlockQ4_K.Decode(blocks, decoded);
            Assert.Equal(decoded, matrix.Dequantize());
            var row = new float[nb * 256];
            matrix.DequantizeRow(2, row);
            Assert.Equal(decoded.AsSpan(2 * nb * 256, nb * 256).ToArray(), row);
            Assert.Equal(decoded, QuantizedMatrix.ConcatRows([matrix.SliceRows(0, 1), matrix.SliceRows(1, 2)]).Dequantize());
        }
    }

    [Fact]
    public void K4OrderPutsEachValueWhereItsNibbleIs()
    {
        var random = new Random(47);
        const int Columns = 3 * 256, Rows = 2;
        var activations = new Q8KActivations();
        activations.Quantize(QuantizedKernelTests.RandomValues(random, Rows * Columns, 1f), Rows, Columns);
        for (int r = 0; r < Rows; r++)
            for (int b = 0; b < 3; b++)
                for (int c = 0; c < 4; c++)
                    for (int l = 0; l < 32; l++)
                    {
                        // GGUF byte 32c + l: word m = l / 4 of chunk c, stored as word L = c + 4·(m / 2) of half k = m mod 2;
                        // its low nibble (value 64c + l) meets K4 byte 128k + 4L + l mod 4, its high one (64c + 32 + l) 64 further.
                        int m = l / 4, k = m % 2, lane = c + (4 * (m / 2));
                        int at = (r * Columns) + (b * 256), position = (128 * k) + (4 * lane) + (l % 4);
                        Assert.Equal(activations.Codes[at + (64 * c) + l], activations.K4Order[at + position]);
                        Assert.Equal(activations.Codes[at + (64 * c) + 32 + l], activations.K4Order[at + position + 64]);
                    }
    }

    [Fact]
    public void EveryQ4_KKernelMatchesTheDecodedProduct()
    {
        var random = new Random(53);
        foreach (int nb in new[] { 1, 2, 3, 4, 5, 11 })
        {
            int columns = nb * 256, rows = 7;
            var weights = PackedFormatKernelTests.RandomMatrix(random, GgufTensorType.Q4_K, rows, columns);
            var activations = new Q8KActivations();
            activations.Quantize(QuantizedKernelTests.RandomValues(random, 4 * columns, 3f), 4, columns);
            float[] decoded = weights.Dequantize();
            foreach (var isa in new[] { KernelIsa.Scalar, KernelIsa.Avx2, KernelIsa.Avx512 })
            {
                if (!KernelSettings.IsSupported(isa)) continue;
                foreach (bool perRow in new[] { true, false })
                {
                    var output = new float[4 * rows];
                    if (perRow) QuantizedMatMul.MultiplyPerRow(weights, activations, output, isa, 1, rows, 0);
                    else QuantizedMatMul.Multiply(weights, activations, output, isa, 1, rows, 0);
                    for (int t = 0; t < 4; t++)
                    {
                        float[] a = activations.Dequantize(t);
                        for (int r = 0; r < rows; r++)
                        {
                            double exact = 0, magnitude = 0;
                            for (int c = 0; c < columns; c++)
                            {
                                exact += (double)decoded[(r * columns) + c] * a[c];
                                magnitude += Math.Abs((double)decoded[(r * columns) + c] * a[c]);
                            }
                            Assert.True(Math.Abs(output[(t * rows) + r] - exact) <= (2e-5 * magnitude) + 1e-6,
                                $"{isa} perRow={perRow} nb {nb} token {t} row {r}: {output[(t * rows) + r]} vs {exact}");
                        }
                    }
                }
            }
        }
    }

    private static byte[] ToArray(System.Runtime.Intrinsics.Vector256<byte> v)
    {
        var bytes = new byte[32];
        System.Runtime.Intrinsics.Vector256.CopyTo(v, bytes);
        return bytes;
    }
}
