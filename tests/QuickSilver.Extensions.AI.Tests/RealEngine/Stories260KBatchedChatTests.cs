using Microsoft.Extensions.AI;

namespace QuickSilver.Extensions.AI.Tests.RealEngine;

/// <summary>Continuous batching on the real stories260K: eight concurrent requests give, token for token, what each gives alone.</summary>
public class Stories260KBatchedChatTests(Stories260KFixture fixture) : IClassFixture<Stories260KFixture>
{
    private static readonly string[] Prompts =
    [
        "Once upon a time", "The cat sat on the mat", "Tom had a red ball", "One day, a big dog",
        "The sun was hot", "Ben liked to build towers", "Mom said it was time for bed", "There was a tree with many apples",
    ];

    private static ChatOptions Options(int i, bool sampled) => sampled
        ? new ChatOptions { MaxOutputTokens = 20, Temperature = 0.9f, TopK = 40, Seed = 7 + i }
        : new ChatOptions { MaxOutputTokens = 20 };

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Eight_concurrent_requests_equal_each_alone(bool sampled)
    {
        var alone = new (string Text, long? Output)[Prompts.Length];
        using (var single = fixture.CreateClient(o => o.MaxBatchSize = 1))
        {
            for (int i = 0; i < Prompts.Length; i++)
            {
                var response = await single.GetResponseAsync([new(ChatRole.User, Prompts[i])], Options(i, sampled));
                alone[i] = (response.Text, response.Usage!.OutputTokenCount);
            }
        }
        using var client = fixture.CreateClient();
        var responses = await Task.WhenAll(Prompts.Select((p, i) => client.GetResponseAsync([new(ChatRole.User, p)], Options(i, sampled))));
        for (int i = 0; i < Prompts.Length; i++)
        {
            Assert.Equal(alone[i].Text, responses[i].Text);
            Assert.Equal(alone[i].Output, responses[i].Usage!.OutputTokenCount);
        }
    }
}
