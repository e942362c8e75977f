import { describe, expect, it } from "vitest";
import { ordersFromSnapshot, productsFrom } from "@/lib/normalize";
import { combineStats, computeStats, normalizeStats, ordersPerMinute } from "@/lib/stats";
import { LiveStore, STREAM_LIMIT, sortedOrders } from "@/lib/store";
import { filterStream } from "@/lib/stream";
import { parseConfig } from "@/lib/config";
import { errorFromResponse } from "@/lib/api";
import { lowStock } from "@/lib/inventory";

const ev = (id: string, type: string, s: number) => ({ id, event_type: type, timestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString(), data: "{}" });

describe("LiveStore", () => {
  it("applies a snapshot then updates, keeping status monotonic and the event stream in order", () => {
    const store = new LiveStore();
    store.applyOrdersSnapshot({ orders: { a: { order_id: "a", status: "created", events: [ev("1", "OrderCreated", 0)] } } }, false);
    store.applyOrderUpdate({ order_id: "a", status: "payment_completed", events: [ev("1", "OrderCreated", 0), ev("2", "InventoryConfirmed", 1), ev("3", "PaymentCompleted", 2)] });
    // a late, older view must not move the status back
    store.applyOrderUpdate({ order_id: "a", status: "inventory_confirmed", events: [ev("2", "InventoryConfirmed", 1)] });
    const s = store.getState();
    expect(s.orders.a.status).toBe("payment_completed");
    expect(s.stream.map((r) => r.id)).toEqual(["1", "2", "3"]);
    expect(s.stream[0]).toMatchObject({ type: "OrderCreated", subject: "a", topic: "orders", correlationId: "1" });
    expect(s.stream[2].topic).toBe("payment");
  });

  it("replaces orders on a snapshot of a new epoch", () => {
    const store = new LiveStore();
    store.applyOrderUpdate({ order_id: "old", status: "shipped", events: [] });
    store.applyOrdersSnapshot([{ order_id: "new", status: "created", events: [] }], true);
    expect(Object.keys(store.getState().orders)).toEqual(["new"]);
  });

  it("asks for fresh stock when an order reserves or releases stock", () => {
    const store = new LiveStore();
    let calls = 0;
    store.onInventoryChanged = () => calls++;
    store.applyOrderUpdate({ order_id: "a", status: "created", events: [ev("1", "OrderCreated", 0)] });
    expect(calls).toBe(0);
    store.applyOrderUpdate({ order_id: "a", status: "inventory_confirmed", events: [ev("2", "InventoryConfirmed", 1)] });
    expect(calls).toBe(1);
    store.applyOrderUpdate({ order_id: "a", status: "inventory_confirmed", events: [ev("2", "InventoryConfirmed", 1)] });
    expect(calls).toBe(1);
  });

  it("takes stock levels from stats when they carry inventory", () => {
    const store = new LiveStore();
    store.setProducts(productsFrom([{ product_id: "product-1", name: "Premium Widget", price: 29.99, stock: 100 }]));
    store.applyStats({ total_orders: 3, inventory: { "product-1": 97 } });
    expect(store.getState().products[0].stock).toBe(97);
  });

  it("flags low stock by the service's verdict, else by the alert level", () => {
    const p = { product_id: "product-3", name: "Elite Device", price: 99.99, stock: 5, alert_level: 5 };
    expect(lowStock(p)).toBe(true);
    expect(lowStock({ ...p, stock: 6 })).toBe(false);
    expect(lowStock({ ...p, stock: 6, low_stock: true })).toBe(true);
    // A newer stock level from the stats drops the service's (older) verdict.
    const store = new LiveStore();
    store.setProducts(productsFrom([{ ...p, stock: 3, low_stock: true }]));
    store.applyStats({ inventory: { "product-3": 30 } });
    expect(lowStock(store.getState().products[0])).toBe(false);
  });

  it("bounds the event stream", () => {
    const store = new LiveStore();
    const events = Array.from({ length: STREAM_LIMIT + 10 }, (_, i) => ev(`e${i}`, "OrderCreated", i));
    store.applyOrderUpdate({ order_id: "a", status: "created", events });
    expect(store.getState().stream).toHaveLength(STREAM_LIMIT);
    expect(store.getState().stream[0].id).toBe("e10");
  });

  it("accepts a CloudEvent update into the event stream", () => {
    const store = new LiveStore();
    store.applyOrderUpdate({ specversion: "1.0", id: "x", type: "StockReplenished", subject: "product-1", time: "2026-01-01T00:00:00.000Z", data: {} });
    expect(store.getState().stream[0]).toMatchObject({ type: "StockReplenished", topic: "inventory", subject: "product-1" });
  });
});

describe("normalization and stats", () => {
  it("reads seed and v1 order lists", () => {
    expect(ordersFromSnapshot({ orders: { x: { order_id: "x", status: "shipped", events: [] } } })).toHaveLength(1);
    expect(ordersFromSnapshot({ orders: [{ order_id: "y", status: "created" }] })[0].events).toEqual([]);
    expect(ordersFromSnapshot([{ status: "created" }])).toEqual([]);
  });

  it("computes statistics and revenue from orders", () => {
    const orders = ordersFromSnapshot([
      { order_id: "1", status: "shipped", payment_amount: 10.5, events: [ev("a", "PaymentCompleted", 1)] },
      { order_id: "2", status: "payment_failed", events: [] },
      { order_id: "3", status: "created", events: [] },
      { order_id: "4", status: "cancelled", payment_amount: 5, events: [ev("b", "PaymentCompleted", 1), ev("c", "PaymentRefunded", 2)] },
    ]);
    const s = computeStats(orders);
    expect(s).toMatchObject({ total: 4, shipped: 1, failed: 1, cancelled: 1, inProgress: 1, revenue: 10.5 });
    expect(combineStats(s, normalizeStats({ total_orders: 40, revenue: 99.5 }))).toMatchObject({ total: 40, revenue: 99.5, shipped: 1 });
  });

  it("counts orders per minute", () => {
    const now = Date.UTC(2026, 0, 1, 0, 10, 30);
    const mk = (id: string, min: number) => ({ order_id: id, status: "created", events: [], created_at: new Date(Date.UTC(2026, 0, 1, 0, min, 5)).toISOString() });
    const buckets = ordersPerMinute(ordersFromSnapshot([mk("a", 10), mk("b", 10), mk("c", 9), mk("d", 1)]), now, 5);
    expect(buckets.map((b) => b.count)).toEqual([0, 0, 0, 1, 2]);
  });

  it("sorts orders newest first", () => {
    const list = sortedOrders({ a: { order_id: "a", status: "created", events: [ev("1", "OrderCreated", 1)] }, b: { order_id: "b", status: "created", events: [ev("2", "OrderCreated", 5)] } });
    expect(list.map((o) => o.order_id)).toEqual(["b", "a"]);
  });

  it("filters the event stream by topic, type and text, newest first", () => {
    const store = new LiveStore();
    store.applyOrderUpdate({ order_id: "abc", status: "shipped", events: [ev("1", "OrderCreated", 0), ev("2", "PaymentCompleted", 1), ev("3", "Shipped", 2)] });
    store.applyOrderUpdate({ order_id: "xyz", status: "created", events: [ev("4", "OrderCreated", 3)] });
    const rows = store.getState().stream;
    expect(filterStream(rows, new Set(), "", "").map((r) => r.id)).toEqual(["4", "3", "2", "1"]);
    expect(filterStream(rows, new Set(["payment", "shipping"]), "", "").map((r) => r.id)).toEqual(["3", "2"]);
    expect(filterStream(rows, new Set(), "OrderCreated", "").map((r) => r.id)).toEqual(["4", "1"]);
    expect(filterStream(rows, new Set(), "", "XY").map((r) => r.id)).toEqual(["4"]);
  });
});

describe("config and API errors", () => {
  it("validates config.json and derives status_ws", () => {
    const cfg = parseConfig({
      order_api: "http://h:1/",
      inventory_api: "http://h:2",
      payment_api: "http://h:3",
      notification_api: "http://h:4",
      shipping_api: "http://h:5",
      status_api: "https://h:6",
    });
    expect(cfg.order_api).toBe("http://h:1");
    expect(cfg.status_ws).toBe("wss://h:6");
    expect(() => parseConfig({ ...cfg, payment_api: 3 })).toThrow(/"payment_api" must be a non-empty string/);
    expect(() => parseConfig({ ...cfg, status_ws: "http://x" })).toThrow(/"status_ws" must start with ws/);
    expect(() => parseConfig([])).toThrow(/JSON object/);
    expect(parseConfig({ ...cfg, dead_letters_url: "http://h:6/v1/dlq" }).dead_letters_url).toBe("http://h:6/v1/dlq");
    expect(() => parseConfig({ ...cfg, dead_letters_url: "ftp://x" })).toThrow(/dead_letters_url/);
  });

  it("shows the service's own error message", () => {
    const e = errorFromResponse(422, JSON.stringify({ error: { code: "unknown_product", message: "unknown product product-9", field: "items[0].product_id" } }), "Placing the order");
    expect(e).toMatchObject({ status: 422, code: "unknown_product", message: "unknown product product-9", field: "items[0].product_id" });
    expect(errorFromResponse(502, "<html>bad gateway</html>", "Loading").message).toBe("Loading failed: HTTP 502 – <html>bad gateway</html>");
  });
});
