#include "common/order_projection.hpp"

#include <algorithm>
#include <mutex>

#include "common/runtime.hpp"
#include "eventshop/core/registry.hpp"

namespace eventshop::services {

using namespace eventshop::ecommerce;

namespace {
constexpr order_status all_statuses[] = {
    order_status::created,           order_status::inventory_confirmed,
    order_status::payment_completed, order_status::notification_sent,
    order_status::shipped,           order_status::inventory_rejected,
    order_status::payment_failed,    order_status::cancelled};

// The few fields the read model takes from the events it sees most (three per shipped order),
// named and typed as in the catalog: reading them alone skips building the whole payload (its
// other strings and timestamps). The read model is tolerant of the fields it does not read.
struct amount_field {
  money amount;
};
EVENTSHOP_FIELDS(amount_field, amount)
struct kind_field {
  std::string kind;
};
EVENTSHOP_FIELDS(kind_field, kind)
struct shipment_fields {
  std::string tracking_number;
  std::string carrier;
  int estimated_delivery_days = 0;
};
EVENTSHOP_FIELDS(shipment_fields, tracking_number, carrier, estimated_delivery_days)

// P's fields of an event of type T (checked by the caller). A payload of another schema version
// is decoded as T (upcast, or refused when newer) and `pick` takes the fields from it.
template <class P, class T, class Pick>
P read_fields(const envelope& e, Pick pick) {
  if (e.dataschemaversion == T::schema_version) return decode_data<P>(std::string_view(e.data));
  return pick(decode_event<T>(e));
}
}  // namespace

void order_projection::set_listener(listener l) {
  std::unique_lock lock(mutex_);
  listener_ = std::move(l);
}

bool order_projection::apply(const message& m) {
  return apply(m.topic, m.partition, m.offset, m.event);
}

void order_projection::count_locked(order_status from, order_status to, bool was_known,
                                    bool is_known) {
  if (was_known) --counts_[from];
  if (is_known) ++counts_[to];
}

namespace {
std::int64_t epoch_second(timestamp t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}
}  // namespace

void order_projection::count_created_locked(timestamp created_at, int delta) {
  const std::int64_t s = epoch_second(created_at);
  auto& slot = created_ring_[((s % 60) + 60) % 60];
  if (slot.second == s) {
    slot.count += delta;
  } else if (slot.second < s && delta > 0) {
    slot = {s, delta};  // the slot's old second is more than a minute older than this one
  }
  // else: more than a minute older than a second already counted, so outside any window
  // stats() can ask about (event times are not in the future)
}

bool order_projection::apply(std::string_view topic, std::int32_t partition, std::int64_t offset,
                             const envelope& e, bool notify) {
  return apply_event(topic, partition, offset, e, notify, nullptr);
}

bool order_projection::apply_event(std::string_view topic, std::int32_t partition,
                                   std::int64_t offset, const envelope& e, bool notify,
                                   const OrderCreated* created) {
  // Events without an order (stock events) do not belong to the order model.
  if (e.type == StockReplenished::event_type || e.type == LowStockDetected::event_type)
    return false;
  if (!known_event_type(e.type)) return false;
  const std::string& order_id = e.subject;
  if (order_id.empty()) return false;
  std::optional<order_view> changed;
  listener l;
  {
    std::unique_lock lock(mutex_);
    auto it = orders_.lower_bound(order_id);
    if (it == orders_.end() || it->first != order_id) {
      it = orders_.emplace_hint(it, inline_id(order_id), order_view{});
      it->second.order_id = order_id;
      it->second.events.reserve(6);  // a shipped order's six events without regrowing
    }
    order_view& v = it->second;
    const bool was_known = v.known;
    const order_status before = v.status;
    const applied a = apply_locked(v, topic, partition, offset, e, created);
    if (a == applied::no) return false;
    if (a == applied::added) {
      count_locked(before, v.status, was_known, v.known);
      if (!was_known && v.known) count_created_locked(v.created_at, +1);
      if (!v.idempotency_key.empty()) by_key_.emplace(v.idempotency_key, v.order_id);
    }
    if (notify && listener_) {
      l = listener_;
      changed = v;
    }
  }
  if (l && changed) l(*changed);
  return true;
}

order_projection::applied order_projection::apply_locked(order_view& v, std::string_view topic,
                                                         std::int32_t partition,
                                                         std::int64_t offset, const envelope& e,
                                                         const OrderCreated* created) {
  for (auto& ev : v.events)
    if (ev.id == e.id) {
      // Applied before it was published, now seen on the bus: only its position is new.
      if (ev.partition >= 0 || partition < 0) return applied::no;
      ev.partition = partition;
      ev.offset = offset;
      return applied::positioned;
    }
  std::string kind;
  if (e.type == OrderCreated::event_type) {
    std::optional<OrderCreated> decoded;
    const OrderCreated& c = created ? *created : decoded.emplace(decode_event<OrderCreated>(e));
    v.known = true;
    v.customer_id = c.customer_id;
    v.items = c.items;
    v.total = c.total;
    v.currency = c.currency;
    v.product_id = c.product_id;
    v.quantity = c.quantity;
    v.created_at = e.time;
    if (auto k = e.extensions.find("idempotencykey"); k != e.extensions.end())
      v.idempotency_key = k->second;
  } else if (e.type == InventoryRejected::event_type) {
    const auto r = decode_event<InventoryRejected>(e);
    v.failure_reason = r.reason + " (" + r.product_id + ": requested " +
                       std::to_string(r.requested) + ", available " + std::to_string(r.available) +
                       ")";
  } else if (e.type == InventoryReleased::event_type) {
    v.stock_released = true;
  } else if (e.type == PaymentCompleted::event_type) {
    const auto p = read_fields<amount_field, PaymentCompleted>(
        e, [](const PaymentCompleted& x) { return amount_field{x.amount}; });
    v.payment_amount = p.amount;
    if (!v.refunded) revenue_cents_ += p.amount.cents;
  } else if (e.type == PaymentFailed::event_type) {
    v.failure_reason = decode_event<PaymentFailed>(e).reason;
  } else if (e.type == PaymentRefunded::event_type) {
    const auto r = decode_event<PaymentRefunded>(e);
    if (!v.refunded) {
      v.refunded = true;
      revenue_cents_ -= r.amount.cents;
    }
  } else if (e.type == NotificationSent::event_type) {
    // The kind matters only to an order still in progress (next_status): not, say, to the
    // order_shipped notification that follows Shipped.
    if (!is_terminal(v.status))
      kind = read_fields<kind_field, NotificationSent>(e, [](const NotificationSent& x) {
               return kind_field{x.kind};
             }).kind;
  } else if (e.type == Shipped::event_type) {
    const auto s = read_fields<shipment_fields, Shipped>(e, [](const Shipped& x) {
      return shipment_fields{x.tracking_number, x.carrier, x.estimated_delivery_days};
    });
    v.tracking_number = s.tracking_number;
    v.carrier = s.carrier;
    v.estimated_delivery_days = s.estimated_delivery_days;
  } else if (e.type == OrderCancellationRequested::event_type) {
    v.cancellation_requested = true;
  } else if (e.type == OrderCancelled::event_type) {
    if (v.status != order_status::shipped)
      v.failure_reason = decode_event<OrderCancelled>(e).reason;
  }
  timeline_entry entry{inline_id(e.id),
                       catalog_name(e.type),
                       catalog_name(topic),
                       partition,
                       offset,
                       shared_text(e.data),
                       e.time};
  auto pos = std::upper_bound(v.events.begin(), v.events.end(), entry.time,
                              [](timestamp t, const timeline_entry& x) { return t < x.time; });
  v.events.insert(pos, std::move(entry));
  v.status = next_status(v.status, e.type, kind);
  if (is_terminal(v.status) && !v.completed_at) v.completed_at = e.time;
  if (e.time > v.last_updated) v.last_updated = e.time;
  ++v.version;
  return applied::added;
}

void order_projection::set_position(const std::string& order_id, std::string_view event_id,
                                    std::int32_t partition, std::int64_t offset) {
  std::optional<order_view> changed;
  listener l;
  {
    std::unique_lock lock(mutex_);
    auto it = orders_.find(order_id);
    if (it == orders_.end()) return;
    bool found = false;
    for (auto& ev : it->second.events)
      if (ev.id == event_id && ev.partition < 0) {
        ev.partition = partition;
        ev.offset = offset;
        found = true;
      }
    if (!found) return;  // the bus delivered it first (and the listener heard of it then)
    if (listener_) {
      l = listener_;
      changed = it->second;
    }
  }
  if (l && changed) l(*changed);
}

void order_projection::remember_created(const OrderCreated& created, const envelope& e) {
  apply_event(topics::orders, -1, -1, e, /*notify=*/false, &created);
}

void order_projection::forget(const std::string& order_id) {
  std::unique_lock lock(mutex_);
  auto it = orders_.find(order_id);
  if (it == orders_.end()) return;
  if (it->second.known) {
    --counts_[it->second.status];
    count_created_locked(it->second.created_at, -1);
  }
  if (!it->second.idempotency_key.empty()) by_key_.erase(it->second.idempotency_key);
  orders_.erase(it);
}

std::optional<order_view> order_projection::get(const std::string& order_id) const {
  std::shared_lock lock(mutex_);
  auto it = orders_.find(order_id);
  if (it == orders_.end()) return std::nullopt;
  return it->second;
}

std::optional<order_view> order_projection::find_by_idempotency_key(const std::string& key) const {
  std::shared_lock lock(mutex_);
  auto k = by_key_.find(key);
  if (k == by_key_.end()) return std::nullopt;
  auto it = orders_.find(k->second);
  if (it == orders_.end()) return std::nullopt;
  return it->second;
}

bool order_projection::mark_cancellation_requested(const std::string& order_id) {
  std::unique_lock lock(mutex_);
  auto it = orders_.find(order_id);
  if (it == orders_.end() || it->second.cancellation_requested) return false;
  it->second.cancellation_requested = true;
  return true;
}

std::vector<order_view> order_projection::list(std::optional<order_status> status,
                                               std::size_t limit, std::size_t offset,
                                               std::size_t* total) const {
  std::vector<const order_view*> match;
  std::shared_lock lock(mutex_);
  for (const auto& [id, v] : orders_)
    if (v.known && (!status || v.status == *status)) match.push_back(&v);
  std::sort(match.begin(), match.end(), [](const order_view* a, const order_view* b) {
    if (a->created_at != b->created_at) return a->created_at > b->created_at;
    return a->order_id > b->order_id;
  });
  if (total) *total = match.size();
  std::vector<order_view> out;
  for (std::size_t i = offset; i < match.size() && out.size() < limit; ++i)
    out.push_back(*match[i]);
  return out;
}

std::vector<order_view> order_projection::all() const {
  std::size_t total = 0;
  return list(std::nullopt, static_cast<std::size_t>(-1), 0, &total);
}

std::size_t order_projection::size() const {
  std::shared_lock lock(mutex_);
  return orders_.size();
}

std::vector<std::string> order_projection::stalled(timestamp before) const {
  std::vector<std::string> out;
  std::shared_lock lock(mutex_);
  for (const auto& [id, v] : orders_)
    if (v.known && !is_terminal(v.status) && !v.cancellation_requested && v.last_updated < before)
      out.push_back(v.order_id);
  return out;
}

order_stats order_projection::stats(timestamp now) const {
  order_stats s;
  std::shared_lock lock(mutex_);
  for (auto st : all_statuses) {
    auto it = counts_.find(st);
    const std::int64_t n = it == counts_.end() ? 0 : it->second;
    s.by_status[std::string(to_string(st))] = n;
    s.total_orders += n;
    if (!is_terminal(st)) s.in_progress += n;
  }
  s.shipped = s.by_status["shipped"];
  s.failed = s.by_status["inventory_rejected"] + s.by_status["payment_failed"];
  s.cancelled = s.by_status["cancelled"];
  s.revenue = money{revenue_cents_};
  // Orders created in the last 60 whole seconds (this second included).
  std::int64_t recent = 0;
  const std::int64_t last = epoch_second(now);
  for (const auto& slot : created_ring_)
    if (slot.second > last - 60 && slot.second <= last) recent += slot.count;
  s.orders_per_minute = static_cast<double>(recent);
  return s;
}

// ---- JSON --------------------------------------------------------------------------------

namespace {
// A timestamp as a JSON string without a temporary std::string (24 characters do not fit inline).
void write_time(json_writer& w, timestamp t) {
  char text[24];
  write_rfc3339(text, t);
  w.string(std::string_view(text, sizeof text));
}
}  // namespace

void write_seed_order(json_writer& w, const order_view& v) {
  w.begin_object();
  w.key("order_id");
  w.string(v.order_id);
  w.key("product_id");
  w.string(v.product_id);
  w.key("quantity");
  w.int64(v.quantity);
  w.key("status");
  w.string(to_string(v.status));
  w.key("events");
  w.begin_array();
  for (const auto& e : v.events) {
    w.begin_object();
    w.key("event_type");
    w.string(e.type);
    w.key("data");
    w.string(e.data);
    w.key("timestamp");
    write_time(w, e.time);
    w.end_object();
  }
  w.end_array();
  w.key("last_updated");
  write_time(w, v.last_updated);
  if (!v.tracking_number.empty()) {
    w.key("tracking_number");
    w.string(v.tracking_number);
  }
  if (v.payment_amount) {
    w.key("payment_amount");
    w.cents(v.payment_amount->cents);
  }
  w.end_object();
}

void write_v1_order(json_writer& w, const order_view& v) {
  w.begin_object();
  w.key("order_id");
  w.string(v.order_id);
  w.key("customer_id");
  w.string(v.customer_id);
  w.key("product_id");
  w.string(v.product_id);
  w.key("quantity");
  w.int64(v.quantity);
  w.key("status");
  w.string(to_string(v.status));
  w.key("items");
  w.begin_array();
  for (const auto& it : v.items) {
    w.begin_object();
    w.key("product_id");
    w.string(it.product_id);
    w.key("quantity");
    w.int64(it.quantity);
    w.key("unit_price");
    w.cents(it.unit_price.cents);
    w.end_object();
  }
  w.end_array();
  w.key("total");
  w.cents(v.total.cents);
  w.key("currency");
  w.string(v.currency);
  w.key("tracking_number");
  if (v.tracking_number.empty())
    w.null();
  else
    w.string(v.tracking_number);
  w.key("carrier");
  if (v.carrier.empty())
    w.null();
  else
    w.string(v.carrier);
  if (v.estimated_delivery_days > 0) {
    w.key("estimated_delivery_days");
    w.int64(v.estimated_delivery_days);
  }
  w.key("payment_amount");
  if (v.payment_amount)
    w.cents(v.payment_amount->cents);
  else
    w.null();
  w.key("refunded");
  w.boolean(v.refunded);
  w.key("stock_released");
  w.boolean(v.stock_released);
  if (!v.failure_reason.empty()) {
    w.key("failure_reason");
    w.string(v.failure_reason);
  }
  w.key("created_at");
  write_time(w, v.created_at);
  w.key("last_updated");
  write_time(w, v.last_updated);
  w.key("completed_at");
  if (v.completed_at)
    write_time(w, *v.completed_at);
  else
    w.null();
  w.key("cancellable");
  w.boolean(is_cancellable(v.status));
  w.key("events");
  w.begin_array();
  for (const auto& e : v.events) {
    w.begin_object();
    w.key("id");
    w.string(e.id);
    w.key("event_type");
    w.string(e.type);
    w.key("topic");
    w.string(e.topic);
    w.key("partition");
    w.int64(e.partition);
    w.key("offset");
    w.int64(e.offset);
    w.key("data");
    w.string(e.data);
    w.key("timestamp");
    write_time(w, e.time);
    w.end_object();
  }
  w.end_array();
  w.end_object();
}

std::string seed_order_json(const order_view& v) {
  json_writer w;
  write_seed_order(w, v);
  return w.str();
}

std::string v1_order_json(const order_view& v) {
  json_writer w;
  write_v1_order(w, v);
  return w.str();
}

void write_stats(json_writer& w, const order_stats& s) {
  w.begin_object();
  w.key("total_orders");
  w.int64(s.total_orders);
  w.key("in_progress");
  w.int64(s.in_progress);
  w.key("shipped");
  w.int64(s.shipped);
  w.key("failed");
  w.int64(s.failed);
  w.key("cancelled");
  w.int64(s.cancelled);
  w.key("revenue");
  w.cents(s.revenue.cents);
  w.key("currency");
  w.string("USD");
  w.key("orders_per_minute");
  w.number(s.orders_per_minute);
  w.key("by_status");
  w.begin_object();
  for (const auto& [k, n] : s.by_status) {
    w.key(k);
    w.int64(n);
  }
  w.end_object();
  w.end_object();
}

}  // namespace eventshop::services
