using System.Text;
using System.Text.Json;
using CsCheck;
using QuickSilver.Extensions.AI.Constraints;
using QuickSilver.Extensions.AI.Tests.Fakes;

namespace QuickSilver.Extensions.AI.Tests.Constraints;

/// <summary>Forced text (jump-forward's input): which bytes the grammar forces, their canonical tokens, and equality with sampling.</summary>
public sealed class JsonForcedContinuationTests
{
    private static readonly FakeTokenizer Tokenizer = new();

    internal static readonly JsonElement PersonSchema = JsonDocument.Parse("""
        {"type":"object","properties":{
            "name":{"type":"string","maxLength":8},
            "age":{"type":"integer"},
            "city":{"type":"string","maxLength":8},
            "role":{"type":"string","enum":["admin","author","viewer"]},
            "active":{"type":"boolean"},
            "email":{"type":"string","maxLength":12}},
          "required":["name","age","city","role","active","email"]}
        """).RootElement;

    private static string Forced(JsonSchemaConstraint constraint)
    {
        Span<int> run = stackalloc int[64];
        int n = constraint.PeekForced(run);
        return Tokenizer.Decode(run[..n].ToArray());
    }

    private static JsonSchemaConstraint Canonical(JsonElement schema)
    {
        var constraint = JsonSchemaConstraint.ForSchema(Tokenizer, schema);
        constraint.CanonicalForcedSpans = true;
        return constraint;
    }

    [Fact]
    public void KeysAndPunctuation_AreForced_ValuesAreNot()
    {
        var constraint = Canonical(PersonSchema);
        Assert.Equal("{\"name\":\"", Forced(constraint));
        foreach (byte b in "{\"name\":\"Al"u8) constraint.AcceptBytes([b]);
        Assert.Equal("", Forced(constraint)); // inside a string value: free
        constraint.AcceptBytes("\""u8);
        Assert.Equal(",\"age\":", Forced(constraint));
        constraint.AcceptBytes(",\"age\":42,\"city\":\"X\",\"role\":\"a"u8);
        Assert.Equal("", Forced(constraint)); // admin or author
        constraint.AcceptBytes("u"u8);
        Assert.Equal("thor\",\"active\":", Forced(constraint)); // the enum value is now unambiguous
        Assert.Equal(Forced(constraint), Forced(constraint)); // peeking changes nothing
    }

    [Fact]
    public void InCanonicalMode_AForcedStateAllowsExactlyTheCanonicalToken()
    {
        var constraint = Canonical(PersonSchema);
        bool[] mask = constraint.ComputeMask();
        Assert.Equal([Tokenizer.IdOf("{\"")], Enumerable.Range(0, mask.Length).Where(i => mask[i]));
        constraint.Accept(Tokenizer.IdOf("{\""));
        mask = constraint.ComputeMask();
        Assert.Equal([Tokenizer.IdOf("name")], Enumerable.Range(0, mask.Length).Where(i => mask[i]));

        // Without canonical mode the mask is grammar validity: '{' alone is allowed too.
        var plain = JsonSchemaConstraint.ForSchema(Tokenizer, PersonSchema);
        Assert.True(plain.ComputeMask()['{']);
        Assert.True(plain.ComputeMask()[Tokenizer.IdOf("{\"")]);
        Assert.Equal(-1, plain.ForcedToken());
    }

    [Fact]
    public void TheToolNameIsForcedWhenOnlyOneToolFits()
    {
        var schema = JsonDocument.Parse("""{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}""").RootElement;
        var constraint = JsonSchemaConstraint.ForToolCall(Tokenizer, [("get_weather", schema)]);
        constraint.CanonicalForcedSpans = true;
        Assert.Equal("{\"name\":\"get_weather\",\"arguments\":{\"city\":\"", Forced(constraint));
        var two = JsonSchemaConstraint.ForToolCall(Tokenizer, [("get_weather", schema), ("get_time", schema)]);
        two.CanonicalForcedSpans = true;
        Assert.Equal("{\"name\":\"get_", Forced(two)); // up to where the names part
    }

    [Fact]
    public void JumpForward_EqualsSamplingUnderTheConstraint()
    {
        // Property: for any logits (a deterministic function of the context, like a model), appending each forced run without
        // looking at the logits gives exactly the tokens greedy or seeded sampling under the constraint gives one by one.
        Gen.Int.Sample(seed =>
        {
            foreach (bool greedy in new[] { true, false })
            {
                var plain = Run(seed, greedy, jumpForward: false, out int plainSteps);
                var jumped = Run(seed, greedy, jumpForward: true, out int jumpedSteps);
                Assert.Equal(plain, jumped);
                Assert.True(jumpedSteps < plainSteps, $"{jumpedSteps} model steps with jump-forward, {plainSteps} without");
            }
        }, iter: 40);
    }

    [Fact]
    public void CanonicalWalks_StillYieldSchemaValidJson()
    {
        Gen.Int.Sample(seed =>
        {
            var tokens = Run(seed, greedy: false, jumpForward: true, out _);
            string text = Tokenizer.Decode(tokens);
            using var document = JsonDocument.Parse(text);
            Assert.Empty(SchemaValidator.Validate(document.RootElement, PersonSchema));
        }, iter: 20);
    }

    /// <summary>A generation loop over a fake model whose logits depend on the whole context; returns the output tokens.</summary>
    private static List<int> Run(int seed, bool greedy, bool jumpForward, out int modelSteps)
    {
        var constraint = Canonical(PersonSchema);
        var random = new Random(seed);
        var output = new List<int>();
        modelSteps = 0;
        Span<int> run = stackalloc int[32];
        while (!constraint.IsComplete && output.Count < 200)
        {
            int forced = jumpForward ? constraint.PeekForced(run) : 0;
            if (forced > 0)
            {
                for (int i = 0; i < forced; i++)
                {
                    constraint.Accept(run[i]);
                    output.Add(run[i]);
                    if (!greedy) random.NextDouble(); // a seeded sampler draws once per token, forced or not
                }
                continue;
            }
            modelSteps++;
            float[] logits = FakeLogits(seed, output);
            constraint.Apply(logits);
            int token = greedy ? ArgMax(logits) : Draw(logits, random);
            constraint.Accept(token);
            output.Add(token);
        }
        Assert.True(constraint.IsComplete);
        return output;
    }

    private static float[] FakeLogits(int seed, List<int> context)
    {
        int hash = seed;
        foreach (int t in context) hash = StableSeed.Combine(hash, t);
        var random = new Random(hash);
        var logits = new float[Tokenizer.VocabSize];
        for (int i = 0; i < logits.Length; i++) logits[i] = (float)(random.NextDouble() * 4);
        // Lean towards closing strings so documents finish.
        logits['"'] += 3;
        return logits;
    }

    private static int ArgMax(float[] logits)
    {
        int best = 0;
        for (int i = 1; i < logits.Length; i++) if (logits[i] > logits[best]) best = i;
        return best;
    }

    private static int Draw(float[] logits, Random random)
    {
        double total = 0;
        var p = new double[logits.Length];
        for (int i = 0; i < logits.Length; i++) total += p[i] = float.IsNegativeInfinity(logits[i]) ? 0 : Math.Exp(logits[i]);
        double r = random.NextDouble() * total;
        for (int i = 0; i < p.Length; i++)
        {
            r -= p[i];
            if (r <= 0 && p[i] > 0) return i;
        }
        return Array.FindLastIndex(p, x => x > 0);
    }
}
