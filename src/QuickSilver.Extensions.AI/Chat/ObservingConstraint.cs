using QuickSilver.Engine.Generation;

namespace QuickSilver.Extensions.AI.Chat;

/// <summary>
/// Wraps the request's constraint (if any) so the chat client sees each sampled token and can end generation itself
/// (stop sequences): <see cref="IsComplete"/> turns true once <paramref name="shouldStop"/> does.
/// Each token is observed once whether the engine reports it through <see cref="Accept"/> or the onToken callback first.
/// </summary>
internal sealed class ObservingConstraint(ITokenConstraint? inner, Action<int> observe, Func<bool> shouldStop) : ITokenConstraint
{
    private int _accepted;
    private int _reported;
    private int _observed;

    public ITokenConstraint? Inner => inner;

    public bool IsComplete => shouldStop() || (inner?.IsComplete ?? false);

    public void Apply(Span<float> logits) => inner?.Apply(logits);

    public void Accept(int tokenId)
    {
        inner?.Accept(tokenId);
        if (++_accepted > _observed)
        {
            _observed++;
            observe(tokenId);
        }
    }

    /// <summary>The engine's onToken callback.</summary>
    public void OnToken(int tokenId)
    {
        if (++_reported > _observed)
        {
            _observed++;
            observe(tokenId);
        }
    }
}
