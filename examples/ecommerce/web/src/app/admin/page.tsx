import { Admin } from "@/components/admin";

export default function Page() {
  return (
    <div className="space-y-6">
      <h1 className="text-2xl font-bold">Admin</h1>
      <Admin />
    </div>
  );
}
