using System.Reflection;

namespace Understudy.Agent.Common;

/// <summary>The product version (Directory.Build.props), the same string `understudy --version` prints. Here, low, rather
/// than on the host: the API reports it, and the API sits below the host.</summary>
internal static class AgentVersion
{
    public static string Current { get; } =
        typeof(AgentVersion).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";
}
