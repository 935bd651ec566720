using QuickSilver.Engine.Speculative;
using QuickSilver.Engine.Tests.Generation;

namespace QuickSilver.Engine.Tests.Speculative;

/// <summary>A drafter that starts on probation: short first drafts, resting after its first miss, lengthening as it pays.</summary>
public sealed class DraftFeedbackProbationTests
{
    [Fact]
    public void On_probation_the_first_miss_rests_and_hits_double_the_length()
    {
        var missing = new DraftFeedback(4, minAcceptance: 0.5, restSteps: 8, initialTokens: 1, initialAcceptance: 0.5);
        Assert.Equal(1, missing.Limit(4));
        missing.Record(1, 0); // 0.375: below 0.5
        for (int i = 0; i < 8; i++) Assert.Equal(0, missing.Limit(4));
        Assert.Equal(1, missing.Limit(4)); // the probe after the rest

        var paying = new DraftFeedback(4, minAcceptance: 0.5, restSteps: 8, initialTokens: 1, initialAcceptance: 0.5);
        var lengths = new List<int>();
        for (int i = 0; i < 4; i++)
        {
            int n = paying.Limit(4);
            lengths.Add(n);
            paying.Record(n, n);
        }
        Assert.Equal([1, 2, 4, 4], lengths);
    }

    [Fact]
    public void Defaults_are_unchanged_full_length_and_three_misses_before_resting()
    {
        var feedback = new DraftFeedback(4, minAcceptance: 0.5);
        Assert.Equal(1, feedback.AcceptanceRate);
        Assert.Equal(4, feedback.Limit(4));
        feedback.Record(4, 0);
        feedback.Record(1, 0);
        Assert.Equal(1, feedback.Limit(4));
        feedback.Record(1, 0);
        Assert.Equal(0, feedback.Limit(4));
    }

    [Theory]
    [InlineData(0, 1.0, "initialTokens")]
    [InlineData(5, 1.0, "initialTokens")]
    [InlineData(2, -0.1, "initialAcceptance")]
    [InlineData(2, 1.5, "initialAcceptance")]
    [InlineData(2, double.NaN, "initialAcceptance")]
    public void Out_of_range_starting_points_are_refused_naming_them(int tokens, double acceptance, string name)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new DraftFeedback(4, 0.5, initialTokens: tokens, initialAcceptance: acceptance));
        Assert.Equal(name, e.ParamName);
    }

    [Fact]
    public void The_early_exit_provider_starts_on_probation()
    {
        using var sequence = StepApiTests.Model.CreateSequence();
        var provider = new EarlyExitDraftProvider(StepApiTests.Model, sequence);
        Assert.Equal(EarlyExitDraftProvider.DefaultMinAcceptance, provider.Feedback.AcceptanceRate);
        Assert.Equal(1, provider.Feedback.Limit(4));
    }
}
