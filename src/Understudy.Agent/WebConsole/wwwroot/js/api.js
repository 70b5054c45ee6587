// The console's only way to an agent: its management API (docs/api.md), with the bearer token.

export class ApiError extends Error {
  constructor(status, problem, url) {
    super(problem?.detail ?? problem?.error ?? `${status} from ${url}`);
    this.status = status;
    this.problem = problem ?? null;
  }
}

export class AgentClient {
  constructor(url, token) {
    this.url = url;
    this.token = token;
  }

  async call(method, path, body, signal) {
    let resp;
    try {
      resp = await fetch(this.url + path, {
        method,
        signal,
        credentials: 'omit',
        cache: 'no-store',
        headers: {
          Authorization: `Bearer ${this.token}`,
          ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (e) {
      if (e.name === 'AbortError') throw e;
      throw new ApiError(0, { detail: `cannot reach the agent at ${this.url} (${e.message})` }, this.url);
    }
    const text = await resp.text();
    let json = null;
    try { json = text ? JSON.parse(text) : {}; } catch { json = null; }
    if (!resp.ok) {
      const problem = json ?? { detail: `${resp.status} ${resp.statusText}` };
      if (resp.status === 401) problem.detail = `The agent at ${this.url} refused the token: ${problem.detail ?? 'unauthorized'}`;
      throw new ApiError(resp.status, problem, this.url);
    }
    return json;
  }

  get(path, signal) { return this.call('GET', path, undefined, signal); }

  post(path, body, signal) { return this.call('POST', path, body ?? {}, signal); }

  /** EventSource cannot send headers: the token goes in the query string (the API accepts both). */
  eventStreamUrl() {
    return `${this.url}/api/v1/events/stream?token=${encodeURIComponent(this.token)}`;
  }
}
