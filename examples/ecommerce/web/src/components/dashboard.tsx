"use client";
import Link from "next/link";
import { useMemo } from "react";
import { lowStock } from "@/lib/inventory";
import { formatMoney } from "@/lib/price";
import { combineStats, computeStats, ordersPerMinute } from "@/lib/stats";
import { sortedOrders } from "@/lib/store";
import type { Order, Product } from "@/lib/types";
import { useLive, useNow } from "./live";
import { Card, ErrorBox, StatusBadge, formatTime } from "./ui";

function StatTile({ label, value, tone = "text-slate-900", id }: { label: string; value: string | number; tone?: string; id: string }) {
  return (
    <div className="rounded-xl border border-slate-200 bg-white p-4 shadow-sm">
      <dt className="text-xs font-medium uppercase tracking-wide text-slate-500">{label}</dt>
      <dd className={`mt-1 text-2xl font-semibold tabular-nums ${tone}`} data-testid={`stat-${id}`}>
        {value}
      </dd>
    </div>
  );
}

function OrdersChart({ orders }: { orders: Order[] }) {
  const now = useNow(5000);
  const buckets = useMemo(() => ordersPerMinute(orders, now, 15), [orders, now]);
  const max = Math.max(1, ...buckets.map((b) => b.count));
  const w = 600;
  const h = 160;
  const bw = w / buckets.length;
  const summary = buckets.map((b) => `${formatTime(new Date(b.start).toISOString()).slice(0, 5)}: ${b.count}`).join(", ");
  return (
    <Card title="Orders per minute (last 15 min)">
      <svg viewBox={`0 0 ${w} ${h + 20}`} className="h-44 w-full" role="img" aria-label={`Orders per minute. ${summary}`}>
        {[0.25, 0.5, 0.75, 1].map((f) => (
          <line key={f} x1={0} x2={w} y1={h - f * h} y2={h - f * h} stroke="#e2e8f0" strokeWidth={1} />
        ))}
        {buckets.map((b, i) => {
          const bh = (b.count / max) * (h - 10);
          return (
            <g key={b.start}>
              <rect x={i * bw + 4} y={h - bh} width={bw - 8} height={bh} rx={3} className="fill-indigo-500" />
              {b.count > 0 && (
                <text x={i * bw + bw / 2} y={h - bh - 3} textAnchor="middle" className="fill-slate-600 text-[11px]">
                  {b.count}
                </text>
              )}
              {i % 3 === 2 && (
                <text x={i * bw + bw / 2} y={h + 15} textAnchor="middle" className="fill-slate-500 text-[11px]">
                  {formatTime(new Date(b.start).toISOString()).slice(0, 5)}
                </text>
              )}
            </g>
          );
        })}
      </svg>
      <p className="text-xs text-slate-500">Peak {max} / min.</p>
    </Card>
  );
}

export function InventoryPanel({ products, error }: { products: Product[]; error?: string }) {
  const top = Math.max(1, ...products.map((p) => p.stock));
  return (
    <Card title="Inventory">
      {error && <ErrorBox>{error}</ErrorBox>}
      <ul className="space-y-3" data-testid="inventory">
        {products.map((p) => {
          const low = lowStock(p);
          return (
            <li key={p.product_id} data-product={p.product_id} data-stock={p.stock} data-low={low ? "true" : "false"}>
              <div className="flex items-baseline justify-between gap-2 text-sm">
                <span className="font-medium">{p.name}</span>
                <span className={`tabular-nums ${low ? "font-semibold text-red-700" : "text-slate-700"}`}>
                  <span data-testid={`stock-${p.product_id}`}>{p.stock}</span> in stock
                </span>
              </div>
              <div className="mt-1 h-2 rounded-full bg-slate-100" aria-hidden="true">
                <div className={`h-2 rounded-full ${low ? "bg-red-500" : "bg-emerald-500"}`} style={{ width: `${(p.stock / top) * 100}%` }} />
              </div>
              {low && (
                <p className="mt-1 text-xs font-medium text-red-700" role="status">
                  ⚠ Low stock{p.alert_level !== undefined ? ` (alert level ${p.alert_level})` : ""}
                </p>
              )}
            </li>
          );
        })}
        {products.length === 0 && !error && <li className="text-sm text-slate-500">Loading products…</li>}
      </ul>
    </Card>
  );
}

export function itemsText(o: Order, products: readonly Product[] = []): string {
  const name = (id: string) => products.find((p) => p.product_id === id)?.name ?? id;
  if (o.items && o.items.length > 0) return o.items.map((i) => `${i.quantity}× ${name(i.product_id)}`).join(", ");
  if (o.product_id) return `${o.quantity ?? 1}× ${name(o.product_id)}`;
  return "";
}

/** A short, still distinctive form of an order id (UUIDv7s share their leading digits). */
export function shortId(id: string): string {
  return id.length > 14 ? `…${id.slice(-12)}` : id;
}

function OrdersTable({ orders, products }: { orders: Order[]; products: Product[] }) {
  return (
    <Card title={`Orders (${orders.length})`}>
      <div className="overflow-x-auto">
        <table className="w-full text-left text-sm" data-testid="orders-table">
          <caption className="sr-only">Every order and its current status, updated live</caption>
          <thead className="border-b border-slate-200 text-xs uppercase text-slate-500">
            <tr>
              <th scope="col" className="py-2 pr-3">Order</th>
              <th scope="col" className="py-2 pr-3">Items</th>
              <th scope="col" className="py-2 pr-3 text-right">Total</th>
              <th scope="col" className="py-2 pr-3">Status</th>
              <th scope="col" className="py-2 pr-3">Updated</th>
            </tr>
          </thead>
          <tbody>
            {orders.slice(0, 200).map((o) => (
              <tr key={o.order_id} className="border-b border-slate-100" data-order={o.order_id} data-status={o.status}>
                <td className="py-2 pr-3 font-mono text-xs">
                  <Link className="text-indigo-700 underline-offset-2 hover:underline" href={`/track/?id=${encodeURIComponent(o.order_id)}`}>
                    <span className="sr-only">Order </span>
                    {shortId(o.order_id)}
                  </Link>
                </td>
                <td className="py-2 pr-3">{itemsText(o, products)}</td>
                <td className="py-2 pr-3 text-right tabular-nums">{formatMoney(o.total ?? o.payment_amount)}</td>
                <td className="py-2 pr-3">
                  <StatusBadge status={o.status} />
                </td>
                <td className="py-2 pr-3 tabular-nums text-slate-500">{formatTime(o.last_updated ?? o.events[o.events.length - 1]?.timestamp)}</td>
              </tr>
            ))}
            {orders.length === 0 && (
              <tr>
                <td colSpan={5} className="py-6 text-center text-slate-500">
                  No orders yet. <Link href="/order/" className="text-indigo-700 underline">Place one</Link>.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
    </Card>
  );
}

export function Dashboard() {
  const ordersMap = useLive((s) => s.orders);
  const serverStats = useLive((s) => s.serverStats);
  const products = useLive((s) => s.products);
  const productsError = useLive((s) => s.productsError);
  const orders = useMemo(() => sortedOrders(ordersMap), [ordersMap]);
  const stats = useMemo(() => combineStats(computeStats(orders), serverStats), [orders, serverStats]);
  return (
    <div className="space-y-6">
      <h1 className="text-2xl font-bold">Dashboard</h1>
      <dl className="grid grid-cols-2 gap-3 md:grid-cols-3 lg:grid-cols-6">
        <StatTile id="total" label="Total orders" value={stats.total} />
        <StatTile id="in-progress" label="In progress" value={stats.inProgress} tone="text-sky-700" />
        <StatTile id="shipped" label="Shipped" value={stats.shipped} tone="text-emerald-700" />
        <StatTile id="failed" label="Failed" value={stats.failed} tone="text-red-700" />
        <StatTile id="cancelled" label="Cancelled" value={stats.cancelled} tone="text-amber-700" />
        <StatTile id="revenue" label="Revenue" value={formatMoney(stats.revenue)} />
      </dl>
      <div className="grid gap-6 lg:grid-cols-3">
        <div className="lg:col-span-2">
          <OrdersChart orders={orders} />
        </div>
        <InventoryPanel products={products} error={productsError} />
      </div>
      <OrdersTable orders={orders} products={products} />
    </div>
  );
}
