using System.Diagnostics.Metrics;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using QuickSilver;
using QuickSilver.Engine.Loading;
using QuickSilver.Engine.Tokenization;
using QuickSilver.Extensions.AI;
using QuickSilver.Extensions.AI.Backend;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// Registers a <see cref="QuickSilverChatClient"/> as the <see cref="IChatClient"/> (plain or keyed). Relative paths in the options
/// resolve against the host's content root when there is a host (<see cref="QuickSilverOptionsPathResolver"/>). Every configuration
/// error is an <see cref="OptionsValidationException"/> (at host start, or when the client is first resolved without a host);
/// a bad model or tokenizer file is a <see cref="ModelFormatException"/> or <see cref="TokenizerException"/> naming the file.
/// </summary>
public static class QuickSilverServiceCollectionExtensions
{
    /// <summary>Registers a QuickSilver chat client configured in code. Options are validated at start.</summary>
    /// <returns>The builder of the client pipeline (add <c>UseFunctionInvocation</c>, <c>UseLogging</c>, ... to it).</returns>
    public static ChatClientBuilder AddQuickSilverChatClient(this IServiceCollection services, Action<QuickSilverOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        AddOptions(services, Options.Options.DefaultName).Configure(configure);
        return services.AddChatClient(sp => CreateClient(sp, Options.Options.DefaultName));
    }

    /// <summary>Registers a QuickSilver chat client bound to a configuration section (by convention "QuickSilver"). Options are validated at start and reload with the configuration.</summary>
    /// <returns>The builder of the client pipeline.</returns>
    public static ChatClientBuilder AddQuickSilverChatClient(this IServiceCollection services, IConfiguration section)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(section);
        AddOptions(services, Options.Options.DefaultName).Bind(section);
        return services.AddChatClient(sp => CreateClient(sp, Options.Options.DefaultName));
    }

    /// <summary>Registers a keyed QuickSilver chat client (one per model), configured in code; its options are named after the key.</summary>
    /// <returns>The builder of the keyed client pipeline.</returns>
    public static ChatClientBuilder AddKeyedQuickSilverChatClient(this IServiceCollection services, object serviceKey, Action<QuickSilverOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(serviceKey);
        ArgumentNullException.ThrowIfNull(configure);
        string name = OptionsName(serviceKey);
        AddOptions(services, name).Configure(configure);
        return services.AddKeyedChatClient(serviceKey, sp => CreateClient(sp, name));
    }

    /// <summary>Registers a keyed QuickSilver chat client bound to a configuration section.</summary>
    /// <returns>The builder of the keyed client pipeline.</returns>
    public static ChatClientBuilder AddKeyedQuickSilverChatClient(this IServiceCollection services, object serviceKey, IConfiguration section)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(serviceKey);
        ArgumentNullException.ThrowIfNull(section);
        string name = OptionsName(serviceKey);
        AddOptions(services, name).Bind(section);
        return services.AddKeyedChatClient(serviceKey, sp => CreateClient(sp, name));
    }

    private static string OptionsName(object serviceKey) => "QuickSilver:" + serviceKey;

    private static OptionsBuilder<QuickSilverOptions> AddOptions(IServiceCollection services, string name)
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPostConfigureOptions<QuickSilverOptions>, QuickSilverOptionsPathResolver>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<QuickSilverOptions>, QuickSilverOptionsValidator>());
        return services.AddOptions<QuickSilverOptions>(name).ValidateOnStart();
    }

    private static QuickSilverChatClient CreateClient(IServiceProvider services, string name)
    {
        IOptionsMonitor<QuickSilverOptions> monitor = services.GetRequiredService<IOptionsMonitor<QuickSilverOptions>>();
        QuickSilverOptions options = monitor.Get(name);
        ILoggerFactory? loggerFactory = services.GetService<ILoggerFactory>();
        IMeterFactory? meterFactory = services.GetService<IMeterFactory>();
        BackendFactory? factory = services.GetService<BackendFactory>();
        QuickSilverChatClient client;
        try
        {
            client = factory is null
                ? new QuickSilverChatClient(options, loggerFactory, meterFactory)
                : new QuickSilverChatClient(factory(options), ownsBackend: true, options, loggerFactory, meterFactory);
        }
        catch (QuickSilverException ex) when (ex is not ModelFormatException and not TokenizerException)
        {
            // A setting the model cannot honour (e.g. ContextLength beyond its positions) or a bad policy file is a configuration
            // error, reported like every other one. A bad model or tokenizer file keeps its own exception, which names the file.
            throw new OptionsValidationException(name, typeof(QuickSilverOptions), [ex.Message]);
        }

        ILogger? logger = loggerFactory?.CreateLogger<QuickSilverChatClient>();
        monitor.OnChange((updated, changedName) =>
        {
            if (changedName != name) return;
            try
            {
                client.UpdateOptions(updated);
            }
            catch (QuickSilverException ex)
            {
                logger?.LogError(ex, "Ignoring invalid QuickSilver options update; the previous settings stay in force.");
            }
            catch (ObjectDisposedException)
            {
            }
        });
        return client;
    }
}
