using System.Reflection;
using ArchUnitNET.Loader;

namespace Understudy.Architecture.Tests;

/// <summary>The product's assemblies (copied beside this one by the project reference), loaded once for every rule.</summary>
public static class Assemblies
{
    public static readonly Assembly Core = Assembly.Load("Understudy.Core");
    public static readonly Assembly Agent = Assembly.Load("Understudy.Agent");
    public static readonly Assembly Cli = Assembly.Load("understudy");

    public static readonly ArchUnitNET.Domain.Architecture Product = new ArchLoader().LoadAssemblies(Core, Agent, Cli).Build();

    public static readonly ArchUnitNET.Domain.Architecture Fixture = new ArchLoader().LoadAssemblies(typeof(Assemblies).Assembly).Build();

    /// <summary>The repository root (where Understudy.slnx is), found upward from the test assembly.</summary>
    public static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Understudy.slnx")))
                return dir.FullName;
        }
        throw new InvalidOperationException("Understudy.slnx not found above " + AppContext.BaseDirectory);
    }
}
