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
        s.Page.Request += (_, r) =>
        {
            lock (s.Requests)
                s.Requests.Add(r.Url);
        };
        return s;
    }

    /// <summary>The repository root (the directory of Understudy.slnx above the test binaries).</summary>
    public static string RepoRoot
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Understudy.slnx")))
                dir = dir.Parent;
            return dir?.FullName ?? AppContext.BaseDirectory;
        }
    }

    public static string ScreenshotDir => Path.Combine(RepoRoot, "TestResults", "screenshots");

    public async Task ScreenshotAsync(string name, bool fullPage = false)
    {
        Directory.CreateDirectory(ScreenshotDir);
        await Page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(ScreenshotDir, name + ".png"), FullPage = fullPage });
    }

    /// <summary>Every URL the page requested (documents, scripts, styles, API calls), to prove it needs nothing off the agents.</summary>
    public List<string> Requests { get; } = [];

    /// <summary>
    /// Visible controls a screen reader could not name: no label, aria-label(ledby), text or title.
    /// A cheap stand-in for an accessibility scanner (none can be fetched: no CDN, no download).
    /// </summary>
    public Task<string[]> UnnamedControlsAsync() => Page.EvaluateAsync<string[]>("""
        () => [...document.querySelectorAll('button, input, select, textarea, meter, progress, [role=region], dialog[open]')]
          .filter(el => el.getClientRects().length > 0 && el.type !== 'hidden')
          .filter(el => {
            const by = (el.getAttribute('aria-labelledby') || '').split(' ').filter(Boolean)
              .map(id => document.getElementById(id)?.textContent ?? '').join('');
            const label = el.labels ? [...el.labels].map(l => l.textContent).join('') : '';
            const text = ['BUTTON'].includes(el.tagName) ? el.textContent : '';
            return !((el.getAttribute('aria-label') || by || label || text || el.title || '').trim());
          })
          .map(el => el.outerHTML.slice(0, 120))
        """);

    public async ValueTask DisposeAsync()
    {
        if (_browser is not null)
            await _browser.DisposeAsync();
        _playwright?.Dispose();
    }
}
