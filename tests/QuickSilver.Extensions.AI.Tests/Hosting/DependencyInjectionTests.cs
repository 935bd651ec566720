using Microsoft.Extensions.AI;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.SemanticKernel;
using Microsoft.SemanticKernel.ChatCompletion;
using QuickSilver.Extensions.AI.Backend;
using QuickSilver.Extensions.AI.Tests.Fakes;
using QuickSilver.Testing;

namespace QuickSilver.Extensions.AI.Tests.Hosting;

public class DependencyInjectionTests
{
    private static IConfigurationRoot Config(Dictionary<string, string?> values) => new ConfigurationBuilder().AddInMemoryCollection(values).Build();

    private static Dictionary<string, string?> ValidSection(string prefix = "QuickSilver") => new()
    {
        [$"{prefix}:ModelPath"] = SharedAssets.Stories260KBin,
        [$"{prefix}:Template"] = "plain",
        [$"{prefix}:Policy"] = "safe",
        [$"{prefix}:MaxOutputTokens"] = "12",
        [$"{prefix}:Temperature"] = "0.01",
        [$"{prefix}:PolicyOverrides:DriftThreshold"] = "0.07",
        [$"{prefix}:Lexicons:FullProcessing:0"] = "dragon",
        [$"{prefix}:Lexicons:ForcedHaltIds:0"] = "3",
        [$"{prefix}:MaxCachedConversations"] = "2",
    };

    private static ServiceCollection ServicesWithFake(FakeBackend backend)
    {
        var services = new ServiceCollection();
        services.AddSingleton<BackendFactory>(_ => backend);
        return services;
    }

    [Fact]
    public async Task FromConfiguration_ResolvesAClientWithBoundOptions()
    {
        var backend = new FakeBackend(_ => "Hello world");
        var services = ServicesWithFake(backend);
        services.AddQuickSilverChatClient(Config(ValidSection()).GetSection("QuickSilver"));
        using ServiceProvider provider = services.BuildServiceProvider();

        IChatClient client = provider.GetRequiredService<IChatClient>();
        ChatResponse response = await client.GetResponseAsync([new(ChatRole.User, "Hi")]);

        Assert.Equal("Hello world", response.Text);
        var request = backend.Requests.Single().Request;
        Assert.Equal(12, request.MaxNewTokens);
        Assert.Equal(0.01f, request.Temperature);
        Assert.StartsWith("safe", request.Policy!.Name);
        Assert.Equal(0.07f, request.Policy.Halting.DriftThreshold);
        Assert.Contains("dragon", request.Policy.Lexicons.FullProcessing);
        Assert.Contains(3, request.Policy.Lexicons.ForcedHaltIds);
        Assert.Equal("quicksilver", client.GetService<ChatClientMetadata>()!.ProviderName);
        Assert.Equal(2, client.GetService<QuickSilverChatClient>()!.Sessions.Capacity);
    }

    [Fact]
    public async Task FromCode_ReturnsABuilderForThePipeline()
    {
        var backend = new FakeBackend(_ => "Hello world");
        var services = ServicesWithFake(backend);
        ChatClientBuilder builder = services.AddQuickSilverChatClient(o => { o.ModelPath = SharedAssets.Stories260KBin; o.Template = "plain"; });
        builder.UseFunctionInvocation();
        using ServiceProvider provider = services.BuildServiceProvider();
        IChatClient client = provider.GetRequiredService<IChatClient>();
        Assert.NotNull(client.GetService<FunctionInvokingChatClient>());
        Assert.Equal("Hello world", (await client.GetResponseAsync([new(ChatRole.User, "Hi")])).Text);
    }

    [Fact]
    public void InvalidConfiguration_FailsAtStartNamingEverySetting()
    {
        var values = ValidSection();
        values["QuickSilver:ModelPath"] = "/nope/model.bin";
        values["QuickSilver:TopP"] = "7";
        values["QuickSilver:Policy"] = "warp";
        var services = ServicesWithFake(new FakeBackend());
        services.AddQuickSilverChatClient(Config(values).GetSection("QuickSilver"));
        using ServiceProvider provider = services.BuildServiceProvider();

        var ex = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IStartupValidator>().Validate());
        string message = string.Join("\n", ex.Failures);
        Assert.Contains("ModelPath", message);
        Assert.Contains("TopP", message);
        Assert.Contains("Policy 'warp'", message);
        Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IChatClient>());
    }

    [Fact]
    public async Task ConfigurationReload_ChangesThePolicyOfLaterRequests()
    {
        var backend = new FakeBackend(_ => "Hello world");
        var services = ServicesWithFake(backend);
        IConfigurationRoot root = Config(ValidSection());
        services.AddQuickSilverChatClient(root.GetSection("QuickSilver"));
        using ServiceProvider provider = services.BuildServiceProvider();
        IChatClient client = provider.GetRequiredService<IChatClient>();

        await client.GetResponseAsync([new(ChatRole.User, "a")]);
        root["QuickSilver:Policy"] = "paper";
        root["QuickSilver:PolicyOverrides:DriftThreshold"] = null;
        root.Reload();
        await client.GetResponseAsync([new(ChatRole.User, "b")]);

        var requests = backend.Requests.ToArray();
        Assert.StartsWith("safe", requests[0].Request.Policy!.Name);
        Assert.Equal("paper", requests[1].Request.Policy!.Name);
    }

    [Fact]
    public async Task KeyedClients_EachGetTheirOwnOptions()
    {
        var services = new ServiceCollection();
        services.AddSingleton<BackendFactory>(_ => new FakeBackend(_ => "Hello world"));
        IConfigurationRoot root = Config(new Dictionary<string, string?>
        {
            ["Models:small:ModelPath"] = SharedAssets.Stories260KBin,
            ["Models:small:Template"] = "plain",
            ["Models:small:Policy"] = "paper",
        });
        services.AddKeyedQuickSilverChatClient("small", root.GetSection("Models:small"));
        services.AddKeyedQuickSilverChatClient("chatml", o => { o.ModelPath = SharedAssets.Stories260KBin; o.Template = "chatml"; });
        using ServiceProvider provider = services.BuildServiceProvider();

        var small = provider.GetRequiredKeyedService<IChatClient>("small").GetService<QuickSilverChatClient>()!;
        var chatml = provider.GetRequiredKeyedService<IChatClient>("chatml").GetService<QuickSilverChatClient>()!;
        Assert.NotSame(small, chatml);
        Assert.Equal("paper", small.CurrentPolicy.Name);
        Assert.Equal("plain", small.Template.Name);
        Assert.Equal("chatml", chatml.Template.Name);
        Assert.Equal("Hello world", (await chatml.GetResponseAsync([new(ChatRole.User, "Hi")])).Text);
        Assert.Null(provider.GetService<IChatClient>());
    }

    [Fact]
    public async Task SemanticKernel_ResolvesChatClientAndChatCompletionService()
    {
        IKernelBuilder builder = Kernel.CreateBuilder();
        builder.Services.AddSingleton<BackendFactory>(_ => new FakeBackend(_ => "Hello world"));
        builder.AddQuickSilverChatClient(o => { o.ModelPath = SharedAssets.Stories260KBin; o.Template = "plain"; });
        Kernel kernel = builder.Build();

        IChatCompletionService chat = kernel.GetRequiredService<IChatCompletionService>();
        var history = new ChatHistory();
        history.AddUserMessage("Hi");
        var reply = await chat.GetChatMessageContentAsync(history, kernel: kernel);
        Assert.Equal("Hello world", reply.Content);
        Assert.NotNull(kernel.GetRequiredService<IChatClient>().GetService<QuickSilverChatClient>());
    }

    [Fact]
    public void SemanticKernel_KeyedByServiceId()
    {
        IKernelBuilder builder = Kernel.CreateBuilder();
        builder.Services.AddSingleton<BackendFactory>(_ => new FakeBackend());
        builder.AddQuickSilverChatClient(Config(ValidSection("QS")).GetSection("QS"), serviceId: "local");
        Kernel kernel = builder.Build();
        Assert.NotNull(kernel.Services.GetRequiredKeyedService<IChatCompletionService>("local"));
        Assert.NotNull(kernel.Services.GetRequiredKeyedService<IChatClient>("local").GetService<QuickSilverChatClient>());
    }

    [Fact]
    public void NullArguments_Throw()
    {
        var services = new ServiceCollection();
        Assert.Throws<ArgumentNullException>(() => services.AddQuickSilverChatClient((Action<QuickSilverOptions>)null!));
        Assert.Throws<ArgumentNullException>(() => services.AddQuickSilverChatClient((IConfiguration)null!));
        Assert.Throws<ArgumentNullException>(() => services.AddKeyedQuickSilverChatClient(null!, _ => { }));
    }
}
