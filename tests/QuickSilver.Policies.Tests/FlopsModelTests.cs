using QuickSilver.Policies;

namespace QuickSilver.Policies.Tests;

public class FlopsModelTests
{
    // stories260K: d=64, nh=8, nkv=4, hs=8, I=172 (SwiGLU), V=512, L=5.
    private static readonly TransformerShape Stories = new(64, 8, 4, 8, 172, MlpKind.SwiGlu, 512, 5);

    // GPT-2 small: d=768, 12 heads of 64, I=3072 (GELU), V=50257, L=12.
    private static readonly TransformerShape Gpt2 = new(768, 12, 12, 64, 3072, MlpKind.Gelu, 50257, 12);

    [Fact]
    public void Stories260K_per_token_costs()
    {
        Assert.Equal(2L * 64 * (64 + 32 + 32 + 64), FlopsModel.ProjectionFlops(Stories, 1));
        Assert.Equal(24_576L, FlopsModel.ProjectionFlops(Stories, 1));
        Assert.Equal(245_760L, FlopsModel.ProjectionFlops(Stories, 10));
        Assert.Equal(66_048L, FlopsModel.MlpFlops(Stories, 1));
        Assert.Equal(2_560L, FlopsModel.AttentionFlops(Stories, 1, 10));
        Assert.Equal(93_184L, FlopsModel.LayerFlops(Stories, 1, 10));
        Assert.Equal(65_536L, FlopsModel.LogitsFlops(Stories, 1));
        Assert.Equal(68_096L, FlopsModel.EntropySignalFlopsPerToken(Stories));
        Assert.Equal(3L * 68_096, FlopsModel.LogitLensFlops(Stories, 3));
        Assert.Equal(8_192L, FlopsModel.KvPropagationFlopsPerToken(Stories));
        Assert.Equal(192L, FlopsModel.DriftFlopsPerToken(Stories));
    }

    [Fact]
    public void Stories260K_causal_prefill()
    {
        // 4 tokens see 1+2+3+4 = 10 keys: 10·4·64 = 2560.
        Assert.Equal(2_560L, FlopsModel.CausalAttentionFlops(Stories, 4));
        // One new token after 6 cached sees 7 keys: 7·256 = 1792.
        Assert.Equal(1_792L, FlopsModel.CausalAttentionFlops(Stories, 1, 6));
        Assert.Equal(365_056L, FlopsModel.CausalLayerFlops(Stories, 4));
        Assert.Equal((5L * 365_056) + (4L * 65_536), FlopsModel.DenseForwardFlops(Stories, 4));
    }

    [Fact]
    public void Decoding_one_token_equals_a_layer_over_the_cache()
    {
        Assert.Equal(FlopsModel.LayerFlops(Stories, 1, 7), FlopsModel.CausalLayerFlops(Stories, 1, 6));
    }

    [Fact]
    public void Gpt2_small_per_token_costs()
    {
        Assert.Equal(4_718_592L, FlopsModel.ProjectionFlops(Gpt2, 1));
        Assert.Equal(9_437_184L, FlopsModel.MlpFlops(Gpt2, 1));
        Assert.Equal(3_145_728L, FlopsModel.AttentionFlops(Gpt2, 1, 1024));
        Assert.Equal(77_194_752L, FlopsModel.LogitsFlops(Gpt2, 1));
        Assert.Equal(77_446_037L, FlopsModel.EntropySignalFlopsPerToken(Gpt2));
        Assert.Equal(2_359_296L, FlopsModel.KvPropagationFlopsPerToken(Gpt2));
        Assert.Equal(2_304L, FlopsModel.DriftFlopsPerToken(Gpt2));
    }

    [Fact]
    public void Paper_formula_for_gpt2_small()
    {
        // 4·1024·768² + 2·1024·12·(768 + 12·log2 1024) = 2,415,919,104 + 21,823,488
        Assert.Equal(2_437_742_592.0, FlopsModel.PaperAttentionFlops(1024, 768, 12));
        Assert.Equal(4_831_838_208.0, FlopsModel.PaperMlpFlops(1024, 768));
        Assert.Equal(7_269_580_800.0, FlopsModel.PaperLayerFlops(1024, 768, 12));
        Assert.Equal(0.0, FlopsModel.PaperAttentionFlops(0, 768, 12));
    }

    [Fact]
    public void Paper_formula_counts_multiply_adds_as_one()
    {
        // Without the attention-score term, the exact count is twice the paper's 12Nd² for a d→4d GELU model.
        const long n = 100;
        var exact = FlopsModel.ProjectionFlops(Gpt2, n) + FlopsModel.MlpFlops(Gpt2, n);
        Assert.Equal(2 * (4.0 * n * 768 * 768 + FlopsModel.PaperMlpFlops(n, 768)), exact);
    }

    [Fact]
    public void Paper_effective_flops_weights_active_tokens_by_beta()
    {
        // per token 7,269,580,800 / 1024 = 7,099,200; 1024·1 + 512·0.5 = 1280 token-equivalents.
        var total = FlopsModel.PaperEffectiveFlops([1024L, 512L], [1.0, 0.5], 1024, 768, 12);
        Assert.Equal(9_086_976_000.0, total, 1);
        Assert.Throws<ArgumentException>(() => FlopsModel.PaperEffectiveFlops([1024L], [1.0, 0.5], 1024, 768, 12));
        Assert.Throws<ArgumentException>(() => FlopsModel.PaperEffectiveFlops([2048L], [1.0], 1024, 768, 12));
        Assert.Throws<ArgumentException>(() => FlopsModel.PaperEffectiveFlops([1L], [0.0], 1024, 768, 12));
    }

    [Theory]
    [InlineData(8, 1.0)]
    [InlineData(4, 0.5)]
    [InlineData(2, 0.25)]
    public void Beta_halves_per_halving_of_bits(int bits, double beta) => Assert.Equal(beta, FlopsModel.Beta(bits));

    [Theory]
    [InlineData(16)]
    [InlineData(3)]
    [InlineData(0)]
    public void Beta_rejects_other_widths(int bits) => Assert.Throws<ArgumentOutOfRangeException>(() => FlopsModel.Beta(bits));

    [Fact]
    public void Beta_weighted_flops_sums_per_token()
    {
        Assert.Equal(200.0, FlopsModel.BetaWeightedFlops(100, [8, 4, 2, 2]));
        Assert.Equal(0.0, FlopsModel.BetaWeightedFlops(100, []));
        Assert.Throws<ArgumentOutOfRangeException>(() => FlopsModel.BetaWeightedFlops(100, [8, 5]));
        Assert.Throws<ArgumentOutOfRangeException>(() => FlopsModel.BetaWeightedFlops(double.NaN, [8]));
    }

    [Fact]
    public void Shapes_and_counts_are_guarded()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new TransformerShape(64, 8, 3, 8, 172, MlpKind.SwiGlu, 512, 5));
        Assert.Throws<ArgumentOutOfRangeException>(() => new TransformerShape(0, 8, 4, 8, 172, MlpKind.SwiGlu, 512, 5));
        Assert.Throws<ArgumentOutOfRangeException>(() => new TransformerShape(64, 8, 4, 8, 172, (MlpKind)9, 512, 5));
        Assert.Throws<ArgumentOutOfRangeException>(() => FlopsModel.ProjectionFlops(Stories, -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => FlopsModel.CausalAttentionFlops(Stories, 1, -1));
        Assert.Throws<OverflowException>(() => FlopsModel.LogitsFlops(Gpt2, long.MaxValue / 4));
    }
}
