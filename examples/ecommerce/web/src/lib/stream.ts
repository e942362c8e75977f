// Event stream filtering (the Event stream page).
import type { StreamEvent } from "./types";

/** Rows matching the filters, newest first. */
export function filterStream(rows: readonly StreamEvent[], topics: ReadonlySet<string>, type: string, text: string): StreamEvent[] {
  const q = text.trim().toLowerCase();
  const out: StreamEvent[] = [];
  for (let i = rows.length - 1; i >= 0; i--) {
    const r = rows[i];
    if (topics.size > 0 && !topics.has(r.topic)) continue;
    if (type && r.type !== type) continue;
    if (q && !(r.subject.toLowerCase().includes(q) || (r.correlationId ?? "").toLowerCase().includes(q) || (r.id ?? "").toLowerCase().includes(q))) continue;
    out.push(r);
  }
  return out;
}
