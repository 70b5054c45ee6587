using ArchUnitNET.Domain;

namespace Understudy.Architecture.Tests;

/// <summary>
/// Two namespaces whose types use each other's: the smallest dependency cycle, and the one the layer rule cannot see
/// inside a layer (Jobs and Failover share one). Counted on the built assemblies, like <see cref="LayerRule"/>, so a
/// constant (inlined) or a name in a comment does not count; a type's nested types count as the type.
/// </summary>
public static class NamespaceCycleRule
{
    /// <summary>Each pair ("A &lt;-&gt; B", A before B in ordinal order) of namespaces under <paramref name="root"/>
    /// (a namespace and its sub-namespaces are different namespaces) that depend on each other, sorted.</summary>
    public static IReadOnlyList<string> MutualPairs(ArchUnitNET.Domain.Architecture architecture, string root)
    {
        var uses = new HashSet<(string From, string To)>();
        foreach (var type in architecture.Types)
        {
            var from = NamespaceOf(type);
            if (!Under(from, root))
                continue;
            foreach (var dependency in type.Dependencies)
            {
                // A generic parameter belongs to no other namespace. ArchUnitNET takes two generic methods' parameters of one
                // name for one type (both source-generated JSON contexts have TryGetTypeInfoForRuntimeCustomConverter<T…>),
                // which tied Understudy.Core.Api to Understudy.Core.Protocol.Control with no reference between them.
                if (dependency.Target is GenericParameter)
                    continue;
                var to = NamespaceOf(dependency.Target);
                if (to != from && Under(to, root))
                    uses.Add((from, to));
            }
        }
        return [.. uses.Where(u => string.CompareOrdinal(u.From, u.To) < 0 && uses.Contains((u.To, u.From)))
            .Select(u => $"{u.From} <-> {u.To}")
            .OrderBy(p => p, StringComparer.Ordinal)];
    }

    private static string NamespaceOf(IType type) => type.Namespace?.FullName ?? "";

    private static bool Under(string ns, string root) => ns == root || ns.StartsWith(root + ".", StringComparison.Ordinal);
}
