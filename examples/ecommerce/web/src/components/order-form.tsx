"use client";
import { useRouter } from "next/navigation";
import { useId, useMemo, useRef, useState } from "react";
import { ApiError } from "@/lib/api";
import { MAX_ITEMS, MAX_QUANTITY, checkOrderForm, formatCents, type Line } from "@/lib/price";
import { useLive, useLiveContext } from "./live";
import { Card, ErrorBox } from "./ui";

function newKey(): string {
  return typeof crypto !== "undefined" && "randomUUID" in crypto ? crypto.randomUUID() : `${Date.now()}-${Math.random()}`;
}

export function OrderForm() {
  const { api, store } = useLiveContext();
  const products = useLive((s) => s.products);
  const productsError = useLive((s) => s.productsError);
  const router = useRouter();
  const formId = useId();
  const [lines, setLines] = useState<Line[]>([{ product_id: "product-1", quantity: "1" }]);
  const [customer, setCustomer] = useState("");
  const [submitting, setSubmitting] = useState(false);
  const [apiError, setApiError] = useState<ApiError | null>(null);
  const [touched, setTouched] = useState(false);
  // One key per intended order: a retry after a network error cannot create a second order.
  const idempotencyKey = useRef(newKey());

  const check = useMemo(() => checkOrderForm(lines, products), [lines, products]);

  const update = (i: number, patch: Partial<Line>) => {
    idempotencyKey.current = newKey();
    setApiError(null);
    setLines((ls) => ls.map((l, j) => (j === i ? { ...l, ...patch } : l)));
  };

  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    setTouched(true);
    if (!check.ok || submitting) return;
    setSubmitting(true);
    setApiError(null);
    try {
      const order = await api.createOrder(
        lines.map((l, i) => ({ product_id: l.product_id, quantity: check.lines[i].quantity! })),
        idempotencyKey.current,
        customer.trim() || undefined,
      );
      idempotencyKey.current = newKey();
      // Known at once to the tracking page, even before the status service has seen it.
      store.applyOrderUpdate(order);
      router.push(`/track/?id=${encodeURIComponent(order.order_id)}`);
    } catch (err) {
      setApiError(err instanceof ApiError ? err : new ApiError(String(err), 0, "unknown"));
      setSubmitting(false);
    }
  };

  return (
    <form onSubmit={submit} noValidate aria-describedby={`${formId}-summary`} className="grid gap-6 lg:grid-cols-3">
      <Card title="Items" className="lg:col-span-2">
        {productsError && <ErrorBox>{productsError}</ErrorBox>}
        <ul className="space-y-3">
          {lines.map((line, i) => {
            const c = check.lines[i];
            const product = products.find((p) => p.product_id === line.product_id);
            const showErr = c?.error && (touched || line.quantity !== "1");
            return (
              <li key={i} className="grid grid-cols-12 items-start gap-2 rounded-lg border border-slate-200 p-3" data-line={i}>
                <div className="col-span-12 sm:col-span-6">
                  <label htmlFor={`${formId}-p${i}`} className="block text-xs font-medium text-slate-600">
                    Product
                  </label>
                  <select
                    id={`${formId}-p${i}`}
                    name={`product-${i}`}
                    value={line.product_id}
                    onChange={(e) => update(i, { product_id: e.target.value })}
                    className="mt-1 w-full rounded-md border border-slate-300 bg-white px-2 py-1.5"
                  >
                    {products.map((p) => (
                      <option key={p.product_id} value={p.product_id}>
                        {p.name} – {formatCents(Math.round(p.price * 100))} ({p.stock} in stock)
                      </option>
                    ))}
                  </select>
                </div>
                <div className="col-span-5 sm:col-span-2">
                  <label htmlFor={`${formId}-q${i}`} className="block text-xs font-medium text-slate-600">
                    Quantity
                  </label>
                  <input
                    id={`${formId}-q${i}`}
                    name={`quantity-${i}`}
                    inputMode="numeric"
                    value={line.quantity}
                    onChange={(e) => update(i, { quantity: e.target.value })}
                    aria-invalid={showErr ? true : undefined}
                    aria-describedby={showErr ? `${formId}-e${i}` : undefined}
                    className={`mt-1 w-full rounded-md border px-2 py-1.5 tabular-nums ${showErr ? "border-red-500" : "border-slate-300"}`}
                  />
                </div>
                <div className="col-span-4 text-right sm:col-span-3">
                  <span className="block text-xs font-medium text-slate-600">Line total</span>
                  <span className="mt-1 block py-1.5 tabular-nums" data-testid={`line-total-${i}`}>
                    {c?.lineCents !== undefined ? formatCents(c.lineCents) : "—"}
                  </span>
                </div>
                <div className="col-span-3 flex justify-end sm:col-span-1">
                  <button
                    type="button"
                    onClick={() => setLines((ls) => ls.filter((_, j) => j !== i))}
                    disabled={lines.length === 1}
                    aria-label={`Remove item ${i + 1}`}
                    className="mt-5 rounded-md px-2 py-1.5 text-slate-500 hover:bg-slate-100 disabled:opacity-30"
                  >
                    ✕
                  </button>
                </div>
                {showErr && (
                  <p id={`${formId}-e${i}`} className="col-span-12 text-sm text-red-700">
                    {c.error}
                  </p>
                )}
                {product && <p className="col-span-12 text-xs text-slate-500">Up to {Math.min(product.stock, MAX_QUANTITY)} available now.</p>}
              </li>
            );
          })}
        </ul>
        <button
          type="button"
          onClick={() => setLines((ls) => [...ls, { product_id: products[0]?.product_id ?? "product-1", quantity: "1" }])}
          disabled={lines.length >= MAX_ITEMS}
          className="mt-3 rounded-md border border-slate-300 px-3 py-1.5 text-sm hover:bg-slate-50 disabled:opacity-40"
        >
          + Add item
        </button>
      </Card>
      <Card title="Summary">
        <div className="space-y-3">
          <div>
            <label htmlFor={`${formId}-customer`} className="block text-xs font-medium text-slate-600">
              Customer id (optional)
            </label>
            <input
              id={`${formId}-customer`}
              value={customer}
              onChange={(e) => setCustomer(e.target.value)}
              className="mt-1 w-full rounded-md border border-slate-300 px-2 py-1.5"
              autoComplete="off"
            />
          </div>
          <p className="flex items-baseline justify-between text-lg">
            <span>Total</span>
            <span className="font-semibold tabular-nums" data-testid="order-total" aria-live="polite">
              {formatCents(check.totalCents)}
            </span>
          </p>
          <div id={`${formId}-summary`} aria-live="polite" className="space-y-2">
            {touched &&
              check.errors.map((e) => (
                <p key={e} className="text-sm text-red-700">
                  {e}
                </p>
              ))}
            {check.warnings.map((w) => (
              <p key={w} className="rounded-md bg-amber-50 p-2 text-sm text-amber-900" data-testid="limit-warning">
                {w}
              </p>
            ))}
          </div>
          {apiError && (
            <ErrorBox>
              <p className="font-medium" data-testid="api-error">
                {apiError.message}
              </p>
              <p className="text-xs">
                {apiError.status ? `HTTP ${apiError.status} · ` : ""}
                {apiError.code}
                {apiError.field ? ` · field ${apiError.field}` : ""}
              </p>
            </ErrorBox>
          )}
          <button
            type="submit"
            disabled={submitting || products.length === 0}
            className="w-full rounded-lg bg-indigo-600 px-4 py-2 font-semibold text-white hover:bg-indigo-700 disabled:opacity-50"
          >
            {submitting ? "Placing order…" : "Place order"}
          </button>
        </div>
      </Card>
    </form>
  );
}
