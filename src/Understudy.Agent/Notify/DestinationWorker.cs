using System.Text.Json;
using System.Threading.Channels;
using Understudy.Agent.Events;

namespace Understudy.Agent.Notify;

/// <summary>
/// One destination's queue and the loop that delivers it, one message at a time in order, each retried with
/// back-off (<see cref="Destination.DelayBefore"/>) until delivered or given up. A slow or dead destination holds only
/// its own queue; past <see cref="Capacity"/> waiting messages the oldest is dropped (and counted, and said).
/// </summary>
internal sealed class DestinationWorker : IAsyncDisposable
{
    public const int Capacity = 1000;

    private readonly NotifierCore _core;
    private readonly Channel<NotifyEvent> _queue;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private long _delivered, _failed;
    private int _busy;

    public DestinationWorker(NotifierCore core, Destination destination)
    {
        _core = core;
        Destination = destination;
        _queue = Channel.CreateBounded<NotifyEvent>(new BoundedChannelOptions(Capacity) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true },
            dropped =>
            {
                Interlocked.Increment(ref _failed);
                _core.Events.Record(EventCode.NotifyDropped, Severity.Warning, "notify", dropped.Job,
                    $"notification to {Destination.Name} dropped: more than {Capacity} waiting (event {dropped.Event.Code} {dropped.Event.CodeName}: {dropped.Event.Message})",
                    new { destination = Destination.Name, eventId = dropped.Event.Id, eventCode = dropped.Code });
            });
        _loop = LoopAsync(_stop.Token);
    }

    /// <summary>Swapped by a reload that keeps the destination's name: what is queued goes out with the new settings.</summary>
    public Destination Destination { get; set; }

    public bool Running => !_loop.IsCompleted;

    public long Delivered => Interlocked.Read(ref _delivered);

    public long Failed => Interlocked.Read(ref _failed);

    public int Queued => _queue.Reader.Count + Volatile.Read(ref _busy);

    public void Enqueue(NotifyEvent e) => _queue.Writer.TryWrite(e);

    /// <summary>No more messages: the loop ends once it delivered (or gave up on) what is queued.</summary>
    public void Complete() => _queue.Writer.TryComplete();

    public Task Completion => _loop;

    private async Task LoopAsync(CancellationToken ct)
    {
        try
        {
            await foreach (var e in _queue.Reader.ReadAllAsync(ct))
            {
                Volatile.Write(ref _busy, 1);
                try
                {
                    await DeliverAsync(e, Destination.Retries, ct);
                }
                finally
                {
                    Volatile.Write(ref _busy, 0);
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    /// <summary>Sends until delivered, a final refusal, or <paramref name="retries"/> more attempts failed; records the
    /// outcome as an event (800 delivered, 801 failed).</summary>
    public async Task<SendResult> DeliverAsync(NotifyEvent e, int retries, CancellationToken ct)
    {
        var d = Destination;
        var delivery = Guid.NewGuid().ToString("N");
        SendResult result = default;
        int attempt = 0;
        while (true)
        {
            attempt++;
            var msg = new NotifyMessage(delivery, e.Kind, _core.Time.GetUtcNow().ToString("O"), attempt, _core.Agent, e.Event);
            var body = JsonSerializer.SerializeToUtf8Bytes(msg, EventJson.Options);
            try
            {
                result = d.Webhook is not null ? await _core.Webhooks.SendAsync(d, msg, body, ct)
                    : d.Mail is not null ? await MailSender.SendAsync(d, msg, body, ct)
                    : await ExecSender.SendAsync(d, msg, body, ct);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                result = SendResult.Transient($"{ex.GetType().Name}: {ex.Message}");
            }
            if (result.Ok || !result.Retry || attempt > retries)
                break;
            await Task.Delay(d.DelayBefore(attempt), _core.Time, ct);
        }
        var what = $"{e.Kind} {e.Event.Code} {e.Event.CodeName}";
        var data = new { destination = d.Name, kind = d.Kind, delivery, attempts = attempt, eventId = e.Event.Id, eventCode = e.Code, notifyKind = e.Kind, detail = result.Detail };
        if (result.Ok)
        {
            Interlocked.Increment(ref _delivered);
            _core.Events.Record(EventCode.NotifyDelivered, Severity.Info, "notify", e.Job,
                $"notified {d.Name} ({d.Kind}) of {what}{(attempt > 1 ? $" after {attempt} attempts" : "")}: {result.Detail}", data);
        }
        else
        {
            Interlocked.Increment(ref _failed);
            _core.Events.Record(EventCode.NotifyFailed, Severity.Error, "notify", e.Job,
                $"could not notify {d.Name} ({d.Kind}, {d.Describe}) of {what}: {result.Detail} ({attempt} attempt{(attempt == 1 ? "" : "s")})", data);
        }
        return result;
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _stop.CancelAsync();
        await _loop;
        _stop.Dispose();
    }
}
