using System.Text;
using static QuickSilver.Extensions.AI.Constraints.JsonSchemaNode;

namespace QuickSilver.Extensions.AI.Constraints;

// The frames of JSON scalars: fixed byte strings (literals, keys, enum values), strings and numbers.
internal static partial class JsonGrammar
{
    /// <summary>Matches one of several byte strings; completes as soon as the match is unambiguous.</summary>
    /// <param name="candidates">The byte strings; ruled-out ones become empty, so indexes (tags) stay stable.</param>
    /// <param name="matched">Bytes matched so far.</param>
    /// <param name="tails">Optional fewest bytes the parent still needs after each candidate (keys and tool names choose what follows).</param>
    private sealed class LiteralFrame(byte[][] candidates, int matched, int[]? tails = null) : JsonFrame
    {
        public override int BytesToClose(bool childActive)
        {
            int best = int.MaxValue;
            for (int i = 0; i < candidates.Length; i++)
            {
                byte[] c = candidates[i];
                if (c.Length >= matched && (c.Length > 0 || matched == 0)) best = Math.Min(best, c.Length - matched + (tails?[i] ?? 0));
            }
            return best == int.MaxValue ? 0 : best;
        }

        public override bool CanEndHere => CompleteIndex() >= 0;

        public override int OnlyByte(JsonState self) => OnlyNextByte(candidates, matched);

        /// <summary>
        /// The next byte of every live candidate when they all agree and none is complete (a complete one would hand any other
        /// byte to the parent), else -1.
        /// </summary>
        internal static int OnlyNextByte(byte[][] candidates, int matched)
        {
            int only = -1;
            foreach (byte[] c in candidates)
            {
                if (c.Length == matched) return -1;
                if (c.Length < matched) continue;
                if (only < 0) only = c[matched];
                else if (only != c[matched]) return -1;
            }
            return only;
        }

        private int CompleteIndex()
        {
            for (int i = 0; i < candidates.Length; i++)
            {
                if (candidates[i].Length == matched) return i;
            }
            return -1;
        }

        public override JsonState? Step(JsonState self, byte b)
        {
            bool any = false, longer = false;
            int complete = -1;
            for (int i = 0; i < candidates.Length; i++)
            {
                byte[] c = candidates[i];
                if (c.Length > matched && c[matched] == b)
                {
                    any = true;
                    if (c.Length == matched + 1) complete = complete < 0 ? i : complete;
                    else longer = true;
                }
            }
            if (!any)
            {
                int done = CompleteIndex();
                return done >= 0 ? self.PopAndStep(done, b) : null;
            }
            var next = new LiteralFrame(Narrow(b), matched + 1, tails);
            if (complete >= 0 && !longer)
            {
                return self.Pop(complete);
            }
            return self.Replace(next);
        }

        // Candidates keep their positions so the completed index (the tag) stays stable; ruled-out ones become empty.
        private byte[][] Narrow(byte b) => candidates.Select(c => c.Length > matched && c[matched] == b ? c : []).ToArray();
    }

    /// <summary>
    /// A string body: valid UTF-8 only (no overlongs, surrogates or code points above U+10FFFF), JSON escapes (no lone-surrogate
    /// \\u escapes), no raw control characters, and a length in code points between the schema's bounds.
    /// </summary>
    private sealed class StringFrame(int minLength, int maxLength, int length, int continuation, int hexLeft, int escape, byte nextLo = 0x80, byte nextHi = 0xBF) : JsonFrame
    {
        public bool IsBetweenCharacters => continuation == 0 && hexLeft == 0 && escape == 0;

        public int Length => length;

        public int MaxLength => maxLength;

        public override int BytesToClose(bool childActive)
            => hexLeft + (escape == 1 ? 1 : 0) + continuation + Math.Max(0, minLength - length) + 1;

        public override JsonState? Step(JsonState self, byte b)
        {
            if (hexLeft > 0)
            {
                if (!Uri.IsHexDigit((char)b)) return null;
                // Escapes \uD800-\uDFFF are surrogate halves: rejected so every string decodes cleanly.
                if (hexLeft == 4 && b is (byte)'d' or (byte)'D') return self.Replace(new StringFrame(minLength, maxLength, length, 0, 3, 2));
                if (escape == 2 && !(b is >= (byte)'0' and <= (byte)'7')) return null;
                return self.Replace(new StringFrame(minLength, maxLength, length, 0, hexLeft - 1, 0));
            }
            if (escape == 1)
            {
                return b switch
                {
                    (byte)'"' or (byte)'\\' or (byte)'/' or (byte)'b' or (byte)'f' or (byte)'n' or (byte)'r' or (byte)'t' => self.Replace(new StringFrame(minLength, maxLength, length, 0, 0, 0)),
                    (byte)'u' => self.Replace(new StringFrame(minLength, maxLength, length, 0, 4, 0)),
                    _ => null,
                };
            }
            if (continuation > 0)
            {
                return b >= nextLo && b <= nextHi ? self.Replace(new StringFrame(minLength, maxLength, length, continuation - 1, 0, 0)) : null;
            }
            if (b == (byte)'"')
            {
                return length >= minLength ? self.Pop(-1) : null;
            }
            if (b < 0x20 || length >= maxLength) return null;
            if (b == (byte)'\\') return self.Replace(new StringFrame(minLength, maxLength, length + 1, 0, 0, 1));
            return b switch
            {
                < 0x80 => self.Replace(new StringFrame(minLength, maxLength, length + 1, 0, 0, 0)),
                >= 0xC2 and <= 0xDF => self.Replace(new StringFrame(minLength, maxLength, length + 1, 1, 0, 0)),
                0xE0 => self.Replace(new StringFrame(minLength, maxLength, length + 1, 2, 0, 0, 0xA0, 0xBF)),
                0xED => self.Replace(new StringFrame(minLength, maxLength, length + 1, 2, 0, 0, 0x80, 0x9F)),
                >= 0xE1 and <= 0xEF => self.Replace(new StringFrame(minLength, maxLength, length + 1, 2, 0, 0)),
                0xF0 => self.Replace(new StringFrame(minLength, maxLength, length + 1, 3, 0, 0, 0x90, 0xBF)),
                >= 0xF1 and <= 0xF3 => self.Replace(new StringFrame(minLength, maxLength, length + 1, 3, 0, 0)),
                0xF4 => self.Replace(new StringFrame(minLength, maxLength, length + 1, 3, 0, 0, 0x80, 0x8F)),
                _ => null,
            };
        }
    }

    private enum NumberPhase { Start, Minus, Zero, Int, Dot, Frac, Exp, ExpSign, ExpDigits }

    private sealed class NumberFrame(bool integerOnly, NumberPhase phase, int chars, bool negative = false) : JsonFrame
    {
        // An integer's only non-digit character is its minus sign.
        private int DigitsSoFar() => chars - (negative ? 1 : 0);

        public override bool CanEndHere => phase is NumberPhase.Zero or NumberPhase.Int or NumberPhase.Frac or NumberPhase.ExpDigits;

        public override int BytesToClose(bool childActive) => CanEndHere ? 0 : 1;

        public override JsonState? Step(JsonState self, byte b)
        {
            bool digit = b is >= (byte)'0' and <= (byte)'9';
            NumberPhase? next = phase switch
            {
                NumberPhase.Start when b == (byte)'-' => NumberPhase.Minus,
                NumberPhase.Start or NumberPhase.Minus when b == (byte)'0' => NumberPhase.Zero,
                NumberPhase.Start or NumberPhase.Minus when digit => NumberPhase.Int,
                NumberPhase.Int when digit => NumberPhase.Int,
                NumberPhase.Zero or NumberPhase.Int when b == (byte)'.' && !integerOnly => NumberPhase.Dot,
                NumberPhase.Zero or NumberPhase.Int or NumberPhase.Frac when b is (byte)'e' or (byte)'E' && !integerOnly => NumberPhase.Exp,
                NumberPhase.Dot or NumberPhase.Frac when digit => NumberPhase.Frac,
                NumberPhase.Exp when b is (byte)'+' or (byte)'-' => NumberPhase.ExpSign,
                NumberPhase.Exp or NumberPhase.ExpSign or NumberPhase.ExpDigits when digit => NumberPhase.ExpDigits,
                _ => null,
            };
            if (next is { } n && chars < MaxNumberChars && !(integerOnly && digit && DigitsSoFar() >= MaxIntegerDigits))
            {
                return self.Replace(new NumberFrame(integerOnly, n, chars + 1, negative || n == NumberPhase.Minus));
            }
            return CanEndHere ? self.PopAndStep(-1, b) : null;
        }
    }
}
