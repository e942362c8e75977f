import { describe, expect, it } from "vitest";
import { RealtimeClient, applyFrame, isConflatedChannel, backoffDelay, subscribeFrame, type ChannelEvent, type Cursor, type WebSocketLike } from "@/lib/realtime";

describe("resume cursor", () => {
  it("subscribes without since until a position is known, then with it", () => {
    expect(subscribeFrame("orders", {})).toEqual({ op: "subscribe", channel: "orders" });
    expect(subscribeFrame("order:1", { epoch: "E", offset: 7 })).toEqual({ op: "subscribe", channel: "order:1", since: { offset: 7, epoch: "E" } });
  });

  it("jumps to the snapshot's offset when not recovered", () => {
    const c: Cursor = {};
    applyFrame(c, { type: "subscribed", channel: "orders", epoch: "E1", offset: 41, recovered: false });
    applyFrame(c, { type: "snapshot", channel: "orders", data: [] });
    expect(c).toEqual({ epoch: "E1", offset: 41 });
    const r = applyFrame(c, { type: "update", channel: "orders", offset: 42, data: {} });
    expect(r.action).toBe("deliver");
    expect(c.offset).toBe(42);
  });

  it("replays missed updates one by one when recovered", () => {
    const c: Cursor = { epoch: "E1", offset: 10 };
    const s = applyFrame(c, { type: "subscribed", channel: "orders", epoch: "E1", offset: 13, recovered: true });
    expect(s).toMatchObject({ action: "deliver", event: { kind: "subscribed", recovered: true, epochChanged: false } });
    expect(c.offset).toBe(10);
    for (const o of [11, 12, 13]) expect(applyFrame(c, { type: "update", channel: "orders", offset: o, data: o }).action).toBe("deliver");
    expect(c.offset).toBe(13);
  });

  it("drops duplicates and asks to resync on a gap", () => {
    const c: Cursor = { epoch: "E1", offset: 5 };
    expect(applyFrame(c, { type: "update", channel: "x", offset: 5, data: 0 }).action).toBe("drop");
    expect(applyFrame(c, { type: "update", channel: "x", offset: 3, data: 0 }).action).toBe("drop");
    expect(applyFrame(c, { type: "update", channel: "x", offset: 8, data: 0 }).action).toBe("resync");
    expect(c.offset).toBe(5);
  });

  it("accepts skipped offsets on conflated state channels", () => {
    const c: Cursor = { epoch: "E1", offset: 5 };
    expect(applyFrame(c, { type: "update", channel: "stats", offset: 9, data: 0 }, true).action).toBe("deliver");
    expect(c.offset).toBe(9);
    expect(isConflatedChannel("stats")).toBe(true);
    expect(isConflatedChannel("order:42")).toBe(true);
    expect(isConflatedChannel("orders")).toBe(false);
  });

  it("reports an epoch change", () => {
    const c: Cursor = { epoch: "old", offset: 99 };
    const r = applyFrame(c, { type: "subscribed", channel: "orders", epoch: "new", offset: 2, recovered: false });
    expect(r).toMatchObject({ event: { epochChanged: true } });
    expect(c).toEqual({ epoch: "new", offset: 2 });
  });

  it("backs off exponentially with a cap", () => {
    const mid = () => 0.5;
    const d = [0, 1, 2, 3, 10].map((a) => backoffDelay(a, 500, 10_000, mid));
    expect(d[1]).toBeGreaterThan(d[0]);
    expect(d[2]).toBeGreaterThan(d[1]);
    expect(d[4]).toBeLessThanOrEqual(10_000);
    expect(backoffDelay(0, 500, 10_000, () => 0)).toBe(375);
  });
});

class FakeSocket implements WebSocketLike {
  readyState = 0;
  sent: Record<string, unknown>[] = [];
  onopen: ((ev: unknown) => void) | null = null;
  onclose: ((ev: unknown) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  send(data: string) {
    this.sent.push(JSON.parse(data));
  }
  close(code = 1000) {
    this.readyState = 3;
    this.onclose?.({ code });
  }
  open() {
    this.readyState = 1;
    this.onopen?.({});
  }
  push(frame: unknown) {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }
}

describe("RealtimeClient reconnect and resume", () => {
  it("resubscribes every channel with since after a drop and delivers exactly the missed updates", async () => {
    const sockets: FakeSocket[] = [];
    const client = new RealtimeClient("ws://test/v1/ws", {
      createSocket: () => {
        const s = new FakeSocket();
        sockets.push(s);
        return s;
      },
      initialBackoffMs: 1,
      maxBackoffMs: 2,
    });
    const got: ChannelEvent[] = [];
    client.subscribe("order:A", (e) => got.push(e));
    client.start();
    sockets[0].open();
    expect(sockets[0].sent).toEqual([{ op: "subscribe", channel: "order:A" }]);
    sockets[0].push({ type: "subscribed", channel: "order:A", epoch: "E", offset: 1, recovered: false });
    sockets[0].push({ type: "snapshot", channel: "order:A", data: { status: "created" } });
    sockets[0].push({ type: "update", channel: "order:A", offset: 2, data: { status: "inventory_confirmed" } });

    sockets[0].close(1006);
    expect(client.connectionInfo().state).toBe("reconnecting");
    await new Promise<void>((resolve, reject) => {
      const deadline = Date.now() + 2000;
      const check = () => (sockets.length > 1 ? resolve() : Date.now() > deadline ? reject(new Error("no reconnect")) : setTimeout(check, 1));
      check();
    });
    sockets[1].open();
    expect(sockets[1].sent).toEqual([{ op: "subscribe", channel: "order:A", since: { offset: 2, epoch: "E" } }]);
    sockets[1].push({ type: "subscribed", channel: "order:A", epoch: "E", offset: 4, recovered: true });
    sockets[1].push({ type: "update", channel: "order:A", offset: 2, data: { dup: true } });
    sockets[1].push({ type: "update", channel: "order:A", offset: 3, data: { status: "payment_completed" } });
    sockets[1].push({ type: "update", channel: "order:A", offset: 4, data: { status: "shipped" } });
    client.stop();

    const updates = got.filter((e) => e.kind === "update").map((e) => (e.kind === "update" ? e.offset : -1));
    expect(updates).toEqual([2, 3, 4]);
    expect(client.connectionInfo().reconnects).toBe(1);
    expect(client.connectionInfo().lastResume).toMatchObject({ channel: "order:A", recovered: true });
  });

  it("resubscribes from its cursor when it sees a gap, and ignores updates until answered", () => {
    const s = new FakeSocket();
    const client = new RealtimeClient("ws://test/v1/ws", { createSocket: () => s });
    const got: ChannelEvent[] = [];
    client.subscribe("orders", (e) => got.push(e));
    client.start();
    s.open();
    s.push({ type: "subscribed", channel: "orders", epoch: "E", offset: 5, recovered: false });
    s.push({ type: "snapshot", channel: "orders", data: [] });
    s.push({ type: "update", channel: "orders", offset: 7, data: {} });
    s.push({ type: "update", channel: "orders", offset: 8, data: {} });
    expect(s.sent.slice(1)).toEqual([
      { op: "unsubscribe", channel: "orders" },
      { op: "subscribe", channel: "orders", since: { offset: 5, epoch: "E" } },
    ]);
    s.push({ type: "subscribed", channel: "orders", epoch: "E", offset: 8, recovered: true });
    s.push({ type: "update", channel: "orders", offset: 6, data: {} });
    client.stop();
    expect(got.filter((e) => e.kind === "update").map((e) => (e.kind === "update" ? e.offset : 0))).toEqual([6]);
  });

  it("keeps backing off from a server that accepts and drops at once, and resets after a message", () => {
    const sockets: FakeSocket[] = [];
    const client = new RealtimeClient("ws://test/v1/ws", {
      createSocket: () => {
        const s = new FakeSocket();
        sockets.push(s);
        return s;
      },
      initialBackoffMs: 60_000,
      maxBackoffMs: 60_000,
    });
    client.start();
    sockets[0].open();
    sockets[0].close(1006);
    expect(client.connectionInfo().attempt).toBe(1);
    client.reconnectNow();
    sockets[1].open();
    sockets[1].close(1006);
    expect(client.connectionInfo().attempt).toBe(2);
    client.reconnectNow();
    sockets[2].open();
    sockets[2].push({ type: "pong" });
    expect(client.connectionInfo()).toMatchObject({ state: "open", attempt: 0 });
    client.stop();
    expect(client.connectionInfo().state).toBe("closed");
  });

  it("keeps the connection on a server error frame and reports it", () => {
    const s = new FakeSocket();
    const client = new RealtimeClient("ws://test/v1/ws", { createSocket: () => s });
    client.start();
    s.open();
    s.push({ type: "error", code: "bad_channel", message: "unknown channel" });
    expect(client.connectionInfo()).toMatchObject({ state: "open", lastError: "bad_channel: unknown channel" });
    client.stop();
  });
});
