using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Understudy.Agent.Common;

/// <summary>
/// The agent's identity: a self-signed ECDSA P-256 certificate kept in the data dir.
/// The agent ID is the SHA-256 fingerprint of the certificate (lowercase hex), which peers pin.
/// </summary>
internal sealed class AgentIdentity : IDisposable
{
    public const string CertificateFile = "identity.pfx";

    private AgentIdentity(X509Certificate2 certificate)
    {
        Certificate = certificate;
        Id = FingerprintOf(certificate);
    }

    public X509Certificate2 Certificate { get; }

    public string Id { get; }

    public static string FingerprintOf(X509Certificate certificate) =>
        Convert.ToHexStringLower(SHA256.HashData(certificate.GetRawCertData()));

    /// <summary>Loads the identity from <paramref name="dataDir"/>, creating it on first start.</summary>
    public static AgentIdentity LoadOrCreate(string dataDir)
    {
        var path = Path.Combine(dataDir, CertificateFile);
        if (File.Exists(path))
            return new AgentIdentity(X509CertificateLoader.LoadPkcs12FromFile(path, null, X509KeyStorageFlags.Exportable));
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var req = new CertificateRequest($"CN=understudy-agent {Environment.MachineName}", key, HashAlgorithmName.SHA256);
        req.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        req.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        req.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], false));
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("localhost");
        san.AddDnsName(Environment.MachineName);
        san.AddIpAddress(System.Net.IPAddress.Loopback);
        req.CertificateExtensions.Add(san.Build());
        using var cert = req.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(100));
        var pfx = cert.Export(X509ContentType.Pkcs12);
        DataDir.WritePrivateFile(path, pfx);
        return new AgentIdentity(X509CertificateLoader.LoadPkcs12(pfx, null, X509KeyStorageFlags.Exportable));
    }

    /// <summary>Reads the ID without loading the whole agent (for `understudy id`).</summary>
    public static string? ReadId(string dataDir)
    {
        var path = Path.Combine(dataDir, CertificateFile);
        if (!File.Exists(path))
            return null;
        using var cert = X509CertificateLoader.LoadPkcs12FromFile(path, null);
        return FingerprintOf(cert);
    }

    public void Dispose() => Certificate.Dispose();
}
