// HTTP calls to the services. Every failure becomes an ApiError whose message
// is fit to show: the service's own error message when it sent one
// (`{"error":{"code","message","field"}}`, CONTRACT.md §4), else what went wrong.
import type { AppConfig } from "./config";
import { inventoryFrom, normalizeOrder, ordersFromSnapshot, productsFrom } from "./normalize";
import type { Order, Product } from "./types";

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

/** Builds an ApiError from a non-2xx answer's status and body text. */
export function errorFromResponse(status: number, bodyText: string, what: string): ApiError {
  try {
    const body = JSON.parse(bodyText) as { error?: { code?: string; message?: string; field?: string } | string };
    if (body && typeof body.error === "object" && body.error) {
      const { code, message, field } = body.error;
      return new ApiError(message || `${what} failed (${status})`, status, code || `http_${status}`, field);
    }
    if (body && typeof body.error === "string") return new ApiError(body.error, status, `http_${status}`);
  } catch {
    // not JSON: fall through
  }
  const text = bodyText.trim().slice(0, 200);
  return new ApiError(`${what} failed: HTTP ${status}${text ? ` – ${text}` : ""}`, status, `http_${status}`);
}

async function request<T>(base: string, path: string, what: string, init?: RequestInit): Promise<T> {
  let res: Response;
  try {
    res = await fetch(base + path, { ...init, headers: { Accept: "application/json", ...(init?.headers ?? {}) } });
  } catch {
    throw new ApiError(`${what} failed: cannot reach ${base}`, 0, "network_error");
  }
  const text = await res.text();
  if (!res.ok) throw errorFromResponse(res.status, text, what);
  if (text === "") return undefined as T;
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new ApiError(`${what}: the service answered with something that is not JSON`, res.status, "bad_response");
  }
}

function post<T>(base: string, path: string, what: string, body: unknown, headers: Record<string, string> = {}) {
  return request<T>(base, path, what, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
}

export class Api {
  constructor(readonly cfg: AppConfig) {}

  /** Catalog with current stock: v1, or the seed routes when v1 is absent. */
  async products(): Promise<Product[]> {
    try {
      return productsFrom(await request(this.cfg.inventory_api, "/v1/products", "Loading products"));
    } catch (e) {
      if (!(e instanceof ApiError) || e.status !== 404) throw e;
    }
    const products = productsFrom(await request(this.cfg.inventory_api, "/products", "Loading products"));
    const inventory = inventoryFrom(await request(this.cfg.inventory_api, "/inventory", "Loading inventory"));
    return products.map((p) => (inventory[p.product_id] !== undefined ? { ...p, stock: inventory[p.product_id] } : p));
  }

  async createOrder(items: { product_id: string; quantity: number }[], idempotencyKey: string, customerId?: string): Promise<Order> {
    const body: Record<string, unknown> = { items };
    if (customerId) body.customer_id = customerId;
    const raw = await post<unknown>(this.cfg.order_api, "/v1/orders", "Placing the order", body, {
      "Idempotency-Key": idempotencyKey,
    });
    const order = normalizeOrder(raw);
    if (!order) throw new ApiError("Placing the order: the answer has no order_id", 201, "bad_response");
    return order;
  }

  cancelOrder(orderId: string): Promise<unknown> {
    return post(this.cfg.order_api, `/v1/orders/${encodeURIComponent(orderId)}/cancel`, "Cancelling the order", {});
  }

  async order(orderId: string): Promise<Order> {
    const raw = await request<unknown>(this.cfg.status_api, `/v1/orders/${encodeURIComponent(orderId)}`, "Loading the order");
    const order = normalizeOrder(raw);
    if (!order) throw new ApiError("Loading the order: the answer has no order_id", 200, "bad_response");
    return order;
  }

  async orders(limit = 200): Promise<Order[]> {
    return ordersFromSnapshot(await request(this.cfg.status_api, `/v1/orders?limit=${limit}`, "Loading orders"));
  }

  stats(): Promise<unknown> {
    return request(this.cfg.status_api, "/v1/stats", "Loading statistics");
  }

  restock(productId: string, quantity: number): Promise<{ product_id: string; stock: number }> {
    return post(this.cfg.inventory_api, `/v1/products/${encodeURIComponent(productId)}/restock`, "Restocking", { quantity });
  }

  lowStockAlerts(): Promise<unknown> {
    return request(this.cfg.inventory_api, "/v1/alerts/low-stock", "Loading low-stock alerts");
  }

  shipment(orderId: string): Promise<unknown> {
    return request(this.cfg.shipping_api, `/v1/shipments/${encodeURIComponent(orderId)}`, "Loading the shipment");
  }

  /**
   * Dead-lettered events from config.json's optional `dead_letters_url`
   * (CONTRACT.md names no route for them); undefined when none is configured.
   */
  deadLetters(): Promise<unknown> | undefined {
    if (!this.cfg.dead_letters_url) return undefined;
    return request(this.cfg.dead_letters_url, "", "Loading dead-lettered events");
  }
}
