using Xunit;

namespace Understudy.Console.Tests.Support;

/// <summary>
/// A browser test: skipped with the reason when the system Chromium is missing on a developer's
/// machine, never on CI (CI=true), where .ci/run installs it and a missing browser must fail.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class ChromiumFactAttribute : FactAttribute
{
    public ChromiumFactAttribute()
    {
        if (!File.Exists(BrowserSession.ChromiumPath) && Environment.GetEnvironmentVariable("CI") is not "true")
            Skip = $"{BrowserSession.ChromiumPath} not found: install Debian's chromium (apt-get install -y chromium) to run the console browser tests";
    }
}
