import { describe, expect, it } from "vitest";
import { isCancellable, isTerminal, mergeEvents, mergeOrder, mergeStatus, statusForEvent, statusRank } from "@/lib/status";
import type { Order } from "@/lib/types";

describe("status ordering", () => {
  it("ranks the happy path in saga order", () => {
    const path = ["created", "inventory_confirmed", "payment_completed", "notification_sent", "shipped"];
    for (let i = 1; i < path.length; i++) expect(statusRank(path[i])).toBeGreaterThan(statusRank(path[i - 1]));
  });

  it("never moves backwards", () => {
    expect(mergeStatus("payment_completed", "inventory_confirmed")).toBe("payment_completed");
    expect(mergeStatus("payment_completed", "notification_sent")).toBe("notification_sent");
    expect(mergeStatus("created", "created")).toBe("created");
  });

  it("keeps shipped when NotificationSent arrives after Shipped", () => {
    expect(mergeStatus("shipped", "notification_sent")).toBe("shipped");
  });

  it("never leaves a terminal status", () => {
    for (const t of ["shipped", "payment_failed", "inventory_rejected", "cancelled"]) {
      expect(isTerminal(t)).toBe(true);
      expect(mergeStatus(t, "created")).toBe(t);
      expect(mergeStatus(t, "shipped")).toBe(t);
    }
  });

  it("moves to a failure from any non-terminal status", () => {
    expect(mergeStatus("inventory_confirmed", "payment_failed")).toBe("payment_failed");
    expect(mergeStatus("notification_sent", "cancelled")).toBe("cancelled");
  });

  it("takes the incoming status when none is known", () => {
    expect(mergeStatus(undefined, "payment_completed")).toBe("payment_completed");
    expect(mergeStatus(undefined, undefined)).toBe("created");
  });

  it("maps events to statuses", () => {
    expect(statusForEvent("Shipped")).toBe("shipped");
    expect(statusForEvent("PaymentFailed")).toBe("payment_failed");
    expect(statusForEvent("InventoryReleased")).toBeUndefined();
  });
});

const ev = (id: string, type: string, t: string) => ({ id, event_type: type, timestamp: t });

describe("mergeOrder", () => {
  const base: Order = {
    order_id: "o1",
    status: "payment_completed",
    events: [ev("1", "OrderCreated", "2026-01-01T00:00:00.000Z"), ev("2", "InventoryConfirmed", "2026-01-01T00:00:01.000Z")],
  };

  it("keeps the further status and every event when an older view arrives", () => {
    const older: Order = { order_id: "o1", status: "created", events: [ev("1", "OrderCreated", "2026-01-01T00:00:00.000Z")] };
    const m = mergeOrder(base, older);
    expect(m.status).toBe("payment_completed");
    expect(m.events.map((e) => e.id)).toEqual(["1", "2"]);
  });

  it("adds new events in time order without duplicates", () => {
    const newer: Order = {
      order_id: "o1",
      status: "shipped",
      tracking_number: "TRK0000ABCD",
      events: [ev("4", "Shipped", "2026-01-01T00:00:03.000Z"), ev("3", "PaymentCompleted", "2026-01-01T00:00:02.000Z"), ev("2", "InventoryConfirmed", "2026-01-01T00:00:01.000Z")],
    };
    const m = mergeOrder(base, newer);
    expect(m.status).toBe("shipped");
    expect(m.tracking_number).toBe("TRK0000ABCD");
    expect(m.events.map((e) => e.id)).toEqual(["1", "2", "3", "4"]);
  });

  it("dedups events without ids by type and time", () => {
    const a = [{ event_type: "OrderCreated", timestamp: "2026-01-01T00:00:00.000Z" }];
    expect(mergeEvents(a, [...a])).toHaveLength(1);
  });

  it("offers cancel only before a terminal status and before a cancellation request", () => {
    expect(isCancellable(base)).toBe(true);
    expect(isCancellable({ ...base, cancellable: false })).toBe(false);
    expect(isCancellable({ ...base, status: "shipped" })).toBe(false);
    expect(isCancellable({ ...base, events: [...base.events, ev("9", "OrderCancellationRequested", "2026-01-01T00:00:05.000Z")] })).toBe(false);
  });
});
