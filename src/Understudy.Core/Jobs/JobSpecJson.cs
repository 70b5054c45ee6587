using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace Understudy.Core.Jobs;

/// <summary>
/// System.Text.Json settings for sending a <see cref="JobSpec"/> over the management API. The JSON
/// uses the job file's own words: snake_case keys, enum values as in YAML ("keep-target"),
/// durations as "1s"/"500ms", sizes as numbers of bytes, the target address as "host:port".
/// A member left out gets the same default as a key left out of the file. A spec received as JSON
/// must go through <see cref="JobSpec.Validate"/> like a parsed file.
/// </summary>
/// <remarks>
/// Reflection-based on purpose: the source generator sets every init-only property through an
/// object initializer, so a member missing from the JSON would overwrite the record's default
/// (mirror.mode would become 'full', replication.enabled false). Mirror the spec into the API's
/// own context with <see cref="Options"/> (e.g. by adding its TypeInfoResolver to a resolver chain).
/// </remarks>
internal static class JobSpecJson
{
    public static JsonSerializerOptions Options { get; } = CreateOptions();

    public static string Serialize(JobSpec spec) => JsonSerializer.Serialize(spec, Options);

    /// <exception cref="JsonException">Not a job spec (unknown member, wrong type, bad value).</exception>
    public static JobSpec Deserialize(string json) =>
        JsonSerializer.Deserialize<JobSpec>(json, Options) ?? throw new JsonException("Expected a job spec, got null.");

    private static JsonSerializerOptions CreateOptions()
    {
        var options = new JsonSerializerOptions
        {
            PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
            DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
            UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
            RespectNullableAnnotations = true,
            TypeInfoResolver = new DefaultJsonTypeInfoResolver(),
            Converters = { new JsonStringEnumConverter(), new DurationJsonConverter() },
        };
        options.MakeReadOnly();
        return options;
    }
}
