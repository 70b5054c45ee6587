namespace Understudy.Core.Delta;

/// <summary>
/// A delta cannot be applied. Either the peer sent something malformed or out of range
/// (<see cref="BasisChanged"/> false: a protocol fault, do not retry the same delta), or the
/// basis file no longer matches the signature the delta was made against
/// (<see cref="BasisChanged"/> true: transient, compute a new signature and retry).
/// Nothing written before the throw is meaningful: the caller discards its temp file.
/// </summary>
internal sealed class InvalidDeltaException : Exception
{
    public InvalidDeltaException()
    {
    }

    public InvalidDeltaException(string message)
        : base(message)
    {
    }

    public InvalidDeltaException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public InvalidDeltaException(string message, bool basisChanged)
        : base(message) => BasisChanged = basisChanged;

    public bool BasisChanged { get; }
}
