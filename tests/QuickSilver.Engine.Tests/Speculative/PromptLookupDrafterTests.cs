using CsCheck;
using QuickSilver.Engine.Speculative;

namespace QuickSilver.Engine.Tests.Speculative;

public sealed class PromptLookupDrafterTests
{
    [Fact]
    public void ProposesWhatFollowedTheMostRecentEarlierOccurrence()
    {
        var drafter = new PromptLookupDrafter(new PromptLookupOptions { MinNgram = 2, MaxNgram = 3, MaxDraftTokens = 4 });
        // "1 2 3 4 5 | 1 2 9 | 1 2": the suffix (1 2) occurred twice; the later occurrence was followed by 9.
        drafter.Append([1, 2, 3, 4, 5, 1, 2, 9, 7, 1, 2]);
        Assert.Equal([9, 7, 1, 2], drafter.Propose());
    }

    [Fact]
    public void PrefersTheLongestMatchingSuffix()
    {
        var drafter = new PromptLookupDrafter(new PromptLookupOptions { MinNgram = 1, MaxNgram = 3, MaxDraftTokens = 2 });
        // Suffix "5 6 7": its 3-gram occurred once (followed by 8 8); the 1-gram "7" occurred more recently (followed by 1).
        drafter.Append([5, 6, 7, 8, 8, 7, 1, 5, 6, 7]);
        Assert.Equal([8, 8], drafter.Propose());
        Assert.Equal(3, drafter.LastMatchLength);
        drafter.Append(9);
        Assert.Empty(drafter.Propose());
        Assert.Equal(0, drafter.LastMatchLength); // nothing proposed
    }

    [Fact]
    public void NoMatch_ProposesNothing_AndTheSuffixNeverMatchesItself()
    {
        var drafter = new PromptLookupDrafter();
        drafter.Append([1, 2, 3, 4]);
        Assert.Empty(drafter.Propose());
        drafter.Append(1);
        Assert.Empty(drafter.Propose()); // "4 1" is new
        drafter.Append(2);
        Assert.Equal([3, 4, 1, 2, 3, 4, 1, 2], drafter.Propose()); // "1 2" occurred at the start; the copy goes on periodically
    }

    [Fact]
    public void RespectsTheTokenLimits()
    {
        var drafter = new PromptLookupDrafter(new PromptLookupOptions { MaxDraftTokens = 3 });
        drafter.Append([1, 2, 3, 4, 5, 6, 1, 2]);
        Assert.Equal([3, 4, 5], drafter.Propose());
        Assert.Equal([3], drafter.Propose(maxTokens: 1));
        Assert.Empty(drafter.Propose(maxTokens: 0));
    }

    [Fact]
    public void Sync_AppendsOrRebuilds_AndTruncateForgetsLaterTokens()
    {
        var drafter = new PromptLookupDrafter();
        drafter.Sync([1, 2, 3, 1]);
        drafter.Sync([1, 2, 3, 1, 2]);
        Assert.Equal([3, 1, 2, 3, 1, 2, 3, 1], drafter.Propose());
        drafter.Sync([7, 8, 9, 7, 8]); // another context: rebuilt
        Assert.Equal([9, 7, 8, 9, 7, 8, 9, 7], drafter.Propose());
        drafter.TruncateTo(3);
        drafter.Append([7]);
        Assert.Equal([7, 8, 9, 7], drafter.Context);
        Assert.Empty(drafter.Propose()); // "9 7" never occurred before
    }

    [Fact]
    public void A_loop_drafts_the_whole_length_and_the_option_turns_that_off()
    {
        var periodic = new PromptLookupDrafter(new PromptLookupOptions { MaxDraftTokens = 6 });
        periodic.Append([9, 4, 5, 4, 5]);
        Assert.Equal([4, 5, 4, 5, 4, 5], periodic.Propose()); // "4 5" ended 2 tokens ago: period 2
        var plain = new PromptLookupDrafter(new PromptLookupOptions { MaxDraftTokens = 6, ExtendPeriodically = false });
        plain.Append([9, 4, 5, 4, 5]);
        Assert.Equal([4, 5], plain.Propose());
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void EqualsABruteForceScan(bool periodic)
    {
        // Property: the incremental index proposes exactly what scanning the whole context for the longest, most recent match gives.
        Gen.Int[0, 5].Array[1, 60].Sample(tokens =>
        {
            var options = new PromptLookupOptions { MinNgram = 1, MaxNgram = 3, MaxDraftTokens = 5, ExtendPeriodically = periodic };
            var drafter = new PromptLookupDrafter(options);
            for (int i = 0; i < tokens.Length; i++)
            {
                drafter.Append(tokens[i]);
                Assert.Equal(BruteForce(tokens.AsSpan(0, i + 1).ToArray(), options), drafter.Propose());
            }
        }, iter: 200);
    }

    [Theory]
    [InlineData(0, 4, 8, "MinNgram")]
    [InlineData(3, 2, 8, "MaxNgram")]
    [InlineData(1, 17, 8, "MaxNgram")]
    [InlineData(1, 2, 0, "MaxDraftTokens")]
    public void InvalidOptions_AreRejectedByName(int min, int max, int draft, string name)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new PromptLookupDrafter(new PromptLookupOptions { MinNgram = min, MaxNgram = max, MaxDraftTokens = draft }));
        Assert.Contains(name, e.Message);
    }

    private static int[] BruteForce(int[] context, PromptLookupOptions options)
    {
        int length = context.Length;
        for (int n = Math.Min(options.MaxNgram, length - 1); n >= options.MinNgram; n--)
        {
            for (int end = length - 1; end >= n; end--)
            {
                bool match = true;
                for (int i = 0; i < n && match; i++) match = context[end - n + i] == context[length - n + i];
                if (!match) continue;
                if (!options.ExtendPeriodically) return context.Skip(end).Take(Math.Min(options.MaxDraftTokens, length - end)).ToArray();
                var extended = new List<int>(context);
                for (int i = 0; i < options.MaxDraftTokens; i++) extended.Add(extended[end + i]);
                return extended.Skip(length).ToArray();
            }
        }
        return [];
    }
}
