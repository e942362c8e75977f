// Low-stock rule for the inventory panels.
import type { Product } from "./types";

/** The service's verdict when it gave one, else stock at or below the alert level (10 without one). */
export function lowStock(p: Product): boolean {
  if (p.low_stock !== undefined) return p.low_stock;
  return p.alert_level !== undefined ? p.stock <= p.alert_level : p.stock <= 10;
}
