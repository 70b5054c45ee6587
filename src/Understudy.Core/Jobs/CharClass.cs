using System.Text;

namespace Understudy.Core.Jobs;

/// <summary>A glob character class: <c>[abc]</c>, <c>[a-z]</c>, <c>[!a-z]</c> or <c>[^a-z]</c>; ']' first is literal.</summary>
internal sealed class CharClass
{
    private readonly ulong _ascii0;
    private readonly ulong _ascii1;
    private readonly (int From, int To)[] _ranges;
    private readonly bool _negated;

    private CharClass(ulong a0, ulong a1, (int, int)[] ranges, bool negated)
    {
        _ascii0 = a0;
        _ascii1 = a1;
        _ranges = ranges;
        _negated = negated;
    }

    /// <summary>Parses from the '[' at <paramref name="i"/>; leaves <paramref name="i"/> on the closing ']'.</summary>
    public static bool TryParse(string s, ref int i, out CharClass cls, out string error)
    {
        cls = null!;
        error = "";
        int p = i + 1;
        bool negated = p < s.Length && (s[p] == '!' || s[p] == '^');
        if (negated)
            p++;
        ulong a0 = 0, a1 = 0;
        var ranges = new List<(int, int)>();
        bool first = true;
        while (true)
        {
            if (p >= s.Length)
            {
                error = "'[' without a closing ']'";
                return false;
            }
            if (s[p] == ']' && !first)
                break;
            first = false;
            int from = ReadChar(s, ref p);
            int to = from;
            if (p + 1 < s.Length && s[p] == '-' && s[p + 1] != ']')
            {
                p++;
                to = ReadChar(s, ref p);
                if (to < from)
                {
                    error = $"reversed range '{char.ConvertFromUtf32(from)}-{char.ConvertFromUtf32(to)}'";
                    return false;
                }
            }
            for (int c = from; c <= Math.Min(to, 127); c++)
            {
                if (c < 64)
                    a0 |= 1UL << c;
                else
                    a1 |= 1UL << (c - 64);
            }
            if (to > 127)
                ranges.Add((Math.Max(from, 128), to));
        }
        i = p;
        cls = new CharClass(a0, a1, [.. ranges], negated);
        return true;
    }

    private static int ReadChar(string s, ref int p)
    {
        if (s[p] == '\\' && p + 1 < s.Length)
            p++;
        int c = char.ConvertToUtf32(s, p);
        p += char.IsHighSurrogate(s[p]) ? 2 : 1;
        return c;
    }

    /// <summary>Bytes of one character consumed when it is in the class; 0 otherwise.</summary>
    public int Match(ReadOnlySpan<byte> s)
    {
        byte b = s[0];
        if (b < 0x80)
        {
            bool hit = b < 64 ? (_ascii0 & (1UL << b)) != 0 : (_ascii1 & (1UL << (b - 64))) != 0;
            return hit != _negated ? 1 : 0;
        }
        if (Rune.DecodeFromUtf8(s, out var rune, out int used) != System.Buffers.OperationStatus.Done)
            return _negated ? 1 : 0; // an invalid byte is no character of the class
        bool inRange = false;
        foreach (var (from, to) in _ranges)
        {
            if (rune.Value >= from && rune.Value <= to)
            {
                inRange = true;
                break;
            }
        }
        return inRange != _negated ? used : 0;
    }
}
