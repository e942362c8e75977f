"use client";
import Link from "next/link";
import { usePathname } from "next/navigation";
import type { ReactNode } from "react";
import { isFailure, statusLabel } from "@/lib/status";
import { useLive, useLiveContext, useNow } from "./live";

export function formatTime(iso: string | undefined): string {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleTimeString("en-GB", { hour12: false }) + "." + String(d.getMilliseconds()).padStart(3, "0");
}

export function formatDateTime(iso: string | undefined): string {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${d.toLocaleDateString("en-CA")} ${formatTime(iso)}`;
}

const STATUS_STYLE: Record<string, string> = {
  created: "bg-slate-100 text-slate-800 ring-slate-300",
  inventory_confirmed: "bg-sky-100 text-sky-900 ring-sky-300",
  payment_completed: "bg-indigo-100 text-indigo-900 ring-indigo-300",
  notification_sent: "bg-violet-100 text-violet-900 ring-violet-300",
  shipped: "bg-emerald-100 text-emerald-900 ring-emerald-300",
  cancelled: "bg-amber-100 text-amber-900 ring-amber-300",
};

export function StatusBadge({ status }: { status: string }) {
  const style = STATUS_STYLE[status] ?? (isFailure(status) ? "bg-red-100 text-red-900 ring-red-300" : "bg-slate-100 text-slate-800 ring-slate-300");
  return (
    <span data-status={status} className={`inline-flex items-center rounded-full px-2 py-0.5 text-xs font-medium ring-1 ring-inset ${style}`}>
      {statusLabel(status)}
    </span>
  );
}

export function Card({ title, children, className = "", actions }: { title?: string; children: ReactNode; className?: string; actions?: ReactNode }) {
  return (
    <section className={`rounded-xl border border-slate-200 bg-white p-4 shadow-sm ${className}`} aria-label={title}>
      {(title || actions) && (
        <div className="mb-3 flex items-center justify-between gap-2">
          {title && <h2 className="text-base font-semibold text-slate-900">{title}</h2>}
          {actions}
        </div>
      )}
      {children}
    </section>
  );
}

export function ErrorBox({ children }: { children: ReactNode }) {
  return (
    <div role="alert" className="rounded-lg border border-red-300 bg-red-50 p-3 text-sm text-red-900">
      {children}
    </div>
  );
}

/** Live state of the WebSocket: connected, reconnecting (with countdown), or connecting. */
export function ConnectionIndicator() {
  const info = useLive((s) => s.connection);
  const { client } = useLiveContext();
  const now = useNow(500);
  const state = info?.state ?? "connecting";
  const dot =
    state === "open" ? "bg-emerald-500" : state === "reconnecting" ? "bg-amber-500 animate-pulse" : state === "closed" ? "bg-red-500" : "bg-slate-400 animate-pulse";
  let text = "Connecting…";
  if (state === "open") text = "Live";
  else if (state === "closed") text = "Disconnected";
  else if (state === "reconnecting") {
    const secs = info?.retryAt ? Math.max(0, Math.ceil((info.retryAt - now) / 1000)) : 0;
    text = secs > 0 ? `Reconnecting in ${secs}s` : "Reconnecting…";
  }
  return (
    <div className="flex items-center gap-2 text-sm" data-testid="connection" data-state={state}>
      <span role="status" aria-live="polite" className="flex items-center gap-2" title={info?.lastError ?? info?.url}>
        <span className={`inline-block h-2.5 w-2.5 rounded-full ${dot}`} aria-hidden="true" />
        <span>{text}</span>
      </span>
      {state === "reconnecting" && (
        <button type="button" onClick={() => client.reconnectNow()} className="rounded px-2 py-0.5 text-xs underline hover:bg-slate-100">
          Retry now
        </button>
      )}
    </div>
  );
}

const LINKS = [
  { href: "/", label: "Dashboard" },
  { href: "/order/", label: "New order" },
  { href: "/track/", label: "Track" },
  { href: "/events/", label: "Event stream" },
  { href: "/admin/", label: "Admin" },
];

export function Nav() {
  const path = usePathname() ?? "/";
  const norm = (p: string) => (p.endsWith("/") ? p : p + "/");
  return (
    <header className="border-b border-slate-200 bg-white">
      <div className="mx-auto flex max-w-7xl flex-wrap items-center justify-between gap-3 px-4 py-3">
        <Link href="/" className="text-lg font-bold tracking-tight text-slate-900">
          eventshop
        </Link>
        <nav aria-label="Main" className="order-3 w-full overflow-x-auto sm:order-2 sm:w-auto">
          <ul className="flex gap-1">
            {LINKS.map((l) => {
              const active = norm(path) === l.href;
              return (
                <li key={l.href}>
                  <Link
                    href={l.href}
                    aria-current={active ? "page" : undefined}
                    className={`block whitespace-nowrap rounded-md px-3 py-1.5 text-sm ${active ? "bg-slate-900 text-white" : "text-slate-700 hover:bg-slate-100"}`}
                  >
                    {l.label}
                  </Link>
                </li>
              );
            })}
          </ul>
        </nav>
        <div className="order-2 sm:order-3">
          <ConnectionIndicator />
        </div>
      </div>
    </header>
  );
}

export function ConfigWarning() {
  const { config } = useLiveContext();
  if (!config.warning) return null;
  return (
    <div role="note" className="mx-auto mt-3 max-w-7xl px-4">
      <p className="rounded-lg border border-amber-300 bg-amber-50 p-2 text-sm text-amber-900">{config.warning}</p>
    </div>
  );
}
