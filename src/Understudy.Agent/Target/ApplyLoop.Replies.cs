using Understudy.Agent.Mirror;
using Understudy.Core.Delta;
using Understudy.Core.Posix;
using Understudy.Core.Protocol;

namespace Understudy.Agent.Target;

// The sender's questions about this tree: its manifest (what a mirror compares) and a file's block signature (a delta's basis).
internal sealed partial class ApplyLoop
{
    private async Task SendManifestAsync(ManifestRequest r, CancellationToken ct)
    {
        var batch = new List<ManifestItem>(ManifestBatch.MaxItems);
        long count = 0;
        int bytes = 0;
        string? error = null;
        try
        {
            if (r.Subtree.IsRoot || tree.Lstat(r.Subtree) is not null)
            {
                foreach (var item in ManifestScan.Scan(tree, r.Subtree, r.WithHashes, descend: p => !hooks.Hides(p), replica: hooks.Replica, withXattrs: r.WithXattrs))
                {
                    batch.Add(item);
                    count++;
                    bytes += ManifestBatch.SizeOf(item);
                    // Cut by size too: long paths and xattr digests must never pass the frame limit.
                    if (batch.Count == ManifestBatch.MaxItems || bytes >= ManifestBatch.TargetBytes)
                    {
                        await conn.WriteAsync(new ManifestBatch(batch), ct);
                        batch = new List<ManifestItem>(ManifestBatch.MaxItems);
                        bytes = 0;
                    }
                }
            }
        }
        catch (PosixException e)
        {
            error = e.Message;
        }
        if (batch.Count > 0)
            await conn.WriteAsync(new ManifestBatch(batch), ct);
        await conn.SendAsync(new ManifestEnd(count, error), ct);
    }

    private async Task SendSignatureAsync(SignatureRequest r, CancellationToken ct)
    {
        foreach (var part in SignatureChunks.Split(r.Path, BuildSignature(r, ct)))
            await conn.WriteAsync(part, ct);
        await conn.FlushAsync(ct);
    }

    private byte[] BuildSignature(SignatureRequest r, CancellationToken ct)
    {
        if (tree.Lstat(r.Path) is not { Kind: Core.Manifest.EntryKind.File })
            return [];
        using var f = tree.OpenRead(r.Path);
        var sig = SignatureBuilder.Compute((buf, off) => f.Read(buf, off), f.Stat.Size, ct);
        var w = new System.Buffers.ArrayBufferWriter<byte>();
        sig.Serialize(w);
        return w.WrittenSpan.ToArray();
    }
}
