import { Suspense } from "react";
import { Tracking } from "@/components/tracking";

export default function Page() {
  return (
    <Suspense fallback={<p className="text-slate-500">Loading…</p>}>
      <Tracking />
    </Suspense>
  );
}
