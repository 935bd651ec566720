using System.Text.Json;
using QuickSilver.Engine.Generation;
using QuickSilver.Engine.Tokenization;
using QuickSilver.Extensions.AI.Chat.Protocols;
using QuickSilver.Extensions.AI.Constraints;
using QuickSilver.Testing;

namespace QuickSilver.Extensions.AI.Tests.Constraints;

/// <summary>
/// Snapshot and Restore of the client's constraints (the JSON schema constraint, the native and the Auto tool-call constraints):
/// along random valid token paths over real tokenizers, a constraint restored to a snapshot is indistinguishable from a fresh
/// one driven along the same prefix (mask, forced tokens, completion, progress), and stays so along any continuation.
/// Snapshots are restored in random order, also after the constraint went on along another path.
/// </summary>
public sealed class ConstraintSnapshotTests
{
    internal static readonly Lazy<ITokenizer> Stories = new(() => Llama2cTokenizer.Load(SharedAssets.Stories260KTokenizer));
    internal static readonly Lazy<ITokenizer> Gpt2 = new(() => Gpt2Tokenizer.FromDirectory(SharedAssets.Gpt2TokenizerDir));
    internal static readonly Lazy<ITokenizer> Llama2 = new(() => Llama2cTokenizer.Load(Path.Combine(SharedAssets.Llama2TokenizerDir, "tokenizer.bin")));

    // Nested objects and arrays, strings, integers, numbers, an enum, a boolean, optional properties.
    internal static readonly JsonElement Schema = JsonDocument.Parse("""
        {"type":"object","properties":{
            "name":{"type":"string","maxLength":8},
            "age":{"type":"integer"},
            "score":{"type":"number"},
            "role":{"type":"string","enum":["admin","author","viewer"]},
            "tags":{"type":"array","items":{"type":"string","maxLength":5},"maxItems":3},
            "address":{"type":"object","properties":{
                "city":{"type":"string","maxLength":8},
                "zip":{"type":"integer"},
                "geo":{"type":"array","items":{"type":"number"},"maxItems":2}},
              "required":["city","zip"]},
            "active":{"type":"boolean"}},
          "required":["name","age","role","tags","address"]}
        """).RootElement;

    // Names sharing prefixes, so the tool-name literal stays ambiguous for a few bytes.
    internal static readonly IReadOnlyList<(string Name, JsonElement Schema)> Tools =
    [
        ("get_weather", JsonDocument.Parse("""
            {"type":"object","properties":{"city":{"type":"string","maxLength":8},"unit":{"type":"string","enum":["celsius","fahrenheit"]}},"required":["city"]}
            """).RootElement),
        ("get_time", JsonDocument.Parse("""{"type":"object","properties":{"zone":{"type":"string","maxLength":6}},"required":["zone"]}""").RootElement),
        ("search", JsonDocument.Parse("""
            {"type":"object","properties":{"query":{"type":"string","maxLength":10},"filters":{"type":"object","properties":{"tags":{"type":"array","items":{"type":"string","maxLength":4},"maxItems":2},"limit":{"type":"integer"}},"required":["limit"]}},"required":["query","filters"]}
            """).RootElement),
    ];

    // Above the schema's shortest object (about 70 bytes), so the budget filter starts part-way through a path.
    private const int Budget = 100;

    /// <summary>A fresh constraint of the named kind, as the chat client builds them.</summary>
    internal static ITokenConstraint Create(string kind, ITokenizer tokenizer, int budget = Budget)
    {
        JsonSchemaConstraint Envelope(bool spaced, bool canonical)
        {
            var envelope = spaced
                ? JsonSchemaConstraint.ForToolCall(tokenizer, Tools, 12, budget, "arguments", spaced: true)
                : JsonSchemaConstraint.ForToolCall(tokenizer, Tools, 12, budget);
            envelope.CanonicalForcedSpans = canonical;
            return envelope;
        }
        return kind switch
        {
            "schema" => JsonSchemaConstraint.ForSchema(tokenizer, Schema, 12, budget),
            "schema-canonical" => Canonical(JsonSchemaConstraint.ForSchema(tokenizer, Schema, 12, budget)),
            "toolcall-canonical" => Envelope(spaced: false, canonical: true),
            "native-hermes" => new NativeToolCallConstraint(tokenizer, ToolCallProtocol.Hermes, () => Envelope(spaced: true, canonical: false), required: false, startsInReasoning: true),
            "native-hermes-required" => new NativeToolCallConstraint(tokenizer, ToolCallProtocol.Hermes, () => Envelope(spaced: true, canonical: false), required: true),
            "native-llama3" => new NativeToolCallConstraint(tokenizer, ToolCallProtocol.Llama3, () => Envelope(spaced: true, canonical: false), required: false),
            "auto" => new AutoToolCallConstraint(tokenizer, Envelope(spaced: false, canonical: false)),
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown constraint kind"),
        };
    }

    private static JsonSchemaConstraint Canonical(JsonSchemaConstraint constraint)
    {
        constraint.CanonicalForcedSpans = true;
        return constraint;
    }

    // Texts that lead a random walk into the states uniform sampling would not reach: markers, reasoning tags, a call's opening.
    private static readonly string[] Hints = ["<tool_call>", "<|python_tag|>", "<think>", "</think>", "{\"", "\n", "}"];

    private static ITokenizer Tokenizer(string name) => name switch
    {
        "stories" => Stories.Value,
        "gpt2" => Gpt2.Value,
        "llama2" => Llama2.Value,
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "unknown tokenizer"),
    };

    public static TheoryData<string, string, int> Cases()
    {
        var data = new TheoryData<string, string, int>();
        foreach (string kind in new[] { "schema", "schema-canonical", "toolcall-canonical", "native-hermes", "native-hermes-required", "native-llama3", "auto" })
        {
            // The 512-token vocabulary is cheap enough for many paths; the 32k and 50k ones check realistic vocabularies.
            data.Add(kind, "stories", 8);
            data.Add(kind, "gpt2", 1);
            data.Add(kind, "llama2", 1);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Restore_EqualsAFreshConstraintDrivenAlongTheSamePrefix(string kind, string tokenizerName, int paths)
    {
        ITokenizer tokenizer = Tokenizer(tokenizerName);
        for (int seed = 1; seed <= paths; seed++)
        {
            CheckPath(() => Create(kind, tokenizer), tokenizer, seed, $"{kind} on {tokenizerName}, seed {seed}");
        }
    }

    private static void CheckPath(Func<ITokenConstraint> create, ITokenizer tokenizer, int seed, string name)
    {
        var walker = new ConstraintWalker(tokenizer, seed, Hints);
        ITokenConstraint constraint = create();
        var path = new List<int>();
        var points = new List<(int At, object Snapshot, ConstraintWalker.Observation Seen)>();
        for (int step = 0; step < 110; step++)
        {
            if (step == 0 || walker.Random.Next(3) == 0) points.Add((path.Count, constraint.Snapshot()!, walker.Observe(constraint)));
            if (constraint.IsComplete || walker.Next(constraint) is not int token) break;
            constraint.Accept(token);
            path.Add(token);
        }
        points.Add((path.Count, constraint.Snapshot()!, walker.Observe(constraint)));

        for (int round = 0; round < 12; round++)
        {
            var (at, snapshot, seen) = points[walker.Random.Next(points.Count)];
            constraint.Restore(snapshot);
            ITokenConstraint fresh = create();
            foreach (int token in path.Take(at)) fresh.Accept(token);
            string where = $"{name}: restored at token {at} of {path.Count} (round {round})";
            var restored = walker.Observe(constraint);
            walker.AssertSame(walker.Observe(fresh), restored, where);
            walker.AssertSame(seen, restored, where + ", against snapshot time");

            // Any continuation: go on along a new random path (which also moves the constraint off the recorded one, so the
            // next round restores a snapshot taken on another branch).
            int further = walker.Random.Next(1, 10);
            for (int k = 0; k < further && !constraint.IsComplete; k++)
            {
                if (walker.Next(constraint) is not int token) break;
                constraint.Accept(token);
                fresh.Accept(token);
                walker.AssertSame(walker.Observe(fresh), walker.Observe(constraint), $"{where}, {k + 1} tokens on");
            }
        }
    }

    [Fact]
    public void EveryClientConstraint_CanRollBack()
    {
        foreach (string kind in new[] { "schema", "toolcall-canonical", "native-hermes", "native-llama3", "auto" })
        {
            Assert.True(new ConstraintProcessor(Create(kind, Stories.Value)).CanRollBack, kind);
        }
    }

    [Fact]
    public void ASnapshot_CanBeRestoredRepeatedly_AndSurvivesTheConstraintGoingOn()
    {
        var constraint = JsonSchemaConstraint.ForSchema(Stories.Value, Schema);
        constraint.AcceptBytes("{\"name\":\"Al"u8);
        object snapshot = constraint.Snapshot()!;
        constraint.AcceptBytes("ice\",\"age\":4"u8);
        constraint.Restore(snapshot);
        Assert.Equal("{\"name\":\"Al", constraint.Text);
        constraint.AcceptBytes("\",\"age\":7"u8);
        Assert.Equal("{\"name\":\"Al\",\"age\":7", constraint.Text);
        constraint.Restore(snapshot);
        Assert.Equal("{\"name\":\"Al", constraint.Text);
        Assert.True(constraint.Allows("ice"u8));
    }

    [Fact]
    public void Restore_RejectsForeignSnapshots()
    {
        var json = JsonSchemaConstraint.ForSchema(Stories.Value, Schema);
        var auto = (AutoToolCallConstraint)Create("auto", Stories.Value);
        var native = (NativeToolCallConstraint)Create("native-hermes", Stories.Value);
        Assert.Throws<ArgumentNullException>(() => json.Restore(null!));
        Assert.Throws<ArgumentException>(() => json.Restore("not a snapshot"));
        Assert.Throws<ArgumentException>(() => json.Restore(native.Snapshot()!));
        Assert.Throws<ArgumentException>(() => native.Restore(json.Snapshot()!));
        Assert.Throws<ArgumentException>(() => auto.Restore(json.Snapshot()!));
        // Another vocabulary or budget: its masks would be meaningless here.
        Assert.Throws<ArgumentException>(() => json.Restore(JsonSchemaConstraint.ForSchema(Gpt2.Value, Schema).Snapshot()!));
        Assert.Throws<ArgumentException>(() => json.Restore(JsonSchemaConstraint.ForSchema(Stories.Value, Schema, maxTokens: 10).Snapshot()!));
        Assert.Throws<ArgumentException>(() => auto.Restore(Create("auto", Stories.Value).Snapshot()!));
    }
}
