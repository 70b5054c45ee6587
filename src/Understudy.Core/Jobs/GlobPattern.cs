using System.Text;

namespace Understudy.Core.Jobs;

/// <summary>
/// One compiled exclude pattern (gitignore-like; see <see cref="ExcludeMatcher"/>). Matching works on
/// raw path bytes and allocates nothing: a pattern is a list of segments, one per '/'-separated
/// component, each either "**" or a small program of literal bytes, '?', '*' and character classes.
/// '?' and classes consume one UTF-8 character (one byte where the name is not valid UTF-8).
/// </summary>
internal sealed class GlobPattern
{
    private readonly Segment[] _segments;

    private GlobPattern(string text, Segment[] segments, bool anchored, bool directoryOnly)
    {
        Text = text;
        _segments = segments;
        Anchored = anchored;
        DirectoryOnly = directoryOnly;
    }

    public string Text { get; }

    /// <summary>Contains a '/' before its end: matched against the whole path from the job root.</summary>
    public bool Anchored { get; }

    /// <summary>Ends with '/': matches directories only.</summary>
    public bool DirectoryOnly { get; }

    public static bool TryCompile(string text, out GlobPattern pattern, out string error)
    {
        pattern = null!;
        error = "";
        if (string.IsNullOrWhiteSpace(text))
            return Error("an exclude pattern cannot be empty", out error);
        if (text[0] == '!')
            return Error($"negated patterns ('!') are not supported, got '{text}'; write '\\!' for a name starting with '!'", out error);
        if (text.Contains('\0', StringComparison.Ordinal))
            return Error("an exclude pattern cannot contain NUL", out error);
        var body = text;
        bool directoryOnly = false;
        if (body.EndsWith('/') && !body.EndsWith("\\/", StringComparison.Ordinal))
        {
            directoryOnly = true;
            body = body.TrimEnd('/');
        }
        bool anchored = body.StartsWith('/') || body.Contains('/', StringComparison.Ordinal);
        body = body.TrimStart('/');
        if (body.Length == 0)
            return Error($"the pattern '{text}' matches nothing (write a name or glob)", out error);
        var segments = new List<Segment>();
        foreach (var part in body.Split('/'))
        {
            if (part.Length == 0)
                return Error($"empty component ('//') in pattern '{text}'", out error);
            if (part == "**")
            {
                if (segments.Count == 0 || !segments[^1].IsDoubleStar)
                    segments.Add(Segment.DoubleStar);
                continue;
            }
            if (part is "." or "..")
                return Error($"'.' and '..' are not allowed in pattern '{text}'", out error);
            if (!Segment.TryCompile(part, out var segment, out var segError))
                return Error($"{segError} in pattern '{text}'", out error);
            segments.Add(segment);
        }
        if (!anchored && segments[0].IsDoubleStar)
            anchored = true;
        pattern = new GlobPattern(text, [.. segments], anchored, directoryOnly);
        return true;
    }

    private static bool Error(string message, out string error)
    {
        error = message;
        return false;
    }

    /// <summary>Matches a name (unanchored pattern) against the last component.</summary>
    public bool MatchesName(ReadOnlySpan<byte> name) => _segments[0].Matches(name);

    /// <summary>Matches an anchored pattern against a path from the job root.</summary>
    public bool MatchesPath(ReadOnlySpan<byte> path) => MatchFrom(0, path);

    private bool MatchFrom(int index, ReadOnlySpan<byte> path)
    {
        if (index == _segments.Length)
            return path.IsEmpty;
        var seg = _segments[index];
        if (seg.IsDoubleStar)
        {
            // A trailing "**" means "everything inside", so it needs at least one component;
            // elsewhere it matches zero or more whole components.
            if (index == _segments.Length - 1)
                return !path.IsEmpty;
            while (true)
            {
                if (MatchFrom(index + 1, path))
                    return true;
                int slash = path.IndexOf((byte)'/');
                if (slash < 0)
                    return false;
                path = path[(slash + 1)..];
            }
        }
        if (path.IsEmpty)
            return false;
        int sep = path.IndexOf((byte)'/');
        var component = sep < 0 ? path : path[..sep];
        if (!seg.Matches(component))
            return false;
        return MatchFrom(index + 1, sep < 0 ? [] : path[(sep + 1)..]);
    }

    public override string ToString() => Text;

    /// <summary>One path component's worth of pattern.</summary>
    private sealed class Segment
    {
        private enum Shape { DoubleStar, Literal, Prefix, Suffix, General }

        private readonly Shape _shape;
        private readonly byte[] _literal;
        private readonly Token[] _tokens;

        private Segment(Shape shape, byte[] literal, Token[] tokens)
        {
            _shape = shape;
            _literal = literal;
            _tokens = tokens;
        }

        public static Segment DoubleStar { get; } = new(Shape.DoubleStar, [], []);

        public bool IsDoubleStar => _shape == Shape.DoubleStar;

        public static bool TryCompile(string part, out Segment segment, out string error)
        {
            segment = null!;
            error = "";
            var tokens = new List<Token>();
            for (int i = 0; i < part.Length; i++)
            {
                char c = part[i];
                switch (c)
                {
                    case '*':
                        if (tokens.Count == 0 || tokens[^1].Kind != TokenKind.Star)
                            tokens.Add(new Token(TokenKind.Star, 0, null));
                        break;
                    case '?':
                        tokens.Add(new Token(TokenKind.Any, 0, null));
                        break;
                    case '[':
                        if (!CharClass.TryParse(part, ref i, out var cls, out error))
                            return false;
                        tokens.Add(new Token(TokenKind.Class, 0, cls));
                        break;
                    case '\\':
                        if (i + 1 >= part.Length)
                        {
                            error = "a trailing '\\' escapes nothing";
                            return false;
                        }
                        AddLiteral(tokens, part.AsSpan(++i, char.IsSurrogatePair(part, i) ? 2 : 1));
                        if (char.IsHighSurrogate(part[i]))
                            i++;
                        break;
                    default:
                        int len = char.IsHighSurrogate(c) && i + 1 < part.Length ? 2 : 1;
                        AddLiteral(tokens, part.AsSpan(i, len));
                        i += len - 1;
                        break;
                }
            }
            segment = Build([.. tokens]);
            return true;
        }

        private static void AddLiteral(List<Token> tokens, ReadOnlySpan<char> chars)
        {
            Span<byte> buf = stackalloc byte[8];
            int n = Encoding.UTF8.GetBytes(chars, buf);
            foreach (var b in buf[..n])
                tokens.Add(new Token(TokenKind.Literal, b, null));
        }

        private static Segment Build(Token[] tokens)
        {
            int stars = tokens.Count(t => t.Kind == TokenKind.Star);
            int literals = tokens.Count(t => t.Kind == TokenKind.Literal);
            byte[] Lit() => tokens.Where(t => t.Kind == TokenKind.Literal).Select(t => t.Byte).ToArray();
            if (literals == tokens.Length)
                return new Segment(Shape.Literal, Lit(), tokens);
            if (stars == 1 && literals == tokens.Length - 1)
            {
                if (tokens[0].Kind == TokenKind.Star)
                    return new Segment(Shape.Suffix, Lit(), tokens);
                if (tokens[^1].Kind == TokenKind.Star)
                    return new Segment(Shape.Prefix, Lit(), tokens);
            }
            return new Segment(Shape.General, [], tokens);
        }

        public bool Matches(ReadOnlySpan<byte> name) => _shape switch
        {
            Shape.Literal => name.SequenceEqual(_literal),
            Shape.Suffix => name.EndsWith(_literal),
            Shape.Prefix => name.StartsWith(_literal),
            Shape.General => MatchTokens(name),
            _ => true,
        };

        // Classic single-star backtracking: on a mismatch, let the last '*' swallow one more
        // character and retry. Linear in practice for names; no recursion, no allocation.
        private bool MatchTokens(ReadOnlySpan<byte> name)
        {
            var tokens = _tokens;
            int t = 0, n = 0, starT = -1, starN = 0;
            while (n < name.Length)
            {
                if (t < tokens.Length && tokens[t].Kind == TokenKind.Star)
                {
                    starT = t++;
                    starN = n;
                    continue;
                }
                if (t < tokens.Length)
                {
                    int used = tokens[t].MatchOne(name[n..]);
                    if (used > 0)
                    {
                        t++;
                        n += used;
                        continue;
                    }
                }
                if (starT < 0)
                    return false;
                t = starT + 1;
                starN += CharLength(name[starN..]);
                n = starN;
            }
            while (t < tokens.Length && tokens[t].Kind == TokenKind.Star)
                t++;
            return t == tokens.Length;
        }
    }

    private enum TokenKind : byte { Literal, Any, Star, Class }

    private readonly record struct Token(TokenKind Kind, byte Byte, CharClass? Class)
    {
        /// <summary>Bytes consumed from the start of <paramref name="s"/> (not empty), 0 for no match.</summary>
        public int MatchOne(ReadOnlySpan<byte> s) => Kind switch
        {
            TokenKind.Literal => s[0] == Byte ? 1 : 0,
            TokenKind.Any => CharLength(s),
            TokenKind.Class => Class!.Match(s),
            _ => 0,
        };
    }

    /// <summary>Length of the UTF-8 character at the start of a non-empty span; 1 for an invalid byte.</summary>
    internal static int CharLength(ReadOnlySpan<byte> s)
    {
        if (s[0] < 0x80)
            return 1;
        return Rune.DecodeFromUtf8(s, out _, out int used) == System.Buffers.OperationStatus.Done ? used : 1;
    }
}
