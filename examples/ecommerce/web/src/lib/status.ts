// Order status rules (CONTRACT.md §3): the status is monotonic and never
// moves backwards; shipped and the three failures are terminal.
import type { Order, OrderEvent, OrderStatus } from "./types";

export const HAPPY_PATH: readonly OrderStatus[] = [
  "created",
  "inventory_confirmed",
  "payment_completed",
  "notification_sent",
  "shipped",
];

export const FAILURES: readonly OrderStatus[] = ["inventory_rejected", "payment_failed", "cancelled"];

const LABELS: Record<string, string> = {
  created: "Created",
  inventory_confirmed: "Inventory reserved",
  payment_completed: "Paid",
  notification_sent: "Customer notified",
  shipped: "Shipped",
  inventory_rejected: "Out of stock",
  payment_failed: "Payment failed",
  cancelled: "Cancelled",
};

export function statusLabel(status: string): string {
  return LABELS[status] ?? status.replace(/_/g, " ");
}

/** Rank used to compare statuses: failures outrank every happy-path step. */
export function statusRank(status: string): number {
  const i = HAPPY_PATH.indexOf(status as OrderStatus);
  if (i >= 0) return i;
  if (FAILURES.includes(status as OrderStatus)) return 100;
  return -1;
}

export function isTerminal(status: string): boolean {
  return status === "shipped" || FAILURES.includes(status as OrderStatus);
}

export function isFailure(status: string): boolean {
  return FAILURES.includes(status as OrderStatus);
}

/**
 * The status to keep when `incoming` arrives while `current` is known:
 * a terminal status is never left, otherwise the further one wins.
 */
export function mergeStatus(current: string | undefined, incoming: string | undefined): string {
  if (!current) return incoming ?? "created";
  if (!incoming) return current;
  if (isTerminal(current)) return current;
  return statusRank(incoming) >= statusRank(current) ? incoming : current;
}

/** Status implied by an event type, or undefined when it does not move the status. */
export function statusForEvent(type: string): OrderStatus | undefined {
  switch (type) {
    case "OrderCreated":
      return "created";
    case "InventoryConfirmed":
      return "inventory_confirmed";
    case "InventoryRejected":
      return "inventory_rejected";
    case "PaymentCompleted":
      return "payment_completed";
    case "PaymentFailed":
      return "payment_failed";
    case "NotificationSent":
      return "notification_sent";
    case "Shipped":
      return "shipped";
    case "OrderCancelled":
      return "cancelled";
    default:
      return undefined;
  }
}

export function eventKey(e: OrderEvent): string {
  return e.id ?? `${e.event_type}@${e.timestamp}`;
}

function compareEvents(a: OrderEvent, b: OrderEvent): number {
  const ta = Date.parse(a.timestamp);
  const tb = Date.parse(b.timestamp);
  if (!Number.isNaN(ta) && !Number.isNaN(tb) && ta !== tb) return ta - tb;
  return 0;
}

/** Union of two event lists without duplicates, in time order (stable). */
export function mergeEvents(a: readonly OrderEvent[], b: readonly OrderEvent[]): OrderEvent[] {
  const seen = new Map<string, OrderEvent>();
  for (const e of a) seen.set(eventKey(e), e);
  for (const e of b) if (!seen.has(eventKey(e))) seen.set(eventKey(e), e);
  return [...seen.values()].sort(compareEvents);
}

/**
 * Merges a newer view of an order into the one already held. Fields present
 * in `incoming` win, except that the status never moves backwards and no
 * event already seen is dropped.
 */
export function mergeOrder(existing: Order | undefined, incoming: Order): Order {
  if (!existing) {
    return { ...incoming, events: mergeEvents([], incoming.events ?? []) };
  }
  const merged: Order = { ...existing };
  for (const [k, v] of Object.entries(incoming)) {
    if (v !== undefined && v !== null) (merged as unknown as Record<string, unknown>)[k] = v;
  }
  merged.status = mergeStatus(existing.status, incoming.status);
  merged.events = mergeEvents(existing.events ?? [], incoming.events ?? []);
  if (isTerminal(merged.status) && incoming.cancellable === undefined) merged.cancellable = false;
  return merged;
}

/** Whether the UI offers the cancel button for this order. */
export function isCancellable(order: Order): boolean {
  if (isTerminal(order.status)) return false;
  if (order.events?.some((e) => e.event_type === "OrderCancellationRequested")) return false;
  return order.cancellable ?? true;
}
