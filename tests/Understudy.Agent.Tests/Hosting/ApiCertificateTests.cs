using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Understudy.Testing;
using Xunit;

namespace Understudy.Agent.Tests.Hosting;

/// <summary>`agent --api-cert/--api-key`: the API serves HTTPS with the admin's certificate, and the local CLI pins it.</summary>
public sealed class ApiCertificateTests
{
    [Fact]
    public async Task AdminCertificate_ServesHttps_LocalCliPinsIt_WrongTokenRefused()
    {
        using var dir = new TempDir();
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var req = new CertificateRequest("CN=understudy-test", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        req.CertificateExtensions.Add(san.Build());
        using var cert = req.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        var certFile = dir.Sub("api.pem");
        var keyFile = dir.Sub("api.key");
        await File.WriteAllTextAsync(certFile, cert.ExportCertificatePem());
        await File.WriteAllTextAsync(keyFile, key.ExportPkcs8PrivateKeyPem());

        await using var agent = new AgentProcess(dir.Sub("agent"), "certified");
        agent.ExtraArgs.AddRange(["--api-cert", certFile, "--api-key", keyFile]);
        await agent.StartAsync();

        var lines = await File.ReadAllLinesAsync(Path.Combine(agent.DataDir, "api-address"));
        Assert.StartsWith("https://127.0.0.1:", lines[0], StringComparison.Ordinal);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(cert.RawData)), lines[1]);
        (await agent.CliAsync("status")).EnsureOk(); // pinned through line 2 of api-address

        var wrong = await agent.CliAsync("status", "--api", lines[0], "--token", "not-the-token", "--agent-id", lines[1]);
        Assert.NotEqual(0, wrong.ExitCode);
        Assert.Contains("token", wrong.Stderr, StringComparison.OrdinalIgnoreCase);

        using var plain = new HttpClient();
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => plain.GetAsync(lines[0].Replace("https:", "http:", StringComparison.Ordinal) + "/api/v1/health"));
    }
}
