using QuickSilver.Engine;
using QuickSilver.Engine.Generation;
using QuickSilver.Engine.Tokenization;

namespace QuickSilver.Extensions.AI.Backend;

/// <summary>The real backend over a loaded <see cref="LanguageModel"/>.</summary>
internal sealed class LanguageModelBackend : IQuickSilverBackend
{
    private readonly LanguageModel _model;
    private readonly bool _ownsModel;
    private readonly int? _contextLength;

    public LanguageModelBackend(LanguageModel model, bool ownsModel, int? contextLength = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (contextLength is { } requested && (requested < 2 || requested > model.Config.MaxPositions))
        {
            throw new QuickSilverException($"ContextLength {requested} is outside what model '{model.ModelId}' supports (2 to {model.Config.MaxPositions} positions).");
        }
        _model = model;
        _ownsModel = ownsModel;
        _contextLength = contextLength;
    }

    public string ModelId => _model.ModelId;

    public ITokenizer Tokenizer => _model.Tokenizer;

    public int ContextLength => _contextLength ?? _model.ContextLength;

    public IReadOnlyDictionary<string, string> Metadata => _model.Metadata;

    public object? Model => _model;

    public IStepModel Steps => _model;

    public void Dispose()
    {
        if (_ownsModel)
        {
            _model.Dispose();
        }
    }
}
