// Price calculation and order-form validation. Money is computed in integer
// cents, like the services do (CONTRACT.md §2), and only formatted at the end.
import type { Product } from "./types";

export const MIN_QUANTITY = 1;
export const MAX_QUANTITY = 1000;
export const MAX_ITEMS = 50;
/** Payment declines orders whose total exceeds this (CONTRACT.md §3). */
export const PAYMENT_LIMIT_CENTS = 200_000;

export interface Line {
  product_id: string;
  /** Raw text of the quantity field, so that bad input can be reported. */
  quantity: string;
}

export interface LineCheck {
  quantity?: number;
  unitCents?: number;
  lineCents?: number;
  error?: string;
}

export interface FormCheck {
  lines: LineCheck[];
  totalCents: number;
  errors: string[];
  warnings: string[];
  ok: boolean;
}

export function toCents(amount: number): number {
  return Math.round(amount * 100);
}

export function formatCents(cents: number, currency = "USD"): string {
  return new Intl.NumberFormat("en-US", { style: "currency", currency }).format(cents / 100);
}

export function formatMoney(amount: number | undefined, currency = "USD"): string {
  if (amount === undefined || Number.isNaN(amount)) return "—";
  return formatCents(toCents(amount), currency);
}

/** Parses a quantity field: a whole number 1..1000, else an error message. */
export function parseQuantity(text: string): { value?: number; error?: string } {
  const t = text.trim();
  if (t === "") return { error: "Enter a quantity" };
  if (!/^\d+$/.test(t)) return { error: "Quantity must be a whole number" };
  const n = Number(t);
  if (n < MIN_QUANTITY) return { error: `Quantity must be at least ${MIN_QUANTITY}` };
  if (n > MAX_QUANTITY) return { error: `Quantity must be at most ${MAX_QUANTITY}` };
  return { value: n };
}

export function lineTotalCents(unitPrice: number, quantity: number): number {
  return toCents(unitPrice) * quantity;
}

/**
 * Checks the whole order form against the catalog and current stock: every
 * line's quantity, the stock of each product summed over the lines that
 * order it, the item limit; and computes each line's and the total price.
 */
export function checkOrderForm(lines: readonly Line[], products: readonly Product[]): FormCheck {
  const byId = new Map(products.map((p) => [p.product_id, p]));
  const wanted = new Map<string, number>();
  const out: LineCheck[] = lines.map((line) => {
    const product = byId.get(line.product_id);
    if (!product) return { error: line.product_id ? `Unknown product ${line.product_id}` : "Choose a product" };
    const q = parseQuantity(line.quantity);
    if (q.error || q.value === undefined) return { unitCents: toCents(product.price), error: q.error };
    wanted.set(product.product_id, (wanted.get(product.product_id) ?? 0) + q.value);
    return {
      quantity: q.value,
      unitCents: toCents(product.price),
      lineCents: lineTotalCents(product.price, q.value),
    };
  });
  const errors: string[] = [];
  const warnings: string[] = [];
  if (lines.length === 0) errors.push("Add at least one item");
  if (lines.length > MAX_ITEMS) errors.push(`An order holds at most ${MAX_ITEMS} items`);
  for (const [id, qty] of wanted) {
    const product = byId.get(id)!;
    if (qty > product.stock) {
      const msg = `Only ${product.stock} ${product.name} in stock (${qty} requested)`;
      errors.push(msg);
      out.forEach((c, i) => {
        if (lines[i].product_id === id && !c.error) c.error = msg;
      });
    }
  }
  const totalCents = out.reduce((sum, c) => sum + (c.lineCents ?? 0), 0);
  if (totalCents > PAYMENT_LIMIT_CENTS) {
    warnings.push(
      `Totals over ${formatCents(PAYMENT_LIMIT_CENTS)} are declined by the payment service; the reserved stock will be released.`,
    );
  }
  const ok = errors.length === 0 && out.every((c) => !c.error);
  return { lines: out, totalCents, errors, warnings, ok };
}
