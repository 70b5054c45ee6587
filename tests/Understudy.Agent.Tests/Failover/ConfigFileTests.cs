using System.Diagnostics;
using Understudy.Agent.Identity;
using Understudy.Agent.Tests.Mirror;
using Xunit;

namespace Understudy.Agent.Tests.Failover;

/// <summary>The identity steps rewrite the admin's smb.conf and ganesha.conf (and their own includes): a rewrite keeps
/// the file's mode and owner (root-only: giving a file another owner needs root; CI runs as root).</summary>
public sealed class ConfigFileTests
{
    private const UnixFileMode Mode0640 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead;

    [MountFact]
    public async Task ConfigRewrite_KeepsModeAndOwner_SambaAndGanesha()
    {
        using var h = new StoreHarness();
        var o = h.Options;
        File.WriteAllText(o.SmbConf, "[global]\n   workgroup = LAB\n");
        File.WriteAllText(o.GaneshaConf, "NFS_CORE_PARAM { Protocols = 4; }\n");
        Directory.CreateDirectory(o.SambaIncludeDir);
        var shares = new SambaConfig(o).SharesInclude;
        File.WriteAllText(shares, "# old\n");
        foreach (var f in new[] { o.SmbConf, o.GaneshaConf, shares })
        {
            File.SetUnixFileMode(f, Mode0640);
            Chown(f, 4321, 8765);
        }

        await new SharesStep("web", "SRC1", [("data", "/replica/data", [])], o).ApplyAsync(Ctx(o), CancellationToken.None);
        await new NfsExportsStep("web", [new NfsExport("/replica/exports", "/srv/exports", "192.0.2.0/24", "rw")], o).ApplyAsync(Ctx(o), CancellationToken.None);

        Assert.Contains("include = ", File.ReadAllText(o.SmbConf), StringComparison.Ordinal);
        Assert.Contains("%include", File.ReadAllText(o.GaneshaConf), StringComparison.Ordinal);
        Assert.Contains("[data]", File.ReadAllText(shares), StringComparison.Ordinal);
        foreach (var f in new[] { o.SmbConf, o.GaneshaConf, shares })
        {
            Assert.Equal(Mode0640, File.GetUnixFileMode(f));
            Assert.Equal("4321:8765", Stat(f, "%u:%g"));
        }
        // No temp file left beside them.
        Assert.Empty(Directory.EnumerateFiles(h.Dir, "*understudy-tmp*", SearchOption.AllDirectories));
    }

    [Fact]
    public void ConfigRewrite_ThroughASymlink_ReplacesTheFileItNames()
    {
        using var h = new StoreHarness();
        var real = Path.Combine(h.Dir, "real-smb.conf");
        File.WriteAllText(real, "[global]\n");
        File.CreateSymbolicLink(h.Options.SmbConf, real);
        new SambaConfig(h.Options).EnsureIncluded();
        Assert.NotNull(new FileInfo(h.Options.SmbConf).LinkTarget);
        Assert.Contains("include = ", File.ReadAllText(real), StringComparison.Ordinal);
    }

    /// <summary>
    /// Issue 21: a stage keeps the admin's mode and owner, and one made stale (another job's share taken over after it
    /// was staged) is not put in place: the take-over writes what the fragments make now, with both jobs' shares.
    /// </summary>
    [MountFact]
    public async Task Staged_KeepsModeAndOwner_AStaleStageIsNotUsed()
    {
        using var h = new StoreHarness();
        var o = h.Options;
        File.WriteAllText(o.SmbConf, "[global]\n");
        Directory.CreateDirectory(o.SambaIncludeDir);
        var shares = new SambaConfig(o).SharesInclude;
        File.WriteAllText(shares, "# old\n");
        File.SetUnixFileMode(shares, Mode0640);
        Chown(shares, 4321, 8765);
        var web = new SharesStep("web", "SRC1", [("data", "/replica/data", [])], o);
        var db = new SharesStep("db", "SRC2", [("dump", "/replica/dump", [])], o);

        web.Stage();
        Assert.True(web.Staged);
        Assert.Equal("# old\n", File.ReadAllText(shares));
        var staged = Directory.EnumerateFiles(o.SambaIncludeDir, "*understudy-staged", SearchOption.AllDirectories).ToList();
        Assert.Equal(2, staged.Count);
        var stagedShares = Assert.Single(staged, f => Path.GetFileName(f) == ".shares.conf.understudy-staged");
        Assert.Equal(Mode0640, File.GetUnixFileMode(stagedShares));
        Assert.Equal("4321:8765", Stat(stagedShares, "%u:%g"));

        await db.ApplyAsync(Ctx(o), CancellationToken.None);
        await web.ApplyAsync(Ctx(o), CancellationToken.None);

        var text = File.ReadAllText(shares);
        Assert.Contains("[data]", text, StringComparison.Ordinal);
        Assert.Contains("[dump]", text, StringComparison.Ordinal);
        Assert.Equal(Mode0640, File.GetUnixFileMode(shares));
        Assert.False(web.Staged);
        Assert.Empty(Directory.EnumerateFiles(o.SambaIncludeDir, "*understudy-staged", SearchOption.AllDirectories));
    }

    private static StepContext Ctx(IdentityOptions o) => new("web", new FakeCommandRunner(), o, (_, _, _, _) => { }, _ => { });

    private static void Chown(string path, int uid, int gid) => Run("chown", $"{uid}:{gid}", path);

    private static string Stat(string path, string format) => Run("stat", "-c", format, path);

    private static string Run(string tool, params string[] args)
    {
        var psi = new ProcessStartInfo(tool) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"{tool}: {p.StandardError.ReadToEnd()}");
        return output.Trim();
    }
}
