namespace QuickSilver.Engine.Tokenization;

/// <summary>Values of the GGUF <c>tokenizer.ggml.token_type</c> array (llama.cpp's <c>llama_token_type</c>).</summary>
public enum GgufTokenType
{
    /// <summary>Not set.</summary>
    Undefined = 0,

    /// <summary>An ordinary piece.</summary>
    Normal = 1,

    /// <summary>The unknown token.</summary>
    Unknown = 2,

    /// <summary>A control token such as BOS or EOS; never produced from text, decodes to nothing.</summary>
    Control = 3,

    /// <summary>A piece added by the user; treated as an ordinary piece.</summary>
    UserDefined = 4,

    /// <summary>A reserved, unused slot; treated as an ordinary piece.</summary>
    Unused = 5,

    /// <summary>A byte-fallback token spelled <c>&lt;0xXX&gt;</c>.</summary>
    Byte = 6,
}
