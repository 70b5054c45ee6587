using Understudy.Cli;
using Understudy.Testing;
using Xunit;

namespace Understudy.Console.Tests.Api;

/// <summary>Where `--api` sends the bearer token: never in clear text to another machine (issue 19, item 7).</summary>
public sealed class CliApiAddressTests
{
    private static ApiClient Resolve(string api)
    {
        using var dir = new TempDir();
        return ApiClient.Resolve(api, "secret-token", dir.Path, null);
    }

    [Theory]
    [InlineData("10.1.2.3:7421", "https://10.1.2.3:7421")]
    [InlineData("backup.example.org:7421", "https://backup.example.org:7421")]
    [InlineData("[fd00::5]:7421", "https://[fd00::5]:7421")]
    public void NoScheme_OffLoopback_IsHttps(string api, string url)
    {
        using var c = Resolve(api);
        Assert.Equal(url, c.BaseUrl);
    }

    [Theory]
    [InlineData("127.0.0.1:7421", "http://127.0.0.1:7421")]
    [InlineData("localhost:7421", "http://localhost:7421")]
    [InlineData("[::1]:7421", "http://[::1]:7421")]
    [InlineData("http://127.0.0.2:7421", "http://127.0.0.2:7421")]
    [InlineData("https://10.1.2.3:7421", "https://10.1.2.3:7421")]
    public void Loopback_MayBePlainHttp_AndAnExplicitSchemeIsKept(string api, string url)
    {
        using var c = Resolve(api);
        Assert.Equal(url, c.BaseUrl);
    }

    [Theory]
    [InlineData("http://10.1.2.3:7421")]
    [InlineData("http://backup.example.org:7421/")]
    [InlineData("http://[fd00::5]:7421")]
    public void PlainHttp_OffLoopback_IsRefused_BeforeAnythingIsSent(string api)
    {
        var e = Assert.Throws<CliException>(() => Resolve(api));
        Assert.Contains("plain HTTP", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("secret-token", e.Message, StringComparison.Ordinal);
    }
}
