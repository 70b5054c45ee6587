using Understudy.Core.Posix;
using Xunit;

namespace Understudy.Core.Tests.Posix;

/// <summary>The control file of the fault-injecting file system (UNDERSTUDY_FAULT_FS): what a rule says and which paths
/// it covers. What a fault does to real agents is tested in Agent.Tests (TargetStorageFaultTests).</summary>
public sealed class FaultingFileSystemTests
{
    [Fact]
    public void Parse_RulesWithNamesNumbersCommentsAndStars()
    {
        var rules = FaultingFileSystem.Parse("# a comment\n\nwrite,syncfs EIO /srv/replica/\n* 28 /data\n");
        Assert.Equal(2, rules.Length);
        Assert.Equal(FaultingFileSystem.Op.Write | FaultingFileSystem.Op.SyncFs, rules[0].Ops);
        Assert.Equal(5, rules[0].Errno);
        Assert.Equal("/srv/replica", rules[0].Prefix);
        Assert.Equal(28, rules[1].Errno);
        Assert.True(rules[1].Ops.HasFlag(FaultingFileSystem.Op.ReadDir));
    }

    [Theory]
    [InlineData("write EIO")]
    [InlineData("write EIO relative/path")]
    [InlineData("scribble EIO /srv")]
    [InlineData("write EWHAT /srv")]
    public void Parse_RefusesWhatItCannotRead(string line) =>
        Assert.Throws<FormatException>(() => FaultingFileSystem.Parse(line));

    [Theory]
    [InlineData("/srv/replica", true)]
    [InlineData("/srv/replica/a/b", true)]
    [InlineData("/srv/replica/#123 (deleted)", true)]
    [InlineData("/srv/replica2", false)]
    [InlineData("/srv", false)]
    public void Rule_CoversItsPrefixAndWhatIsBelow(string path, bool covered) =>
        Assert.Equal(covered, FaultingFileSystem.Parse("write EIO /srv/replica")[0].Covers(path));

    [Fact]
    public async Task ControlFile_RewrittenWhileRunning_RulesFollow()
    {
        var control = Path.Combine(Path.GetTempPath(), "ustd-faults-" + Guid.NewGuid().ToString("N"));
        try
        {
            using var fs = new FaultingFileSystem(control);
            Assert.Empty(fs.Rules);
            File.WriteAllText(control, "fsync EIO /x\n");
            await UntilAsync(() => fs.Rules.Count == 1);
            File.WriteAllText(control, "");
            await UntilAsync(() => fs.Rules.Count == 0);
        }
        finally
        {
            File.Delete(control);
        }
    }

    private static async Task UntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "the control file was not re-read within 30 s");
            await Task.Delay(20);
        }
    }
}
