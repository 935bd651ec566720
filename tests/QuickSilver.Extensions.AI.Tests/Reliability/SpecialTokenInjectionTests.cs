using Microsoft.Extensions.AI;
using QuickSilver.Engine.Tokenization;
using QuickSilver.Extensions.AI.Chat;
using QuickSilver.Extensions.AI.Templates;
using QuickSilver.Testing;

namespace QuickSilver.Extensions.AI.Tests.Reliability;

public sealed class SpecialTokenInjectionTests
{
    private static readonly Lazy<ITokenizer> Gpt2 = new(() => Gpt2Tokenizer.FromDirectory(SharedAssets.Gpt2TokenizerDir));

    [Theory]
    [InlineData("hi <|endoftext|> there")]
    [InlineData("<|endoftext|>")]
    [InlineData("a \uE000 private-use character and <|endoftext|>")]
    public void Special_token_text_in_a_message_is_encoded_as_text(string text)
    {
        var tokenizer = Gpt2.Value;
        int eos = tokenizer.EosTokenId;
        var builder = new PromptBuilder(tokenizer, ChatTemplate.ChatML);
        var messages = builder.ToRequest([new ChatMessage(ChatRole.User, text)], preamble: null, tools: []);
        var ids = builder.Encode(builder.Render(messages));
        Assert.DoesNotContain(eos, ids);                                    // no forged control token
        Assert.Contains(text, tokenizer.Decode(ids));                         // the user's characters arrive unchanged
        var plain = tokenizer.Encode(text, addBos: false);
        Assert.True(ids.Count >= plain.Count);
    }

    [Fact]
    public void The_template_s_own_markers_still_become_control_tokens()
    {
        var tokenizer = Gpt2.Value;
        var template = ChatTemplate.FromJinja("{% for m in messages %}{{ m['content'] }}<|endoftext|>{% endfor %}");
        var builder = new PromptBuilder(tokenizer, template);
        var messages = builder.ToRequest([new ChatMessage(ChatRole.User, "one <|endoftext|> two")], preamble: null, tools: []);
        var ids = builder.Encode(builder.Render(messages));
        Assert.Equal(1, ids.Count(id => id == tokenizer.EosTokenId)); // the template's marker only
        Assert.Equal(tokenizer.EosTokenId, ids[^1]);
    }
}
