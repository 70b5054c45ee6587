using System.Globalization;
using System.Text;

namespace Understudy.Cli;

/// <summary>
/// Text that came from an agent — names, paths, reasons, many of them chosen by a peer — as it may reach a terminal.
/// A control character (escape sequences, a carriage return that overwrites the line, a newline that fakes one) or a
/// bidirectional override is printed as a visible escape (<c>\x1b</c>, <c>\r</c>, <c>\u202e</c>) so a peer cannot
/// drive the admin's terminal or forge a line of <c>status</c> (issue 19, item 7). JSON output needs none of this:
/// the serializer escapes control characters itself.
/// </summary>
internal static class TerminalText
{
    public static string Safe(string? text)
    {
        if (string.IsNullOrEmpty(text))
            return text ?? "";
        if (!text.Any(NeedsEscape))
            return text;
        var sb = new StringBuilder(text.Length + 16);
        foreach (var c in text)
        {
            if (!NeedsEscape(c))
                sb.Append(c);
            else
            {
                sb.Append(c switch
                {
                    '\n' => @"\n",
                    '\r' => @"\r",
                    '\t' => @"\t",
                    < '\u0100' => string.Create(CultureInfo.InvariantCulture, $@"\x{(int)c:x2}"),
                    _ => string.Create(CultureInfo.InvariantCulture, $@"\u{(int)c:x4}"),
                });
            }
        }
        return sb.ToString();
    }

    /// <summary>C0 and C1 controls and DEL (char.IsControl), and the bidi embeddings, overrides and isolates that reorder what follows.</summary>
    private static bool NeedsEscape(char c) => char.IsControl(c) || c is >= '\u202a' and <= '\u202e' or >= '\u2066' and <= '\u2069';
}
