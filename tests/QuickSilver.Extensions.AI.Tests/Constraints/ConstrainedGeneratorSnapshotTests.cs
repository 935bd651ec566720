using System.Text.Json;
using QuickSilver.Engine.Generation;
using QuickSilver.Engine.Tokenization;
using QuickSilver.Extensions.AI.Tests.Fakes;

namespace QuickSilver.Extensions.AI.Tests.Constraints;

/// <summary>
/// <see cref="Generator.Snapshot"/> and <see cref="Generator.Restore"/> on constrained requests, through the real generation
/// loop with a fake that is only a source of logits: restoring any snapshot and running on gives exactly the tokens of a run
/// that never went further (seeded sampling, with and without jump-forward).
/// </summary>
public sealed class ConstrainedGeneratorSnapshotTests
{
    // Room for the schema's shortest object (about 70 bytes) and the budget filter's endgame.
    private const int MaxNewTokens = 120;

    public static TheoryData<string, bool> Cases()
    {
        var data = new TheoryData<string, bool>();
        foreach (string kind in new[] { "schema", "schema-canonical", "toolcall-canonical", "native-hermes", "native-hermes-required", "native-llama3", "auto" })
        {
            data.Add(kind, false);
            data.Add(kind, true);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void RestoringAnySnapshot_ReplaysTheRunThatNeverWentFurther(string kind, bool jumpForward)
    {
        ITokenizer tokenizer = ConstraintSnapshotTests.Stories.Value;
        // The model wants to write a call (or an object) the constraint mostly allows; the noise decides the rest.
        string script = kind.StartsWith("native", StringComparison.Ordinal)
            ? "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>"
            : "{\"name\":\"get_weather\",\"arguments\":{\"city\":\"Paris\"}}";
        var reply = tokenizer.Encode(script, addBos: false);
        var backend = new LogitsSourceBackend(tokenizer, _ => reply);
        var prompt = tokenizer.Encode("Once upon a time", addBos: true);
        GenerationRequest Request() => new()
        {
            MaxNewTokens = MaxNewTokens,
            Temperature = 1f,
            Seed = 11,
            JumpForward = jumpForward,
            Constraint = ConstraintSnapshotTests.Create(kind, tokenizer, MaxNewTokens),
        };

        using var plainSequence = backend.CreateSequence(new SequenceOptions());
        GenerationResult expected = new Generator(backend, plainSequence, prompt, Request()).Run();
        if (kind.StartsWith("schema", StringComparison.Ordinal))
        {
            // The constraint took part: the output is a complete JSON value.
            Assert.Equal(GenerationFinishReason.ConstraintComplete, expected.FinishReason);
            using var _ = JsonDocument.Parse(tokenizer.Decode(expected.Tokens));
        }

        using var sequence = backend.CreateSequence(new SequenceOptions());
        var generator = new Generator(backend, sequence, prompt, Request());
        Assert.True(Step(generator, backend)); // the prompt
        var snapshots = new List<GeneratorSnapshot>();
        do
        {
            snapshots.Add(generator.Snapshot());
        }
        while (Step(generator, backend));
        Assert.Equal(expected.Tokens, generator.Output);

        var random = new Random(kind.Length * 2 + (jumpForward ? 1 : 0));
        for (int round = 0; round < 6; round++)
        {
            GeneratorSnapshot snapshot = snapshots[random.Next(snapshots.Count)];
            generator.Restore(snapshot);
            Assert.Equal(expected.Tokens.Take(snapshot.OutputCount), generator.Output);
            // Wander a few steps, come back, then run to the end.
            int wander = random.Next(4);
            while (wander-- > 0 && Step(generator, backend))
            {
                Assert.Equal(expected.Tokens.Take(generator.Output.Count), generator.Output);
            }
            generator.Restore(snapshot);
            GenerationResult result = generator.Run();
            Assert.Equal(expected.Tokens, result.Tokens);
            Assert.Equal(expected.FinishReason, result.FinishReason);
            Assert.Equal(plainSequence.Tokens, sequence.Tokens);
        }
    }

    private static bool Step(Generator generator, IStepModel model)
    {
        if (generator.NextStep() is not { } step) return false;
        generator.Advance(model.Decode([step])[0]);
        return true;
    }
}
