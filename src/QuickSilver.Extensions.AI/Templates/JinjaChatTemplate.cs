using QuickSilver.Extensions.AI.Templates.Jinja;

namespace QuickSilver.Extensions.AI.Templates;

/// <summary>A chat template written in Jinja (the model's own), rendered by the built-in Jinja-subset interpreter.</summary>
internal sealed class JinjaChatTemplate : ChatTemplate
{
    private readonly JinjaTemplate _template;
    private readonly IReadOnlyList<string> _stopSequences;

    public JinjaChatTemplate(string source, IReadOnlyList<string> stopSequences)
    {
        _template = JinjaTemplate.Parse(source);
        _stopSequences = stopSequences;
        Source = source;
    }

    public string Source { get; }

    public override string Name => "jinja";

    public override IReadOnlyList<string> StopSequences => _stopSequences;

    public override string Render(IReadOnlyList<ChatTemplateMessage> messages, bool addGenerationPrompt, string bosToken, string eosToken)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var list = messages.Select(m => (object?)new Dictionary<string, object?> { ["role"] = m.Role, ["content"] = m.Content }).ToList();
        return _template.Render(new Dictionary<string, object?>
        {
            ["messages"] = list,
            ["add_generation_prompt"] = addGenerationPrompt,
            ["bos_token"] = bosToken,
            ["eos_token"] = eosToken,
        });
    }
}
