using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Understudy.Agent.Api;

/// <summary>
/// A small JSON Schema of a request or reply record, by reflection over its public properties, named as the API writes
/// them (camelCase; an enum as its words). A property is required when it is never null. With <c>components</c>, a
/// record inside another is described once there and referred to by <c>$ref</c>; without, the record is described in place.
/// </summary>
internal static class JsonSchema
{
    public static JsonObject For(Type type, JsonObject? components = null)
    {
        var t = Nullable.GetUnderlyingType(type) ?? type;
        if (t == typeof(string))
            return new JsonObject { ["type"] = "string" };
        if (t == typeof(DateTimeOffset) || t == typeof(DateTime))
            return new JsonObject { ["type"] = "string", ["format"] = "date-time" };
        if (t == typeof(bool))
            return new JsonObject { ["type"] = "boolean" };
        if (t == typeof(int) || t == typeof(long) || t == typeof(uint) || t == typeof(ulong) || t == typeof(short) || t == typeof(ushort) || t == typeof(byte))
            return new JsonObject { ["type"] = "integer" };
        if (t == typeof(double) || t == typeof(float) || t == typeof(decimal))
            return new JsonObject { ["type"] = "number" };
        if (t.IsEnum)
            return new JsonObject { ["type"] = "string", ["enum"] = new JsonArray([.. EnumWords(t).Select(n => (JsonNode)JsonValue.Create(n))]) };
        if (t == typeof(object) || t == typeof(JsonElement) || typeof(JsonNode).IsAssignableFrom(t))
            return new JsonObject(); // any JSON (a job's spec in the job file's own words)
        if (ValueOfMap(t) is { } value)
            return new JsonObject { ["type"] = "object", ["additionalProperties"] = For(value, components) };
        if (ElementOf(t) is { } item)
            return new JsonObject { ["type"] = "array", ["items"] = For(item, components) };
        if (components is null)
            return Object(t, null);
        if (!components.ContainsKey(t.Name))
        {
            components[t.Name] = new JsonObject(); // taken before its properties are described: a record may hold its own kind
            components[t.Name] = Object(t, components);
        }
        return new JsonObject { ["$ref"] = $"#/components/schemas/{t.Name}" };
    }

    private static JsonObject Object(Type t, JsonObject? components)
    {
        var props = new JsonObject();
        var required = new JsonArray();
        var nullability = new NullabilityInfoContext();
        foreach (var p in t.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (p.GetIndexParameters().Length > 0 || p.GetCustomAttribute<JsonIgnoreAttribute>() is not null)
                continue;
            var name = JsonNamingPolicy.CamelCase.ConvertName(p.Name);
            var schema = For(p.PropertyType, components);
            // The console labels a form field with it (an action's options follow the API).
            if (p.GetCustomAttribute<System.ComponentModel.DescriptionAttribute>()?.Description is { } description)
                schema["description"] = description;
            props[name] = schema;
            if (p.PropertyType.IsValueType ? Nullable.GetUnderlyingType(p.PropertyType) is null : nullability.Create(p).ReadState == NullabilityState.NotNull)
                required.Add(name);
        }
        return new JsonObject { ["type"] = "object", ["properties"] = props, ["required"] = required };
    }

    /// <summary>The value type of a dictionary keyed by strings (a JSON object), else null.</summary>
    private static Type? ValueOfMap(Type t)
    {
        var map = IsMap(t) ? t : t.GetInterfaces().FirstOrDefault(IsMap);
        return map?.GetGenericArguments() is [var key, var value] && key == typeof(string) ? value : null;

        static bool IsMap(Type i) =>
            i.IsGenericType && (i.GetGenericTypeDefinition() == typeof(IReadOnlyDictionary<,>) || i.GetGenericTypeDefinition() == typeof(IDictionary<,>));
    }

    /// <summary>The element type of an array or list (never of a string), else null.</summary>
    private static Type? ElementOf(Type t)
    {
        if (t == typeof(string))
            return null;
        if (t.IsArray)
            return t.GetElementType();
        var enumerable = t.IsGenericType && t.GetGenericTypeDefinition() == typeof(IEnumerable<>)
            ? t
            : t.GetInterfaces().FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IEnumerable<>));
        return enumerable?.GetGenericArguments()[0];
    }

    /// <summary>An enum's words on the wire: each member's <see cref="JsonStringEnumMemberNameAttribute"/>, else its name.</summary>
    private static IEnumerable<string> EnumWords(Type t) =>
        t.GetFields(BindingFlags.Public | BindingFlags.Static)
            .Select(f => f.GetCustomAttribute<JsonStringEnumMemberNameAttribute>()?.Name ?? f.Name);
}
