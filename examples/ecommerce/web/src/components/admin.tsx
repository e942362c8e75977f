"use client";
import { useEffect, useState } from "react";
import { ApiError } from "@/lib/api";
import { parseQuantity } from "@/lib/price";
import { InventoryPanel } from "./dashboard";
import { useLive, useLiveContext } from "./live";
import { Card, ErrorBox, formatDateTime } from "./ui";

function Restock() {
  const { api, store } = useLiveContext();
  const products = useLive((s) => s.products);
  const [product, setProduct] = useState("product-1");
  const [qty, setQty] = useState("10");
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<{ ok: boolean; text: string } | null>(null);
  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    const q = parseQuantity(qty);
    if (q.error || q.value === undefined) {
      setResult({ ok: false, text: q.error ?? "Invalid quantity" });
      return;
    }
    setBusy(true);
    setResult(null);
    try {
      const r = await api.restock(product, q.value);
      const name = products.find((p) => p.product_id === product)?.name ?? product;
      setResult({ ok: true, text: `${name} restocked: ${r?.stock ?? "?"} in stock.` });
      // Re-read the catalog: a restock is not an order event, so no channel carries it.
      api
        .products()
        .then((p) => store.setProducts(p))
        .catch((e: Error) => store.setProductsError(e.message));
    } catch (err) {
      setResult({ ok: false, text: err instanceof ApiError ? `${err.message} (${err.code})` : String(err) });
    } finally {
      setBusy(false);
    }
  };
  return (
    <Card title="Restock a product">
      <form onSubmit={submit} className="flex flex-wrap items-end gap-3" noValidate>
        <div>
          <label htmlFor="restock-product" className="block text-xs font-medium text-slate-600">
            Product
          </label>
          <select id="restock-product" value={product} onChange={(e) => setProduct(e.target.value)} className="mt-1 rounded-md border border-slate-300 bg-white px-2 py-1.5">
            {products.map((p) => (
              <option key={p.product_id} value={p.product_id}>
                {p.name} ({p.stock})
              </option>
            ))}
          </select>
        </div>
        <div>
          <label htmlFor="restock-qty" className="block text-xs font-medium text-slate-600">
            Quantity to add
          </label>
          <input id="restock-qty" inputMode="numeric" value={qty} onChange={(e) => setQty(e.target.value)} className="mt-1 w-28 rounded-md border border-slate-300 px-2 py-1.5" />
        </div>
        <button type="submit" disabled={busy} className="rounded-md bg-slate-900 px-4 py-1.5 font-semibold text-white hover:bg-slate-700 disabled:opacity-50">
          {busy ? "Restocking…" : "Restock"}
        </button>
      </form>
      {result && (
        <p role={result.ok ? "status" : "alert"} className={`mt-3 text-sm ${result.ok ? "text-emerald-700" : "text-red-700"}`} data-testid="restock-result">
          {result.text}
        </p>
      )}
    </Card>
  );
}

type Loaded = { state: "loading" } | { state: "missing"; text: string } | { state: "error"; text: string } | { state: "ok"; rows: Record<string, unknown>[] };

function rowsOf(raw: unknown, key: string): Record<string, unknown>[] {
  const list = Array.isArray(raw) ? raw : raw && typeof raw === "object" ? (raw as Record<string, unknown>)[key] : undefined;
  return Array.isArray(list) ? list.filter((x): x is Record<string, unknown> => typeof x === "object" && x !== null) : [];
}

function useLoad(load: () => Promise<unknown> | undefined, key: string, missing: string): Loaded {
  const [s, setS] = useState<Loaded>({ state: "loading" });
  useEffect(() => {
    const pending = load();
    if (!pending) {
      setS({ state: "missing", text: missing });
      return;
    }
    pending
      .then((raw) => setS({ state: "ok", rows: rowsOf(raw, key) }))
      .catch((e: ApiError) => setS(e.status === 404 ? { state: "missing", text: missing } : { state: "error", text: e.message }));
  }, [load, key, missing]);
  return s;
}

function DeadLetters() {
  const { api } = useLiveContext();
  const [load] = useState(() => () => api.deadLetters());
  const s = useLoad(load, "dead_letters", "This backend publishes no dead-letter API: config.json has no dead_letters_url (CONTRACT.md defines no such route). Dead-lettered events stay in the <topic>.dlq topics.");
  return (
    <Card title="Dead-lettered events">
      {s.state === "loading" && <p className="text-sm text-slate-500">Loading…</p>}
      {s.state === "missing" && <p className="text-sm text-slate-600" data-testid="dlq-missing">{s.text}</p>}
      {s.state === "error" && <ErrorBox>{s.text}</ErrorBox>}
      {s.state === "ok" && (
        <div className="overflow-x-auto">
          <table className="w-full text-left text-sm" data-testid="dead-letters">
            <thead className="border-b border-slate-200 text-xs uppercase text-slate-500">
              <tr>
                <th scope="col" className="py-2 pr-3">Time</th>
                <th scope="col" className="py-2 pr-3">Topic</th>
                <th scope="col" className="py-2 pr-3">Type</th>
                <th scope="col" className="py-2 pr-3">Key</th>
                <th scope="col" className="py-2 pr-3">Reason</th>
              </tr>
            </thead>
            <tbody>
              {s.rows.map((r, i) => {
                const ev = (typeof r.event === "object" && r.event ? r.event : r) as Record<string, unknown>;
                return (
                  <tr key={String(ev.id ?? i)} className="border-b border-slate-100">
                    <td className="py-1.5 pr-3 tabular-nums">{formatDateTime(String(r.dead_lettered_at ?? r.time ?? ev.time ?? ""))}</td>
                    <td className="py-1.5 pr-3">{String(r.topic ?? "")}</td>
                    <td className="py-1.5 pr-3">{String(ev.type ?? "")}</td>
                    <td className="py-1.5 pr-3 font-mono text-xs">{String(ev.subject ?? r.key ?? "")}</td>
                    <td className="py-1.5 pr-3">{String(r.reason ?? r.error ?? "")}</td>
                  </tr>
                );
              })}
              {s.rows.length === 0 && (
                <tr>
                  <td colSpan={5} className="py-4 text-center text-slate-500">
                    No dead-lettered events.
                  </td>
                </tr>
              )}
            </tbody>
          </table>
        </div>
      )}
    </Card>
  );
}

function LowStockAlerts() {
  const { api } = useLiveContext();
  const [load] = useState(() => () => api.lowStockAlerts());
  const s = useLoad(load, "alerts", "This backend has no low-stock alert API.");
  return (
    <Card title="Low-stock alerts">
      {s.state === "loading" && <p className="text-sm text-slate-500">Loading…</p>}
      {(s.state === "missing" || s.state === "error") && <p className="text-sm text-slate-600">{s.text}</p>}
      {s.state === "ok" && (
        <ul className="space-y-1 text-sm" data-testid="low-stock-alerts">
          {s.rows.map((r, i) => (
            <li key={i}>
              <span className="font-medium">{String(r.product_id ?? "")}</span>: {String(r.stock ?? "?")} left (alert level {String(r.alert_level ?? "?")})
            </li>
          ))}
          {s.rows.length === 0 && <li className="text-slate-500">No product is below its alert level.</li>}
        </ul>
      )}
    </Card>
  );
}

export function Admin() {
  const products = useLive((s) => s.products);
  const error = useLive((s) => s.productsError);
  return (
    <div className="grid gap-6 lg:grid-cols-2">
      <div className="space-y-6">
        <Restock />
        <LowStockAlerts />
      </div>
      <InventoryPanel products={products} error={error} />
      <div className="lg:col-span-2">
        <DeadLetters />
      </div>
    </div>
  );
}
