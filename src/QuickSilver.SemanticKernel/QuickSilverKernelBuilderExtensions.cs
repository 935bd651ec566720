using Microsoft.Extensions.AI;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.SemanticKernel.ChatCompletion;
using QuickSilver.Extensions.AI;

namespace Microsoft.SemanticKernel;

/// <summary>Registers a QuickSilver chat client with a Semantic Kernel <see cref="IKernelBuilder"/>.</summary>
public static class QuickSilverKernelBuilderExtensions
{
    /// <summary>
    /// Registers a <see cref="QuickSilverChatClient"/> as the kernel's <see cref="IChatClient"/> (with function invocation) and as its
    /// <see cref="IChatCompletionService"/>. With <paramref name="serviceId"/>, both are keyed by it.
    /// </summary>
    /// <param name="builder">The kernel builder.</param>
    /// <param name="configure">Sets the options.</param>
    /// <param name="serviceId">Optional key of the registrations.</param>
    /// <param name="configurePipeline">Adds middleware inside function invocation (e.g. <c>UseLogging</c>), called once at registration.</param>
    public static IKernelBuilder AddQuickSilverChatClient(this IKernelBuilder builder, Action<QuickSilverOptions> configure, string? serviceId = null, Action<ChatClientBuilder>? configurePipeline = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        ChatClientBuilder chat = serviceId is null
            ? builder.Services.AddQuickSilverChatClient(configure)
            : builder.Services.AddKeyedQuickSilverChatClient(serviceId, configure);
        return Finish(builder, chat, serviceId, configurePipeline);
    }

    /// <summary>Registers a QuickSilver chat client bound to a configuration section (see the other overload).</summary>
    /// <param name="builder">The kernel builder.</param>
    /// <param name="section">The configuration section (by convention "QuickSilver").</param>
    /// <param name="serviceId">Optional key of the registrations.</param>
    /// <param name="configurePipeline">Adds middleware inside function invocation, called once at registration.</param>
    public static IKernelBuilder AddQuickSilverChatClient(this IKernelBuilder builder, IConfiguration section, string? serviceId = null, Action<ChatClientBuilder>? configurePipeline = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(section);
        ChatClientBuilder chat = serviceId is null
            ? builder.Services.AddQuickSilverChatClient(section)
            : builder.Services.AddKeyedQuickSilverChatClient(serviceId, section);
        return Finish(builder, chat, serviceId, configurePipeline);
    }

    private static IKernelBuilder Finish(IKernelBuilder builder, ChatClientBuilder chat, string? serviceId, Action<ChatClientBuilder>? configurePipeline)
    {
        chat.UseFunctionInvocation();
        configurePipeline?.Invoke(chat);
        if (serviceId is null)
        {
            builder.Services.AddSingleton<IChatCompletionService>(sp => sp.GetRequiredService<IChatClient>().AsChatCompletionService(sp));
        }
        else
        {
            builder.Services.AddKeyedSingleton<IChatCompletionService>(serviceId, (sp, key) => sp.GetRequiredKeyedService<IChatClient>(key).AsChatCompletionService(sp));
        }
        return builder;
    }
}
