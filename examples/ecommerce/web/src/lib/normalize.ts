// Turns the JSON the services send (v1 or seed-compatible shapes) into the
// UI's types. Lenient on optional fields, strict on what the UI needs: an
// order without an id is ignored rather than shown half-broken.
import type { Order, OrderEvent, Product, StreamEvent } from "./types";

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === "number" && Number.isFinite(v) ? v : undefined);

const TOPIC_OF: Record<string, string> = {
  OrderCreated: "orders",
  OrderCancellationRequested: "orders",
  OrderCancelled: "orders",
  OrderCancellationRejected: "orders",
  InventoryConfirmed: "inventory",
  InventoryRejected: "inventory",
  InventoryReleased: "inventory",
  StockReplenished: "inventory",
  LowStockDetected: "inventory",
  PaymentCompleted: "payment",
  PaymentFailed: "payment",
  PaymentRefunded: "payment",
  NotificationSent: "notification",
  Shipped: "shipping",
};

export function topicFor(type: string): string {
  return TOPIC_OF[type] ?? "unknown";
}

/** An event's data as an object (the seed routes carry it as a JSON string). */
export function eventData(e: { data?: unknown }): Obj {
  if (isObj(e.data)) return e.data;
  if (typeof e.data === "string") {
    try {
      const v = JSON.parse(e.data);
      return isObj(v) ? v : {};
    } catch {
      return {};
    }
  }
  return {};
}

export function normalizeEvent(raw: unknown): OrderEvent | undefined {
  if (!isObj(raw)) return undefined;
  const type = str(raw.event_type) ?? str(raw.type);
  const timestamp = str(raw.timestamp) ?? str(raw.time);
  if (!type || !timestamp) return undefined;
  return {
    id: str(raw.id),
    event_type: type,
    data: raw.data,
    timestamp,
    topic: str(raw.topic),
    offset: num(raw.offset),
    correlationid: str(raw.correlationid) ?? str(raw.correlation_id),
  };
}

export function normalizeOrder(raw: unknown): Order | undefined {
  if (!isObj(raw)) return undefined;
  const id = str(raw.order_id) ?? str(raw.id);
  if (!id) return undefined;
  const events = Array.isArray(raw.events)
    ? raw.events.map(normalizeEvent).filter((e): e is OrderEvent => e !== undefined)
    : [];
  const items = Array.isArray(raw.items)
    ? raw.items
        .filter(isObj)
        .map((i) => ({
          product_id: str(i.product_id) ?? "",
          quantity: num(i.quantity) ?? 0,
          unit_price: num(i.unit_price),
        }))
    : undefined;
  const order: Order = {
    order_id: id,
    status: str(raw.status) ?? "created",
    events,
    product_id: str(raw.product_id),
    quantity: num(raw.quantity),
    customer_id: str(raw.customer_id),
    items,
    total: num(raw.total),
    currency: str(raw.currency),
    payment_amount: num(raw.payment_amount),
    tracking_number: str(raw.tracking_number) || undefined,
    carrier: str(raw.carrier) || undefined,
    created_at: str(raw.created_at),
    completed_at: str(raw.completed_at) || undefined,
    last_updated: str(raw.last_updated),
    cancellable: typeof raw.cancellable === "boolean" ? raw.cancellable : undefined,
  };
  for (const k of Object.keys(order) as (keyof Order)[]) if (order[k] === undefined) delete order[k];
  return order;
}

/** Orders in a snapshot: an array, `{orders:[...]}`, `{orders:{id:Order}}` or `{id:Order}`. */
export function ordersFromSnapshot(data: unknown): Order[] {
  let list: unknown[] = [];
  if (Array.isArray(data)) list = data;
  else if (isObj(data)) {
    const inner = data.orders ?? data.items;
    if (Array.isArray(inner)) list = inner;
    else if (isObj(inner)) list = Object.values(inner);
    else if (str(data.order_id)) list = [data];
    else list = Object.values(data).filter(isObj);
  }
  return list.map(normalizeOrder).filter((o): o is Order => o !== undefined);
}

/** The order an update carries: the order itself or `{order: ...}`. */
export function orderFromUpdate(data: unknown): Order | undefined {
  if (!isObj(data)) return undefined;
  // A CloudEvent is not an order (its id is the event's).
  if (str(data.specversion) || (str(data.type) && str(data.subject) && !str(data.order_id))) return undefined;
  const order = normalizeOrder(isObj(data.order) ? data.order : data);
  if (!order) return undefined;
  const ev = normalizeEvent(data.event);
  if (ev && !order.events.some((e) => (e.id ?? e.timestamp) === (ev.id ?? ev.timestamp))) order.events.push(ev);
  return order;
}

/** A CloudEvent (structured JSON) as an event-stream row, if `data` is one. */
export function cloudEventToStream(raw: unknown): StreamEvent | undefined {
  if (!isObj(raw)) return undefined;
  const ev = isObj(raw.event) && !str(raw.order_id) && !isObj(raw.order) ? raw.event : raw;
  if (!isObj(ev) || !str(ev.type) || (!str(ev.subject) && !str(ev.specversion))) return undefined;
  const type = str(ev.type)!;
  return {
    key: str(ev.id) ?? `${type}@${str(ev.time)}`,
    id: str(ev.id),
    type,
    subject: str(ev.subject) ?? "",
    time: str(ev.time) ?? "",
    topic: str(ev.topic) ?? topicFor(type),
    correlationId: str(ev.correlationid),
    offset: num(ev.offset),
    data: ev.data,
  };
}

export function streamEventFromOrderEvent(order: Order, e: OrderEvent): StreamEvent {
  const correlation = e.correlationid ?? order.events.find((x) => x.event_type === "OrderCreated")?.id ?? order.events[0]?.id;
  return {
    key: e.id ?? `${order.order_id}:${e.event_type}@${e.timestamp}`,
    id: e.id,
    type: e.event_type,
    subject: order.order_id,
    time: e.timestamp,
    topic: e.topic ?? topicFor(e.event_type),
    correlationId: correlation,
    offset: e.offset,
    data: eventData(e),
  };
}

/**
 * Products from `GET /v1/products` or the seed `GET /products`: an array or
 * `{products: [...]}` / `{products: {id: {...}}}`, each with id, name, price,
 * stock (any of a few common field names).
 */
export function productsFrom(raw: unknown): Product[] {
  let list: unknown[] = [];
  if (Array.isArray(raw)) list = raw;
  else if (isObj(raw)) {
    const inner = raw.products ?? raw.items;
    if (Array.isArray(inner)) list = inner;
    else if (isObj(inner))
      list = Object.entries(inner).map(([id, v]) => (isObj(v) ? { product_id: id, ...v } : { product_id: id }));
    else
      list = Object.entries(raw).map(([id, v]) => (isObj(v) ? { product_id: id, ...v } : { product_id: id }));
  }
  const out: Product[] = [];
  for (const p of list) {
    if (!isObj(p)) continue;
    const id = str(p.product_id) ?? str(p.id);
    if (!id) continue;
    out.push({
      product_id: id,
      name: str(p.name) ?? id,
      price: num(p.price) ?? num(p.unit_price) ?? 0,
      stock: num(p.stock) ?? num(p.available) ?? num(p.quantity) ?? num(p.initial_stock) ?? 0,
      alert_level: num(p.alert_level) ?? num(p.low_stock_threshold) ?? num(p.reorder_level),
      ...(typeof p.low_stock === "boolean" ? { low_stock: p.low_stock } : {}),
    });
  }
  return out.sort((a, b) => a.product_id.localeCompare(b.product_id));
}

/** `{"inventory":{"product-1":100,...}}` (seed `GET /inventory`) as a map. */
export function inventoryFrom(raw: unknown): Record<string, number> {
  const inv = isObj(raw) && isObj(raw.inventory) ? raw.inventory : raw;
  const out: Record<string, number> = {};
  if (isObj(inv)) for (const [k, v] of Object.entries(inv)) if (num(v) !== undefined) out[k] = v as number;
  return out;
}
