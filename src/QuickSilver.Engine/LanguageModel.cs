using QuickSilver.Engine.Generation;
using QuickSilver.Engine.Models;
using QuickSilver.Engine.Tokenization;

namespace QuickSilver.Engine;

/// <summary>
/// A loaded model: fixed weights, tokenizer and config, shared by any number of <see cref="InferenceSession"/>s.
/// Thread-safe for reading; each session is used by one thread at a time.
/// </summary>
public sealed partial class LanguageModel : IDisposable
{
    /// <summary>The model configuration.</summary>
    public ModelConfig Config => throw new NotImplementedException();

    /// <summary>The tokenizer.</summary>
    public ITokenizer Tokenizer => throw new NotImplementedException();

    /// <summary>A short id (file or folder name).</summary>
    public string ModelId => throw new NotImplementedException();

    /// <summary>String metadata from the checkpoint (e.g. "tokenizer.chat_template").</summary>
    public IReadOnlyDictionary<string, string> Metadata => throw new NotImplementedException();

    /// <summary>Loads a model: an HF folder, a .gguf file or a llama2.c .bin (tokenizer beside it).</summary>
    public static LanguageModel Load(string path, LanguageModelOptions? options = null) => throw new NotImplementedException();

    /// <summary>Creates a session with its own KV cache of <paramref name="contextLength"/> positions (default: the model's).</summary>
    public InferenceSession CreateSession(int? contextLength = null) => throw new NotImplementedException();

    /// <inheritdoc />
    public void Dispose() { }
}
