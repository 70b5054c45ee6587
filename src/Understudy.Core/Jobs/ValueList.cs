using System.Collections;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Understudy.Core.Jobs;

/// <summary>
/// An immutable list with value equality. Records compare their members with
/// <c>EqualityComparer.Default</c>, so a plain array or List would make two identical job specs
/// unequal; this wrapper keeps <c>spec1 == spec2</c> meaningful (round trips, "did the job change?").
/// </summary>
[JsonConverter(typeof(ValueListJsonConverterFactory))]
internal sealed class ValueList<T> : IReadOnlyList<T>, IEquatable<ValueList<T>>
{
    private readonly T[] _items;

    public ValueList(IEnumerable<T> items) => _items = items.ToArray();

    private ValueList(T[] items) => _items = items;

    public static ValueList<T> Empty { get; } = new([]);

    public int Count => _items.Length;

    public T this[int index] => _items[index];

    public IEnumerator<T> GetEnumerator() => ((IEnumerable<T>)_items).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => _items.GetEnumerator();

    public bool Equals(ValueList<T>? other) =>
        other is not null && _items.AsSpan().SequenceEqual(other._items, EqualityComparer<T>.Default);

    public override bool Equals(object? obj) => obj is ValueList<T> other && Equals(other);

    public override int GetHashCode()
    {
        var h = new HashCode();
        foreach (var item in _items)
            h.Add(item);
        return h.ToHashCode();
    }

    public override string ToString() => $"[{string.Join(", ", _items)}]";

    public static implicit operator ValueList<T>(T[] items) => new((T[])items.Clone());
}

internal static class ValueList
{
    public static ValueList<T> Of<T>(params T[] items) => new(items);

    public static ValueList<T> ToValueList<T>(this IEnumerable<T> items) => new(items);
}

/// <summary>Serializes a <see cref="ValueList{T}"/> as a plain JSON array.</summary>
internal sealed class ValueListJsonConverterFactory : JsonConverterFactory
{
    public override bool CanConvert(Type typeToConvert) =>
        typeToConvert.IsGenericType && typeToConvert.GetGenericTypeDefinition() == typeof(ValueList<>);

    public override JsonConverter? CreateConverter(Type typeToConvert, JsonSerializerOptions options) =>
        (JsonConverter?)Activator.CreateInstance(typeof(ValueListJsonConverter<>).MakeGenericType(typeToConvert.GetGenericArguments()[0]));
}

internal sealed class ValueListJsonConverter<T> : JsonConverter<ValueList<T>>
{
    public override ValueList<T> Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.Null)
            return ValueList<T>.Empty;
        if (reader.TokenType != JsonTokenType.StartArray)
            throw new JsonException("Expected a JSON array.");
        var items = new List<T>();
        var info = options.GetTypeInfo(typeof(T));
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            // Nullable annotations are not checked inside a custom converter: a null item would reach validation and
            // everything after it as null (found by fuzzing the job JSON a source sends its target).
            items.Add(JsonSerializer.Deserialize(ref reader, info) is T item ? item : throw new JsonException("Expected a list item, got null."));
        }
        return new ValueList<T>(items);
    }

    public override void Write(Utf8JsonWriter writer, ValueList<T> value, JsonSerializerOptions options)
    {
        var info = options.GetTypeInfo(typeof(T));
        writer.WriteStartArray();
        foreach (var item in value)
            JsonSerializer.Serialize(writer, item, info);
        writer.WriteEndArray();
    }
}
