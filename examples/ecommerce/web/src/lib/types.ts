// Shapes the UI reads from the eventshop APIs (CONTRACT.md §4/§5). Every
// field the v1 API adds over the seed-compatible shape is optional, so the UI
// also works against the seed routes.

export type OrderStatus =
  | "created"
  | "inventory_confirmed"
  | "payment_completed"
  | "notification_sent"
  | "shipped"
  | "inventory_rejected"
  | "payment_failed"
  | "cancelled";

export interface OrderEvent {
  id?: string;
  event_type: string;
  /** The event's data: a JSON string on the seed routes, an object on v1. */
  data?: unknown;
  timestamp: string;
  topic?: string;
  offset?: number;
  correlationid?: string;
}

export interface OrderItem {
  product_id: string;
  quantity: number;
  unit_price?: number;
}

export interface Order {
  order_id: string;
  status: OrderStatus | string;
  events: OrderEvent[];
  product_id?: string;
  quantity?: number;
  customer_id?: string;
  items?: OrderItem[];
  total?: number;
  currency?: string;
  payment_amount?: number;
  tracking_number?: string;
  carrier?: string;
  created_at?: string;
  completed_at?: string;
  last_updated?: string;
  cancellable?: boolean;
}

export interface Product {
  product_id: string;
  name: string;
  /** Unit price in dollars (two decimals). */
  price: number;
  stock: number;
  alert_level?: number;
  /** The inventory service's own verdict, when it gives one. */
  low_stock?: boolean;
}

export interface Stats {
  total: number;
  inProgress: number;
  shipped: number;
  failed: number;
  cancelled: number;
  revenue: number;
  byStatus: Record<string, number>;
  /** Stock per product id, when the stats message carries it. */
  inventory?: Record<string, number>;
}

/** One row of the event stream view. */
export interface StreamEvent {
  key: string;
  id?: string;
  type: string;
  subject: string;
  time: string;
  topic: string;
  correlationId?: string;
  offset?: number;
  data?: unknown;
}
