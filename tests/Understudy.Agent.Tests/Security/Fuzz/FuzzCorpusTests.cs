using Understudy.Fuzz;
using Xunit;

namespace Understudy.Agent.Tests.Security.Fuzz;

/// <summary>
/// Every input checked in under fuzz/corpus (the seeds, and the inputs of past findings) through its harness, as
/// afl-fuzz runs it but without afl (bench/fuzz.sh): a decoder that throws anything but its documented bad-input
/// exception on one of them fails here, in every CI run.
/// </summary>
public sealed class FuzzCorpusTests
{
    public static TheoryData<string> HarnessNames() => [.. Harnesses.All.Select(h => h.Name)];

    [Theory]
    [MemberData(nameof(HarnessNames))]
    public void CorpusInputs_PassTheirHarness_WithOnlyTheDocumentedBadInputError(string name)
    {
        var harness = Harnesses.Find(name)!;
        var files = Directory.GetFiles(Path.Combine(RepoRoot(), "fuzz", "corpus", name));
        Assert.NotEmpty(files);
        foreach (var file in files.Order(StringComparer.Ordinal))
        {
            var e = Record.Exception(() => harness.Run(File.ReadAllBytes(file)));
            Assert.True(e is null, $"{name} harness on {Path.GetFileName(file)}: {e}");
        }
    }

    /// <summary>The seeds the harnesses make now still pass: an encoder changed so that its own decoder refuses
    /// its output shows here, before the checked-in corpus is regenerated (`Understudy.Fuzz seed fuzz/corpus`).</summary>
    [Theory]
    [MemberData(nameof(HarnessNames))]
    public void FreshSeeds_PassTheirHarness(string name)
    {
        var harness = Harnesses.Find(name)!;
        foreach (var (seed, data) in harness.Seeds())
        {
            var e = Record.Exception(() => harness.Run(data));
            Assert.True(e is null, $"{name} harness on fresh seed {seed}: {e}");
        }
    }

    private static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Understudy.slnx")))
            dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("repository root not found above " + AppContext.BaseDirectory);
    }
}
