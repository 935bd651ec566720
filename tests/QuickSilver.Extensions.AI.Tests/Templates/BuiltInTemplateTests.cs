using QuickSilver.Extensions.AI.Templates;

namespace QuickSilver.Extensions.AI.Tests.Templates;

public class BuiltInTemplateTests
{
    internal static readonly ChatTemplateMessage[] Conversation =
    [
        new("system", "You are terse."),
        new("user", "Hi there"),
        new("assistant", "Hello."),
        new("user", "Name a colour."),
    ];

    [Fact]
    public void ChatML_RendersImStartBlocksAndGenerationPrompt()
    {
        string text = ChatTemplate.ChatML.Render(Conversation, true, "<s>", "</s>");
        Assert.Equal(
            "<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\nHello.<|im_end|>\n<|im_start|>user\nName a colour.<|im_end|>\n<|im_start|>assistant\n",
            text);
    }

    [Fact]
    public void Llama2_FoldsSystemIntoFirstUserTurn()
    {
        string text = ChatTemplate.Llama2.Render(Conversation, true, "<s>", "</s>");
        Assert.Equal(
            "<s>[INST] <<SYS>>\nYou are terse.\n<</SYS>>\n\nHi there [/INST] Hello. </s><s>[INST] Name a colour. [/INST]",
            text);
    }

    [Fact]
    public void Llama2_RejectsNonAlternatingRoles()
    {
        var ex = Assert.Throws<ChatTemplateException>(() => ChatTemplate.Llama2.Render([new("user", "a"), new("user", "b")], true, "<s>", "</s>"));
        Assert.Contains("alternate", ex.Message);
    }

    [Fact]
    public void Llama3_UsesHeaderIdsAndEotWithBosFirst()
    {
        string text = ChatTemplate.Llama3.Render(Conversation, true, "<|begin_of_text|>", "<|end_of_text|>");
        Assert.Equal(
            "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are terse.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|>"
            + "<|start_header_id|>assistant<|end_header_id|>\n\nHello.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nName a colour.<|eot_id|>"
            + "<|start_header_id|>assistant<|end_header_id|>\n\n",
            text);
    }

    [Fact]
    public void Zephyr_EndsEachTurnWithEos()
    {
        string text = ChatTemplate.Zephyr.Render(Conversation, true, "<s>", "</s>");
        Assert.Equal("<|system|>\nYou are terse.</s>\n<|user|>\nHi there</s>\n<|assistant|>\nHello.</s>\n<|user|>\nName a colour.</s>\n<|assistant|>\n", text);
    }

    [Fact]
    public void Plain_WritesSpeakerLabels()
    {
        string text = ChatTemplate.Plain.Render(Conversation, true, "<s>", "</s>");
        Assert.Equal("You are terse.\n\nUser: Hi there\nAssistant: Hello.\nUser: Name a colour.\nAssistant:", text);
        Assert.True(ChatTemplate.Plain.PrependBos);
    }

    [Fact]
    public void WithoutGenerationPrompt_ChatMLStopsAfterLastTurn()
    {
        string text = ChatTemplate.ChatML.Render([new("user", "x")], false, "", "");
        Assert.Equal("<|im_start|>user\nx<|im_end|>\n", text);
    }

    [Theory]
    [InlineData("plain")]
    [InlineData("LLAMA2")]
    [InlineData("llama3")]
    [InlineData("chatml")]
    [InlineData("zephyr")]
    public void GetBuiltIn_FindsEveryName(string name) => Assert.Equal(name.ToLowerInvariant(), ChatTemplate.GetBuiltIn(name).Name);

    [Fact]
    public void GetBuiltIn_UnknownName_Throws()
    {
        var ex = Assert.Throws<ArgumentException>(() => ChatTemplate.GetBuiltIn("vicuna"));
        Assert.Contains("vicuna", ex.Message);
    }
}
