using System.Text.Json;
using Microsoft.Extensions.AI;

namespace QuickSilver.Extensions.AI.Tests.RealEngine;

/// <summary>
/// The lossless accelerations through the chat client on stories260K (the real generation loop and real logits): drafting
/// equals plain decoding, jump-forward equals sampling under the constraint, and a prefix-cache hit equals a cold prefill.
/// </summary>
public class LosslessAccelerationTests(Stories260KFixture fixture) : IClassFixture<Stories260KFixture>
{
    private static List<ChatMessage> Ask(string text) => [new(ChatRole.User, text)];

    private const string Repetitive = "Lily went to the park. She saw a big dog. Lily went to the park. She saw a big dog. Lily went to the";

    private QuickSilverChatClient Client(bool lookup, bool early, bool jump, long prefixBytes = 0) => fixture.CreateClient(o =>
    {
        o.Policy = "dense";
        o.PromptLookup = lookup;
        o.EarlyExitDrafting = early;
        o.JumpForward = jump;
        o.PrefixCacheBytes = prefixBytes;
        o.PrefixCacheBlockTokens = 16;
    });

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Speculative_reply_equals_plain_reply(bool seeded)
    {
        var options = new ChatOptions { MaxOutputTokens = 40, Temperature = seeded ? 0.8f : 0f, Seed = seeded ? 5 : null };
        using var plain = Client(false, false, false);
        using var fast = Client(true, true, false);
        ChatResponse expected = await plain.GetResponseAsync(Ask(Repetitive), options);
        ChatResponse actual = await fast.GetResponseAsync(Ask(Repetitive), options);
        Assert.Equal(expected.Text, actual.Text);
        Assert.Equal(expected.Usage!.OutputTokenCount, actual.Usage!.OutputTokenCount);
        Assert.Equal(0, expected.Usage.AdditionalCounts!["quicksilver.draft_tokens"]);
        Assert.True(actual.Usage.AdditionalCounts!["quicksilver.draft_tokens"] > 0, $"'{actual.Text}' {actual.Usage.OutputTokenCount} {actual.FinishReason}");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Jump_forward_reply_equals_sampling_under_the_schema(bool seeded)
    {
        using var schema = JsonDocument.Parse("""{"type":"object","properties":{"mood":{"type":"string","enum":["happy","sad"]},"friend":{"type":"boolean"},"name":{"type":"string","maxLength":8}},"required":["mood","friend","name"]}""");
        var options = new ChatOptions
        {
            MaxOutputTokens = 80, Temperature = seeded ? 0.9f : 0f, Seed = seeded ? 3 : null,
            ResponseFormat = ChatResponseFormat.ForJsonSchema(schema.RootElement.Clone(), "story"),
        };
        // A mostly byte-level tokenizer spells each key one way, so the schema forces tokens (stories260K's pieces leave choices).
        var tokenizer = new Fakes.FakeTokenizer();
        using var model = new QuickSilver.Engine.LanguageModel(QuickSilver.Engine.Models.RandomCheckpoint.Create(ByteModelConfig(tokenizer.VocabSize), 1, std: 0.3f), tokenizer);
        using var plain = new QuickSilverChatClient(model, new QuickSilverOptions { Policy = "dense", JumpForward = false, PromptLookup = false });
        using var fast = new QuickSilverChatClient(model, new QuickSilverOptions { Policy = "dense", JumpForward = true, PromptLookup = true });
        ChatResponse expected = await plain.GetResponseAsync(Ask("Once upon a time"), options);
        ChatResponse actual = await fast.GetResponseAsync(Ask("Once upon a time"), options);
        Assert.Equal(expected.Text, actual.Text);
        Assert.True(actual.Usage!.AdditionalCounts!["quicksilver.forced_tokens"] > 0);
        Assert.Equal(0, expected.Usage!.AdditionalCounts!["quicksilver.forced_tokens"]);
    }

    private static QuickSilver.Engine.Models.ModelConfig ByteModelConfig(int vocab) => new()
    {
        Architecture = "gpt2", VocabSize = vocab, HiddenSize = 32, NumLayers = 2, NumHeads = 4, NumKvHeads = 4, HeadDim = 8,
        IntermediateSize = 64, MaxPositions = 512, Norm = QuickSilver.Engine.Models.NormKind.LayerNorm,
        Positions = QuickSilver.Engine.Models.PositionEncodingKind.Learned, FeedForward = QuickSilver.Engine.Models.FeedForwardKind.GeluTanh,
        AttentionBias = true, MlpBias = true, TiedEmbeddings = true,
        BosTokenId = Fakes.FakeTokenizer.Bos, EosTokenId = Fakes.FakeTokenizer.Eos,
    };

    [Fact]
    public async Task Jump_forward_forces_keys_on_stories260K_and_keeps_the_reply()
    {
        using var schema = JsonDocument.Parse("""{"type":"object","properties":{"mood":{"type":"string","enum":["happy","sad"]},"friend":{"type":"boolean"}},"required":["mood","friend"]}""");
        var options = new ChatOptions { MaxOutputTokens = 40, ResponseFormat = ChatResponseFormat.ForJsonSchema(schema.RootElement.Clone(), "story") };
        using var plain = Client(false, false, false);
        using var fast = Client(false, false, true);
        ChatResponse expected = await plain.GetResponseAsync(Ask("Once upon a time"), options);
        ChatResponse actual = await fast.GetResponseAsync(Ask("Once upon a time"), options);
        Assert.Equal(expected.Text, actual.Text);
        Assert.True(actual.Usage!.AdditionalCounts!["quicksilver.forced_tokens"] > 0, actual.Text);
    }

    [Fact]
    public async Task Prefix_cache_hit_reply_equals_the_uncached_reply()
    {
        string system = string.Join(" ", Enumerable.Repeat("The little dog liked to play in the sun with the kind old man.", 6));
        List<ChatMessage> Conversation(string user) => [new(ChatRole.System, system), new(ChatRole.User, user)];
        var options = new ChatOptions { MaxOutputTokens = 16 };

        using var cached = Client(false, false, false, prefixBytes: 64L << 20);
        await cached.GetResponseAsync(Conversation("Tom had a red ball."), new ChatOptions { MaxOutputTokens = 16, ConversationId = "first" });
        ChatResponse hit = await cached.GetResponseAsync(Conversation("Sue found a blue hat."), new ChatOptions { MaxOutputTokens = 16, ConversationId = "second" });

        using var cold = Client(false, false, false, prefixBytes: 64L << 20);
        ChatResponse miss = await cold.GetResponseAsync(Conversation("Sue found a blue hat."), new ChatOptions { MaxOutputTokens = 16, ConversationId = "second" });

        Assert.Equal(miss.Text, hit.Text);
        Assert.True(hit.Usage!.CachedInputTokenCount >= 16, $"cached {hit.Usage.CachedInputTokenCount}");
        Assert.Equal(hit.Usage.CachedInputTokenCount, hit.Usage.AdditionalCounts!["quicksilver.cached_prompt_tokens"]);
        Assert.Equal(0, miss.Usage!.CachedInputTokenCount);
        _ = options;
    }
}
