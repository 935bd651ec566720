namespace QuickSilver.Engine.Models;

/// <summary>The MLP shape of each block.</summary>
public enum FeedForwardKind
{
    /// <summary>down(gelu_tanh(up(x))) (GPT-2's gelu_new).</summary>
    GeluTanh,
    /// <summary>down(silu(gate(x)) * up(x)) (Llama).</summary>
    SwiGlu,
    /// <summary>down(gelu_tanh(gate(x)) * up(x)) (Gemma's GeGLU).</summary>
    GeGlu,
}
