using Microsoft.Extensions.AI;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using QuickSilver.Testing;

namespace QuickSilver.Extensions.AI.Tests.RealEngine;

public class Stories260KDependencyInjectionTests
{
    [Fact]
    public async Task ClientFromConfiguration_LoadsTheModelAndAnswers()
    {
        IConfiguration configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["QuickSilver:ModelPath"] = SharedAssets.Stories260KBin,
            ["QuickSilver:Format"] = "llama2c",
            ["QuickSilver:Policy"] = "safe",
            ["QuickSilver:MaxOutputTokens"] = "8",
            ["QuickSilver:ContextLength"] = "256",
        }).Build();
        var services = new ServiceCollection();
        services.AddQuickSilverChatClient(configuration.GetSection("QuickSilver")).UseFunctionInvocation();
        await using ServiceProvider provider = services.BuildServiceProvider();

        IChatClient client = provider.GetRequiredService<IChatClient>();
        ChatResponse response = await client.GetResponseAsync([new(ChatRole.User, "Once upon a time")]);

        Assert.InRange(response.Usage!.OutputTokenCount!.Value, 1, 8);
        Assert.StartsWith("stories260K", client.GetService<ChatClientMetadata>()!.DefaultModelId);
        Assert.NotNull(client.GetService<QuickSilver.Engine.LanguageModel>());
        Assert.StartsWith("safe", client.GetService<QuickSilver.Policies.QuickSilverPolicy>()!.Name);
    }
}
