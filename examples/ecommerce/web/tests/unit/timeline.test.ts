import { describe, expect, it } from "vitest";
import { buildTimeline } from "@/lib/timeline";
import type { Order } from "@/lib/types";

const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();
const e = (type: string, s: number, data: Record<string, unknown> = {}) => ({ id: `${type}-${s}`, event_type: type, timestamp: at(s), data: JSON.stringify(data) });

describe("timeline", () => {
  it("shows the happy path with timestamps", () => {
    const o: Order = {
      order_id: "o1",
      status: "shipped",
      events: [
        e("OrderCreated", 0, { total: 59.98 }),
        e("InventoryConfirmed", 1),
        e("PaymentCompleted", 2, { amount: 59.98 }),
        e("NotificationSent", 3, { kind: "order_confirmed", message: "Your order is confirmed" }),
        e("Shipped", 4, { carrier: "UPS", tracking_number: "TRK0A1B2C3D" }),
        e("NotificationSent", 5, { kind: "order_shipped", message: "Your order has shipped" }),
      ],
    };
    const t = buildTimeline(o);
    expect(t.steps.map((s) => s.state)).toEqual(["done", "done", "done", "done", "done"]);
    expect(t.steps.map((s) => s.time)).toEqual([0, 1, 2, 3, 4].map(at));
    expect(t.steps[4].detail).toBe("UPS TRK0A1B2C3D · customer notified");
    expect(t.steps[2].detail).toBe("Charged $59.98");
    expect(t.branch).toEqual([]);
    expect(t.outcome).toBeUndefined();
  });

  it("draws a payment failure with the stock release as compensation", () => {
    const o: Order = {
      order_id: "o2",
      status: "payment_failed",
      events: [
        e("OrderCreated", 0),
        e("InventoryConfirmed", 1),
        e("PaymentFailed", 2, { reason: "amount exceeds limit", amount: 2099.79 }),
        e("InventoryReleased", 3, { reason: "payment failed" }),
        e("NotificationSent", 4, { kind: "order_failed", message: "Payment failed" }),
      ],
    };
    const t = buildTimeline(o);
    expect(t.steps.map((s) => s.state)).toEqual(["done", "done", "failed", "skipped", "skipped"]);
    expect(t.steps[2].detail).toBe("amount exceeds limit – $2099.79");
    expect(t.branch.map((s) => [s.id, s.state])).toEqual([
      ["released", "done"],
      ["notify-NotificationSent-4", "done"],
    ]);
    expect(t.outcome).toMatch(/Payment failed/);
  });

  it("shows a pending release until InventoryReleased arrives", () => {
    const t = buildTimeline({ order_id: "o", status: "payment_failed", events: [e("OrderCreated", 0), e("InventoryConfirmed", 1), e("PaymentFailed", 2)] });
    expect(t.branch).toEqual([{ id: "released", label: "Stock released", state: "pending" }]);
  });

  it("draws a cancellation with refund", () => {
    const o: Order = {
      order_id: "o3",
      status: "cancelled",
      events: [
        e("OrderCreated", 0),
        e("InventoryConfirmed", 1),
        e("PaymentCompleted", 2),
        e("OrderCancellationRequested", 3, { reason: "customer request" }),
        e("OrderCancelled", 4, { reason: "customer request" }),
        e("InventoryReleased", 5),
        e("PaymentRefunded", 6, { amount: 29.99 }),
      ],
    };
    const t = buildTimeline(o);
    expect(t.steps.map((s) => s.state)).toEqual(["done", "done", "done", "skipped", "skipped"]);
    expect(t.branch.map((s) => s.id)).toEqual(["cancel-requested", "cancelled", "released", "refunded"]);
    expect(t.branch[3].detail).toBe("$29.99");
  });

  it("shows an inventory rejection with its reason", () => {
    const t = buildTimeline({
      order_id: "o4",
      status: "inventory_rejected",
      events: [e("OrderCreated", 0), e("InventoryRejected", 1, { reason: "Insufficient stock", product_id: "product-3", requested: 30, available: 25 })],
    });
    expect(t.steps[1]).toMatchObject({ state: "failed", detail: "Insufficient stock – product-3: 30 requested, 25 available" });
    expect(t.steps.slice(2).every((s) => s.state === "skipped")).toBe(true);
  });

  it("keeps later steps pending while the saga runs", () => {
    const t = buildTimeline({ order_id: "o5", status: "inventory_confirmed", events: [e("OrderCreated", 0), e("InventoryConfirmed", 1)] });
    expect(t.steps.map((s) => s.state)).toEqual(["done", "done", "pending", "pending", "pending"]);
  });
});
