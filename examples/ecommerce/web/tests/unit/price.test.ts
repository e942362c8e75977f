import { describe, expect, it } from "vitest";
import { checkOrderForm, formatCents, lineTotalCents, parseQuantity, toCents } from "@/lib/price";
import type { Product } from "@/lib/types";

const catalog: Product[] = [
  { product_id: "product-1", name: "Premium Widget", price: 29.99, stock: 100, alert_level: 20 },
  { product_id: "product-2", name: "Deluxe Gadget", price: 49.99, stock: 50, alert_level: 10 },
  { product_id: "product-3", name: "Elite Device", price: 99.99, stock: 25, alert_level: 5 },
];

describe("price calculation", () => {
  it("computes in integer cents", () => {
    expect(toCents(29.99)).toBe(2999);
    expect(lineTotalCents(29.99, 3)).toBe(8997);
    // 0.1 + 0.2 style drift must not leak into totals
    expect(lineTotalCents(0.1, 3)).toBe(30);
    expect(formatCents(8997)).toBe("$89.97");
    expect(formatCents(209979)).toBe("$2,099.79");
  });

  it("sums several items", () => {
    const c = checkOrderForm(
      [
        { product_id: "product-1", quantity: "2" },
        { product_id: "product-2", quantity: "1" },
        { product_id: "product-3", quantity: "3" },
      ],
      catalog,
    );
    expect(c.ok).toBe(true);
    expect(c.lines.map((l) => l.lineCents)).toEqual([5998, 4999, 29997]);
    expect(c.totalCents).toBe(5998 + 4999 + 29997);
    expect(c.warnings).toEqual([]);
  });

  it("warns when the total exceeds the payment limit", () => {
    const c = checkOrderForm([{ product_id: "product-3", quantity: "21" }], catalog);
    expect(c.ok).toBe(true);
    expect(c.totalCents).toBe(209979);
    expect(c.warnings).toHaveLength(1);
  });

  it("does not warn at exactly the limit", () => {
    const c = checkOrderForm([{ product_id: "product-1", quantity: "1" }], [{ ...catalog[0], price: 2000 }]);
    expect(c.warnings).toEqual([]);
  });
});

describe("quantity validation", () => {
  it("accepts whole numbers 1..1000", () => {
    expect(parseQuantity("1")).toEqual({ value: 1 });
    expect(parseQuantity(" 1000 ")).toEqual({ value: 1000 });
  });

  it("rejects everything else with a message", () => {
    expect(parseQuantity("").error).toMatch(/Enter/);
    expect(parseQuantity("0").error).toMatch(/at least 1/);
    expect(parseQuantity("1001").error).toMatch(/at most 1000/);
    expect(parseQuantity("2.5").error).toMatch(/whole number/);
    expect(parseQuantity("-3").error).toMatch(/whole number/);
    expect(parseQuantity("abc").error).toMatch(/whole number/);
  });

  it("checks stock summed over lines of the same product", () => {
    const c = checkOrderForm(
      [
        { product_id: "product-3", quantity: "20" },
        { product_id: "product-3", quantity: "6" },
      ],
      catalog,
    );
    expect(c.ok).toBe(false);
    expect(c.errors[0]).toMatch(/Only 25 Elite Device in stock \(26 requested\)/);
    expect(c.lines.every((l) => l.error)).toBe(true);
  });

  it("accepts exactly the stock", () => {
    expect(checkOrderForm([{ product_id: "product-3", quantity: "25" }], catalog).ok).toBe(true);
  });

  it("rejects an empty order, unknown products and too many items", () => {
    expect(checkOrderForm([], catalog).ok).toBe(false);
    expect(checkOrderForm([{ product_id: "product-9", quantity: "1" }], catalog).lines[0].error).toMatch(/Unknown product/);
    const many = Array.from({ length: 51 }, () => ({ product_id: "product-1", quantity: "1" }));
    expect(checkOrderForm(many, catalog).errors).toContain("An order holds at most 50 items");
  });
});
