using QuickSilver.Engine.Generation;

namespace QuickSilver.Extensions.AI.Tests.Fakes;

/// <summary>A sequence of a <see cref="ScriptedStepModel"/>: tokens only, plus where the latest prompt ended and the reply scripted for it.</summary>
internal sealed class ScriptedSequence(int contextLength, SequenceOptions options) : Sequence(contextLength, options)
{
    /// <summary>Tokens up to the end of the latest prompt (a prompt step is one that wants its last row only).</summary>
    public int PromptLength { get; private set; }

    /// <summary>The reply the model wants to write after that prompt.</summary>
    public IReadOnlyList<int> Reply { get; private set; } = [];

    /// <summary>Whether the sequence was disposed (the client's cache evicted it).</summary>
    public bool Disposed => IsDisposed;

    public void Add(IReadOnlyList<int> tokens, bool prompt, Func<IReadOnlyList<int>, IReadOnlyList<int>> reply)
    {
        ThrowIfDisposed();
        Append(tokens);
        if (!prompt) return;
        PromptLength = Length;
        Reply = reply([.. Tokens]);
    }

    protected override void OnTruncate(int length) => PromptLength = Math.Min(PromptLength, length);
}
