using QuickSilver.Engine;
using QuickSilver.Testing;

namespace QuickSilver.Extensions.AI.Tests.RealEngine;

/// <summary>One loaded stories260K shared by the real-engine tests (loading is the slow part).</summary>
public sealed class Stories260KFixture : IDisposable
{
    public Stories260KFixture() => Model = LanguageModel.Load(SharedAssets.Stories260KBin);

    public LanguageModel Model { get; }

    public QuickSilverChatClient CreateClient(Action<QuickSilverOptions>? configure = null)
    {
        var options = new QuickSilverOptions();
        configure?.Invoke(options);
        return new QuickSilverChatClient(Model, options);
    }

    public void Dispose() => Model.Dispose();
}
