using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using QuickSilver.Extensions.AI.Tests.Fakes;

namespace QuickSilver.Extensions.AI.Tests.Chat;

public class LoggingAndLifetimeTests
{
    private sealed class CapturingProvider : ILoggerProvider
    {
        public List<(LogLevel Level, string Category, string Message)> Entries { get; } = [];

        public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

        public void Dispose() { }

        private sealed class Logger(CapturingProvider owner, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                lock (owner.Entries) owner.Entries.Add((logLevel, category, formatter(state, exception)));
            }
        }
    }

    [Fact]
    public async Task CompletedRequests_AreLoggedWithTheirCounts()
    {
        var provider = new CapturingProvider();
        using var factory = LoggerFactory.Create(b => b.AddProvider(provider).SetMinimumLevel(LogLevel.Trace));
        using var client = new QuickSilverChatClient(new FakeBackend(_ => "Hello world"), true, new QuickSilverOptions { Template = "plain" }, factory, null);
        ChatResponse response = await client.GetResponseAsync([new(ChatRole.User, "Hi")]);

        var done = Assert.Single(provider.Entries, e => e.Message.Contains(response.ResponseId!, StringComparison.Ordinal) && e.Message.Contains("done", StringComparison.Ordinal));
        Assert.Equal(LogLevel.Information, done.Level);
        Assert.Equal(typeof(QuickSilverChatClient).FullName, done.Category);
        Assert.Contains($"{response.Usage!.InputTokenCount} input", done.Message);
        Assert.Contains("2 output tokens", done.Message);
    }

    [Fact]
    public async Task FailedRequests_AreLoggedAsErrors()
    {
        var provider = new CapturingProvider();
        using var factory = LoggerFactory.Create(b => b.AddProvider(provider));
        var backend = new FakeBackend();
        using var client = new QuickSilverChatClient(backend, true, new QuickSilverOptions { Template = "plain" }, factory, null);
        backend.AfterToken = _ => throw new InvalidOperationException("engine fault");
        await Assert.ThrowsAsync<InvalidOperationException>(() => client.GetResponseAsync([new(ChatRole.User, "Hi")]));
        Assert.Contains(provider.Entries, e => e.Level == LogLevel.Error && e.Message.Contains("failed", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Dispose_CancelsTheRunningRequest()
    {
        using var started = new ManualResetEventSlim();
        // A reply of ~800 tokens at 20 ms each: far longer than the test needs to dispose mid-stream.
        var backend = new FakeBackend(_ => string.Join(" ", Enumerable.Repeat("Once upon a time", 200)));
        backend.AfterToken = _ => { started.Set(); Thread.Sleep(20); };
        var client = TestClients.Create(backend);
        Task<ChatResponse> running = client.GetResponseAsync([new(ChatRole.User, "Hi")], new ChatOptions { MaxOutputTokens = 1000 });
        Assert.True(started.Wait(TimeSpan.FromSeconds(30)));
        client.Dispose();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => running);
    }
}
