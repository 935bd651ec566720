using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using QuickSilver.Engine;
using QuickSilver.Engine.Generation;
using QuickSilver.Engine.Scheduling;
using QuickSilver.Engine.Tokenization;
using QuickSilver.Extensions.AI.Backend;
using QuickSilver.Extensions.AI.Chat;
using QuickSilver.Extensions.AI.Chat.Protocols;
using QuickSilver.Extensions.AI.Constraints;
using QuickSilver.Extensions.AI.Policy;
using QuickSilver.Extensions.AI.Templates;
using QuickSilver.Policies;

namespace QuickSilver.Extensions.AI;

/// <summary>
/// An <see cref="IChatClient"/> that runs a local QuickSilver model.
/// </summary>
/// <remarks>
/// <para><b>Concurrency.</b> One client owns one loaded model and one <see cref="BatchScheduler"/> thread that runs it (TorchSharp's
/// dispose scopes are thread-static). Concurrent requests are decoded together, continuous batching: up to
/// <see cref="QuickSilverOptions.MaxBatchSize"/> requests share each step, so their weights are read once per step for all of them,
/// and a new request joins the running batch at the next step instead of waiting for the others; prompts are prefilled in chunks of
/// <see cref="QuickSilverOptions.PrefillChunkTokens"/> beside the decode rows, several prompts per step up to
/// <see cref="QuickSilverOptions.PrefillTokensPerStep"/> tokens. Each request's tokens equal what it gets alone. K/V is
/// bounded by <see cref="QuickSilverOptions.MaxKvCacheTokens"/> (a request reserves prompt plus output budget; one that does not fit
/// waits or throws <see cref="KvCacheFullException"/>, per <see cref="QuickSilverOptions.WhenKvCacheFull"/>). Each request's updates
/// stream back through their own channel. Cancelling a request (or abandoning its stream) takes it out of the batch at the next
/// step, and its session goes back to the cache.</para>
/// <para><b>KV reuse.</b> Up to <see cref="QuickSilverOptions.MaxCachedConversations"/> sessions are kept in an LRU. A request
/// with <see cref="ChatOptions.ConversationId"/> uses that conversation's session; one without uses the anonymous session that shares
/// the longest token prefix with its prompt. The engine re-runs prefill only for the uncached suffix and the response reports the rest as
/// <see cref="UsageDetails.CachedInputTokenCount"/>. The conversation id is only a cache key: the caller still sends the whole history,
/// and responses carry no ConversationId (so <c>FunctionInvokingChatClient</c> keeps sending the full history).</para>
/// <para><b>Context.</b> A prompt that does not leave room for at least one generated token throws
/// <see cref="ContextLengthExceededException"/>; nothing is truncated silently. Generation that reaches the end of the context finishes
/// with <see cref="ChatFinishReason.Length"/>.</para>
/// <para><b>Structured output.</b> With a required tool (<see cref="ChatToolMode.RequireAny"/>, <c>RequireSpecific</c>) or a JSON
/// <see cref="ChatOptions.ResponseFormat"/>, decoding is constrained to the tool-call envelope or the schema, and kept finishable within
/// the token budget. A <see cref="ChatOptions.MaxOutputTokens"/> too small for the shortest valid reply is raised to that length (context
/// permitting), because a truncated call or document is useless. Constrained JSON is compact (no insignificant whitespace), object
/// properties come in schema order, strings are capped by <see cref="QuickSilverOptions.MaxConstrainedStringLength"/> unless the schema
/// sets maxLength, and integers have at most 9 digits. A required call yields exactly one <see cref="FunctionCallContent"/>; on
/// <see cref="ChatToolMode.Auto"/>: the reply is free until its first non-blank character, and constrained to the call envelope if that is
/// '{'; a reply that is one or more call objects (or an array of them) becomes calls, limited to one when
/// <see cref="ChatOptions.AllowMultipleToolCalls"/> is false.</para>
/// <para><b>Model id.</b> <see cref="ChatOptions.ModelId"/> must be null or the loaded model's id; anything else throws
/// <see cref="ArgumentException"/>, since one client serves exactly one model.</para>
/// <para><b>Policy.</b> Each request snapshots the current policy when it is submitted, so <see cref="UpdateOptions"/> (wired to
/// <c>IOptionsMonitor</c> by the DI extensions) never changes a request already queued or running.</para>
/// </remarks>
public sealed class QuickSilverChatClient : IChatClient
{
    /// <summary>The provider name reported in <see cref="ChatClientMetadata"/>.</summary>
    public const string ProviderName = "quicksilver";

    /// <summary>Key in <see cref="UsageDetails.AdditionalCounts"/>: microseconds from the start of the request to the first token.</summary>
    public const string TimeToFirstTokenKey = "quicksilver.time_to_first_token_us";

    /// <summary>Key in <see cref="UsageDetails.AdditionalCounts"/>: microseconds the engine spent on the request.</summary>
    public const string TotalTimeKey = "quicksilver.total_time_us";

    /// <summary>
    /// Key in the final update's <see cref="ChatResponseUpdate.AdditionalProperties"/> (and <see cref="ChatResponse.AdditionalProperties"/> of
    /// <see cref="GetResponseAsync"/>): the name of the policy the request ran with.
    /// </summary>
    public const string PolicyNameKey = "quicksilver.policy";

    /// <summary>
    /// Key in the final update's additional properties when the request asked for <see cref="QuickSilverChatOptionKeys.Trace"/>:
    /// an <c>IReadOnlyList&lt;TokenTrace&gt;</c>, one per forward pass (the prompt's prefill, then one per generated token).
    /// </summary>
    public const string TraceKey = "quicksilver.trace";

    private readonly IQuickSilverBackend _backend;
    private readonly bool _ownsBackend;
    private readonly ILogger _logger;
    private readonly QuickSilverMetrics _metrics;
    private readonly ChatClientMetadata _metadata;
    private readonly PromptBuilder _promptBuilder;
    private readonly PromptBuilder? _toolPromptBuilder;
    private readonly SessionCache _sessions;
    private readonly Accelerator _accelerator;
    private readonly int[] _turnEndIds;
    private readonly Dictionary<int, string> _visibleSpecials;
    private readonly CancellationTokenSource _shutdown = new();
    private readonly BatchScheduler _scheduler;
    private readonly ChatJobContext _jobs;
    private volatile Settings _settings;
    private int _disposed;

    /// <summary>Loads the model named by <paramref name="options"/> and creates a client for it.</summary>
    /// <exception cref="QuickSilverException">The options are invalid (the message names each bad setting) or the model cannot be loaded.</exception>
    public QuickSilverChatClient(QuickSilverOptions options, ILoggerFactory? loggerFactory = null, IMeterFactory? meterFactory = null)
        : this(LoadBackend(options), ownsBackend: true, options, loggerFactory, meterFactory)
    {
    }

    /// <summary>Creates a client over an already loaded model (not disposed by the client).</summary>
    /// <exception cref="QuickSilverException">The options are invalid.</exception>
    public QuickSilverChatClient(LanguageModel model, QuickSilverOptions? options = null, ILoggerFactory? loggerFactory = null, IMeterFactory? meterFactory = null)
        : this(new LanguageModelBackend(model ?? throw new ArgumentNullException(nameof(model)), ownsModel: false, options?.ContextLength), ownsBackend: true, options ?? new QuickSilverOptions(), loggerFactory, meterFactory)
    {
    }

    internal QuickSilverChatClient(IQuickSilverBackend backend, bool ownsBackend, QuickSilverOptions options, ILoggerFactory? loggerFactory, IMeterFactory? meterFactory)
    {
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentNullException.ThrowIfNull(options);
        ThrowIfInvalid(options, requireModelPath: false);
        _backend = backend;
        _ownsBackend = ownsBackend;
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<QuickSilverChatClient>();
        _metrics = new QuickSilverMetrics(meterFactory);
        _settings = new Settings(options.Clone(), PolicyComposer.Compose(options));
        _metadata = new ChatClientMetadata(ProviderName, null, backend.ModelId);
        Template = TemplateResolver.Resolve(options, backend, _logger);
        _promptBuilder = new PromptBuilder(backend.Tokenizer, Template);
        // tokenizer_config.json's named templates: with tools, transformers renders "tool_use" when the model ships one.
        if (Template is JinjaChatTemplate jinja && backend.Tokenizer.ChatTemplate is { } own && jinja.Source == own && backend.Tokenizer.NamedChatTemplates.TryGetValue("tool_use", out string? toolUse))
        {
            _toolPromptBuilder = new PromptBuilder(backend.Tokenizer, TemplateResolver.LoadModelTemplate(toolUse, backend));
        }
        _turnEndIds = TurnEndTokens.For(backend.Tokenizer);
        _visibleSpecials = ToolCallRouting.VisibleSpecials(backend.Tokenizer, (_toolPromptBuilder ?? _promptBuilder).Protocol);
        _sessions = new SessionCache(backend, options.MaxCachedConversations);
        _accelerator = new Accelerator(backend, options);
        _jobs = new ChatJobContext(backend, _sessions, _visibleSpecials, _logger, _metrics, NewUpdate, _accelerator);
        _scheduler = new BatchScheduler(backend.Steps, new BatchSchedulerOptions
        {
            MaxBatchSize = options.MaxBatchSize,
            PrefillChunkTokens = options.PrefillChunkTokens,
            PrefillTokensPerStep = options.PrefillTokensPerStep,
            MaxKvCacheTokens = options.MaxKvCacheTokens,
            WhenKvCacheFull = options.WhenKvCacheFull,
        });
        _logger.LogInformation("QuickSilver chat client ready: model {ModelId}, template {Template}, policy {Policy}.", backend.ModelId, Template.Name, _settings.Policy.Name);
    }

    /// <summary>The loaded model's id.</summary>
    public string ModelId => _backend.ModelId;

    /// <summary>The chat template in use.</summary>
    public ChatTemplate Template { get; }

    /// <summary>A copy of the policy new requests start from.</summary>
    public QuickSilverPolicy CurrentPolicy => _settings.Policy.Clone();

    internal SessionCache Sessions => _sessions;

    /// <summary>
    /// Applies new generation defaults, policy and lexicons to requests submitted from now on (requests already queued or running
    /// keep theirs). Model, device, template and cache settings are fixed for the client's lifetime and are ignored here.
    /// </summary>
    /// <exception cref="QuickSilverException">The options are invalid.</exception>
    public void UpdateOptions(QuickSilverOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ThrowIfInvalid(options, requireModelPath: false);
        var settings = new Settings(options.Clone(), PolicyComposer.Compose(options));
        QuickSilverOptions current = _settings.Options;
        if (options.ModelPath != current.ModelPath || options.Device != current.Device || options.Template != current.Template
            || options.TemplateText != current.TemplateText || options.ContextLength != current.ContextLength || options.MaxCachedConversations != current.MaxCachedConversations
            || options.MaxBatchSize != current.MaxBatchSize || options.PrefillChunkTokens != current.PrefillChunkTokens
            || options.PrefillTokensPerStep != current.PrefillTokensPerStep
            || options.MaxKvCacheTokens != current.MaxKvCacheTokens || options.WhenKvCacheFull != current.WhenKvCacheFull)
        {
            _logger.LogWarning("QuickSilver model, device, context, template, cache and batching settings changed; they take effect only when the client is recreated.");
        }
        _settings = settings;
        _logger.LogInformation("QuickSilver options updated: policy {Policy}.", settings.Policy.Name);
    }

    /// <inheritdoc />
    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        // The non-streamed response is the merge of the streamed updates, so the two can never disagree.
        var updates = new List<ChatResponseUpdate>();
        await foreach (ChatResponseUpdate update in GetStreamingResponseAsync(messages, options, cancellationToken).ConfigureAwait(false))
        {
            updates.Add(update);
        }
        ChatResponse response = updates.ToChatResponse();
        if (updates.Count > 0 && updates[^1].AdditionalProperties is { } extra)
        {
            response.AdditionalProperties = new AdditionalPropertiesDictionary(extra);
        }
        return response;
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        WorkItem item = Submit(messages, options, cancellationToken);
        try
        {
            // Waiting honours the caller's token, so a request cancelled while still queued returns at once (the worker skips it later).
            await foreach (ChatResponseUpdate update in item.Output.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                // Updates already queued are not delivered once the caller has cancelled.
                cancellationToken.ThrowIfCancellationRequested();
                yield return update;
            }
        }
        finally
        {
            // A consumer that stops reading early cancels the decode; after completion this is a no-op.
            try
            {
                item.Cancellation.Cancel();
            }
            catch (ObjectDisposedException)
            {
            }
        }
    }

    /// <inheritdoc />
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is not null) return null;
        if (serviceType == typeof(ChatClientMetadata)) return _metadata;
        if (serviceType == typeof(QuickSilverPolicy)) return CurrentPolicy;
        if (serviceType == typeof(QuickSilverOptions)) return _settings.Options.Clone();
        if (serviceType == typeof(ChatTemplate)) return Template;
        if (serviceType.IsInstanceOfType(this)) return this;
        if (_backend.Model is { } model && serviceType.IsInstanceOfType(model)) return model;
        return null;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _shutdown.Cancel();
        // Running and queued requests end cancelled; each gives its session back on the scheduler's thread.
        _scheduler.Dispose();
        _sessions.Dispose();
        _accelerator.Dispose();
        _metrics.Dispose();
        if (_ownsBackend) _backend.Dispose();
        _shutdown.Dispose();
    }

    private WorkItem Submit(IEnumerable<ChatMessage> messages, ChatOptions? options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(messages);
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        cancellationToken.ThrowIfCancellationRequested();

        Settings settings = _settings;
        PromptBuilder builder = _toolPromptBuilder is not null && RequestPlanner.Tools(options).Count > 0 ? _toolPromptBuilder : _promptBuilder;
        RequestPlan plan = RequestPlanner.Plan(options, settings.Options, settings.Policy, _backend.ModelId, _backend.Tokenizer, builder.Template.StopSequences, builder.NativeTools);
        string prompt = builder.Render(builder.ToRequest(messages, plan.Preamble, plan.Tools));
        List<int> promptIds = builder.Encode(prompt);
        if (promptIds.Count >= _backend.ContextLength)
        {
            throw new ContextLengthExceededException(promptIds.Count, _backend.ContextLength);
        }

        // Templates such as DeepSeek-R1's open the reasoning block themselves; the reply then starts inside it.
        bool startsInReasoning = prompt.TrimEnd().EndsWith("<think>", StringComparison.Ordinal);
        ConstraintFactory.Choice choice = ConstraintFactory.Create(plan, promptIds.Count, _backend.Tokenizer, _backend.ContextLength, builder.Protocol, _logger, startsInReasoning);
        GenerationRequest request = plan.CreateRequest(choice, _turnEndIds);
        var item = new WorkItem(plan, request, promptIds, CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _shutdown.Token))
        {
            StartsInReasoning = startsInReasoning,
            Protocol = plan.Tools.Count > 0 ? builder.Protocol : null,
        };
        try
        {
            _scheduler.Enqueue(new ChatGenerationJob(item, _jobs));
        }
        catch (ObjectDisposedException)
        {
            item.Cancellation.Dispose();
            throw new ObjectDisposedException(nameof(QuickSilverChatClient));
        }
        catch
        {
            item.Cancellation.Dispose();
            throw;
        }
        _logger.LogDebug("Queued request {ResponseId}: {PromptTokens} prompt tokens, policy {Policy}.", item.ResponseId, promptIds.Count, request.Policy?.Name);
        return item;
    }

    private ChatResponseUpdate NewUpdate(WorkItem item, IList<AIContent> contents) => new(ChatRole.Assistant, contents)
    {
        ResponseId = item.ResponseId,
        MessageId = item.MessageId,
        ModelId = _backend.ModelId,
        CreatedAt = item.CreatedAt,
    };

    internal static UsageDetails ToUsage(GenerationResult result) => new()
    {
        InputTokenCount = result.PromptTokens,
        OutputTokenCount = result.Tokens.Count,
        TotalTokenCount = result.PromptTokens + result.Tokens.Count,
        CachedInputTokenCount = result.CachedPromptTokens,
        AdditionalCounts = new AdditionalPropertiesDictionary<long>
        {
            ["quicksilver.halted_token_layers"] = result.Stats.HaltedTokenLayers,
            ["quicksilver.skipped_kv_writes"] = result.Stats.SkippedKvWrites,
            ["quicksilver.fused_tokens"] = result.Stats.FusedTokens,
            ["quicksilver.dense_flops"] = (long)Math.Round(result.Stats.DenseFlops),
            ["quicksilver.actual_flops"] = (long)Math.Round(result.Stats.ActualFlops),
            ["quicksilver.kv_bytes"] = result.Stats.KvBytes,
            [TimeToFirstTokenKey] = (long)Math.Round(result.TimeToFirstTokenSeconds * 1e6),
            [TotalTimeKey] = (long)Math.Round(result.TotalSeconds * 1e6),
        },
    };

    private static void ThrowIfInvalid(QuickSilverOptions options, bool requireModelPath)
    {
        var failures = QuickSilverOptionsValidator.GetFailures(options)
            .Where(f => requireModelPath || !f.StartsWith("QuickSilver:ModelPath", StringComparison.Ordinal) && !f.StartsWith("QuickSilver:Format is", StringComparison.Ordinal))
            .ToList();
        if (failures.Count > 0)
        {
            throw new QuickSilverException("Invalid QuickSilver options: " + string.Join(" ", failures));
        }
    }

    private static IQuickSilverBackend LoadBackend(QuickSilverOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ThrowIfInvalid(options, requireModelPath: true);
        LanguageModel model = LanguageModel.Load(options.ModelPath!, new LanguageModelOptions
        {
            Device = options.Device,
            Threads = options.Threads,
            TokenizerPath = options.TokenizerPath,
            ContextLength = options.ContextLength,
            KvCacheType = options.KvCacheType,
        });
        return new LanguageModelBackend(model, ownsModel: true, options.ContextLength);
    }

    private sealed record Settings(QuickSilverOptions Options, QuickSilverPolicy Policy);
}
