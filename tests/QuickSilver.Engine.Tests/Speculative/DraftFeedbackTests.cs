using QuickSilver.Engine.Generation;
using QuickSilver.Engine.Speculative;

namespace QuickSilver.Engine.Tests.Speculative;

public sealed class DraftFeedbackTests
{
    [Fact]
    public void Length_doubles_on_full_acceptance_and_drops_after_a_rejection()
    {
        var feedback = new DraftFeedback(8);
        Assert.Equal(8, feedback.Limit(10));
        feedback.Record(8, 2);
        Assert.Equal(3, feedback.Limit(10));
        feedback.Record(3, 3);
        Assert.Equal(6, feedback.Limit(10));
        feedback.Record(6, 6);
        Assert.Equal(8, feedback.Limit(10));
        Assert.Equal(4, feedback.Limit(4));
        Assert.Equal(17, feedback.Proposed);
        Assert.Equal(11, feedback.Accepted);
    }

    [Fact]
    public void Low_acceptance_rests_then_probes()
    {
        var feedback = new DraftFeedback(4, minAcceptance: 0.5, restSteps: 2);
        for (int i = 0; i < 3 && feedback.Limit(4) > 0; i++) feedback.Record(4, 0);
        Assert.Equal(0, feedback.Limit(4));
        Assert.Equal(0, feedback.Limit(4));
        Assert.Equal(1, feedback.Limit(4)); // the probe
    }

    [Theory]
    [InlineData(0, 0.0, 1, "maxTokens")]
    [InlineData(4, 1.0, 1, "minAcceptance")]
    [InlineData(4, 0.5, 0, "restSteps")]
    public void Bad_settings_name_the_setting(int max, double min, int rest, string name)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new DraftFeedback(max, min, rest));
        Assert.Equal(name, e.ParamName);
    }

    [Fact]
    public void Composer_takes_the_first_proposal_and_reports_to_its_author()
    {
        var empty = new Fixed([]);
        var first = new Fixed([1, 2]);
        var second = new Fixed([3]);
        var composer = new DraftComposer(empty, first, second);
        Assert.Equal([1, 2], composer.Propose([0], 4));
        composer.Verified(2, 1);
        Assert.Equal((2, 1), first.Last);
        Assert.Null(second.Last);
        Assert.Throws<ArgumentException>(() => new DraftComposer());
    }

    [Fact]
    public void Prompt_lookup_provider_proposes_the_continuation_of_a_repeat()
    {
        var provider = new PromptLookupDraftProvider(new PromptLookupOptions { MinNgram = 2, MaxNgram = 3, MaxDraftTokens = 4 });
        Assert.Equal([7, 8, 9], provider.Propose([5, 6, 7, 8, 9, 5, 6], 3));
        provider.Verified(3, 0);
        Assert.Equal([7], provider.Propose([5, 6, 7, 8, 9, 5, 6], 3)); // one more than was accepted
    }

    private sealed class Fixed(int[] tokens) : IDraftProvider
    {
        public (int, int)? Last { get; private set; }
        public IReadOnlyList<int> Propose(IReadOnlyList<int> context, int maxTokens) => tokens;
        public void Verified(int proposed, int accepted) => Last = (proposed, accepted);
    }
}
