namespace Understudy.Testing.Lab;

/// <summary>The lab could not be built, driven or torn down as asked: a harness failure, not a product one.</summary>
public sealed class LabException(string message) : Exception(message);
