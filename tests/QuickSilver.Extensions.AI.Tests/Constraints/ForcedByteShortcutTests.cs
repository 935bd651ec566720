using System.Text.Json;
using QuickSilver.Extensions.AI.Constraints;
using QuickSilver.Extensions.AI.Tests.Fakes;

namespace QuickSilver.Extensions.AI.Tests.Constraints;

/// <summary>
/// The forced-byte shortcut (a frame names its one accepted byte, so forced text is found without stepping all 256 bytes, and a
/// forced token without a vocabulary walk) against the full scans it replaces, on every state of random valid walks.
/// </summary>
public sealed class ForcedByteShortcutTests
{
    private static readonly FakeTokenizer Tokenizer = new(["{\"status", "\":\"", "active", "\",\"verified\":", "true", "tr", "\",\"", "gold"]);

    private static readonly string[] Schemas =
    [
        """
        {"type":"object","properties":{
          "status":{"type":"string","enum":["active","inactive","suspended"]},
          "verified":{"type":"boolean"},
          "tier":{"type":"string","enum":["bronze","silver","gold"]},
          "region":{"type":"string","enum":["north-america","europe","asia-pacific"]},
          "priority":{"type":"string","enum":["low","medium","high"]},
          "newsletter":{"type":"boolean"}},
         "required":["status","verified","tier","region","priority","newsletter"],"additionalProperties":false}
        """,
        """
        {"type":"object","properties":{
          "name":{"type":"string","maxLength":6},
          "age":{"type":"integer"},
          "tags":{"type":"array","items":{"type":"string","enum":["a","ab","b"]}},
          "extra":{"type":"object"},
          "note":{"type":["string","null"],"maxLength":4},
          "score":{"type":"number"}},
         "required":["name","tags"]}
        """,
        """{"type":"array","items":{"type":"object","properties":{"x":{"type":"integer"},"y":{"type":"boolean"}},"required":["y"]}}""",
        """{"type":"string","enum":["x","xy","xyz"]}""",
    ];

    [Fact]
    public void OnlyByte_NeverHidesAnotherAcceptedByte_AndForcedBytesEqualTheScan()
    {
        foreach (string text in Schemas)
        {
            using var schema = JsonDocument.Parse(text);
            for (int seed = 0; seed < 40; seed++)
            {
                var random = new Random(seed);
                JsonGrammar.JsonState? state = JsonGrammar.Start(JsonSchemaNode.Compile(schema.RootElement, 6));
                for (int step = 0; step < 400 && state is not null; step++)
                {
                    var accepted = Enumerable.Range(0, 256).Where(b => state.Top.Step(state, (byte)b) is not null).ToList();
                    int only = state.Top.OnlyByte(state);
                    if (only >= 0) Assert.True(accepted.All(b => b == only), $"OnlyByte {only} but {string.Join(',', accepted)} accepted ({text[..20]}…, seed {seed}, step {step})");
                    var fast = new byte[64];
                    int n = JsonGrammar.ForcedBytes(state, fast);
                    Assert.Equal(ScanForcedBytes(state, 64), fast[..n]);
                    if (accepted.Count == 0) break;
                    // Lean towards closing bytes so walks reach the later fields.
                    int pick = accepted.Contains('"') && random.NextDouble() < 0.3 ? '"' : accepted[random.Next(accepted.Count)];
                    state = state.Top.Step(state, (byte)pick);
                }
            }
        }
    }

    [Fact]
    public void ForcedToken_EqualsTheMasksSingleToken_WithAndWithoutBudget()
    {
        foreach (string text in Schemas)
        {
            using var schema = JsonDocument.Parse(text);
            foreach (int? budget in new int?[] { null, 40 })
            {
                for (int seed = 0; seed < 30; seed++)
                {
                    var random = new Random(seed);
                    var constraint = JsonSchemaConstraint.ForSchema(Tokenizer, schema.RootElement.Clone(), maxStringLength: 6, maxTokens: budget);
                    for (int step = 0; step < 120 && !constraint.IsComplete; step++)
                    {
                        bool[] mask = constraint.ComputeMask();
                        var allowed = Enumerable.Range(0, mask.Length).Where(i => mask[i]).ToList();
                        Assert.Equal(allowed.Count == 1 ? allowed[0] : -1, constraint.ForcedToken());
                        if (allowed.Count == 0) break;
                        constraint.Accept(allowed[random.Next(allowed.Count)]);
                    }
                }
            }
        }
    }

    [Fact]
    public void AKeyIsForcedByteByByte_UntilATokenOffersAChoice()
    {
        using var schema = JsonDocument.Parse(Schemas[0]);
        var tokenizer = new FakeTokenizer();
        var constraint = JsonSchemaConstraint.ForSchema(tokenizer, schema.RootElement.Clone());
        Span<int> run = stackalloc int[32];
        Assert.Equal(0, constraint.PeekForced(run)); // '{' or the '{"' token
        constraint.Accept(tokenizer.IdOf("{\""));
        int n = constraint.PeekForced(run);
        Assert.Equal("status", tokenizer.Decode(run[..n].ToArray())); // then '"' or the '":' token
    }

    /// <summary>The reference: step all 256 bytes at every position, forced while exactly one is accepted and the output cannot end.</summary>
    private static byte[] ScanForcedBytes(JsonGrammar.JsonState state, int max)
    {
        var bytes = new List<byte>();
        while (bytes.Count < max && !state.CanEnd)
        {
            var accepted = Enumerable.Range(0, 256).Where(b => state.Top.Step(state, (byte)b) is not null).ToList();
            if (accepted.Count != 1) break;
            bytes.Add((byte)accepted[0]);
            state = state.Top.Step(state, (byte)accepted[0])!;
        }
        return [.. bytes];
    }
}
