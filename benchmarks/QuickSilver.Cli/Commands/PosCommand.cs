using System.CommandLine;
using System.Globalization;
using System.Text;
using QuickSilver.Cli.Infrastructure;
using QuickSilver.Engine;
using QuickSilver.Policies;

namespace QuickSilver.Cli.Commands;

internal sealed record PosRow(string Category, int Words, int Tokens, int HaltedTokens, double HaltingRate, double MeanDepth, double MeanHaltDepth, int FusedTokens);

internal sealed record PosReport(string Model, string Text, string Policy, int Tokens, int Layers, IReadOnlyList<PosRow> Rows);

/// <summary>The paper's Table 2 in our setting: which word classes halt, measured with the built-in function-word lexicon.</summary>
internal static class PosCommand
{
    public static Command Create(CommandContext context)
    {
        var outOption = CommonOptions.Out("pos");
        var threads = CommonOptions.Threads();
        var model = CommonOptions.Model(true);
        var text = new Option<string?>("--text", "-t") { Description = "English text to analyse.", Required = true };
        var policy = new Option<string>("--policy", "-p") { Description = "Policy whose halting is analysed: a preset or a policy JSON file (e.g. calibrate's output).", DefaultValueFactory = _ => "paper" };
        var window = new Option<int>("--window") { Description = "Tokens per forward pass (the text is cut into consecutive windows).", DefaultValueFactory = _ => 256 };
        var maxTokens = new Option<int>("--max-tokens") { Description = "Tokens of the text analysed.", DefaultValueFactory = _ => 8192 };
        var command = new Command("pos", "Halting rates by function-word category (determiners, prepositions, conjunctions, pronouns, auxiliaries) against content words, with counts (Table 2).")
        {
            outOption, threads, model, text, policy, window, maxTokens,
        };
        command.SetAction(parse => context.Execute(() =>
        {
            int w = parse.GetValue(window), max = parse.GetValue(maxTokens);
            PplCommand.CheckWindow(w, w, max);
            string modelSpec = parse.GetValue(model)!;
            ModelLoader.Check(modelSpec);
            string textPath = parse.GetValue(text)!;
            string content = TextInput.Read(textPath, "--text");
            var resolved = PolicyCatalog.Resolve(parse.GetValue(policy));
            if (!resolved.Halting.Enabled) throw new CliException($"--policy '{resolved.Name}' does not enable halting, so there is nothing to analyse.");
            var folder = OutputFolder.Prepare(parse.GetValue(outOption)!);
            int n = CommonOptions.ResolveThreads(parse.GetValue(threads));
            using var lm = context.Reporter.Task($"Loading {modelSpec}", 1, _ => ModelLoader.Load(modelSpec, n));
            var report = context.Reporter.Task("Tracing halting decisions", 1, _ => Run(lm, modelSpec, textPath, content, resolved, w, max));
            var markdown = Render(report);
            context.Publish(folder, "pos", markdown, report);
            return ExitCodes.Success;
        }));
        return command;
    }

    /// <summary>Groups token indices into words: a word starts at a token that begins with whitespace or follows a non-letter.</summary>
    public static List<(string Word, List<int> Tokens)> Words(IReadOnlyList<string> tokenTexts)
    {
        var words = new List<(string, List<int>)>();
        var current = new StringBuilder();
        var members = new List<int>();
        void Flush()
        {
            if (members.Count > 0) words.Add((current.ToString().Trim(), [.. members]));
            current.Clear();
            members.Clear();
        }
        for (int i = 0; i < tokenTexts.Count; i++)
        {
            string t = tokenTexts[i];
            bool startsWord = t.Length == 0 || char.IsWhiteSpace(t[0]) || current.Length == 0 || !IsWordChar(current[^1]) || !IsWordChar(t[0]);
            if (startsWord) Flush();
            current.Append(t);
            members.Add(i);
        }
        Flush();
        return words;
    }

    private static bool IsWordChar(char c) => char.IsLetter(c) || c == '\'' || c == '\u2019';

    public static PosReport Run(LanguageModel lm, string model, string textPath, string text, QuickSilverPolicy policy, int window, int maxTokens)
    {
        var ids = lm.Tokenizer.Encode(text, addBos: true).Take(maxTokens).ToList();
        if (ids.Count < 2) throw new CliException($"Text '{textPath}' has fewer than two tokens.");
        int layers = lm.Config.NumLayers;
        var halt = new int[ids.Count];
        var fused = new bool[ids.Count];
        int chunk = Math.Min(window, lm.Config.MaxPositions);
        for (int begin = 0; begin < ids.Count; begin += chunk)
        {
            var part = ids.Skip(begin).Take(chunk).ToList();
            var (trace, _, _, _) = TraceCommand.TracePass(lm, part, policy);
            for (int i = 0; i < part.Count; i++)
            {
                halt[begin + i] = trace.HaltLayer[i];
                fused[begin + i] = trace.FusionLayer[i] >= 0;
            }
        }
        var texts = ids.Select(id => lm.Tokenizer.IsControl(id) ? "" : Encoding.UTF8.GetString(lm.Tokenizer.TokenBytes(id))).ToList();
        var byCategory = new Dictionary<PartOfSpeechCategory, (int Words, List<int> Tokens)>();
        foreach (var (word, members) in Words(texts))
        {
            var tokens = members.Where(i => !lm.Tokenizer.IsControl(ids[i])).ToList();
            if (tokens.Count == 0) continue;
            var category = FunctionWordLexicon.Classify(word);
            var entry = byCategory.TryGetValue(category, out var found) ? found : (Words: 0, Tokens: new List<int>());
            entry.Tokens.AddRange(tokens);
            byCategory[category] = (entry.Words + 1, entry.Tokens);
        }
        PosRow Row(string name, int words, List<int> tokens)
        {
            int halted = tokens.Count(i => halt[i] >= 0);
            double Depth(int i) => halt[i] >= 0 ? halt[i] : layers;
            return new PosRow(name, words, tokens.Count, halted, tokens.Count > 0 ? halted / (double)tokens.Count : double.NaN,
                tokens.Count > 0 ? tokens.Average(Depth) : double.NaN, halted > 0 ? tokens.Where(i => halt[i] >= 0).Average(i => (double)halt[i]) : double.NaN,
                tokens.Count(i => fused[i]));
        }
        var rows = new List<PosRow>();
        foreach (var category in Enum.GetValues<PartOfSpeechCategory>())
        {
            var (words, tokens) = byCategory.GetValueOrDefault(category, (0, new List<int>()));
            rows.Add(Row(category.ToString(), words, tokens));
        }
        var function = byCategory.Where(kv => FunctionWordLexicon.IsFunctionWord(kv.Key)).ToList();
        rows.Add(Row("All function words", function.Sum(kv => kv.Value.Words), [.. function.SelectMany(kv => kv.Value.Tokens)]));
        return new PosReport(model, textPath, policy.Name, ids.Count, layers, rows);
    }

    public static string Render(PosReport r)
    {
        static string F(double v, int d) => double.IsFinite(v) ? v.ToString($"F{d}", CultureInfo.InvariantCulture) : "–";
        var sb = new StringBuilder("# Halting by word class (Table 2)\n\n");
        sb.AppendLine($"Model `{r.Model}`, text `{r.Text}` ({r.Tokens} tokens), policy `{r.Policy}`, {r.Layers} layers. Words are classified with the built-in English function-word lexicon (QuickSilver.Policies.FunctionWordLexicon); every token of a word counts for the word's class. \"Other\" is punctuation, digits and control text.").AppendLine();
        sb.AppendLine("| category | words | tokens | halted tokens | halting rate | mean depth (all tokens) | mean halting depth (halted) | fused tokens |").AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var row in r.Rows)
            sb.AppendLine($"| {row.Category} | {row.Words} | {row.Tokens} | {row.HaltedTokens} | {(double.IsFinite(row.HaltingRate) ? F(row.HaltingRate * 100, 1) + "%" : "–")} | {F(row.MeanDepth, 2)} | {F(row.MeanHaltDepth, 2)} | {row.FusedTokens} |");
        return sb.ToString();
    }
}
