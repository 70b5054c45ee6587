using System.Text;
using System.Text.Json;
using Understudy.Agent.Failover;
using Understudy.Agent.Identity;
using Understudy.Core.Jobs;

namespace Understudy.Fuzz;

/// <summary>
/// The job JSON a source sends in OpenJob, read as the target reads it (FailoverManager.OnRegisteredAsync):
/// <see cref="JobSpecJson.Deserialize"/> and <see cref="JobSpec.Validate"/>; then, for a job with a fail-over section,
/// what the target does with the plan before running it: its digest and description for approval
/// (<see cref="PlanReview"/>) and its steps (<see cref="TakeoverPlan"/>), which run nothing until executed.
/// Bad input: <see cref="JsonException"/> or <see cref="JobFileException"/>.
/// </summary>
internal static class PlanHarness
{
    private static readonly IdentityOptions s_options = new() { ScriptsDir = Directory.CreateTempSubdirectory("understudy-fuzz-scripts-").FullName };

    public static void Run(byte[] input)
    {
        string json;
        try
        {
            json = new UTF8Encoding(false, true).GetString(input);
        }
        catch (DecoderFallbackException)
        {
            return; // the frame layer refuses a string that is not UTF-8 (ProtocolException)
        }
        JobSpec spec;
        try
        {
            spec = JobSpecJson.Deserialize(json);
            spec.Validate();
        }
        catch (Exception e) when (e is JsonException or JobFileException)
        {
            return;
        }
        PlanReview.Digest(spec);
        if (spec.Failover is null)
            return;
        PlanReview.Describe(spec, s_options);
        var steps = TakeoverPlan.Build(spec, "source-id", "source1", s_options, new NoReplication(), () => null, TimeProvider.System, force: false);
        TakeoverPlan.Describe(steps);
    }

    /// <summary>The JSON of the full sample job (docs/job-file.md), as a source sends it.</summary>
    public static string SampleJson => JobSpecJson.Serialize(JobFile.Parse(JobFileHarness.Full, "full.yaml"));

    public static IEnumerable<(string, byte[])> Seeds()
    {
        yield return ("full.json", Encoding.UTF8.GetBytes(SampleJson));
        yield return ("minimal.json", Encoding.UTF8.GetBytes(JobSpecJson.Serialize(JobFile.Parse(JobFileHarness.Minimal, "minimal.yaml"))));
    }

    private sealed class NoReplication : IReplicationControl
    {
        public Task<long> StopAsync(string sourceId, string job, CancellationToken ct) => Task.FromResult(0L);
    }
}
