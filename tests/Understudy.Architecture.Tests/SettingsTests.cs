using Xunit;

namespace Understudy.Architecture.Tests;

/// <summary>Settings are read once, at start (issue 18, "Seams"): the agent's environment is read by the host
/// (<c>Hosting/</c>), which builds the options objects and hands them down; a part deeper down that read a variable
/// itself could change under a running job and could not be given its settings by a test.</summary>
public sealed class SettingsTests
{
    /// <summary>Files below the host that still read the environment, each with its reason; none should be added.</summary>
    private static readonly Dictionary<string, string> Allowed = new(StringComparer.Ordinal);

    [Fact]
    public void OnlyTheHost_ReadsTheEnvironment()
    {
        var agent = Path.Combine(Assemblies.RepoRoot(), "src", "Understudy.Agent");
        var hosting = "Hosting" + Path.DirectorySeparatorChar;
        var readers = Directory.EnumerateFiles(agent, "*.cs", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(agent, f))
            .Where(f => !f.StartsWith("obj" + Path.DirectorySeparatorChar, StringComparison.Ordinal)
                && !f.StartsWith("bin" + Path.DirectorySeparatorChar, StringComparison.Ordinal)
                && !f.StartsWith(hosting, StringComparison.Ordinal))
            .Where(f => File.ReadAllText(Path.Combine(agent, f)).Contains("Environment.GetEnvironmentVariable", StringComparison.Ordinal))
            .Select(f => f.Replace(Path.DirectorySeparatorChar, '/'))
            .Where(f => !Allowed.ContainsKey(f))
            .Order(StringComparer.Ordinal)
            .ToList();
        Assert.True(readers.Count == 0, "read the environment below the host (read it in AgentHost.CreateAsync into an options object instead): " + string.Join(", ", readers));
    }
}
