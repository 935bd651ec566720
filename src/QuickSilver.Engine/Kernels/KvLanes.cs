using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace QuickSilver.Engine.Kernels;

/// <summary>
/// How the AVX-512 attention loops read 16 cached keys' or values' elements as float32: one struct per K/V storage type,
/// so each loop is compiled once per type with the widening inlined (no per-element branch on the type).
/// </summary>
internal unsafe interface IKvLanes
{
    /// <summary>Bytes per stored element.</summary>
    static abstract int Size { get; }

    /// <summary>Elements [<paramref name="element"/>, +16) of <paramref name="p"/> as float32.</summary>
    static abstract Vector512<float> Load(byte* p, long element);
}

/// <summary>float32 elements, loaded as they are.</summary>
internal readonly unsafe struct Float32Lanes : IKvLanes
{
    public static int Size => sizeof(float);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Load(byte* p, long element) => Vector512.Load((float*)p + element);
}

/// <summary>bfloat16 codes: the top half of a float32, so widening is exact for every code (infinities and NaNs too).</summary>
internal readonly unsafe struct BFloat16Lanes : IKvLanes
{
    public static int Size => sizeof(ushort);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Load(byte* p, long element) =>
        Avx512F.ShiftLeftLogical(Avx512F.ConvertToVector512UInt32(Avx.LoadVector256((ushort*)p + element)), 16).AsSingle();
}

/// <summary>
/// IEEE half codes, finite ones only (4 instructions: sign-extend, shift the exponent and mantissa into place, clear the
/// sign copies, multiply by 2^112 to rebias; subnormals become normals exactly). A code with the all-ones exponent (±∞,
/// NaN) would come out finite, so loops check a block with <see cref="AnySpecial"/> first and read it through
/// <see cref="ExactHalfLanes"/> when it holds one. .NET 10 exposes no vcvtph2ps (no F16C or AVX-512 FP16 class).
/// </summary>
internal readonly unsafe struct FiniteHalfLanes : IKvLanes
{
    public static int Size => sizeof(ushort);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Load(byte* p, long element) =>
        ScaledHalfLanes.Load(p, element) * Vector512.Create(0x77800000).AsSingle(); // 2^112

    /// <summary>Whether any of the <paramref name="count"/> codes at <paramref name="p"/> (a multiple of 32) is ±∞ or NaN.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool AnySpecial(byte* p, int count)
    {
        // code | 0x83FF is 0xFFFF exactly for the all-ones exponent: one OR (load folded) and one unsigned max per 32 codes.
        var others = Vector512.Create((ushort)0x83FF);
        Vector512<ushort> m0 = default, m1 = default;
        int i = 0;
        for (; i + 64 <= count; i += 64)
        {
            m0 = Avx512BW.Max(m0, Vector512.Load((ushort*)p + i) | others);
            m1 = Avx512BW.Max(m1, Vector512.Load((ushort*)p + i + 32) | others);
        }
        if (i < count) m0 = Avx512BW.Max(m0, Vector512.Load((ushort*)p + i) | others);
        return Vector512.EqualsAny(Avx512BW.Max(m0, m1), Vector512<ushort>.AllBitsSet);
    }
}

/// <summary>IEEE half codes, every one exact: <see cref="FiniteHalfLanes"/> plus the all-ones exponent mapped to float32's (±∞, NaN keeps its payload).</summary>
internal readonly unsafe struct ExactHalfLanes : IKvLanes
{
    public static int Size => sizeof(ushort);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Load(byte* p, long element)
    {
        var scaled = ScaledHalfLanes.Load(p, element);
        return (scaled * Vector512.Create(0x77800000).AsSingle()) | ScaledHalfLanes.AllOnesExponent(scaled);
    }
}

/// <summary>
/// IEEE half codes as k·2^−112 (3 instructions, no multiply): the bits <see cref="FiniteHalfLanes"/> has before its rebias,
/// exact as a float32 (half subnormals become float32 subnormals). Loops that multiply by a factor they scaled by 2^112
/// beforehand (a query below 2^16, the softmax weights) get the same products, so the same bits, as with the widened
/// values. Blocks with ±∞ or NaN are read through <see cref="ExactScaledHalfLanes"/>.
/// </summary>
internal readonly unsafe struct ScaledHalfLanes : IKvLanes
{
    public static int Size => sizeof(ushort);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Load(byte* p, long element) =>
        (Avx512F.ShiftLeftLogical(Avx512F.ConvertToVector512Int32(Avx.LoadVector256((short*)p + element)), 13)
            & Vector512.Create(unchecked((int)0x8FFFE000))).AsSingle();

    /// <summary>float32's all-ones exponent in the lanes of <paramref name="scaled"/> (a <see cref="Load"/>) whose half code had it (±∞, NaN); zero elsewhere.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> AllOnesExponent(Vector512<float> scaled)
    {
        var bits = scaled.AsInt32();
        return (Vector512.Equals(bits & Vector512.Create(0x0F800000), Vector512.Create(0x0F800000)) & Vector512.Create(0x7F800000)).AsSingle();
    }
}

/// <summary><see cref="ScaledHalfLanes"/> with the all-ones exponent mapped to float32's: ±∞ and NaN stay what they are under the 2^112 scaling.</summary>
internal readonly unsafe struct ExactScaledHalfLanes : IKvLanes
{
    public static int Size => sizeof(ushort);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Load(byte* p, long element)
    {
        var scaled = ScaledHalfLanes.Load(p, element);
        return scaled | ScaledHalfLanes.AllOnesExponent(scaled);
    }
}
