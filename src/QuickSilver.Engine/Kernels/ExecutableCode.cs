using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

namespace QuickSilver.Engine.Kernels;

/// <summary>
/// Copies position-independent x86-64 machine code (a kernel family compiled from <c>Kernels/Native/*.c</c> into a
/// generated <c>*.Bytes.cs</c>) into a page of its own and makes it read+execute, so its functions can be called through
/// unmanaged function pointers.
/// </summary>
/// <remarks>
/// Why machine code at all: .NET 10 emits vpdpbusd only through <c>AvxVnni</c> (the VEX form) and <c>Avx10v1</c>; a CPU
/// with AVX-512 VNNI but without AVX-VNNI (AMD Zen 4) reports neither (see <see cref="GemmVnniCode"/>). Only on Linux x64
/// (mmap/mprotect from libc); anywhere else, when the CPU lacks AVX-512 VNNI, when the page cannot be made executable (a
/// W^X policy such as SELinux execmem), or when the family's switch is 0, <see cref="Load"/> returns 0 and the caller keeps
/// its managed kernels.
/// </remarks>
internal static unsafe class ExecutableCode
{
    private const int ProtRead = 1, ProtWrite = 2, ProtExec = 4, MapPrivate = 2, MapAnonymous = 0x20;

    /// <summary>Whether this CPU reports AVX-512 VNNI (CPUID leaf 7, ECX bit 11) beside AVX-512 F and BW.</summary>
    public static bool CpuHasAvx512Vnni() =>
        X86Base.IsSupported && Avx512F.IsSupported && Avx512BW.IsSupported && (X86Base.CpuId(7, 0).Ecx & (1 << 11)) != 0;

    /// <summary>
    /// The address of an executable copy of <paramref name="code"/>, or 0 when it must not or cannot run here.
    /// <paramref name="switchName"/> is the environment variable (1/0, see <see cref="EnvironmentSwitch"/>) that turns the
    /// family off.
    /// </summary>
    public static nint Load(ReadOnlySpan<byte> code, string switchName)
    {
        if (!EnvironmentSwitch.Read(switchName, defaultValue: true)) return 0;
        if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture != Architecture.X64 || !CpuHasAvx512Vnni()) return 0;
        try
        {
            nuint size = (nuint)((code.Length + 4095) & ~4095);
            nint page = MMap(0, size, ProtRead | ProtWrite, MapPrivate | MapAnonymous, -1, 0);
            if (page == -1) return 0;
            code.CopyTo(new Span<byte>((void*)page, code.Length));
            if (MProtect(page, size, ProtRead | ProtExec) != 0) return 0; // W^X policy (SELinux execmem): stay managed
            return page;
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            return 0;
        }
    }

    [DllImport("libc", EntryPoint = "mmap")]
    private static extern nint MMap(nint address, nuint length, int protection, int flags, int fd, nint offset);

    [DllImport("libc", EntryPoint = "mprotect")]
    private static extern int MProtect(nint address, nuint length, int protection);
}
