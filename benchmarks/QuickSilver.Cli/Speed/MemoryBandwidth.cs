using System.Diagnostics;
using System.Runtime.Intrinsics;

namespace QuickSilver.Cli.Speed;

/// <summary>
/// The machine's streaming read bandwidth: threads each sum their share of a buffer much larger than the caches
/// with 256-bit loads; best of several passes. Decode must read every weight once per token, so this over the bytes a
/// token reads is the decode speed limit.
/// </summary>
internal static class MemoryBandwidth
{
    public static double BytesPerSecond(int threads, long bytes = 1L << 30, int passes = 5)
    {
        var buffer = GC.AllocateUninitializedArray<byte>((int)Math.Min(bytes, int.MaxValue - 64), pinned: true);
        new Random(1).NextBytes(buffer.AsSpan(0, 4096));
        for (long i = 4096; i < buffer.Length; i += 4096) buffer[i] = (byte)i; // touch every page
        double best = 0;
        long sink = 0;
        for (int p = 0; p < passes; p++)
        {
            long start = Stopwatch.GetTimestamp();
            var sums = new long[threads];
            Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
            {
                long from = buffer.LongLength * t / threads / 32 * 32, to = buffer.LongLength * (t + 1) / threads / 32 * 32;
                sums[t] = Sum(buffer, from, to);
            });
            double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
            sink += sums.Sum();
            best = Math.Max(best, buffer.Length / seconds);
        }
        GC.KeepAlive(sink);
        return best;
    }

    private static unsafe long Sum(byte[] buffer, long from, long to)
    {
        var a = Vector256<long>.Zero; var b = Vector256<long>.Zero; var c = Vector256<long>.Zero; var d = Vector256<long>.Zero;
        fixed (byte* p = buffer)
        {
            long i = from;
            for (; i + 128 <= to; i += 128)
            {
                a += Vector256.Load((long*)(p + i)); b += Vector256.Load((long*)(p + i + 32));
                c += Vector256.Load((long*)(p + i + 64)); d += Vector256.Load((long*)(p + i + 96));
            }
            return Vector256.Sum(a + b + c + d);
        }
    }
}
