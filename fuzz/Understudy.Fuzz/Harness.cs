namespace Understudy.Fuzz;

/// <summary>
/// One fuzzing target: <see cref="Run"/> feeds an input to a decoder the way the agent does and swallows only the
/// exception that decoder documents for bad input. Anything else escapes: afl-fuzz counts it as a crash, and the
/// corpus replay test fails on it. <see cref="Seeds"/> are small valid inputs made by the real encoders (fuzz/corpus).
/// </summary>
internal sealed record Harness(string Name, string Covers, Action<byte[]> Run, Func<IEnumerable<(string Name, byte[] Data)>> Seeds);

internal static class Harnesses
{
    public static IReadOnlyList<Harness> All { get; } =
    [
        new("frame", "peer frames: Frame.TryParse, LZ4/zstd bodies, MessageCodec.Decode of every message type", FrameHarness.Run, FrameHarness.Seeds),
        new("delta", "delta instructions applied to a basis (target side) and a peer's block signature (source side)", DeltaHarness.Run, DeltaHarness.Seeds),
        new("segment", "a replication queue segment file: recovery on open, reading every record, reopening", SegmentHarness.Run, SegmentHarness.Seeds),
        new("jobfile", "a job file (YAML) through JobFile.Parse and its validation", JobFileHarness.Run, JobFileHarness.Seeds),
        new("plan", "the job JSON a source sends in OpenJob: JobSpecJson, validation, the fail-over plan's review and steps", PlanHarness.Run, PlanHarness.Seeds),
    ];

    public static Harness? Find(string name) => All.FirstOrDefault(h => h.Name == name);
}
