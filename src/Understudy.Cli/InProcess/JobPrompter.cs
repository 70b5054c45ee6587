using Spectre.Console;

namespace Understudy.Cli.Commands;

/// <summary>
/// Takes each value from its flag, or asks for it (Spectre.Console prompts on stderr's terminal)
/// when a person is there; otherwise remembers the missing flag so all of them are reported at once.
/// Questions are plain text: Spectre reads prompt text as markup, so each is escaped ("host[:port]").
/// </summary>
internal sealed class JobPrompter(bool interactive)
{
    private readonly List<string> _missing = [];

    private readonly IAnsiConsole _console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });

    public string Text(string question, string? given, string flag, Func<string, string?> check)
    {
        if (given is not null)
        {
            if (check(given) is { } why)
                throw new CliException($"{flag}: {why}");
            return given;
        }
        if (!interactive)
        {
            _missing.Add(flag);
            return "";
        }
        return _console.Prompt(new TextPrompt<string>(Markup.Escape(question) + ":").Validate(v =>
            check(v.Trim()) is { } why ? ValidationResult.Error(Markup.Escape(why)) : ValidationResult.Success())).Trim();
    }

    public string[] List(string question, string[]? given, string? flag, bool required, bool onlyIfAsked = false)
    {
        if (given is { Length: > 0 })
            return given;
        if (!interactive || onlyIfAsked)
        {
            if (required && flag is not null)
                _missing.Add(flag);
            return [];
        }
        var items = new List<string>();
        while (true)
        {
            var v = _console.Prompt(new TextPrompt<string>($"{Markup.Escape(question)}{(items.Count > 0 || !required ? " (empty to finish)" : "")}:").AllowEmpty()).Trim();
            if (v.Length == 0 && (items.Count > 0 || !required))
                return [.. items];
            if (v.Length > 0)
                items.Add(v);
        }
    }

    public string Choice(string question, string? given, string[] choices)
    {
        if (given is not null || !interactive)
            return given ?? choices[0];
        return _console.Prompt(new SelectionPrompt<string>().Title(Markup.Escape(question)).AddChoices(choices));
    }

    public bool Confirm(string question) => _console.Confirm(Markup.Escape(question), defaultValue: false);

    public void ThrowIfMissing()
    {
        if (_missing.Count > 0)
            throw new CliException($"missing {string.Join(", ", _missing)} (or run in a terminal to be asked)");
    }
}
