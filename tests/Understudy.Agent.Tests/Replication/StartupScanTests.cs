using Understudy.Agent.Tests.Capture;
using Xunit;

namespace Understudy.Agent.Tests.Replication;

/// <summary>
/// Changes made while the source agent is down are found when it starts again (the startup difference scan), also
/// those that size and mtime do not show: the scan must not trust them alone (docs/architecture.md, "Never silent loss").
/// </summary>
public sealed class StartupScanTests
{
    [Fact]
    public async Task SourceDown_XattrChangesAndSameSizeRewriteWithOldMtime_FoundByStartupScan()
    {
        await using var pair = await ReplicationTests.StartMirroredAsync();
        string S(string p) => Path.Combine(pair.SourceData, p);
        string T(string p) => Path.Combine(pair.TargetData, p);
        // An mtime .NET can put back exactly (its clock has 100 ns ticks; the file system's has 1 ns).
        var old = new DateTime(2024, 5, 1, 12, 0, 0, DateTimeKind.Utc);
        File.WriteAllText(S("rewritten"), "version one");
        File.SetLastWriteTimeUtc(S("rewritten"), old);
        File.WriteAllText(S("tagged"), "same content");
        TestLibc.SetXattr(S("tagged"), "user.tag", "one");
        Directory.CreateDirectory(S("dir"));
        TestLibc.SetXattr(S("dir"), "user.tag", "one");
        await ReplicationTests.WaitIdleAsync(pair);
        Assert.Equal("one", TestLibc.GetXattr(T("tagged"), "user.tag"));

        pair.Source.Kill();
        File.WriteAllText(S("rewritten"), "version two"); // same size
        File.SetLastWriteTimeUtc(S("rewritten"), old); // touch -d: the old mtime back
        TestLibc.SetXattr(S("tagged"), "user.tag", "two");
        TestLibc.SetXattr(S("dir"), "user.tag", "two");
        await pair.Source.StartAsync();
        await ReplicationTests.WaitIdleAsync(pair);

        // Compared here, byte for byte, not by the product's own verify.
        Assert.Equal(File.ReadAllBytes(S("rewritten")), File.ReadAllBytes(T("rewritten")));
        Assert.Equal(File.GetLastWriteTimeUtc(S("rewritten")), File.GetLastWriteTimeUtc(T("rewritten")));
        Assert.Equal("two", TestLibc.GetXattr(T("tagged"), "user.tag"));
        Assert.Equal("two", TestLibc.GetXattr(T("dir"), "user.tag"));
    }
}
