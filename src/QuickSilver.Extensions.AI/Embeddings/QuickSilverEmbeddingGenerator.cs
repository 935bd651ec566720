using Microsoft.Extensions.AI;
using QuickSilver.Engine;
using QuickSilver.Engine.Embeddings;

namespace QuickSilver.Extensions.AI;

/// <summary>
/// An <see cref="IEmbeddingGenerator{TInput, TEmbedding}"/> over a local QuickSilver model: mean-pooled, L2-normalized final hidden
/// states (<see cref="HiddenStateEmbedder"/>). A baseline that needs no second model; any other
/// <c>IEmbeddingGenerator&lt;string, Embedding&lt;float&gt;&gt;</c> (a dedicated embedding model) plugs into the same place.
/// </summary>
public sealed class QuickSilverEmbeddingGenerator : IEmbeddingGenerator<string, Embedding<float>>
{
    private readonly LanguageModel _model;
    private readonly bool _ownsModel;
    private readonly HiddenStateEmbedder _embedder;
    private readonly EmbeddingGeneratorMetadata _metadata;

    /// <summary>Loads the model at <paramref name="modelPath"/> (owned and disposed with the generator).</summary>
    /// <exception cref="QuickSilver.Engine.Loading.ModelFormatException">The model file is missing or bad.</exception>
    public QuickSilverEmbeddingGenerator(string modelPath, LanguageModelOptions? options = null)
        : this(LanguageModel.Load(modelPath, options), ownsModel: true)
    {
    }

    /// <summary>Embeds with an already loaded <paramref name="model"/>.</summary>
    /// <param name="model">The model.</param>
    /// <param name="ownsModel">Whether disposing the generator disposes the model.</param>
    public QuickSilverEmbeddingGenerator(LanguageModel model, bool ownsModel = false)
    {
        ArgumentNullException.ThrowIfNull(model);
        _model = model;
        _ownsModel = ownsModel;
        _embedder = new HiddenStateEmbedder(model);
        _metadata = new EmbeddingGeneratorMetadata(QuickSilverChatClient.ProviderName, null, model.ModelId, _embedder.Dimensions);
    }

    /// <inheritdoc />
    public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(values);
        var embeddings = new GeneratedEmbeddings<Embedding<float>>();
        foreach (string value in values)
        {
            cancellationToken.ThrowIfCancellationRequested();
            float[] vector = _embedder.Embed(value);
            if (options?.Dimensions is int dimensions && dimensions < vector.Length)
            {
                throw new NotSupportedException($"Dimensions {dimensions} requested, but model '{_model.ModelId}' embeds in {vector.Length}.");
            }
            embeddings.Add(new Embedding<float>(vector) { ModelId = _model.ModelId, CreatedAt = DateTimeOffset.UtcNow });
        }
        return Task.FromResult(embeddings);
    }

    /// <inheritdoc />
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is not null) return null;
        if (serviceType == typeof(EmbeddingGeneratorMetadata)) return _metadata;
        if (serviceType.IsInstanceOfType(this)) return this;
        if (serviceType.IsInstanceOfType(_model)) return _model;
        return null;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_ownsModel) _model.Dispose();
    }
}
