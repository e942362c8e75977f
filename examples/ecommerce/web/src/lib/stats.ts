// Dashboard statistics: read from the `stats` channel when it carries them,
// and computed from the live order list otherwise.
import { isFailure } from "./status";
import type { Order, Stats } from "./types";

function num(v: unknown): number | undefined {
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}

function first(obj: Record<string, unknown>, keys: string[]): number | undefined {
  for (const k of keys) {
    const v = num(obj[k]);
    if (v !== undefined) return v;
  }
  return undefined;
}

export function computeStats(orders: readonly Order[]): Stats {
  const byStatus: Record<string, number> = {};
  let revenueCents = 0;
  for (const o of orders) {
    byStatus[o.status] = (byStatus[o.status] ?? 0) + 1;
    const paid = o.events?.some((e) => e.event_type === "PaymentCompleted");
    const refunded = o.events?.some((e) => e.event_type === "PaymentRefunded");
    if (paid && !refunded) revenueCents += Math.round((o.payment_amount ?? o.total ?? 0) * 100);
  }
  const failed = (byStatus.inventory_rejected ?? 0) + (byStatus.payment_failed ?? 0);
  const cancelled = byStatus.cancelled ?? 0;
  const shipped = byStatus.shipped ?? 0;
  return {
    total: orders.length,
    shipped,
    failed,
    cancelled,
    inProgress: orders.length - shipped - failed - cancelled,
    revenue: revenueCents / 100,
    byStatus,
  };
}

/**
 * Reads a stats message from the API (`GET /v1/stats`, `GET /statistics` or a
 * `stats` channel update). Unknown shapes yield undefined fields, which the
 * dashboard fills from the computed statistics.
 */
export function normalizeStats(raw: unknown): Partial<Stats> {
  if (!raw || typeof raw !== "object") return {};
  const o = raw as Record<string, unknown>;
  const byStatusRaw = (o.by_status ?? o.status_counts ?? o.orders_by_status ?? o.statuses) as unknown;
  const byStatus: Record<string, number> = {};
  if (byStatusRaw && typeof byStatusRaw === "object") {
    for (const [k, v] of Object.entries(byStatusRaw as Record<string, unknown>)) {
      const n = num(v);
      if (n !== undefined) byStatus[k] = n;
    }
  }
  const out: Partial<Stats> = {};
  const total = first(o, ["total_orders", "total", "orders"]);
  if (total !== undefined) out.total = total;
  const shipped = first(o, ["shipped", "shipped_orders"]) ?? byStatus.shipped;
  if (shipped !== undefined) out.shipped = shipped;
  const cancelled = first(o, ["cancelled", "cancelled_orders"]) ?? byStatus.cancelled;
  if (cancelled !== undefined) out.cancelled = cancelled;
  let failed = first(o, ["failed", "failed_orders"]);
  if (failed === undefined && Object.keys(byStatus).length > 0) {
    failed = Object.entries(byStatus)
      .filter(([k]) => isFailure(k) && k !== "cancelled")
      .reduce((s, [, v]) => s + v, 0);
  }
  if (failed !== undefined) out.failed = failed;
  const inProgress = first(o, ["in_progress", "pending", "processing"]);
  if (inProgress !== undefined) out.inProgress = inProgress;
  else if (out.total !== undefined && shipped !== undefined && failed !== undefined)
    out.inProgress = Math.max(0, out.total - shipped - failed - (cancelled ?? 0));
  const revenue = first(o, ["revenue", "total_revenue"]);
  if (revenue !== undefined) out.revenue = revenue;
  if (Object.keys(byStatus).length > 0) out.byStatus = byStatus;
  const inv = o.inventory ?? o.stock;
  if (inv && typeof inv === "object" && !Array.isArray(inv)) {
    const inventory: Record<string, number> = {};
    for (const [k, v] of Object.entries(inv as Record<string, unknown>)) {
      const n = num(v) ?? num((v as Record<string, unknown> | null)?.stock);
      if (n !== undefined) inventory[k] = n;
    }
    out.inventory = inventory;
  }
  return out;
}

/** Server figures where known, computed ones for the rest. */
export function combineStats(computed: Stats, server: Partial<Stats> | undefined): Stats {
  if (!server) return computed;
  return {
    ...computed,
    ...Object.fromEntries(Object.entries(server).filter(([, v]) => v !== undefined)),
  } as Stats;
}

export function orderCreatedAt(o: Order): number | undefined {
  const t = o.created_at ?? o.events?.find((e) => e.event_type === "OrderCreated")?.timestamp ?? o.events?.[0]?.timestamp;
  if (!t) return undefined;
  const ms = Date.parse(t);
  return Number.isNaN(ms) ? undefined : ms;
}

export interface MinuteBucket {
  /** Start of the minute, ms since the epoch. */
  start: number;
  count: number;
}

/** Orders created in each of the last `minutes` minutes up to `now` (oldest first). */
export function ordersPerMinute(orders: readonly Order[], now: number, minutes = 15): MinuteBucket[] {
  const currentMinute = Math.floor(now / 60_000) * 60_000;
  const firstMinute = currentMinute - (minutes - 1) * 60_000;
  const buckets: MinuteBucket[] = [];
  for (let i = 0; i < minutes; i++) buckets.push({ start: firstMinute + i * 60_000, count: 0 });
  for (const o of orders) {
    const t = orderCreatedAt(o);
    if (t === undefined || t < firstMinute || t >= currentMinute + 60_000) continue;
    buckets[Math.floor((t - firstMinute) / 60_000)].count++;
  }
  return buckets;
}
