namespace Understudy.LabTests.Harness;

/// <summary>The lab could not be built, driven or torn down as asked: a harness failure, not a product one.</summary>
internal sealed class LabException(string message) : Exception(message);
