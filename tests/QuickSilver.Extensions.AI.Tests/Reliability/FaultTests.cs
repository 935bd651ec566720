using Microsoft.Extensions.AI;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using QuickSilver.Engine;
using QuickSilver.Engine.Loading;
using QuickSilver.Extensions.AI.Tests.RealEngine;
using QuickSilver.Testing;

namespace QuickSilver.Extensions.AI.Tests.Reliability;

/// <summary>Faults injected around a running model: its files change on disk, the client is disposed mid-request, the policy reloads mid-request.</summary>
[Collection(RealEngineCollection.Name)]
public sealed class FaultTests(Stories260KFixture fixture) : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("quicksilver-faults-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static List<ChatMessage> Ask(string text) => [new(ChatRole.User, text)];

    private string CopyModel(string fileName)
    {
        foreach (string file in Directory.GetFiles(SharedAssets.Stories260KDir)) File.Copy(file, Path.Combine(_folder, Path.GetFileName(file)));
        return Path.Combine(_folder, fileName);
    }

    [Theory]
    [InlineData("stories260K.bin")]
    [InlineData("stories260K.gguf")]
    public async Task ModelFilesDeletedOrOverwrittenWhileLoaded_GenerationContinuesUnchanged(string fileName)
    {
        string path = CopyModel(fileName);
        var options = new ChatOptions { MaxOutputTokens = 16 };
        using var client = new QuickSilverChatClient(new QuickSilverOptions { ModelPath = path });
        string before = (await client.GetResponseAsync(Ask("Once upon a time"), options)).Text;

        // Weights and vocabulary were read into memory at load, so nothing on disk matters any more.
        File.WriteAllBytes(path, new byte[64]);
        File.WriteAllBytes(Path.Combine(_folder, "tok512.bin"), [1, 2, 3]);
        Assert.Equal(before, (await client.GetResponseAsync(Ask("Once upon a time"), options)).Text);
        File.Delete(path);
        File.Delete(Path.Combine(_folder, "tok512.bin"));
        Assert.Equal(before, (await client.GetStreamingResponseAsync(Ask("Once upon a time"), options).ToChatResponseAsync()).Text);

        // A new load of the missing file fails clearly, naming it.
        var missing = Assert.ThrowsAny<QuickSilverException>(() => new QuickSilverChatClient(new QuickSilverOptions { ModelPath = path }));
        Assert.Contains(fileName, missing.Message);
    }

    [Fact]
    public void ModelFileOverwrittenWithGarbage_ReloadFailsWithModelFormatException()
    {
        string path = CopyModel("stories260K.gguf");
        byte[] bytes = File.ReadAllBytes(path);
        Array.Fill<byte>(bytes, 0x5A, 8, 256);   // keep the magic, spoil the header
        File.WriteAllBytes(path, bytes);
        var ex = Assert.Throws<ModelFormatException>(() => LanguageModel.Load(path));
        Assert.Contains("stories260K.gguf", ex.Message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task DisposingTheClientWhileRequestsRun_EndsThemWithDisposedOrCancelled(bool ownsModel)
    {
        QuickSilverChatClient client = ownsModel
            ? new QuickSilverChatClient(new QuickSilverOptions { ModelPath = CopyModel("stories260K.bin") })
            : fixture.CreateClient();
        var firstToken = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var options = new ChatOptions { MaxOutputTokens = 200 };
        Task[] requests = Enumerable.Range(0, 8).Select(i => Task.Run(async () =>
        {
            if (i % 2 == 0)
            {
                await client.GetResponseAsync(Ask("Once upon a time " + i), options);
                return;
            }
            await foreach (var update in client.GetStreamingResponseAsync(Ask("The cat " + i), options))
            {
                if (update.Text.Length > 0) firstToken.TrySetResult();
            }
        })).ToArray();

        await ChatTemplateFuzzTests.AssertFinishes(firstToken.Task, "first streamed token");
        client.Dispose();
        await ChatTemplateFuzzTests.AssertFinishes(Task.WhenAll(requests).ContinueWith(_ => { }), "requests after dispose");

        int ended = 0;
        foreach (Task request in requests)
        {
            if (request.IsCompletedSuccessfully) continue;   // finished before the dispose
            Exception error = request.IsCanceled ? new OperationCanceledException() : request.Exception!.InnerException!;
            Assert.True(error is ObjectDisposedException or OperationCanceledException, $"unexpected {error.GetType().Name}: {error.Message}");
            ended++;
        }
        Assert.True(ended > 0, "the dispose should have interrupted queued or running requests");

        await Assert.ThrowsAsync<ObjectDisposedException>(() => client.GetResponseAsync(Ask("again")));
        await Assert.ThrowsAsync<ObjectDisposedException>(async () =>
        {
            await foreach (var _ in client.GetStreamingResponseAsync(Ask("again"))) { }
        });
        client.Dispose();   // idempotent
        if (!ownsModel)
        {
            // The shared model is untouched and serves a new client.
            using var next = fixture.CreateClient();
            Assert.False(string.IsNullOrEmpty((await next.GetResponseAsync(Ask("Tom"), new ChatOptions { MaxOutputTokens = 4 })).Text));
        }
    }

    [Fact]
    public async Task PolicyReloadedThroughIOptionsMonitorMidStream_RunningRequestKeepsItsPolicy()
    {
        IConfigurationRoot configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["QuickSilver:ModelPath"] = SharedAssets.Stories260KBin,
            ["QuickSilver:Policy"] = "dense",
        }).Build();
        var services = new ServiceCollection();
        services.AddQuickSilverChatClient(configuration.GetSection("QuickSilver"));
        using ServiceProvider provider = services.BuildServiceProvider();
        IChatClient client = provider.GetRequiredService<IChatClient>();
        var options = new ChatOptions { MaxOutputTokens = 40 };

        ChatResponse reference = await client.GetResponseAsync(Ask("Once upon a time"), options);
        Assert.Equal("dense", reference.AdditionalProperties![QuickSilverChatClient.PolicyNameKey]);

        var updates = new List<ChatResponseUpdate>();
        bool reloaded = false;
        await foreach (var update in client.GetStreamingResponseAsync(Ask("Once upon a time"), options))
        {
            updates.Add(update);
            if (!reloaded && update.Text.Length > 0)
            {
                configuration["QuickSilver:Policy"] = "paper";
                configuration.Reload();
                reloaded = true;
            }
        }
        ChatResponse running = updates.ToChatResponse();
        Assert.True(reloaded);
        Assert.Equal("dense", updates[^1].AdditionalProperties![QuickSilverChatClient.PolicyNameKey]);
        Assert.Equal(reference.Text, running.Text);
        Assert.Equal(reference.Usage!.AdditionalCounts!["quicksilver.dense_flops"], running.Usage!.AdditionalCounts!["quicksilver.dense_flops"]);

        ChatResponse next = await client.GetResponseAsync(Ask("Once upon a time"), options);
        Assert.Equal("paper", next.AdditionalProperties![QuickSilverChatClient.PolicyNameKey]);
        Assert.Equal("paper", client.GetService<QuickSilver.Policies.QuickSilverPolicy>()!.Name);
    }
}
