import { OrderForm } from "@/components/order-form";

export default function Page() {
  return (
    <div className="space-y-6">
      <h1 className="text-2xl font-bold">New order</h1>
      <OrderForm />
    </div>
  );
}
