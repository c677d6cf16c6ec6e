// Web mode: the same generated bindings run in a plain browser against
// `pincer serve`. Tauri's IPC entry points are provided here over HTTP:
// `invoke` posts to /api/control/{command} with the bearer token, and a
// Channel argument is fed from the streamed JSON lines of the answer.

type Callback = (payload: unknown) => void;

interface ControlErrorShape {
  kind: string;
  message: string;
}

const TOKEN_KEY = "pincer.token";

/** True inside the Tauri desktop app. */
export function inDesktopApp(): boolean {
  return typeof (window as any).__TAURI_INTERNALS__ === "object";
}

/** The API token for web mode, kept in this tab's storage. */
export function webToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

/**
 * Trades the one-time `#pair=` code that `pincer serve` prints for the
 * token (the address itself never carries a secret), then removes the code
 * from the address. A used or wrong code leaves the token prompt to ask.
 */
export async function pairFromAddress(): Promise<void> {
  const match = /(?:^#|&)pair=([^&]+)/.exec(location.hash);
  if (!match) return;
  history.replaceState(null, "", location.pathname + location.search);
  try {
    const response = await fetch("/api/pair", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ code: decodeURIComponent(match[1]) }),
    });
    if (response.ok) setWebToken((await response.json()).token);
  } catch {
    // The token prompt explains what to do.
  }
}

/** Remembers a token the owner pasted. */
export function setWebToken(token: string): void {
  sessionStorage.setItem(TOKEN_KEY, token.trim());
}

function channelIds(args: unknown): number[] {
  const ids: number[] = [];
  JSON.stringify(args ?? {}, (_key, value) => {
    if (typeof value === "string" && value.startsWith("__CHANNEL__:")) ids.push(Number(value.slice(12)));
    return value;
  });
  return ids;
}

function networkError(message: string): ControlErrorShape {
  return { kind: "unavailable", message };
}

/** Installs the HTTP transport under Tauri's IPC names. */
export function installWebTransport(getToken: () => string | null): void {
  const callbacks = new Map<number, Callback>();
  let nextId = 1;
  (window as any).__TAURI_INTERNALS__ = {
    metadata: { currentWindow: { label: "main" }, currentWebview: { label: "main", windowLabel: "main" } },
    transformCallback(callback: Callback) {
      const id = nextId++;
      callbacks.set(id, callback);
      return id;
    },
    unregisterCallback(id: number) {
      callbacks.delete(id);
    },
    convertFileSrc(path: string) {
      return path;
    },
    async invoke(command: string, args: Record<string, unknown> = {}) {
      const body = JSON.stringify(args);
      let response: Response;
      try {
        response = await fetch(`/api/control/${encodeURIComponent(command)}`, {
          method: "POST",
          headers: { Authorization: `Bearer ${getToken() ?? ""}`, "Content-Type": "application/json" },
          body,
        });
      } catch {
        throw networkError("Pincer is not reachable; is `pincer serve` still running?");
      }
      if ((response.headers.get("content-type") ?? "").includes("ndjson") && response.body) {
        return readStream(response.body, channelIds(JSON.parse(body)).map((id) => callbacks.get(id)));
      }
      const text = await response.text();
      let parsed: any = null;
      try {
        parsed = text ? JSON.parse(text) : null;
      } catch {
        throw networkError(`Pincer answered HTTP ${response.status} with something that is not JSON`);
      }
      if (!response.ok) {
        throw parsed?.error?.kind
          ? parsed.error
          : networkError(parsed?.error?.message ?? `Pincer answered HTTP ${response.status}`);
      }
      return parsed;
    },
  };
}

async function readStream(body: ReadableStream<Uint8Array>, sinks: (Callback | undefined)[]): Promise<unknown> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffered = "";
  let index = 0;
  const deliver = (message: unknown) => {
    for (const sink of sinks) sink?.({ message, index });
    index += 1;
  };
  const finish = () => {
    for (const sink of sinks) sink?.({ end: true, index });
  };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffered += decoder.decode(value, { stream: true });
    let newline: number;
    while ((newline = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, newline).trim();
      buffered = buffered.slice(newline + 1);
      if (!line) continue;
      const item = JSON.parse(line);
      if ("event" in item) deliver(item.event);
      else if ("result" in item) {
        finish();
        return item.result;
      } else if ("error" in item) {
        finish();
        throw item.error;
      }
    }
  }
  finish();
  throw networkError("the connection to Pincer closed before the answer ended");
}
