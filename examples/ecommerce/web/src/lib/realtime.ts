// Client for the v1 WebSocket (CONTRACT.md §5): one connection, many
// channels, resume with `since` after a dropped connection, reconnect with
// capped exponential back-off, and an application-level ping.
//
// The position logic is in the pure function `applyFrame` so that it can be
// unit-tested; `RealtimeClient` only moves frames between it and the socket.

export interface Cursor {
  epoch?: string;
  /** Offset of the last message applied on this channel. */
  offset?: number;
}

export type ServerFrame =
  | { type: "subscribed"; channel: string; epoch: string; offset: number; recovered: boolean }
  | { type: "snapshot"; channel: string; data: unknown; offset?: number; epoch?: string }
  | { type: "update"; channel: string; offset: number; data: unknown; epoch?: string }
  | { type: "pong" }
  | { type: "error"; code?: string; message?: string; channel?: string };

/** What a channel's listener receives. */
export type ChannelEvent =
  | { kind: "subscribed"; recovered: boolean; epoch: string; offset: number; epochChanged: boolean }
  | { kind: "snapshot"; data: unknown }
  | { kind: "update"; data: unknown; offset: number };

export type FrameAction =
  | { action: "deliver"; event: ChannelEvent }
  | { action: "drop"; reason: string }
  /** A gap was seen: subscribe again from the cursor to get what is missing. */
  | { action: "resync"; reason: string };

/** The subscribe frame for a channel, resuming from the cursor when it has one. */
export function subscribeFrame(channel: string, cursor: Cursor | undefined): Record<string, unknown> {
  const frame: Record<string, unknown> = { op: "subscribe", channel };
  if (cursor && cursor.epoch !== undefined && cursor.offset !== undefined) {
    frame.since = { offset: cursor.offset, epoch: cursor.epoch };
  }
  return frame;
}

/**
 * Applies one server frame for a channel to its cursor (mutated in place) and
 * says what to do with it. Rules:
 * - `subscribed` adopts the epoch; with `recovered:false` the snapshot that
 *   follows describes the state at `offset`, so the cursor jumps there; with
 *   `recovered:true` the missed updates follow and move the cursor one by one.
 * - an `update` at or below the cursor in the same epoch is a duplicate and is
 *   dropped; one beyond cursor+1 means messages were lost: resync - except on
 *   a `conflated` channel (`order:<id>`, `stats`), where every message is the
 *   full state and the server may replace queued older ones by newer ones.
 */
export function applyFrame(cursor: Cursor, frame: ServerFrame, conflated = false): FrameAction {
  switch (frame.type) {
    case "subscribed": {
      const epochChanged = cursor.epoch !== undefined && cursor.epoch !== frame.epoch;
      cursor.epoch = frame.epoch;
      if (!frame.recovered) cursor.offset = frame.offset;
      else if (cursor.offset === undefined) cursor.offset = frame.offset;
      return {
        action: "deliver",
        event: { kind: "subscribed", recovered: frame.recovered, epoch: frame.epoch, offset: frame.offset, epochChanged },
      };
    }
    case "snapshot": {
      if (frame.epoch !== undefined) cursor.epoch = frame.epoch;
      if (typeof frame.offset === "number") cursor.offset = frame.offset;
      return { action: "deliver", event: { kind: "snapshot", data: frame.data } };
    }
    case "update": {
      if (frame.epoch !== undefined && cursor.epoch !== undefined && frame.epoch !== cursor.epoch) {
        return { action: "resync", reason: `epoch changed from ${cursor.epoch} to ${frame.epoch}` };
      }
      if (cursor.offset !== undefined) {
        if (frame.offset <= cursor.offset) return { action: "drop", reason: `duplicate offset ${frame.offset}` };
        if (frame.offset > cursor.offset + 1 && !conflated) {
          return { action: "resync", reason: `gap: expected offset ${cursor.offset + 1}, got ${frame.offset}` };
        }
      }
      cursor.offset = frame.offset;
      return { action: "deliver", event: { kind: "update", data: frame.data, offset: frame.offset } };
    }
    default:
      return { action: "drop", reason: `not a channel frame: ${frame.type}` };
  }
}

/** Delay before reconnect attempt `attempt` (0-based): doubling, capped, with up to 25 % jitter. */
export function backoffDelay(attempt: number, initialMs = 500, maxMs = 10_000, random: () => number = Math.random): number {
  const base = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 20));
  return Math.round(base * (0.75 + 0.25 * random()));
}

/** Channels whose messages are full states, which the server conflates (CONTRACT.md §5). */
export function isConflatedChannel(channel: string): boolean {
  return channel === "stats" || channel.startsWith("order:");
}

export type ConnectionState = "connecting" | "open" | "reconnecting" | "closed";

export interface ConnectionInfo {
  state: ConnectionState;
  url: string;
  /** Reconnect attempts since the last successful open. */
  attempt: number;
  /** When the next attempt starts (ms since the epoch), while reconnecting. */
  retryAt?: number;
  connectedAt?: number;
  /** Times the connection has been re-established after a drop. */
  reconnects: number;
  /** Channels whose last resume recovered every missed message. */
  lastResume?: { channel: string; recovered: boolean; at: number };
  lastError?: string;
}

type Listener = (event: ChannelEvent) => void;

interface Channel {
  cursor: Cursor;
  listeners: Set<Listener>;
  /** A resubscribe is in flight: updates are ignored until `subscribed`. */
  resyncing: boolean;
}

export interface WebSocketLike {
  readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onclose: ((ev: unknown) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
}

export interface RealtimeOptions {
  createSocket?: (url: string) => WebSocketLike;
  pingIntervalMs?: number;
  /** Reconnect when nothing arrived for this long (the server pings every 15 s). */
  silenceTimeoutMs?: number;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
}

const OPEN = 1;

export class RealtimeClient {
  private socket?: WebSocketLike;
  private readonly channels = new Map<string, Channel>();
  private readonly infoListeners = new Set<(info: ConnectionInfo) => void>();
  private info: ConnectionInfo;
  private retryTimer?: ReturnType<typeof setTimeout>;
  private pingTimer?: ReturnType<typeof setInterval>;
  private lastMessageAt = 0;
  private stopped = true;
  private everOpened = false;
  private readonly opts: Required<RealtimeOptions>;

  constructor(
    readonly url: string,
    opts: RealtimeOptions = {},
  ) {
    this.opts = {
      createSocket: opts.createSocket ?? ((u: string) => new WebSocket(u) as unknown as WebSocketLike),
      pingIntervalMs: opts.pingIntervalMs ?? 10_000,
      silenceTimeoutMs: opts.silenceTimeoutMs ?? 45_000,
      initialBackoffMs: opts.initialBackoffMs ?? 500,
      maxBackoffMs: opts.maxBackoffMs ?? 10_000,
    };
    this.info = { state: "closed", url, attempt: 0, reconnects: 0 };
  }

  connectionInfo(): ConnectionInfo {
    return this.info;
  }

  onInfo(listener: (info: ConnectionInfo) => void): () => void {
    this.infoListeners.add(listener);
    return () => this.infoListeners.delete(listener);
  }

  /** Cursor of a channel (for display and tests). */
  cursor(channel: string): Cursor | undefined {
    return this.channels.get(channel)?.cursor;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.open();
    this.pingTimer = setInterval(() => this.tick(), this.opts.pingIntervalMs);
  }

  stop(): void {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.pingTimer) clearInterval(this.pingTimer);
    const s = this.socket;
    this.socket = undefined;
    if (s) {
      s.onclose = s.onerror = s.onmessage = s.onopen = null;
      s.close(1000, "client stopped");
    }
    this.setInfo({ state: "closed", retryAt: undefined });
  }

  /** Drops the current connection as a network failure would (reconnects with resume). */
  dropConnection(): void {
    this.socket?.close(4000, "dropped by the user");
  }

  /** Reconnects now instead of waiting for the back-off timer. */
  reconnectNow(): void {
    if (this.stopped) return;
    if (this.info.state === "reconnecting") {
      if (this.retryTimer) clearTimeout(this.retryTimer);
      this.open();
    }
  }

  /** Listens to a channel; subscribes on the server on the first listener. */
  subscribe(channel: string, listener: Listener): () => void {
    let ch = this.channels.get(channel);
    if (!ch) {
      ch = { cursor: {}, listeners: new Set(), resyncing: false };
      this.channels.set(channel, ch);
      this.send(subscribeFrame(channel, ch.cursor));
    }
    ch.listeners.add(listener);
    return () => {
      const c = this.channels.get(channel);
      if (!c) return;
      c.listeners.delete(listener);
      if (c.listeners.size === 0) {
        this.channels.delete(channel);
        this.send({ op: "unsubscribe", channel });
      }
    };
  }

  private setInfo(patch: Partial<ConnectionInfo>): void {
    this.info = { ...this.info, ...patch };
    for (const l of this.infoListeners) l(this.info);
  }

  private send(frame: Record<string, unknown>): void {
    if (this.socket && this.socket.readyState === OPEN) this.socket.send(JSON.stringify(frame));
  }

  private open(): void {
    this.setInfo({ state: this.everOpened ? "reconnecting" : "connecting", retryAt: undefined });
    let s: WebSocketLike;
    try {
      s = this.opts.createSocket(this.url);
    } catch (e) {
      this.setInfo({ lastError: e instanceof Error ? e.message : String(e) });
      this.scheduleReconnect();
      return;
    }
    this.socket = s;
    s.onopen = () => {
      if (this.socket !== s) return;
      if (this.everOpened) this.info.reconnects++;
      this.everOpened = true;
      this.lastMessageAt = Date.now();
      // `attempt` is reset by the first message, so a server that accepts and
      // at once drops connections still meets a growing back-off.
      this.setInfo({ state: "open", connectedAt: Date.now(), lastError: undefined, retryAt: undefined });
  for (const [name, ch] of this.channels) {
        ch.resyncing = false;
        s.send(JSON.stringify(subscribeFrame(name, ch.cursor)));
      }
    };
    s.onmessage = (ev) => {
      if (this.socket !== s) return;
      this.lastMessageAt = Date.now();
      if (this.info.attempt !== 0) this.setInfo({ attempt: 0 });
      this.handle(typeof ev.data === "string" ? ev.data : String(ev.data));
    };
    s.onerror = () => {
      // The close event that follows carries the reconnect; nothing to log here.
    };
    s.onclose = (ev) => {
      if (this.socket !== s) return;
      this.socket = undefined;
      const code = (ev as { code?: number } | undefined)?.code;
      this.setInfo({ lastError: code !== undefined ? `connection closed (code ${code})` : "connection closed" });
      this.scheduleReconnect();
    };
  }

  private scheduleReconnect(): void {
    if (this.stopped) return;
    const delay = backoffDelay(this.info.attempt, this.opts.initialBackoffMs, this.opts.maxBackoffMs);
    this.setInfo({ state: "reconnecting", attempt: this.info.attempt + 1, retryAt: Date.now() + delay });
    this.retryTimer = setTimeout(() => this.open(), delay);
  }

  private tick(): void {
    if (!this.socket || this.socket.readyState !== OPEN) return;
    if (Date.now() - this.lastMessageAt > this.opts.silenceTimeoutMs) {
      this.socket.close(4001, "silent connection");
      return;
    }
    this.send({ op: "ping" });
  }

  /** Handles one text frame from the server. Exposed for tests. */
  handle(text: string): void {
    let frame: ServerFrame;
    try {
      frame = JSON.parse(text) as ServerFrame;
    } catch {
      this.setInfo({ lastError: "server sent a frame that is not JSON" });
      return;
    }
    if (!frame || typeof frame !== "object") return;
    if (frame.type === "pong") return;
    if (frame.type === "error") {
      this.setInfo({ lastError: `${frame.code ?? "error"}: ${frame.message ?? ""}`.trim() });
      return;
    }
    const name = (frame as { channel?: string }).channel;
    if (!name) return;
    const ch = this.channels.get(name);
    if (!ch) return;
    if (ch.resyncing && frame.type !== "subscribed") return;
    const result = applyFrame(ch.cursor, frame, isConflatedChannel(name));
    if (result.action === "resync") {
      ch.resyncing = true;
      this.send({ op: "unsubscribe", channel: name });
      this.send(subscribeFrame(name, ch.cursor));
      return;
    }
    if (frame.type === "subscribed") ch.resyncing = false;
    if (result.action === "drop") return;
    if (result.event.kind === "subscribed" && this.info.reconnects > 0) {
      this.setInfo({ lastResume: { channel: name, recovered: result.event.recovered, at: Date.now() } });
    }
    for (const l of [...ch.listeners]) l(result.event);
  }
}
