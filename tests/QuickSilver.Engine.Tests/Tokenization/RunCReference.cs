using System.Buffers.Binary;
using System.Text;

namespace QuickSilver.Engine.Tests.Tokenization;

/// <summary>
/// A line-by-line port of llama2.c run.c's build_tokenizer/encode (sorted vocab + bsearch, rescan every pair each
/// round: O(n^2)), kept deliberately naive as an independent oracle for the engine's priority-queue encoder.
/// </summary>
internal sealed class RunCReference
{
    private readonly byte[][] _vocab;
    private readonly float[] _scores;
    private readonly (byte[] Str, int Id)[] _sorted;

    public RunCReference(string tokBinPath)
    {
        byte[] data = File.ReadAllBytes(tokBinPath);
        int offset = 4;
        var vocab = new List<byte[]>();
        var scores = new List<float>();
        while (offset < data.Length)
        {
            scores.Add(BinaryPrimitives.ReadSingleLittleEndian(data.AsSpan(offset)));
            int len = BinaryPrimitives.ReadInt32LittleEndian(data.AsSpan(offset + 4));
            vocab.Add(data.AsSpan(offset + 8, len).ToArray());
            offset += 8 + len;
        }
        _vocab = [.. vocab];
        _scores = [.. scores];
        _sorted = _vocab.Select((s, i) => (s, i)).OrderBy(p => p.s, Comparer<byte[]>.Create((a, b) => a.AsSpan().SequenceCompareTo(b))).ToArray();
    }

    private int Lookup(byte[] str)
    {
        int lo = 0, hi = _sorted.Length - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) / 2;
            int c = str.AsSpan().SequenceCompareTo(_sorted[mid].Str);
            if (c == 0) return _sorted[mid].Id;
            if (c < 0) hi = mid - 1; else lo = mid + 1;
        }
        return -1;
    }

    public List<int> Encode(string text, bool bos)
    {
        byte[] utf8 = Encoding.UTF8.GetBytes(text);
        var tokens = new List<int>();
        if (bos) tokens.Add(1);
        if (utf8.Length > 0) tokens.Add(Lookup(" "u8.ToArray()));
        var buffer = new List<byte>();
        for (int i = 0; i < utf8.Length; i++)
        {
            if ((utf8[i] & 0xC0) != 0x80) buffer.Clear();
            buffer.Add(utf8[i]);
            if (i + 1 < utf8.Length && (utf8[i + 1] & 0xC0) == 0x80 && buffer.Count < 4) continue;
            int id = Lookup([.. buffer]);
            if (id != -1) tokens.Add(id);
            else foreach (byte b in buffer) tokens.Add(b + 3);
            buffer.Clear();
        }
        while (true)
        {
            float bestScore = -1e10f;
            int bestId = -1, bestIdx = -1;
            for (int i = 0; i < tokens.Count - 1; i++)
            {
                int id = Lookup([.. _vocab[tokens[i]], .. _vocab[tokens[i + 1]]]);
                if (id != -1 && _scores[id] > bestScore)
                {
                    bestScore = _scores[id];
                    bestId = id;
                    bestIdx = i;
                }
            }
            if (bestIdx == -1) break;
            tokens[bestIdx] = bestId;
            tokens.RemoveAt(bestIdx + 1);
        }
        return tokens;
    }
}
