// The order-tracking timeline: the saga's happy path as steps, and the
// compensation branch (payment failure, cancellation) as a separate list
// drawn beside it. Derived only from the order's events.
import { eventData } from "./normalize";
import type { Order, OrderEvent } from "./types";

export type StepState = "done" | "failed" | "pending" | "skipped";

export interface TimelineStep {
  id: string;
  label: string;
  state: StepState;
  time?: string;
  detail?: string;
}

export interface Timeline {
  steps: TimelineStep[];
  branch: TimelineStep[];
  /** What ended the saga early, if anything. */
  outcome?: string;
}

function find(events: readonly OrderEvent[], type: string, pred?: (d: Record<string, unknown>) => boolean) {
  return events.find((e) => e.event_type === type && (!pred || pred(eventData(e))));
}

function money(v: unknown): string | undefined {
  return typeof v === "number" ? `$${v.toFixed(2)}` : undefined;
}

export function buildTimeline(order: Order): Timeline {
  const ev = order.events ?? [];
  const created = find(ev, "OrderCreated");
  const invOk = find(ev, "InventoryConfirmed");
  const invNo = find(ev, "InventoryRejected");
  const payOk = find(ev, "PaymentCompleted");
  const payNo = find(ev, "PaymentFailed");
  const notified = find(ev, "NotificationSent", (d) => d.kind === undefined || d.kind === "order_confirmed");
  const shipped = find(ev, "Shipped");
  const cancelReq = find(ev, "OrderCancellationRequested");
  const cancelled = find(ev, "OrderCancelled");
  const cancelRej = find(ev, "OrderCancellationRejected");
  const released = find(ev, "InventoryReleased");
  const refunded = find(ev, "PaymentRefunded");

  const ended = !!(invNo || payNo || cancelled);
  const step = (id: string, label: string, ok?: OrderEvent, bad?: OrderEvent, detail?: string, badDetail?: string): TimelineStep => {
    if (ok) return { id, label, state: "done", time: ok.timestamp, detail };
    if (bad) return { id, label, state: "failed", time: bad.timestamp, detail: badDetail };
    return { id, label, state: ended ? "skipped" : "pending" };
  };

  const createdData = created ? eventData(created) : {};
  const invNoData = invNo ? eventData(invNo) : {};
  const payOkData = payOk ? eventData(payOk) : {};
  const payNoData = payNo ? eventData(payNo) : {};
  const shippedData = shipped ? eventData(shipped) : {};

  const steps: TimelineStep[] = [
    step("created", "Order created", created, undefined,
      money(createdData.total) ? `Total ${money(createdData.total)}` : undefined),
    step("inventory", "Inventory reserved", invOk, invNo, undefined,
      [invNoData.reason, invNoData.product_id ? `${invNoData.product_id}: ${invNoData.requested} requested, ${invNoData.available} available` : undefined]
        .filter(Boolean).join(" – ")),
    step("payment", "Payment", payOk, payNo, money(payOkData.amount) ? `Charged ${money(payOkData.amount)}` : undefined,
      [payNoData.reason, money(payNoData.amount)].filter(Boolean).join(" – ")),
    step("notification", "Customer notified", notified, undefined, notified ? String(eventData(notified).message ?? "") || undefined : undefined),
    step("shipped", "Shipped", shipped, undefined,
      shipped ? [shippedData.carrier ?? order.carrier, shippedData.tracking_number ?? order.tracking_number].filter(Boolean).join(" ") || undefined : undefined),
  ];
  const shippedNotice = find(ev, "NotificationSent", (d) => d.kind === "order_shipped");
  if (shippedNotice && steps[4].state === "done") {
    steps[4] = { ...steps[4], detail: [steps[4].detail, "customer notified"].filter(Boolean).join(" · ") };
  }
  // The order exists, so it was created even if its first event is not known yet.
  if (!created) steps[0] = { ...steps[0], state: "done", time: order.created_at };

  const branch: TimelineStep[] = [];
  if (cancelReq) {
    branch.push({ id: "cancel-requested", label: "Cancellation requested", state: "done", time: cancelReq.timestamp,
      detail: String(eventData(cancelReq).reason ?? "") || undefined });
  }
  if (cancelRej) {
    branch.push({ id: "cancel-rejected", label: "Cancellation rejected", state: "failed", time: cancelRej.timestamp,
      detail: String(eventData(cancelRej).reason ?? "") || undefined });
  }
  if (cancelled) {
    branch.push({ id: "cancelled", label: "Order cancelled", state: "done", time: cancelled.timestamp,
      detail: String(eventData(cancelled).reason ?? "") || undefined });
  }
  if (released) {
    branch.push({ id: "released", label: "Stock released", state: "done", time: released.timestamp,
      detail: String(eventData(released).reason ?? "") || undefined });
  } else if (payNo || (cancelled && invOk)) {
    branch.push({ id: "released", label: "Stock released", state: "pending" });
  }
  if (refunded) {
    branch.push({ id: "refunded", label: "Payment refunded", state: "done", time: refunded.timestamp,
      detail: money(eventData(refunded).amount) });
  } else if (cancelled && payOk) {
    branch.push({ id: "refunded", label: "Payment refunded", state: "pending" });
  }
  for (const e of ev) {
    // Failure and cancellation notices belong to the compensation; the shipping notice does not.
    if (e.event_type === "NotificationSent" && e !== notified && eventData(e).kind !== "order_shipped") {
      const d = eventData(e);
      branch.push({ id: `notify-${e.id ?? e.timestamp}`, label: `Customer notified (${String(d.kind ?? "")})`, state: "done", time: e.timestamp,
        detail: String(d.message ?? "") || undefined });
    }
  }
  branch.sort((a, b) => (a.time && b.time ? Date.parse(a.time) - Date.parse(b.time) : a.time ? -1 : b.time ? 1 : 0));

  let outcome: string | undefined;
  if (invNo) outcome = "Inventory rejected the order; nothing was charged.";
  else if (payNo) outcome = "Payment failed; the reserved stock is released.";
  else if (cancelled) outcome = "The order was cancelled.";
  return { steps, branch, outcome };
}
