namespace QuickSilver.Engine.Models;

/// <summary>How positions enter the model.</summary>
public enum PositionEncodingKind
{
    /// <summary>A learned table added to the token embedding (GPT-2).</summary>
    Learned,
    /// <summary>Rotary embeddings applied to q and k in rotate-half order (HF Llama). Loaders convert interleaved checkpoints.</summary>
    Rotary,
}
