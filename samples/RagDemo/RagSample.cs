using System.Diagnostics;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using QuickSilver.Extensions.AI;
using QuickSilver.Samples;

namespace RagDemo;

/// <summary>
/// Chunk documents, embed them with the model's own hidden states, store them in SQLite, retrieve the top k for a question and
/// answer over them. Then shows what QuickSilver changes for a long retrieved context: prefill time, FLOPs (dense vs routed)
/// and the KV prefix cache when a follow-up question reuses the same passages.
/// </summary>
public static class RagSample
{
    private const int TopK = 3;
    private const int ChunkCharacters = 160;

    /// <summary>Runs the demo; returns 0 when retrieval and both answers worked and the follow-up reused the cached prefix.</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter output)
    {
        var clock = Stopwatch.StartNew();
        string modelPath = SampleModel.Find(args);
        string question = SampleModel.Option(args, "--question", "What did Tom find under the big tree?");
        string followUp = SampleModel.Option(args, "--follow-up", "What did Tom give to his mom?");
        string? databaseOption = SampleModel.Option(args, "--db", "");
        string database = databaseOption.Length > 0 ? databaseOption : Path.Combine(Path.GetTempPath(), $"quicksilver-rag-{Guid.NewGuid():N}.db");

        try
        {
            // 1. Embeddings. The baseline uses the chat model's pooled hidden states; any other
            //    IEmbeddingGenerator<string, Embedding<float>> (a dedicated embedding model) plugs in here instead.
            using IEmbeddingGenerator<string, Embedding<float>> embedder = new QuickSilverEmbeddingGenerator(modelPath);
            using var store = new SqliteChunkStore(database);

            // 2. Chunk and index the documents.
            if (store.Count() == 0)
            {
                foreach ((string source, string text) in Corpus.Documents)
                {
                    List<string> chunks = TextChunker.Chunk(text, ChunkCharacters).ToList();
                    GeneratedEmbeddings<Embedding<float>> vectors = await embedder.GenerateAsync(chunks);
                    for (int i = 0; i < chunks.Count; i++) store.Add(source, chunks[i], vectors[i].Vector.Span);
                }
            }
            output.WriteLine($"indexed {store.Count()} chunks from {Corpus.Documents.Count} documents in SQLite ({database})");

            // 3. Retrieve the top k.
            ReadOnlyMemory<float> query = (await embedder.GenerateAsync([question]))[0].Vector;
            IReadOnlyList<ScoredChunk> passages = store.Search(query.Span, TopK);
            output.WriteLine($"question: {question}");
            foreach (ScoredChunk passage in passages) output.WriteLine($"  {passage.Score:F3} [{passage.Source}] {passage.Text}");

            // 4. Answer over the retrieved passages.
            var services = new ServiceCollection();
            services.AddQuickSilverChatClient(options =>
            {
                options.ModelPath = modelPath;
                options.MaxOutputTokens = 32;
            });
            await using ServiceProvider provider = services.BuildServiceProvider();
            IChatClient chat = provider.GetRequiredService<IChatClient>();

            string context = "Answer the question from these passages.\n" + string.Join("\n", passages.Select((p, i) => $"[{i + 1}] {p.Text}"));
            List<ChatMessage> history = [new(ChatRole.System, context), new(ChatRole.User, question)];

            // The same retrieved context, cold, with every mechanism off and with the default "safe" policy.
            ChatResponse dense = await chat.GetResponseAsync(history, Options("rag-dense", "dense"));
            ChatResponse safe = await chat.GetResponseAsync(history, Options("rag-safe", "safe"));
            output.WriteLine($"answer: {safe.Text.ReplaceLineEndings(" ").Trim()}");

            // 5. A follow-up over the same passages: the system text, passages and first turn are a cached prefix.
            history.AddRange(safe.Messages);
            history.Add(new ChatMessage(ChatRole.User, followUp));
            ChatResponse second = await chat.GetResponseAsync(history, Options("rag-safe", "safe"));
            output.WriteLine($"follow-up: {followUp}");
            output.WriteLine($"answer: {second.Text.ReplaceLineEndings(" ").Trim()}");

            output.WriteLine();
            output.WriteLine("| request | prompt tokens | from prefix cache | prefill (time to first token) | dense FLOPs | actual FLOPs |");
            output.WriteLine("|---|---:|---:|---:|---:|---:|");
            Row(output, "question, dense policy, cold", dense.Usage);
            Row(output, "question, safe policy, cold", safe.Usage);
            Row(output, "follow-up, safe policy", second.Usage);
            output.WriteLine($"done in {clock.Elapsed.TotalSeconds:F1} s");

            bool ok = passages.Count == TopK
                && safe.Text.Trim().Length > 0
                && second.Text.Trim().Length > 0
                && (second.Usage?.CachedInputTokenCount ?? 0) > 0;
            if (!ok) output.WriteLine("FAILED: expected retrieved passages, two answers and a cached prefix for the follow-up.");
            return ok ? 0 : 1;
        }
        finally
        {
            if (databaseOption.Length == 0)
            {
                Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
                File.Delete(database);
            }
        }
    }

    private static ChatOptions Options(string conversationId, string policy) => new()
    {
        ConversationId = conversationId,
        MaxOutputTokens = 32,
        AdditionalProperties = new AdditionalPropertiesDictionary { ["quicksilver.policy"] = policy },
    };

    private static void Row(TextWriter output, string label, UsageDetails? usage)
    {
        long Count(string key) => usage?.AdditionalCounts?.TryGetValue(key, out long value) == true ? value : 0;
        double prefillMs = Count(QuickSilverChatClient.TimeToFirstTokenKey) / 1000.0;
        output.WriteLine($"| {label} | {usage?.InputTokenCount} | {usage?.CachedInputTokenCount ?? 0} | {prefillMs:F1} ms | {Count("quicksilver.dense_flops") / 1e6:F1} M | {Count("quicksilver.actual_flops") / 1e6:F1} M |");
    }
}
