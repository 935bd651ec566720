using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using QuickSilver.Extensions.AI.Backend;

namespace QuickSilver.Extensions.AI.Chat;

/// <summary>What every chat job of one client shares: the backend, sessions, logging, metrics and update factory.</summary>
internal sealed record ChatJobContext(
    IQuickSilverBackend Backend,
    SessionCache Sessions,
    IReadOnlyDictionary<int, string> VisibleSpecials,
    ILogger Logger,
    QuickSilverMetrics Metrics,
    Func<WorkItem, IList<AIContent>, ChatResponseUpdate> NewUpdate,
    Accelerator Accelerator);
