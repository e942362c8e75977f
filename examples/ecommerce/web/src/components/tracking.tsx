"use client";
import { useRouter, useSearchParams } from "next/navigation";
import { useEffect, useMemo, useRef, useState } from "react";
import { ApiError } from "@/lib/api";
import { eventData } from "@/lib/normalize";
import { formatMoney } from "@/lib/price";
import { isCancellable, isTerminal, statusLabel } from "@/lib/status";
import { buildTimeline, type TimelineStep } from "@/lib/timeline";
import { itemsText } from "./dashboard";
import { useLive, useLiveContext } from "./live";
import { Card, ConnectionIndicator, ErrorBox, StatusBadge, formatDateTime, formatTime } from "./ui";

const STEP_ICON: Record<TimelineStep["state"], string> = { done: "✓", failed: "✕", pending: "…", skipped: "–" };
const STEP_STYLE: Record<TimelineStep["state"], string> = {
  done: "bg-emerald-500 text-white",
  failed: "bg-red-600 text-white",
  pending: "bg-white text-slate-400 ring-2 ring-slate-300",
  skipped: "bg-slate-100 text-slate-400",
};

function Step({ step, last, branch }: { step: TimelineStep; last: boolean; branch?: boolean }) {
  return (
    <li className="relative flex gap-3 pb-5" data-step={step.id} data-state={step.state}>
      {!last && <span aria-hidden="true" className={`absolute left-3.5 top-8 h-[calc(100%-2rem)] w-0.5 ${branch ? "border-l-2 border-dashed border-amber-400" : step.state === "done" ? "bg-emerald-400" : "bg-slate-200"}`} />}
      <span aria-hidden="true" className={`z-10 flex h-7 w-7 shrink-0 items-center justify-center rounded-full text-sm font-bold ${branch && step.state === "done" ? "bg-amber-500 text-white" : STEP_STYLE[step.state]}`}>
        {STEP_ICON[step.state]}
      </span>
      <div className="min-w-0">
        <p className={`font-medium ${step.state === "skipped" ? "text-slate-400 line-through" : ""}`}>
          {step.label}
          <span className="sr-only"> – {step.state}</span>
        </p>
        {step.time && (
          <p className="text-xs tabular-nums text-slate-500">
            <time dateTime={step.time}>{formatDateTime(step.time)}</time>
          </p>
        )}
        {step.detail && <p className="break-words text-sm text-slate-700">{step.detail}</p>}
      </div>
    </li>
  );
}

function TrackForm({ initial }: { initial: string }) {
  const router = useRouter();
  const [value, setValue] = useState(initial);
  useEffect(() => setValue(initial), [initial]);
  return (
    <form
      className="flex flex-wrap items-end gap-2"
      onSubmit={(e) => {
        e.preventDefault();
        if (value.trim()) router.push(`/track/?id=${encodeURIComponent(value.trim())}`);
      }}
    >
      <div className="grow">
        <label htmlFor="track-id" className="block text-xs font-medium text-slate-600">
          Order id
        </label>
        <input id="track-id" value={value} onChange={(e) => setValue(e.target.value)} className="mt-1 w-full rounded-md border border-slate-300 px-2 py-1.5 font-mono text-sm" />
      </div>
      <button type="submit" className="rounded-md bg-slate-900 px-4 py-1.5 text-sm font-semibold text-white hover:bg-slate-700">
        Track
      </button>
    </form>
  );
}

function OrderTracking({ id }: { id: string }) {
  const { api, client, store } = useLiveContext();
  const order = useLive((s) => s.orders[id]);
  const products = useLive((s) => s.products);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [cancelState, setCancelState] = useState<{ busy: boolean; error?: string; done?: boolean }>({ busy: false });

  const [unknown, setUnknown] = useState(false);
  const connState = useLive((s) => s.connection?.state);
  const fetched = useRef(false);

  useEffect(() => {
    setLoadError(null);
    setUnknown(false);
    setCancelState({ busy: false });
    fetched.current = false;
    // The order's channel brings its current state (snapshot; null while the status
    // service does not know the order) and then every change.
    return client.subscribe(`order:${id}`, (ev) => {
      if (ev.kind === "snapshot" && ev.data === null && !store.getState().orders[id]) setUnknown(true);
      if ((ev.kind === "snapshot" && ev.data !== null) || ev.kind === "update") {
        setUnknown(false);
        store.applyOrderUpdate(ev.data);
      }
    });
  }, [id, client, store]);

  useEffect(() => {
    // Without the WebSocket, one plain read so that the page still shows the order.
    if (connState !== "reconnecting" || fetched.current || store.getState().orders[id]) return;
    fetched.current = true;
    api
      .order(id)
      .then((o) => store.applyOrderUpdate(o))
      .catch((e: ApiError) => {
        if (!store.getState().orders[id]) setLoadError(e.status === 404 ? `No order with id ${id}.` : e.message);
      });
  }, [connState, id, api, store]);

  const timeline = useMemo(() => (order ? buildTimeline(order) : undefined), [order]);

  if (!order) {
    if (loadError) return <ErrorBox>{loadError}</ErrorBox>;
    if (unknown) {
      return (
        <p role="status" className="rounded-lg border border-amber-300 bg-amber-50 p-3 text-amber-900" data-testid="order-unknown">
          No order with id <span className="font-mono">{id}</span> is known. This page updates by itself if it appears.
        </p>
      );
    }
    return <p className="text-slate-500">Loading order {id}…</p>;
  }
  const cancellable = isCancellable(order);
  const cancel = async () => {
    setCancelState({ busy: true });
    try {
      await api.cancelOrder(id);
      setCancelState({ busy: false, done: true });
    } catch (e) {
      setCancelState({ busy: false, error: e instanceof Error ? e.message : String(e) });
    }
  };
  const shippedEvent = order.events.find((e) => e.event_type === "Shipped");
  return (
    <div className="grid gap-6 lg:grid-cols-3">
      <Card title="Progress" className="lg:col-span-2" actions={<ConnectionIndicator />}>
        <p className="mb-4 flex flex-wrap items-center gap-2" aria-live="polite" data-testid="order-status" data-status={order.status}>
          Status: <StatusBadge status={order.status} />
          {!isTerminal(order.status) && <span className="text-sm text-slate-500">updating live</span>}
        </p>
        <div className="grid gap-6 md:grid-cols-2">
          <div>
            <h3 className="mb-2 text-sm font-semibold uppercase tracking-wide text-slate-500">Saga</h3>
            <ol data-testid="timeline">
              {timeline!.steps.map((s, i) => (
                <Step key={s.id} step={s} last={i === timeline!.steps.length - 1} />
              ))}
            </ol>
          </div>
          {timeline!.branch.length > 0 && (
            <div className="rounded-lg border-2 border-dashed border-amber-300 bg-amber-50/50 p-3" data-testid="compensation">
              <h3 className="mb-2 text-sm font-semibold uppercase tracking-wide text-amber-800">Compensation</h3>
              <ol>
                {timeline!.branch.map((s, i) => (
                  <Step key={s.id} step={s} last={i === timeline!.branch.length - 1} branch />
                ))}
              </ol>
            </div>
          )}
        </div>
        {timeline!.outcome && <p className="mt-2 rounded-md bg-slate-100 p-2 text-sm" data-testid="outcome">{timeline!.outcome}</p>}
      </Card>
      <div className="space-y-6">
        <Card title="Order">
          <dl className="grid grid-cols-3 gap-y-2 text-sm">
            <dt className="text-slate-500">Id</dt>
            <dd className="col-span-2 break-all font-mono text-xs" data-testid="order-id">{order.order_id}</dd>
            <dt className="text-slate-500">Items</dt>
            <dd className="col-span-2">{itemsText(order, products)}</dd>
            <dt className="text-slate-500">Total</dt>
            <dd className="col-span-2 tabular-nums">{formatMoney(order.total ?? order.payment_amount, order.currency ?? "USD")}</dd>
            <dt className="text-slate-500">Status</dt>
            <dd className="col-span-2">{statusLabel(order.status)}</dd>
            <dt className="text-slate-500">Carrier</dt>
            <dd className="col-span-2" data-testid="carrier">{order.carrier ?? (shippedEvent ? String(eventData(shippedEvent).carrier ?? "—") : "—")}</dd>
            <dt className="text-slate-500">Tracking</dt>
            <dd className="col-span-2 font-mono" data-testid="tracking-number">{order.tracking_number ?? (shippedEvent ? String(eventData(shippedEvent).tracking_number ?? "—") : "—")}</dd>
          </dl>
          <div className="mt-4">
            {cancellable && !cancelState.done && (
              <button
                type="button"
                onClick={cancel}
                disabled={cancelState.busy}
                className="w-full rounded-lg border border-red-300 px-4 py-2 font-semibold text-red-700 hover:bg-red-50 disabled:opacity-50"
              >
                {cancelState.busy ? "Cancelling…" : "Cancel order"}
              </button>
            )}
            {cancelState.done && !isTerminal(order.status) && <p className="text-sm text-slate-600" role="status">Cancellation requested…</p>}
            {cancelState.error && <ErrorBox>{cancelState.error}</ErrorBox>}
          </div>
        </Card>
        <Card title={`Events (${order.events.length})`}>
          <ol className="space-y-1 text-sm" data-testid="order-events">
            {order.events.map((e) => (
              <li key={e.id ?? e.event_type + e.timestamp} className="flex justify-between gap-2">
                <span className="font-medium">{e.event_type}</span>
                <time className="tabular-nums text-slate-500" dateTime={e.timestamp}>{formatTime(e.timestamp)}</time>
              </li>
            ))}
          </ol>
        </Card>
      </div>
    </div>
  );
}

export function Tracking() {
  const params = useSearchParams();
  const id = params.get("id")?.trim() ?? "";
  return (
    <div className="space-y-6">
      <h1 className="text-2xl font-bold">Track an order</h1>
      <TrackForm initial={id} />
      {id ? <OrderTracking key={id} id={id} /> : <p className="text-slate-500">Enter an order id, or pick an order on the dashboard.</p>}
    </div>
  );
}

