"use client";
import Link from "next/link";
import { useMemo, useState } from "react";
import { filterStream } from "@/lib/stream";
import type { StreamEvent } from "@/lib/types";
import { useLive } from "./live";
import { Card, formatDateTime } from "./ui";

const TOPICS = ["orders", "inventory", "payment", "notification", "shipping"];

const TOPIC_STYLE: Record<string, string> = {
  orders: "bg-slate-100 text-slate-800",
  inventory: "bg-sky-100 text-sky-900",
  payment: "bg-indigo-100 text-indigo-900",
  notification: "bg-violet-100 text-violet-900",
  shipping: "bg-emerald-100 text-emerald-900",
};

export function EventStream() {
  const stream = useLive((s) => s.stream);
  const [topics, setTopics] = useState<Set<string>>(new Set());
  const [type, setType] = useState("");
  const [text, setText] = useState("");
  const [paused, setPaused] = useState<StreamEvent[] | null>(null);
  const source = paused ?? stream;
  const types = useMemo(() => [...new Set(stream.map((r) => r.type))].sort(), [stream]);
  const rows = useMemo(() => filterStream(source, topics, type, text), [source, topics, type, text]);
  const toggle = (t: string) =>
    setTopics((s) => {
      const n = new Set(s);
      if (n.has(t)) n.delete(t);
      else n.add(t);
      return n;
    });
  return (
    <div className="space-y-4">
      <Card title="Filter">
        <div className="flex flex-wrap items-end gap-4">
          <fieldset className="flex flex-wrap gap-2">
            <legend className="mb-1 text-xs font-medium text-slate-600">Topics (none checked = all)</legend>
            {TOPICS.map((t) => (
              <label key={t} className="flex items-center gap-1 text-sm">
                <input type="checkbox" checked={topics.has(t)} onChange={() => toggle(t)} />
                {t}
              </label>
            ))}
          </fieldset>
          <div>
            <label htmlFor="ev-type" className="block text-xs font-medium text-slate-600">
              Type
            </label>
            <select id="ev-type" value={type} onChange={(e) => setType(e.target.value)} className="mt-1 rounded-md border border-slate-300 bg-white px-2 py-1.5 text-sm">
              <option value="">All types</option>
              {types.map((t) => (
                <option key={t}>{t}</option>
              ))}
            </select>
          </div>
          <div className="grow">
            <label htmlFor="ev-text" className="block text-xs font-medium text-slate-600">
              Key or correlation id contains
            </label>
            <input id="ev-text" value={text} onChange={(e) => setText(e.target.value)} className="mt-1 w-full rounded-md border border-slate-300 px-2 py-1.5 text-sm" />
          </div>
          <button
            type="button"
            onClick={() => setPaused(paused ? null : stream)}
            aria-pressed={paused !== null}
            className="rounded-md border border-slate-300 px-3 py-1.5 text-sm hover:bg-slate-50"
          >
            {paused ? "Resume" : "Pause"}
          </button>
        </div>
      </Card>
      <Card title={`Events (${rows.length} of ${source.length})`}>
        <div className="overflow-x-auto">
          <table className="w-full text-left text-sm" data-testid="event-stream">
            <caption className="sr-only">Events flowing through the topics, newest first</caption>
            <thead className="border-b border-slate-200 text-xs uppercase text-slate-500">
              <tr>
                <th scope="col" className="py-2 pr-3">Time</th>
                <th scope="col" className="py-2 pr-3">Topic</th>
                <th scope="col" className="py-2 pr-3">Type</th>
                <th scope="col" className="py-2 pr-3">Key</th>
                <th scope="col" className="py-2 pr-3">Correlation id</th>
              </tr>
            </thead>
            <tbody>
              {rows.slice(0, 500).map((r) => (
                <tr key={r.key} className="border-b border-slate-100 align-top" data-type={r.type}>
                  <td className="whitespace-nowrap py-1.5 pr-3 tabular-nums text-slate-600">{formatDateTime(r.time)}</td>
                  <td className="py-1.5 pr-3">
                    <span className={`rounded px-1.5 py-0.5 text-xs ${TOPIC_STYLE[r.topic] ?? "bg-slate-100"}`}>{r.topic}</span>
                  </td>
                  <td className="py-1.5 pr-3 font-medium">{r.type}</td>
                  <td className="py-1.5 pr-3 font-mono text-xs">
                    {r.topic === "inventory" && r.subject.startsWith("product-") ? (
                      r.subject
                    ) : (
                      <Link href={`/track/?id=${encodeURIComponent(r.subject)}`} className="text-indigo-700 hover:underline">
                        {r.subject}
                      </Link>
                    )}
                  </td>
                  <td className="py-1.5 pr-3 font-mono text-xs text-slate-600">{r.correlationId ?? "—"}</td>
                </tr>
              ))}
              {rows.length === 0 && (
                <tr>
                  <td colSpan={5} className="py-6 text-center text-slate-500">
                    No events {source.length > 0 ? "match the filter" : "yet"}.
                  </td>
                </tr>
              )}
            </tbody>
          </table>
        </div>
      </Card>
    </div>
  );
}
