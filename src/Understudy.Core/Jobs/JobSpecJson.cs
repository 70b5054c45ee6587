using System.Text.Json;
using System.Text.Json.Serialization;

namespace Understudy.Core.Jobs;

/// <summary>
/// System.Text.Json metadata for sending a <see cref="JobSpec"/> over the management API. The JSON
/// uses the job file's own words: snake_case keys, enum values as in YAML ("keep-target"),
/// durations as "1s"/"500ms", sizes as numbers of bytes, the target address as "host:port".
/// A spec received as JSON must go through <see cref="JobSpec.Validate"/> like a parsed file.
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    UseStringEnumConverter = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    Converters = [typeof(DurationJsonConverter)])]
[JsonSerializable(typeof(JobSpec))]
internal sealed partial class JobSpecJson : JsonSerializerContext
{
    public static string Serialize(JobSpec spec) => JsonSerializer.Serialize(spec, Default.JobSpec);

    /// <exception cref="JsonException">Not a job spec (unknown member, wrong type, bad value).</exception>
    public static JobSpec Deserialize(string json) =>
        JsonSerializer.Deserialize(json, Default.JobSpec) ?? throw new JsonException("Expected a job spec, got null.");
}
