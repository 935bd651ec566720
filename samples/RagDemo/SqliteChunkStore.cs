using System.Runtime.InteropServices;
using Microsoft.Data.Sqlite;

namespace RagDemo;

/// <summary>A retrieved chunk and its cosine similarity to the query.</summary>
internal sealed record ScoredChunk(long Id, string Source, string Text, float Score);

/// <summary>
/// Chunks and their embeddings in one SQLite table (embedding = little-endian float32 BLOB). Search is an exact scan with
/// cosine similarity: fine for thousands of chunks; a vector index (sqlite-vec, a vector database) replaces it at scale.
/// </summary>
internal sealed class SqliteChunkStore : IDisposable
{
    private readonly SqliteConnection _connection;

    public SqliteChunkStore(string databasePath)
    {
        _connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = databasePath, Pooling = false }.ToString());
        _connection.Open();
        using SqliteCommand create = _connection.CreateCommand();
        create.CommandText = """
            CREATE TABLE IF NOT EXISTS chunks (
                id INTEGER PRIMARY KEY,
                source TEXT NOT NULL,
                text TEXT NOT NULL,
                embedding BLOB NOT NULL);
            """;
        create.ExecuteNonQuery();
    }

    public long Count()
    {
        using SqliteCommand count = _connection.CreateCommand();
        count.CommandText = "SELECT COUNT(*) FROM chunks";
        return (long)count.ExecuteScalar()!;
    }

    public void Add(string source, string text, ReadOnlySpan<float> embedding)
    {
        using SqliteCommand insert = _connection.CreateCommand();
        insert.CommandText = "INSERT INTO chunks (source, text, embedding) VALUES ($source, $text, $embedding)";
        insert.Parameters.AddWithValue("$source", source);
        insert.Parameters.AddWithValue("$text", text);
        insert.Parameters.AddWithValue("$embedding", MemoryMarshal.AsBytes(embedding).ToArray());
        insert.ExecuteNonQuery();
    }

    public IReadOnlyList<ScoredChunk> Search(ReadOnlySpan<float> query, int k)
    {
        float queryNorm = Norm(query);
        var scored = new List<ScoredChunk>();
        using SqliteCommand select = _connection.CreateCommand();
        select.CommandText = "SELECT id, source, text, embedding FROM chunks";
        using SqliteDataReader reader = select.ExecuteReader();
        while (reader.Read())
        {
            ReadOnlySpan<float> vector = MemoryMarshal.Cast<byte, float>((byte[])reader.GetValue(3));
            if (vector.Length != query.Length) throw new InvalidOperationException($"Chunk {reader.GetInt64(0)} has {vector.Length} dimensions, the query {query.Length}.");
            float dot = 0;
            for (int i = 0; i < vector.Length; i++) dot += vector[i] * query[i];
            scored.Add(new ScoredChunk(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), dot / Math.Max(1e-12f, Norm(vector) * queryNorm)));
        }
        return scored.OrderByDescending(c => c.Score).Take(k).ToList();
    }

    private static float Norm(ReadOnlySpan<float> v)
    {
        float sum = 0;
        foreach (float x in v) sum += x * x;
        return MathF.Sqrt(sum);
    }

    public void Dispose() => _connection.Dispose();
}
