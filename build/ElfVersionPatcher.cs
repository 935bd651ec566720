// Marks selected symbol-version requirements of an ELF64 shared library as weak.
//
// Why: TorchSharp 0.107's libLibTorchSharp.so lists GLIBCXX_3.4.32 among the versions it needs
// from libstdc++.so.6. Its only use of that version is the marker symbol
// _ZSt21ios_base_library_initv, which the library never calls. Debian 12's libstdc++ stops at
// GLIBCXX_3.4.30, so the dynamic loader refuses the whole library. Setting VER_FLG_WEAK on that one
// vernaux entry (.gnu.version_r) turns the hard failure into a no-op, the standard meaning of a weak
// version reference. The patch touches two bytes of the build-output copy, never the NuGet cache.
//
// This file is compiled twice: into the MSBuild inline task (build/TorchSharpGlibcxxFix.targets) and
// into the Engine tests, which exercise the parser on the real library and on synthetic ELF files.
#nullable enable
using System;
using System.Collections.Generic;
using System.IO;
using System.Text;

namespace QuickSilver.Build
{
    /// <summary>Outcome of <see cref="ElfVersionPatcher.Patch"/>.</summary>
    public enum ElfPatchResult
    {
        /// <summary>The file is not an ELF64 little-endian library, or has no version-needs section.</summary>
        NotApplicable,
        /// <summary>No requirement with the requested version name exists.</summary>
        VersionNotReferenced,
        /// <summary>The requirement was already weak; nothing was written.</summary>
        AlreadyWeak,
        /// <summary>The requirement was marked weak.</summary>
        Patched,
    }

    /// <summary>Reads and edits the GNU version-needs table of an ELF64 little-endian file.</summary>
    public static class ElfVersionPatcher
    {
        /// <summary>ELF section type of .gnu.version_r.</summary>
        private const uint ShtGnuVerneed = 0x6ffffffe;

        /// <summary>Flag that makes a version requirement non-fatal when the provider lacks it.</summary>
        public const ushort VerFlgWeak = 0x2;

        /// <summary>One version requirement: library, version name, flags and where the flags live.</summary>
        public readonly struct VersionNeed
        {
            public VersionNeed(string file, string version, ushort flags, long flagsOffset)
            {
                File = file; Version = version; Flags = flags; FlagsOffset = flagsOffset;
            }
            public string File { get; }
            public string Version { get; }
            public ushort Flags { get; }
            public long FlagsOffset { get; }
            public bool IsWeak => (Flags & VerFlgWeak) != 0;
        }

        /// <summary>Lists every version requirement in the image, or an empty list when there is none.</summary>
        /// <exception cref="InvalidDataException">The image claims to be ELF64 but its tables point outside it.</exception>
        public static List<VersionNeed> ReadVersionNeeds(byte[] image)
        {
            var result = new List<VersionNeed>();
            if (image.Length < 64 || image[0] != 0x7f || image[1] != (byte)'E' || image[2] != (byte)'L' || image[3] != (byte)'F')
                return result;
            if (image[4] != 2 || image[5] != 1) return result; // ELFCLASS64, ELFDATA2LSB only.

            long shoff = (long)U64(image, 0x28);
            int shentsize = U16(image, 0x3A);
            int shnum = U16(image, 0x3C);
            if (shoff <= 0 || shnum == 0) return result;
            if (shentsize < 64 || shoff + (long)shentsize * shnum > image.Length)
                throw new InvalidDataException("ELF section header table lies outside the file.");

            for (int i = 0; i < shnum; i++)
            {
                long sh = shoff + (long)i * shentsize;
                if (U32(image, sh + 4) != ShtGnuVerneed) continue;
                long offset = (long)U64(image, sh + 0x18);
                long size = (long)U64(image, sh + 0x20);
                int link = (int)U32(image, sh + 0x28);
                long count = (long)U32(image, sh + 0x2C); // sh_info: number of Verneed entries.
                if (offset < 0 || size < 0 || offset + size > image.Length || link >= shnum)
                    throw new InvalidDataException("ELF .gnu.version_r lies outside the file.");
                long strSh = shoff + (long)link * shentsize;
                long strOff = (long)U64(image, strSh + 0x18);
                long strSize = (long)U64(image, strSh + 0x20);
                if (strOff < 0 || strSize < 0 || strOff + strSize > image.Length)
                    throw new InvalidDataException("ELF string table lies outside the file.");

                long need = offset;
                for (long n = 0; n < count; n++)
                {
                    if (need + 16 > offset + size) throw new InvalidDataException("ELF Verneed entry overruns its section.");
                    int auxCount = U16(image, need + 2);
                    string file = Str(image, strOff, strSize, U32(image, need + 4));
                    long aux = need + U32(image, need + 8);
                    for (int a = 0; a < auxCount; a++)
                    {
                        if (aux + 16 > offset + size) throw new InvalidDataException("ELF Vernaux entry overruns its section.");
                        ushort flags = (ushort)U16(image, aux + 4);
                        string name = Str(image, strOff, strSize, U32(image, aux + 8));
                        result.Add(new VersionNeed(file, name, flags, aux + 4));
                        uint nextAux = U32(image, aux + 12);
                        if (nextAux == 0) break;
                        aux += nextAux;
                    }
                    uint next = U32(image, need + 12);
                    if (next == 0) break;
                    need += next;
                }
            }
            return result;
        }

        /// <summary>Marks the requirement on <paramref name="version"/> as weak, writing the file only when it changes.</summary>
        public static ElfPatchResult Patch(string path, string version)
        {
            byte[] image = File.ReadAllBytes(path);
            List<VersionNeed> needs = ReadVersionNeeds(image);
            if (needs.Count == 0) return ElfPatchResult.NotApplicable;
            bool found = false, changed = false;
            foreach (VersionNeed need in needs)
            {
                if (need.Version != version) continue;
                found = true;
                if (need.IsWeak) continue;
                ushort flags = (ushort)(need.Flags | VerFlgWeak);
                image[need.FlagsOffset] = (byte)(flags & 0xff);
                image[need.FlagsOffset + 1] = (byte)(flags >> 8);
                changed = true;
            }
            if (!found) return ElfPatchResult.VersionNotReferenced;
            if (!changed) return ElfPatchResult.AlreadyWeak;
            // Write to a sibling file and swap, so that a crash never leaves a half-written library.
            string temp = path + ".qs-patch";
            File.WriteAllBytes(temp, image);
            File.Copy(temp, path, overwrite: true);
            File.Delete(temp);
            return ElfPatchResult.Patched;
        }

        /// <summary>
        /// True when the system's libstdc++ is found and does not define <paramref name="version"/>,
        /// i.e. when the patch is needed. False on non-Linux systems and where the version is present.
        /// </summary>
        public static bool SystemLibStdCxxLacks(string version, IEnumerable<string>? candidates = null)
        {
            if (Environment.OSVersion.Platform != PlatformID.Unix || Directory.Exists("/System/Library")) return false;
            candidates ??= new[]
            {
                "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib/aarch64-linux-gnu/libstdc++.so.6",
                "/usr/lib64/libstdc++.so.6", "/usr/lib/libstdc++.so.6", "/lib/x86_64-linux-gnu/libstdc++.so.6",
            };
            byte[] needle = Encoding.ASCII.GetBytes(version + "\0");
            foreach (string candidate in candidates)
            {
                if (!File.Exists(candidate)) continue;
                byte[] lib = File.ReadAllBytes(candidate);
                return IndexOf(lib, needle) < 0;
            }
            return false; // No libstdc++ where we looked: nothing we can reason about, so leave the file alone.
        }

        private static int IndexOf(byte[] haystack, byte[] needle)
        {
            for (int i = 0; i <= haystack.Length - needle.Length; i++)
            {
                int j = 0;
                while (j < needle.Length && haystack[i + j] == needle[j]) j++;
                if (j == needle.Length) return i;
            }
            return -1;
        }

        private static string Str(byte[] image, long tableOffset, long tableSize, uint index)
        {
            if (index >= tableSize) throw new InvalidDataException("ELF string index lies outside its table.");
            long start = tableOffset + index, end = start;
            while (end < tableOffset + tableSize && image[end] != 0) end++;
            return Encoding.ASCII.GetString(image, (int)start, (int)(end - start));
        }

        private static int U16(byte[] b, long o) => o + 2 <= b.Length ? b[o] | (b[o + 1] << 8) : throw new InvalidDataException("ELF read past end of file.");
        private static uint U32(byte[] b, long o) => o + 4 <= b.Length ? BitConverter.ToUInt32(b, (int)o) : throw new InvalidDataException("ELF read past end of file.");
        private static ulong U64(byte[] b, long o) => o + 8 <= b.Length ? BitConverter.ToUInt64(b, (int)o) : throw new InvalidDataException("ELF read past end of file.");
    }

#if !QUICKSILVER_NO_MSBUILD
    /// <summary>MSBuild task: patches every listed library when the system libstdc++ lacks the version.</summary>
    public class MarkElfVersionWeak : Microsoft.Build.Utilities.Task
    {
        [Microsoft.Build.Framework.Required]
        public Microsoft.Build.Framework.ITaskItem[] Files { get; set; } = Array.Empty<Microsoft.Build.Framework.ITaskItem>();

        [Microsoft.Build.Framework.Required]
        public string Version { get; set; } = "";

        public override bool Execute()
        {
            if (!ElfVersionPatcher.SystemLibStdCxxLacks(Version))
            {
                Log.LogMessage(Microsoft.Build.Framework.MessageImportance.Low, $"libstdc++ provides {Version} (or this is not Linux): no patch needed.");
                return true;
            }
            foreach (var item in Files)
            {
                string path = item.ItemSpec;
                if (!File.Exists(path)) continue;
                ElfPatchResult result = ElfVersionPatcher.Patch(path, Version);
                Log.LogMessage(Microsoft.Build.Framework.MessageImportance.Normal, $"{path}: {result} ({Version} marked weak where referenced).");
            }
            return !Log.HasLoggedErrors;
        }
    }
#endif
}
