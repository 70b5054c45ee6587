using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Understudy.Agent.Api;

/// <summary>A small JSON Schema of a request type, by reflection over its public properties (camelCase, as the API binds).</summary>
internal static class JsonSchema
{
    public static JsonObject For(Type type)
    {
        var t = Nullable.GetUnderlyingType(type) ?? type;
        if (t == typeof(string))
            return new JsonObject { ["type"] = "string" };
        if (t == typeof(bool))
            return new JsonObject { ["type"] = "boolean" };
        if (t == typeof(int) || t == typeof(long))
            return new JsonObject { ["type"] = "integer" };
        if (t == typeof(double) || t == typeof(float) || t == typeof(decimal))
            return new JsonObject { ["type"] = "number" };
        if (t.IsEnum)
            return new JsonObject { ["type"] = "string", ["enum"] = new JsonArray([.. Enum.GetNames(t).Select(n => (JsonNode)JsonValue.Create(n))]) };
        if (t == typeof(object))
            return new JsonObject();
        var props = new JsonObject();
        var required = new JsonArray();
        var nullability = new NullabilityInfoContext();
        foreach (var p in t.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            var name = JsonNamingPolicy.CamelCase.ConvertName(p.Name);
            var schema = For(p.PropertyType);
            // The console labels a form field with it (an action's options follow the API).
            if (p.GetCustomAttribute<System.ComponentModel.DescriptionAttribute>()?.Description is { } description)
                schema["description"] = description;
            props[name] = schema;
            if (p.PropertyType.IsValueType ? Nullable.GetUnderlyingType(p.PropertyType) is null : nullability.Create(p).ReadState == NullabilityState.NotNull)
                required.Add(name);
        }
        return new JsonObject { ["type"] = "object", ["properties"] = props, ["required"] = required };
    }
}
