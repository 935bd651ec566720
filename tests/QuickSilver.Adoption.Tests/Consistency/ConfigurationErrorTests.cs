using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using QuickSilver.Engine.Loading;
using QuickSilver.Extensions.AI;
using QuickSilver.Testing;

namespace QuickSilver.Adoption.Tests.Consistency;

/// <summary>Paths resolve against the content root; configuration errors are OptionsValidationException; bad files name the file.</summary>
public sealed class ConfigurationErrorTests
{
    [Fact]
    public void A_relative_model_path_resolves_against_the_hosts_content_root_not_the_current_directory()
    {
        string models = Path.Combine(SharedAssets.Root, "models");
        HostApplicationBuilder builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { ContentRootPath = models });
        builder.Services.AddQuickSilverChatClient(o => o.ModelPath = "stories260K/stories260K.gguf");
        using IHost host = builder.Build();
        QuickSilverOptions options = host.Services.GetRequiredService<IOptionsMonitor<QuickSilverOptions>>().Get(Options.DefaultName);
        Assert.Equal(Path.Combine(models, "stories260K", "stories260K.gguf"), options.ModelPath);
        Assert.Equal("stories260K", host.Services.GetRequiredService<IChatClient>().GetService<ChatClientMetadata>()!.DefaultModelId);
    }

    [Fact]
    public void A_missing_relative_model_path_fails_at_host_start_with_the_resolved_path()
    {
        string root = Path.GetTempPath();
        HostApplicationBuilder builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { ContentRootPath = root });
        builder.Services.AddQuickSilverChatClient(o => o.ModelPath = "no-such-folder/model.gguf");
        using IHost host = builder.Build();
        var ex = Assert.Throws<OptionsValidationException>(() => host.StartAsync().GetAwaiter().GetResult());
        Assert.Contains(Path.Combine(root, "no-such-folder", "model.gguf"), ex.Message, StringComparison.Ordinal);
        Assert.Contains("ModelPath", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_context_length_the_model_cannot_hold_is_an_options_validation_error()
    {
        var services = new ServiceCollection();
        services.AddQuickSilverChatClient(o =>
        {
            o.ModelPath = SharedAssets.Stories260KBin;
            o.ContextLength = 100_000;
        });
        using ServiceProvider provider = services.BuildServiceProvider();
        var ex = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IChatClient>());
        Assert.Contains("ContextLength", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_bad_policy_file_is_an_options_validation_error_naming_the_file()
    {
        string policy = Path.Combine(Path.GetTempPath(), $"qs-bad-policy-{Guid.NewGuid():N}.json");
        File.WriteAllText(policy, "{ not json");
        try
        {
            var services = new ServiceCollection();
            services.AddQuickSilverChatClient(o =>
            {
                o.ModelPath = SharedAssets.Stories260KBin;
                o.PolicyPath = policy;
            });
            using ServiceProvider provider = services.BuildServiceProvider();
            var ex = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IChatClient>());
            Assert.Contains(policy, ex.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(policy);
        }
    }

    [Fact]
    public void A_corrupt_model_file_is_a_model_format_exception_with_the_path()
    {
        string path = Path.Combine(Path.GetTempPath(), $"qs-corrupt-{Guid.NewGuid():N}.gguf");
        File.WriteAllBytes(path, [(byte)'G', (byte)'G', (byte)'U', (byte)'F', 3, 0, 0, 0, 1]);
        try
        {
            var services = new ServiceCollection();
            services.AddQuickSilverChatClient(o => o.ModelPath = path);
            using ServiceProvider provider = services.BuildServiceProvider();
            var ex = Assert.Throws<ModelFormatException>(() => provider.GetRequiredService<IChatClient>());
            Assert.Contains(path, ex.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
