namespace AgentDemo;

/// <summary>What QuickSilver reported for one model call.</summary>
internal sealed record UsageRecord(int Number, string Kind, long Input, long Cached, long Output, long HaltedTokenLayers, long SkippedKvWrites,
    long FusedTokens, double DenseFlops, double ActualFlops, long KvBytes, double TimeToFirstToken, double TotalSeconds, string Policy);
