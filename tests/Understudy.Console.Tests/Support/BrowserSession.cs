using Microsoft.Playwright;

namespace Understudy.Console.Tests.Support;

/// <summary>
/// Headless Debian Chromium driven by Playwright (no browser download), one page, and screenshots
/// saved under TestResults/screenshots/ at the repository root as test artifacts.
/// </summary>
internal sealed class BrowserSession : IAsyncDisposable
{
    public const string ChromiumPath = "/usr/bin/chromium";

    private IPlaywright? _playwright;
    private IBrowser? _browser;

    public IPage Page { get; private set; } = null!;

    public IBrowserContext Context { get; private set; } = null!;

    public static async Task<BrowserSession> StartAsync()
    {
        var s = new BrowserSession();
        s._playwright = await Playwright.CreateAsync();
        s._browser = await s._playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        });
        s.Context = await s._browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 900 } });
        s.Context.SetDefaultTimeout(30_000);
        s.Page = await s.Context.NewPageAsync();
        return s;
    }

    public static string ScreenshotDir
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Understudy.slnx")))
                dir = dir.Parent;
            return Path.Combine(dir?.FullName ?? AppContext.BaseDirectory, "TestResults", "screenshots");
        }
    }

    public async Task ScreenshotAsync(string name, bool fullPage = false)
    {
        Directory.CreateDirectory(ScreenshotDir);
        await Page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(ScreenshotDir, name + ".png"), FullPage = fullPage });
    }

    public async ValueTask DisposeAsync()
    {
        if (_browser is not null)
            await _browser.DisposeAsync();
        _playwright?.Dispose();
    }
}
