using QuickSilver.Extensions.AI.Backend;

namespace QuickSilver.Extensions.AI.Tests.Fakes;

internal static class TestClients
{
    public static QuickSilverChatClient Create(FakeBackend backend, Action<QuickSilverOptions>? configure = null)
    {
        var options = new QuickSilverOptions { Template = "plain" };
        configure?.Invoke(options);
        return new QuickSilverChatClient(backend, ownsBackend: true, options, null, null);
    }

    public static QuickSilverChatClient Create(out FakeBackend backend, Func<string, string>? script = null, Action<QuickSilverOptions>? configure = null)
    {
        backend = new FakeBackend(script);
        return Create(backend, configure);
    }
}
