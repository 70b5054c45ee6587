using ArchUnitNET.Domain;

namespace Understudy.Architecture.Tests;

/// <summary>A layer: the namespaces (each with the ones below it) that make it up.</summary>
public sealed record Layer(string Name, params string[] Namespaces);

/// <summary>A type that depends on a type of a higher layer.</summary>
public sealed record LayerViolation(string From, string FromLayer, string To, string ToLayer)
{
    public override string ToString() => $"{From} ({FromLayer}) -> {To} ({ToLayer})";
}

/// <summary>
/// The layer rule: layers listed from the top down; a type may depend on types of its own layer and of the layers
/// below it, never on one above. Types in no layer (the runtime, packages, compiler-generated helpers) are not checked.
/// </summary>
public static class LayerRule
{
    public static IReadOnlyList<LayerViolation> Violations(ArchUnitNET.Domain.Architecture architecture, IReadOnlyList<Layer> layersTopDown)
    {
        var found = new SortedSet<string>(StringComparer.Ordinal);
        var violations = new List<LayerViolation>();
        foreach (var type in architecture.Types)
        {
            int from = LayerOf(type, layersTopDown);
            if (from < 0)
                continue;
            foreach (var dependency in type.Dependencies)
            {
                // A generic parameter belongs to no other namespace. ArchUnitNET takes two generic methods' parameters of one
                // name for one type (both source-generated JSON contexts have TryGetTypeInfoForRuntimeCustomConverter<T…>),
                // which tied Understudy.Core.Api to Understudy.Core.Protocol.Control with no reference between them.
                if (dependency.Target is GenericParameter)
                    continue;
                int to = LayerOf(dependency.Target, layersTopDown);
                if (to < 0 || to >= from)
                    continue;
                var v = new LayerViolation(Outermost(type), layersTopDown[from].Name, Outermost(dependency.Target), layersTopDown[to].Name);
                if (found.Add(v.ToString()))
                    violations.Add(v);
            }
        }
        return [.. violations.OrderBy(v => v.ToString(), StringComparer.Ordinal)];
    }

    /// <summary>The index of the layer the type's namespace falls in (the longest matching namespace wins), -1 for none.</summary>
    private static int LayerOf(IType type, IReadOnlyList<Layer> layers)
    {
        var ns = type.Namespace?.FullName ?? "";
        int best = -1, bestLength = -1;
        for (int i = 0; i < layers.Count; i++)
        {
            foreach (var prefix in layers[i].Namespaces)
            {
                bool match = ns == prefix || ns.StartsWith(prefix + ".", StringComparison.Ordinal);
                if (match && prefix.Length > bestLength)
                    (best, bestLength) = (i, prefix.Length);
            }
        }
        return best;
    }

    /// <summary>The type a nested (often compiler-generated: lambdas, async state machines) type belongs to.</summary>
    private static string Outermost(IType type)
    {
        var name = type.FullName;
        int nested = name.IndexOf('+', StringComparison.Ordinal);
        return nested < 0 ? name : name[..nested];
    }
}
