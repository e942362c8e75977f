// The UI's live state: every order, the event stream, server statistics,
// products and the connection. Fed by the `orders`, `stats` and `order:<id>`
// channels; read by React through subscribe/getState (useSyncExternalStore).
// Single-threaded (browser main thread); listeners run synchronously.
import type { ConnectionInfo } from "./realtime";
import { cloudEventToStream, orderFromUpdate, ordersFromSnapshot, streamEventFromOrderEvent } from "./normalize";
import { eventKey, mergeOrder } from "./status";
import { normalizeStats } from "./stats";
import type { Order, Product, Stats, StreamEvent } from "./types";

export const STREAM_LIMIT = 2000;

const INVENTORY_EVENTS = new Set(["InventoryConfirmed", "InventoryReleased", "StockReplenished", "LowStockDetected"]);

export interface LiveState {
  orders: Record<string, Order>;
  /** Event stream rows, oldest first, at most STREAM_LIMIT. */
  stream: StreamEvent[];
  serverStats?: Partial<Stats>;
  products: Product[];
  productsError?: string;
  connection?: ConnectionInfo;
}

/** The product with a newer stock level; the service's low-stock verdict was for the old one. */
function withStock(p: Product, stock: number | undefined): Product {
  if (stock === undefined || stock === p.stock) return p;
  const { low_stock: _stale, ...rest } = p;
  return { ...rest, stock };
}

export class LiveStore {
  private state: LiveState = { orders: {}, stream: [], products: [] };
  private readonly listeners = new Set<() => void>();
  private readonly streamKeys = new Set<string>();
  /** Called when an event shows that stock changed and the stats carry no inventory. */
  onInventoryChanged?: () => void;

  getState = (): LiveState => this.state;

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  private set(patch: Partial<LiveState>): void {
    this.state = { ...this.state, ...patch };
    for (const l of [...this.listeners]) l();
  }

  setConnection(info: ConnectionInfo): void {
    this.set({ connection: info });
  }

  setProducts(products: Product[]): void {
    const inv = this.state.serverStats?.inventory;
    this.set({
      products: inv ? products.map((p) => withStock(p, inv[p.product_id])) : products,
      productsError: undefined,
    });
  }

  setProductsError(message: string): void {
    this.set({ productsError: message });
  }

  /** A snapshot of the `orders` channel; `replace` drops orders it does not list (new epoch). */
  applyOrdersSnapshot(data: unknown, replace: boolean): void {
    const incoming = ordersFromSnapshot(data);
    this.mergeOrders(incoming, replace);
  }

  /** An update on `orders` or `order:<id>`: an order, or a CloudEvent. */
  applyOrderUpdate(data: unknown): void {
    const order = orderFromUpdate(data);
    if (order) {
      this.mergeOrders([order], false);
      return;
    }
    const ev = cloudEventToStream(data);
    if (ev) {
      this.addStream([ev]);
      if (INVENTORY_EVENTS.has(ev.type)) this.inventoryChanged();
    }
  }

  applyStats(data: unknown): void {
    const stats = normalizeStats(data);
    const patch: Partial<LiveState> = { serverStats: stats };
    if (stats.inventory) {
      const inv = stats.inventory;
      patch.products = this.state.products.map((p) => withStock(p, inv[p.product_id]));
    }
    this.set(patch);
  }

  private mergeOrders(incoming: Order[], replace: boolean): void {
    const orders: Record<string, Order> = replace ? {} : { ...this.state.orders };
    const fresh: StreamEvent[] = [];
    let stockMoved = false;
    for (const o of incoming) {
      const before = this.state.orders[o.order_id];
      const merged = mergeOrder(replace ? undefined : before, o);
      orders[o.order_id] = merged;
      for (const e of merged.events) {
        const row = streamEventFromOrderEvent(merged, e);
        if (!this.streamKeys.has(row.key)) {
          fresh.push(row);
          const known = before?.events.some((b) => eventKey(b) === eventKey(e));
          if (!known && INVENTORY_EVENTS.has(e.event_type)) stockMoved = true;
        }
      }
    }
    this.state = { ...this.state, orders };
    this.addStream(fresh);
    if (stockMoved) this.inventoryChanged();
  }

  private addStream(rows: StreamEvent[]): void {
    const add = rows.filter((r) => !this.streamKeys.has(r.key));
    if (add.length === 0) {
      this.set({});
      return;
    }
    for (const r of add) this.streamKeys.add(r.key);
    let stream = [...this.state.stream, ...add].sort((a, b) => (Date.parse(a.time) || 0) - (Date.parse(b.time) || 0));
    if (stream.length > STREAM_LIMIT) {
      for (const r of stream.slice(0, stream.length - STREAM_LIMIT)) this.streamKeys.delete(r.key);
      stream = stream.slice(stream.length - STREAM_LIMIT);
    }
    this.set({ stream });
  }

  private inventoryChanged(): void {
    if (!this.state.serverStats?.inventory) this.onInventoryChanged?.();
  }
}

/** Orders newest first. */
export function sortedOrders(orders: Record<string, Order>): Order[] {
  const t = (o: Order) => Date.parse(o.created_at ?? o.events[0]?.timestamp ?? o.last_updated ?? "") || 0;
  return Object.values(orders).sort((a, b) => t(b) - t(a) || b.order_id.localeCompare(a.order_id));
}
