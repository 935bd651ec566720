using Microsoft.Extensions.AI;
using QuickSilver.Extensions.AI.Tests.Fakes;

namespace QuickSilver.Extensions.AI.Tests.Chat;

public class AccelerationOptionsTests
{
    [Fact]
    public void Defaults_are_lossless_accelerations_on_and_the_prefix_cache_off()
    {
        var options = new QuickSilverOptions();
        Assert.True(options.PromptLookup);
        Assert.False(options.EarlyExitDrafting);
        Assert.True(options.JumpForward);
        Assert.Equal(8, options.MaxDraftTokens);
        Assert.Equal(0, options.PrefixCacheBytes);
        Assert.Equal(64, options.PrefixCacheBlockTokens);
    }

    [Fact]
    public void Clone_copies_the_acceleration_settings()
    {
        var options = new QuickSilverOptions { PromptLookup = false, EarlyExitDrafting = true, JumpForward = false, MaxDraftTokens = 5, PrefixCacheBytes = 1234, PrefixCacheBlockTokens = 32 };
        var copy = options.Clone();
        Assert.Equal((false, true, false, 5, 1234L, 32), (copy.PromptLookup, copy.EarlyExitDrafting, copy.JumpForward, copy.MaxDraftTokens, copy.PrefixCacheBytes, copy.PrefixCacheBlockTokens));
    }

    [Theory]
    [InlineData(0, 0, 64, "MaxDraftTokens must be between 1 and 31")]
    [InlineData(32, 0, 64, "MaxDraftTokens must be between 1 and 31")]
    [InlineData(8, -1, 64, "PrefixCacheBytes must be 0 (off) or positive")]
    [InlineData(8, 0, 0, "PrefixCacheBlockTokens must be between 1 and 4096")]
    [InlineData(8, 0, 5000, "PrefixCacheBlockTokens must be between 1 and 4096")]
    public void Invalid_settings_are_named(int drafts, long bytes, int block, string message)
    {
        var options = new QuickSilverOptions { ModelPath = "x", MaxDraftTokens = drafts, PrefixCacheBytes = bytes, PrefixCacheBlockTokens = block };
        Assert.Contains(QuickSilverOptionsValidator.GetFailures(options), f => f.Contains(message, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(QuickSilverChatOptionKeys.PromptLookup, "yes")]
    [InlineData(QuickSilverChatOptionKeys.EarlyExitDrafting, 3)]
    [InlineData(QuickSilverChatOptionKeys.JumpForward, "maybe")]
    [InlineData(QuickSilverChatOptionKeys.MaxDraftTokens, 0)]
    [InlineData(QuickSilverChatOptionKeys.MaxDraftTokens, 2.5)]
    [InlineData(QuickSilverChatOptionKeys.MaxDraftTokens, "many")]
    public async Task Bad_request_keys_throw_naming_the_key(string key, object value)
    {
        using var client = TestClients.Create(out _);
        var options = new ChatOptions { AdditionalProperties = new() { [key] = value } };
        var e = await Assert.ThrowsAnyAsync<ArgumentException>(() => client.GetResponseAsync([new ChatMessage(ChatRole.User, "hi")], options));
        Assert.Contains(key, e.Message);
    }

    [Fact]
    public async Task Request_keys_switch_the_accelerations_and_usage_reports_them()
    {
        using var client = TestClients.Create(out _);
        var options = new ChatOptions
        {
            MaxOutputTokens = 8,
            AdditionalProperties = new() { [QuickSilverChatOptionKeys.PromptLookup] = false, [QuickSilverChatOptionKeys.JumpForward] = "false", [QuickSilverChatOptionKeys.MaxDraftTokens] = 4 },
        };
        ChatResponse response = await client.GetResponseAsync([new ChatMessage(ChatRole.User, "hi")], options);
        var counts = response.Usage!.AdditionalCounts!;
        Assert.Equal(0, counts["quicksilver.draft_tokens"]);
        Assert.Equal(0, counts["quicksilver.forced_tokens"]);
        Assert.True(counts.ContainsKey("quicksilver.cached_prompt_tokens"));
        Assert.True(counts.ContainsKey("quicksilver.accepted_draft_tokens"));
    }
}
