using System.Buffers;
using Understudy.Core.Delta;
using Understudy.Core.Protocol;

namespace Understudy.Fuzz;

/// <summary>
/// Both ends of a delta transfer. The first byte picks one:
/// 0: a DeltaData body applied as the target applies it (Target/Applier.cs: a <see cref="DeltaApplier"/> over the
/// basis, writes checked against the announced size, the frame consumed whole, completion and holes checked at the end);
/// 1: the same with a signature-checking applier; 2: a block signature from a peer (<see cref="FileSignature.TryParse"/>),
/// then the source's delta generation against it. Bad input: <see cref="InvalidDeltaException"/> or the target's
/// <see cref="ProtocolException"/>; a signature that does not parse is refused by its return value.
/// </summary>
internal static class DeltaHarness
{
    public const int NewLength = 24 * 1024;
    private const int BasisLength = 20_000;

    private static readonly byte[] s_basis = Pseudorandom(BasisLength, 1);
    private static readonly byte[] s_new = Edited(s_basis);
    private static readonly FileSignature s_signature = SignatureBuilder.Compute(Reader(s_basis), BasisLength, BlockSizing.For(BasisLength), seed: 7);

    public static void Run(byte[] input)
    {
        if (input.Length == 0)
            return;
        var rest = input.AsSpan(1);
        switch (input[0] % 3)
        {
            case 0:
            case 1:
                Apply(rest, checkSignature: input[0] % 3 == 1);
                break;
            default:
                Generate(rest.ToArray());
                break;
        }
    }

    private static void Apply(ReadOnlySpan<byte> instructions, bool checkSignature)
    {
        var output = new byte[NewLength];
        WriteAt write = (data, offset) =>
        {
            if (offset + data.Length > output.Length)
                throw new ProtocolException("delta writes beyond the announced size");
            data.CopyTo(output.AsSpan((int)offset));
        };
        var applier = checkSignature
            ? new DeltaApplier(s_signature, Reader(s_basis), write)
            : new DeltaApplier(BlockSizing.For(BasisLength), BasisLength, Reader(s_basis), write);
        try
        {
            if (DeltaEncoder.DecodeInto(instructions, applier) != instructions.Length)
                throw new ProtocolException("delta frame ends inside an instruction");
            if (applier.IsComplete && applier.BytesWritten > NewLength)
                throw new ProtocolException("delta holes beyond the announced size");
        }
        catch (InvalidDeltaException)
        {
        }
        catch (ProtocolException)
        {
        }
    }

    private static void Generate(byte[] signature)
    {
        if (!FileSignature.TryParse(new ReadOnlySequence<byte>(signature), out var sig) || sig is null)
            return;
        var sink = new DeltaEncoder(new ArrayBufferWriter<byte>());
        DeltaGenerator.Generate(sig, Reader(s_new), sink);
    }

    private static ReadAt Reader(byte[] file) => (buffer, offset) =>
    {
        if (offset >= file.Length)
            return 0;
        int n = (int)Math.Min(buffer.Length, file.Length - offset);
        file.AsSpan((int)offset, n).CopyTo(buffer);
        return n;
    };

    /// <summary>A serialized signature of the basis, as the target sends it.</summary>
    public static byte[] SampleSignature()
    {
        var w = new ArrayBufferWriter<byte>();
        s_signature.Serialize(w);
        return w.WrittenSpan.ToArray();
    }

    /// <summary>The instructions that turn the basis into the new file, as the source sends them.</summary>
    public static byte[] SampleDelta()
    {
        var w = new ArrayBufferWriter<byte>();
        DeltaGenerator.Generate(s_signature, Reader(s_new), new DeltaEncoder(w));
        return w.WrittenSpan.ToArray();
    }

    public static IEnumerable<(string, byte[])> Seeds()
    {
        yield return ("apply", [0, .. SampleDelta()]);
        yield return ("apply-checked", [1, .. SampleDelta()]);
        var holes = new ArrayBufferWriter<byte>();
        var encoder = new DeltaEncoder(holes);
        encoder.Copy(0, 2);
        encoder.Hole(4096);
        encoder.Literal("tail"u8);
        encoder.Complete();
        yield return ("apply-hole", [0, .. holes.WrittenSpan]);
        yield return ("signature", [2, .. SampleSignature()]);
    }

    private static byte[] Pseudorandom(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    /// <summary>The basis with a changed middle and a new tail: a delta of copies and literals.</summary>
    private static byte[] Edited(byte[] basis)
    {
        var file = new byte[NewLength];
        basis.CopyTo(file, 0);
        Pseudorandom(1500, 2).CopyTo(file, 9000);
        Pseudorandom(NewLength - BasisLength, 3).CopyTo(file, BasisLength);
        return file;
    }
}
