using System.Text;
using System.Text.Json.Nodes;
using CsCheck;

namespace QuickSilver.Policies.Tests.Reliability;

/// <summary>
/// Policy files are configuration that may come from anywhere: mutated, truncated and inflated policy JSON must either load as a
/// valid policy or fail with <see cref="PolicyValidationException"/> (<see cref="QuickSilverException"/> for unreadable files).
/// </summary>
public sealed class PolicyJsonFuzzTests : IDisposable
{
    public const int TextCases = 1500;
    public const int TreeCases = 1500;
    public const int FileCases = 300;

    private readonly string _dir = Directory.CreateTempSubdirectory("qs-policy-fuzz-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly string[] Sources = [.. QuickSilverPolicy.PresetNames.Select(n => PolicySerializer.ToJson(QuickSilverPolicy.FromPreset(n)))];

    private static readonly string[] Tokens =
    [
        "{", "}", "[", "]", ",", ":", "\"", "null", "true", "false", "-1", "0", "1e308", "-1e308", "1e400", "NaN", "\"NaN\"", "Infinity",
        "2147483648", "-2147483649", "9223372036854775808", "0.5", "\"\\ud800\"", "\"x\"", "//c\n", "/*", "\"halting\"", "\"enabled\"",
        "\"layers\"", "\"tokenIds\"", "[1,2,3]", "{}", "\"mean\"", "\"maxAbs\"", "\\u0000",
    ];

    private static void LoadsValidOrPolicyException(Func<QuickSilverPolicy> load)
    {
        try
        {
            QuickSilverPolicy policy = load();
            policy.Validate();   // whatever loaded must be a valid policy, and serialize again
            Assert.False(string.IsNullOrEmpty(PolicySerializer.ToJson(policy)));
        }
        catch (PolicyValidationException)
        {
        }
    }

    [Fact]
    public void MutatedText_LoadsValidOrThrowsPolicyValidationException()
    {
        Gen.Select(
            Gen.Int[0, Sources.Length - 1],
            Gen.Select(Gen.Int[0, 3], Gen.Int[0, 4000], Gen.Int[0, Tokens.Length - 1], Gen.Int[0, 40]).Array[1, 5],
            Gen.Select(Gen.Bool, Gen.Int[2, 64]).Nullable()).Sample((which, edits, dimensions) =>
        {
            string text = Sources[which];
            foreach ((int kind, int at, int token, int length) in edits)
            {
                int start = at % (text.Length + 1), end = Math.Min(text.Length, start + length);
                text = kind switch
                {
                    0 => text[..start] + text[end..],
                    1 => text[..start] + Tokens[token] + text[start..],
                    2 => text[..start] + Tokens[token] + text[end..],
                    _ => text[..start],   // truncation
                };
            }
            int? layers = dimensions is { } d && d.Item1 ? d.Item2 : null;
            int? vocab = dimensions is { } e && !e.Item1 ? e.Item2 * 100 : null;
            LoadsValidOrPolicyException(() => PolicySerializer.FromJson(text, layers, vocab));
        }, iter: TextCases, threads: 1);
    }

    private static readonly string[] Values =
    [
        "null", "0", "-1", "1", "2", "0.5", "-0.5", "1e30", "-1e30", "1e-45", "3.4e39", "2147483647", "-2147483648", "true", "false", "\"\"",
        "\"x\"", "\"dense\"", "\"mean\"", "\"zScore\"", "\"hadamard\"", "[]", "[-1]", "[0,0,0]", "[2147483647]", "[\"a\",\"a\"]", "{}",
        "{\"enabled\":true}", "[[1]]", "[null]",
    ];

    private static List<(JsonObject Parent, string Key)> Slots(JsonNode node)
    {
        var slots = new List<(JsonObject, string)>();
        void Walk(JsonNode? n)
        {
            if (n is JsonObject o)
            {
                foreach ((string key, JsonNode? child) in o.ToList())
                {
                    slots.Add((o, key));
                    Walk(child);
                }
            }
            else if (n is JsonArray a)
            {
                foreach (JsonNode? child in a) Walk(child);
            }
        }
        Walk(node);
        return slots;
    }

    [Fact]
    public void MutatedFields_LoadValidOrThrowPolicyValidationException()
    {
        Gen.Select(Gen.Int[0, Sources.Length - 1], Gen.Select(Gen.Int[0, 10_000], Gen.Int[0, Values.Length]).Array[1, 4]).Sample((which, edits) =>
        {
            JsonNode root = JsonNode.Parse(Sources[which])!;
            foreach ((int slot, int value) in edits)
            {
                var slots = Slots(root);
                (JsonObject parent, string key) = slots[slot % slots.Count];
                if (value == Values.Length) parent.Remove(key);
                else parent[key] = JsonNode.Parse(Values[value]);
            }
            string text = root.ToJsonString();
            LoadsValidOrPolicyException(() => PolicySerializer.FromJson(text, numLayers: 8, vocabSize: 512));
        }, iter: TreeCases, threads: 1);
    }

    [Fact]
    public void InflatedDocuments_AreRejectedByTheLimits()
    {
        string deep = new string('[', 100_000) + new string(']', 100_000);
        var ex = Assert.Throws<PolicyValidationException>(() => PolicySerializer.FromJson("{\"halting\":" + deep + "}"));
        Assert.StartsWith("$.halting", ex.Field);   // rejected at the first level that does not fit, without walking the nesting

        string hugeList = "{\"lexicons\":{\"fullProcessing\":[" + string.Join(",", Enumerable.Repeat("\"word\"", 200_000)) + "]}}";
        Assert.True(Encoding.UTF8.GetByteCount(hugeList) > PolicySerializer.MaxJsonBytes);
        Assert.Throws<PolicyValidationException>(() => PolicySerializer.FromJson(hugeList));

        string hugeString = "{\"name\":\"" + new string('n', PolicySerializer.MaxJsonBytes) + "\"}";
        Assert.Throws<PolicyValidationException>(() => PolicySerializer.FromJson(hugeString));

        string hugeNumber = "{\"halting\":{\"driftThreshold\":1" + new string('0', 100_000) + "}}";
        Assert.Throws<PolicyValidationException>(() => PolicySerializer.FromJson(hugeNumber));
    }

    [Fact]
    public void RandomAndCorruptedFiles_ThrowOnlyOurExceptions()
    {
        string path = Path.Combine(_dir, "policy.json");
        byte[] valid = Encoding.UTF8.GetBytes(Sources[^1]);
        Gen.Select(Gen.Int[0, 2], Gen.Byte.Array[0, 64], Gen.Int[0, valid.Length]).Sample((kind, noise, at) =>
        {
            byte[] bytes = kind switch
            {
                0 => noise,                                                             // random bytes, often invalid UTF-8
                1 => [.. valid[..at], .. noise, .. valid[at..]],                        // noise spliced into a valid file
                _ => [0xEF, 0xBB, 0xBF, .. valid[..at]],                                // BOM and a truncated file
            };
            File.WriteAllBytes(path, bytes);
            try
            {
                LoadsValidOrPolicyException(() => PolicySerializer.Load(path));
            }
            catch (QuickSilverException ex) when (ex is not PolicyValidationException)
            {
                Assert.Contains(path, ex.Message);
            }
        }, iter: FileCases, threads: 1);
    }

    [Fact]
    public void OversizedFile_IsRejectedBeforeReading()
    {
        string path = Path.Combine(_dir, "big.json");
        using (FileStream stream = File.Create(path)) stream.SetLength(PolicySerializer.MaxJsonBytes + 1L);
        var ex = Assert.Throws<PolicyValidationException>(() => PolicySerializer.Load(path));
        Assert.Contains(path, ex.Message);
    }
}
