import { EventStream } from "@/components/event-stream";

export default function Page() {
  return (
    <div className="space-y-6">
      <h1 className="text-2xl font-bold">Event stream</h1>
      <p className="text-sm text-slate-600">Every event of every order as it flows through the topics, live from the <code>orders</code> channel.</p>
      <EventStream />
    </div>
  );
}
