using Xunit;

namespace Understudy.Architecture.Tests;

/// <summary>Small files (STYLE.md: a 600-line file is a signal to split): no source file in src/ over 500 lines.</summary>
public sealed class FileSizeTests
{
    private const int MaxLines = 500;

    [Fact]
    public void NoSourceFile_IsOverTheLimit()
    {
        var src = Path.Combine(Assemblies.RepoRoot(), "src");
        var over = Directory.EnumerateFiles(src, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .Select(f => (Path: Path.GetRelativePath(src, f), Lines: File.ReadLines(f).Count()))
            .Where(f => f.Lines > MaxLines)
            .OrderByDescending(f => f.Lines)
            .ToList();
        Assert.True(over.Count == 0, $"over {MaxLines} lines: " + string.Join(", ", over.Select(f => $"{f.Path} ({f.Lines})")));
    }
}
