using System.Diagnostics.Tracing;
using System.Globalization;

namespace QuickSilver.Cli.Speed;

/// <summary>
/// Managed allocations by type, from the runtime's allocation-tick events (one event per ~100 KB allocated), for the
/// memory trace of a speed worker (<see cref="MemoryStage.TraceEnabled"/>): which types fill the GC's gen0 budget.
/// </summary>
internal sealed class AllocationSampler : EventListener
{
    private const long BytesPerTick = 100_000; // the runtime raises GCAllocationTick every ~100 KB per heap
    private static readonly Dictionary<string, long> Bytes = [];

    /// <summary>Prints the top types (MB, type, 0 = small / 1 = large object heap / 2 = pinned) since the last call, then resets.</summary>
    public static void Dump(string stage)
    {
        lock (Bytes)
        {
            foreach (var (type, bytes) in Bytes.OrderByDescending(p => p.Value).Take(12))
                Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"allocated before {stage}: {bytes / 1e6:F1} MB {type}"));
            Bytes.Clear();
        }
    }

    /// <inheritdoc />
    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        if (eventSource.Name == "Microsoft-Windows-DotNETRuntime") EnableEvents(eventSource, EventLevel.Verbose, (EventKeywords)0x1); // GC keyword
    }

    /// <inheritdoc />
    protected override void OnEventWritten(EventWrittenEventArgs eventData)
    {
        if (eventData.EventName?.StartsWith("GCAllocationTick", StringComparison.Ordinal) != true || eventData.Payload is null || eventData.PayloadNames is null) return;
        int type = eventData.PayloadNames.IndexOf("TypeName"), kind = eventData.PayloadNames.IndexOf("AllocationKind");
        string key = (type >= 0 ? eventData.Payload[type]?.ToString() : null) + " " + (kind >= 0 ? eventData.Payload[kind]?.ToString() : null);
        lock (Bytes) Bytes[key] = Bytes.GetValueOrDefault(key) + BytesPerTick;
    }
}
