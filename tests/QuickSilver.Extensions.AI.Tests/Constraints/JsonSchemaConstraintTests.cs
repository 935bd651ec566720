using System.Text;
using System.Text.Json;
using CsCheck;
using QuickSilver.Extensions.AI.Constraints;
using QuickSilver.Extensions.AI.Tests.Fakes;

namespace QuickSilver.Extensions.AI.Tests.Constraints;

public class JsonSchemaConstraintTests
{
    private static readonly FakeTokenizer Tokenizer = new();

    internal static readonly JsonElement WeatherSchema = JsonDocument.Parse("""
        {"type":"object","properties":{
            "city":{"type":"string","maxLength":12},
            "days":{"type":"integer"},
            "unit":{"type":"string","enum":["celsius","fahrenheit"]},
            "tags":{"type":"array","items":{"type":"boolean"},"maxItems":3},
            "note":{"type":["string","null"],"maxLength":5}},
          "required":["city","unit"]}
        """).RootElement;

    private static List<int> Tokens(string text) => [.. Tokenizer.Encode(text, addBos: false)];

    /// <summary>Feeds text token by token, asserting each token was allowed by the mask first.</summary>
    private static JsonSchemaConstraint Feed(JsonSchemaConstraint constraint, string text)
    {
        foreach (int id in Tokens(text))
        {
            Assert.True(constraint.ComputeMask()[id], $"token '{Tokenizer.TokenPiece(id)}' was masked after \"{constraint.Text}\"");
            constraint.Accept(id);
        }
        return constraint;
    }

    [Theory]
    [InlineData("""{"city":"Paris","unit":"celsius"}""")]
    [InlineData("""{"city":"","days":-12,"unit":"fahrenheit","tags":[true,false],"note":null}""")]
    [InlineData("""{"city":"日本é\"x","unit":"celsius","note":"ab"}""")]
    [InlineData("""{"city":"a","days":0,"unit":"celsius","tags":[]}""")]
    public void ValidDocuments_AreNeverMasked_AndComplete(string json)
    {
        JsonSchemaConstraint constraint = Feed(JsonSchemaConstraint.ForSchema(Tokenizer, WeatherSchema), json);
        Assert.True(constraint.IsComplete);
    }

    [Theory]
    [InlineData("""{"unit":""", "the required city comes first")]
    [InlineData("""{"city":"Paris","unit":"kelvin""", "kelvin is not in the enum")]
    [InlineData("""{"city":"Paris","days":1.5""", "days is an integer")]
    [InlineData("""{"city":"Paris"}""", "unit is required")]
    [InlineData("""{"city":"Paris","unit":"celsius","extra":1""", "no undeclared properties")]
    [InlineData("""{"city":"abcdefghijklm""", "maxLength 12")]
    [InlineData("""{"city":"Paris","unit":"celsius","tags":[true,true,true,true""", "maxItems 3")]
    [InlineData("""{ "city""", "no insignificant whitespace")]
    public void InvalidPrefixes_AreMasked(string json, string reason)
    {
        var constraint = JsonSchemaConstraint.ForSchema(Tokenizer, WeatherSchema);
        byte[] bytes = Encoding.UTF8.GetBytes(json);
        bool rejected = false;
        foreach (byte b in bytes)
        {
            if (!constraint.ComputeMask()[b])
            {
                rejected = true;
                break;
            }
            constraint.Accept(b);
        }
        Assert.True(rejected, reason);
    }

    [Fact]
    public void Eos_IsAllowedOnlyWhenTheValueIsComplete()
    {
        var constraint = JsonSchemaConstraint.ForSchema(Tokenizer, JsonDocument.Parse("""{"type":"integer"}""").RootElement);
        Assert.False(constraint.ComputeMask()[FakeTokenizer.Eos]);
        constraint.Accept('4');
        Assert.True(constraint.ComputeMask()[FakeTokenizer.Eos]);
        Assert.True(constraint.ComputeMask()['2']);
        Assert.False(constraint.IsComplete);
    }

    [Fact]
    public void TrieWalk_EqualsBruteForcePerTokenCheck()
    {
        // Property: the trie-walked mask equals stepping every token's bytes through the grammar on its own.
        var states = new[] { "", "{", "{\"city\":\"Pa", "{\"city\":\"Paris\",\"unit\":\"c", "{\"city\":\"x\",\"days\":1", "{\"city\":\"x\",\"unit\":\"celsius\",\"tags\":[" };
        foreach (string prefix in states)
        {
            var constraint = JsonSchemaConstraint.ForSchema(Tokenizer, WeatherSchema);
            foreach (byte b in Encoding.UTF8.GetBytes(prefix)) constraint.Accept(b);
            bool[] mask = (bool[])constraint.ComputeMask().Clone();
            for (int id = 0; id < Tokenizer.VocabSize; id++)
            {
                byte[] bytes = Tokenizer.TokenBytes(id);
                if (bytes.Length == 0) continue;
                var probe = JsonSchemaConstraint.ForSchema(Tokenizer, WeatherSchema);
                bool ok = true;
                foreach (byte b in Encoding.UTF8.GetBytes(prefix)) probe.Accept(b);
                try
                {
                    probe.Accept(id);
                }
                catch (QuickSilverException)
                {
                    ok = false;
                }
                Assert.True(ok == mask[id], $"after \"{prefix}\" token '{Tokenizer.TokenPiece(id)}': trie says {mask[id]}, brute force {ok}");
            }
        }
    }

    [Fact]
    public void RandomWalksThroughTheMask_AlwaysYieldSchemaValidJson()
    {
        // Property: any path of allowed tokens that completes is a document that parses and validates.
        Gen.Int.Sample(seed =>
        {
            var rng = new Random(seed);
            var constraint = JsonSchemaConstraint.ForSchema(Tokenizer, WeatherSchema);
            for (int step = 0; step < 400 && !constraint.IsComplete; step++)
            {
                bool[] mask = constraint.ComputeMask();
                var allowed = Enumerable.Range(0, mask.Length).Where(i => mask[i] && i != FakeTokenizer.Eos).ToList();
                // Prefer structure over long strings so walks finish.
                var closers = allowed.Where(i => Tokenizer.TokenBytes(i) is [(byte)'"' or (byte)'}' or (byte)']' or (byte)',', ..]).ToList();
                var pool = closers.Count > 0 && rng.NextDouble() < 0.5 ? closers : allowed;
                constraint.Accept(pool[rng.Next(pool.Count)]);
            }
            Assert.True(constraint.IsComplete, constraint.Text);
            using var document = JsonDocument.Parse(constraint.Text);
            Assert.True(SchemaValidator.Validate(document.RootElement, WeatherSchema).Count == 0, constraint.Text + " :: " + string.Join(";", SchemaValidator.Validate(document.RootElement, WeatherSchema)));
        }, iter: 60);
    }

    [Fact]
    public void ToolCallEnvelope_ForcesKnownNameAndThatToolsArguments()
    {
        var tools = new List<(string, JsonElement)>
        {
            ("get_weather", WeatherSchema),
            ("get_time", JsonDocument.Parse("""{"type":"object","properties":{"zone":{"type":"string","enum":["utc","local"]}},"required":["zone"]}""").RootElement),
        };
        var constraint = JsonSchemaConstraint.ForToolCall(Tokenizer, tools);
        Feed(constraint, """{"name":"get_time","arguments":{"zone":"utc"}}""");
        Assert.True(constraint.IsComplete);

        var wrongArgs = JsonSchemaConstraint.ForToolCall(Tokenizer, tools);
        Feed(wrongArgs, """{"name":"get_time","arguments":{""");
        Assert.False(wrongArgs.ComputeMask()['c'], "get_weather's 'city' is not an argument of get_time");

        var unknown = JsonSchemaConstraint.ForToolCall(Tokenizer, tools);
        Feed(unknown, """{"name":"get_""");
        Assert.False(unknown.ComputeMask()['x'], "no tool is called get_x...");
        Assert.True(unknown.ComputeMask()['w']);
    }

    [Theory]
    [InlineData("", "{\"city\":\"\",\"unit\":\"celsius\"}")]
    [InlineData("{", "\"city\":\"\",\"unit\":\"celsius\"}")]
    [InlineData("{\"ci", "ty\":\"\",\"unit\":\"celsius\"}")]
    [InlineData("{\"city\":\"Par", "\",\"unit\":\"celsius\"}")]
    [InlineData("{\"city\":\"x\",\"days\":-", "1,\"unit\":\"celsius\"}")]
    [InlineData("{\"city\":\"x\",\"unit\":\"fahr", "enheit\"}")]
    [InlineData("{\"city\":\"x\",\"unit\":\"celsius\",\"tags\":[", "]}")]
    [InlineData("{\"city\":\"x\",\"unit\":\"celsius\"", "}")]
    public void MinimumBytesToComplete_IsTheShortestCompletion(string prefix, string shortestCompletion)
    {
        var constraint = JsonSchemaConstraint.ForSchema(Tokenizer, WeatherSchema);
        constraint.AcceptBytes(Encoding.UTF8.GetBytes(prefix));
        Assert.Equal(Encoding.UTF8.GetByteCount(shortestCompletion), constraint.MinimumBytesToComplete);
        constraint.AcceptBytes(Encoding.UTF8.GetBytes(shortestCompletion));
        Assert.True(constraint.IsComplete);
    }

    [Fact]
    public void WithATokenBudget_RandomWalksAlwaysFinishInTime()
    {
        // Property: whatever allowed tokens are chosen, a budget at least the shortest document is never overrun.
        int minimum = JsonSchemaConstraint.ForSchema(Tokenizer, WeatherSchema).MinimumBytesToComplete;
        Gen.Select(Gen.Int, Gen.Int[0, 40]).Sample((seed, extra) =>
        {
            var rng = new Random(seed);
            int budget = minimum + extra;
            var constraint = JsonSchemaConstraint.ForSchema(Tokenizer, WeatherSchema, maxTokens: budget);
            int used = 0;
            while (!constraint.IsComplete)
            {
                Assert.True(used < budget, $"budget {budget} overrun: {constraint.Text}");
                bool[] mask = constraint.ComputeMask();
                var allowed = Enumerable.Range(0, mask.Length).Where(i => mask[i] && i != FakeTokenizer.Eos).ToList();
                constraint.Accept(allowed[rng.Next(allowed.Count)]);
                used++;
            }
            using var document = JsonDocument.Parse(constraint.Text);
            Assert.Empty(SchemaValidator.Validate(document.RootElement, WeatherSchema));
        }, iter: 200);
    }

    [Fact]
    public void ToolCallWithATokenBudget_FinishesInTime()
    {
        var tools = new List<(string, JsonElement)> { ("get_weather", WeatherSchema) };
        int minimum = JsonSchemaConstraint.ForToolCall(Tokenizer, tools).MinimumBytesToComplete;
        Assert.Equal(Encoding.UTF8.GetByteCount("""{"name":"get_weather","arguments":{"city":"","unit":"celsius"}}"""), minimum);
        var rng = new Random(3);
        var constraint = JsonSchemaConstraint.ForToolCall(Tokenizer, tools, maxTokens: minimum + 5);
        int used = 0;
        while (!constraint.IsComplete)
        {
            bool[] mask = constraint.ComputeMask();
            var allowed = Enumerable.Range(0, mask.Length).Where(i => mask[i]).ToList();
            constraint.Accept(allowed[rng.Next(allowed.Count)]);
            used++;
        }
        Assert.InRange(used, 1, minimum + 5);
    }

    [Fact]
    public void Integers_AreCappedAtNineDigits_NegativeSignNotCounted()
    {
        var schema = JsonDocument.Parse("""{"type":"array","items":{"type":"integer"}}""").RootElement;
        var constraint = Feed(JsonSchemaConstraint.ForSchema(Tokenizer, schema), "[-123456789");
        Assert.False(constraint.ComputeMask()['0']);
        Assert.True(constraint.ComputeMask()[']']);
        var positive = Feed(JsonSchemaConstraint.ForSchema(Tokenizer, schema), "[12345678");
        Assert.True(positive.ComputeMask()['9']);
        positive.Accept('9');
        Assert.False(positive.ComputeMask()['9']);
    }

    [Fact]
    public void AnyJson_AcceptsNestedFreeFormValues()
    {
        var constraint = JsonSchemaConstraint.ForSchema(Tokenizer, null);
        Feed(constraint, """{"a":[1,2.5e-3,{"b":null}],"c":"d","e":true}""");
        Assert.True(constraint.IsComplete);
    }

    [Fact]
    public void RefsIntoDefs_AreFollowed()
    {
        JsonElement schema = JsonDocument.Parse("""{"$defs":{"p":{"type":"object","properties":{"x":{"type":"integer"}},"required":["x"]}},"type":"object","properties":{"pt":{"$ref":"#/$defs/p"}},"required":["pt"]}""").RootElement;
        var constraint = Feed(JsonSchemaConstraint.ForSchema(Tokenizer, schema), """{"pt":{"x":7}}""");
        Assert.True(constraint.IsComplete);
    }

    [Fact]
    public void UnsupportedSchemas_ThrowArgumentException()
    {
        Assert.Throws<ArgumentException>(() => JsonSchemaConstraint.ForSchema(Tokenizer, JsonDocument.Parse("""{"type":"date"}""").RootElement));
        Assert.Throws<ArgumentException>(() => JsonSchemaConstraint.ForSchema(Tokenizer, JsonDocument.Parse("""{"$ref":"http://x/y"}""").RootElement));
        Assert.Throws<ArgumentException>(() => JsonSchemaConstraint.ForToolCall(Tokenizer, []));
    }

    [Fact]
    public void Gpt2Vocabulary_MaskMatchesBruteForce()
    {
        // A 50k-token byte-level BPE vocabulary (GPT-2's vocab.json) exercises the trie at realistic size.
        var tokenizer = Gpt2VocabTokenizer.Load(QuickSilver.Testing.SharedAssets.Gpt2TokenizerDir);
        Assert.True(tokenizer.VocabSize > 50000);
        foreach (string prefix in new[] { "", "{\"city\":\"Lon", "{\"city\":\"London\",\"days\":1" })
        {
            var constraint = JsonSchemaConstraint.ForSchema(tokenizer, WeatherSchema);
            constraint.AcceptBytes(Encoding.UTF8.GetBytes(prefix));
            bool[] mask = constraint.ComputeMask();
            int allowed = 0;
            for (int id = 0; id < tokenizer.VocabSize; id++)
            {
                byte[] bytes = tokenizer.TokenBytes(id);
                Assert.Equal(bytes.Length > 0 && constraint.Allows(bytes), mask[id]);
                if (mask[id]) allowed++;
            }
            Assert.InRange(allowed, 1, tokenizer.VocabSize - 1);
        }
    }
}
