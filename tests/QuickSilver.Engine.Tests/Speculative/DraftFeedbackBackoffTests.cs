using QuickSilver.Engine.Speculative;

namespace QuickSilver.Engine.Tests.Speculative;

/// <summary>Rests after failed probes grow (up to the maximum) and shrink back after a probe that pays.</summary>
public sealed class DraftFeedbackBackoffTests
{
    // Limit calls that return 0 before the next one that drafts (the probe).
    private static int RestBeforeProbe(DraftFeedback feedback)
    {
        int rested = 0;
        while (feedback.Limit(4) == 0) rested++;
        return rested;
    }

    [Fact]
    public void Failed_probes_double_the_rest_up_to_the_maximum()
    {
        var feedback = new DraftFeedback(4, minAcceptance: 0.5, restSteps: 2, maxRestSteps: 8);
        feedback.Record(4, 0); // running rate 0.75
        feedback.Record(1, 0); // 0.5625
        feedback.Record(1, 0); // 0.42: below 0.5, the first rest
        var rests = new List<int>();
        for (int i = 0; i < 5; i++)
        {
            rests.Add(RestBeforeProbe(feedback));
            feedback.Record(1, 0); // the probe fails
        }
        Assert.Equal([2, 4, 8, 8, 8], rests);
    }

    [Fact]
    public void A_probe_that_pays_restores_the_short_rest()
    {
        var feedback = new DraftFeedback(4, minAcceptance: 0.5, restSteps: 2, maxRestSteps: 16);
        feedback.Record(4, 0);
        feedback.Record(1, 0);
        feedback.Record(1, 0);
        Assert.Equal(2, RestBeforeProbe(feedback));
        feedback.Record(1, 0); // failed probe
        Assert.Equal(4, RestBeforeProbe(feedback));
        feedback.Record(1, 1); // the probe pays: 0.75·0.5 + 0.25 = 0.625
        feedback.Record(1, 0); // 0.47: resting again, from the short rest
        Assert.Equal(2, RestBeforeProbe(feedback));
    }

    [Fact]
    public void A_longest_rest_below_the_first_is_refused_naming_it()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new DraftFeedback(4, 0.5, restSteps: 8, maxRestSteps: 4));
        Assert.Equal("maxRestSteps", e.ParamName);
    }
}
