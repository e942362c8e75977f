// services/common/order_projection.hpp - the order read model (CQRS query side): every order's
// status, timeline, tracking and payment, folded from the events of all five topics, plus the
// statistics. The status service serves it; the order service keeps one too, to answer
// cancellations and repeated Idempotency-Keys.
//
// apply() is idempotent (an event id already in an order's timeline changes nothing) and
// order-tolerant: events of one order arrive in order per topic but in any order across topics;
// the status follows next_status() (monotonic), the timeline is kept sorted by event time, and
// an order seen first through a later event is filled in when its OrderCreated arrives.
// Replaying the topics from the beginning rebuilds the same model.
//
// JSON: seed_json() is the original system's Order object; v1_json() adds items, total,
// currency, carrier, created_at, completed_at, cancellable and per event id, topic, offset.
// Thread safety: safe (one shared mutex; readers run concurrently).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/compact_text.hpp"
#include "common/order_status.hpp"
#include "eventshop/core/bus.hpp"
#include "eventshop/core/json.hpp"
#include "eventshop/ecommerce/events.hpp"

namespace eventshop::services {

// One event of an order's timeline: 72 bytes and one heap block (the data, shared by copies of
// the entry) - the read model keeps ~6 per order for the life of the process. The fields read
// like strings (std::string_view conversions, == with strings).
struct timeline_entry {
  inline_id id;
  catalog_name type;
  catalog_name topic;
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  shared_text data;  // the event's data as JSON text
  timestamp time{};
};

struct order_view {
  std::string order_id;
  bool known = false;  // its OrderCreated was seen
  std::string customer_id;
  std::string product_id;  // the first item's
  int quantity = 0;        // the first item's
  std::vector<ecommerce::OrderItem> items;
  money total;
  std::string currency = "USD";
  order_status status = order_status::created;
  std::vector<timeline_entry> events;
  timestamp created_at{};
  timestamp last_updated{};
  std::optional<timestamp> completed_at;
  std::string tracking_number;
  std::string carrier;
  int estimated_delivery_days = 0;
  std::optional<money> payment_amount;
  bool refunded = false;
  bool stock_released = false;
  bool cancellation_requested = false;
  std::string failure_reason;
  std::string idempotency_key;  // from OrderCreated's "idempotencykey" extension
  std::uint64_t version = 0;    // events applied
};

struct order_stats {
  std::int64_t total_orders = 0;
  std::map<std::string, std::int64_t> by_status;  // every status, zeros included
  std::int64_t in_progress = 0;
  std::int64_t shipped = 0;
  std::int64_t failed = 0;  // inventory_rejected + payment_failed
  std::int64_t cancelled = 0;
  money revenue;                 // charged and not refunded
  double orders_per_minute = 0;  // created in the last 60 s
};

class order_projection {
 public:
  using listener = std::function<void(const order_view&)>;

  // Applies one event; returns true when it changed the model (then calls the listener, outside
  // the lock, with the order's new state).
  bool apply(const message& m);
  // `notify` false: the listener is not called for this change; it is called when the same
  // event comes again with its bus position (partition >= 0), which then fills in the position.
  bool apply(std::string_view topic, std::int32_t partition, std::int64_t offset, const envelope& e,
             bool notify = true);
  // Fills in the bus position of an event applied with notify=false (partition -1), and calls
  // the listener - unless the bus delivered the event first, which did both.
  void set_position(const std::string& order_id, std::string_view event_id, std::int32_t partition,
                    std::int64_t offset);

  // Records an order its creator knows before the event comes back from the bus: the same as
  // apply(topics::orders, -1, -1, e, false) for `e` carrying `created`, without decoding it again.
  void remember_created(const ecommerce::OrderCreated& created, const envelope& e);
  void forget(const std::string& order_id);  // the create failed to publish

  void set_listener(listener l);

  std::optional<order_view> get(const std::string& order_id) const;
  std::optional<order_view> find_by_idempotency_key(const std::string& key) const;
  // Newest first; `status` filters when set. `total` receives the count before paging.
  std::vector<order_view> list(std::optional<order_status> status, std::size_t limit,
                               std::size_t offset, std::size_t* total = nullptr) const;
  std::vector<order_view> all() const;
  order_stats stats(timestamp now) const;
  std::size_t size() const;
  // Known orders, not terminal, no cancellation requested, last changed before `before`.
  std::vector<std::string> stalled(timestamp before) const;
  // Marks a cancellation request (so a repeat is not published twice). False if already marked.
  bool mark_cancellation_requested(const std::string& order_id);

 private:
  enum class applied { no, added, positioned };
  bool apply_event(std::string_view topic, std::int32_t partition, std::int64_t offset,
                   const envelope& e, bool notify, const ecommerce::OrderCreated* created);
  applied apply_locked(order_view& v, std::string_view topic, std::int32_t partition,
                       std::int64_t offset, const envelope& e,
                       const ecommerce::OrderCreated* created);
  void count_locked(order_status from, order_status to, bool was_known, bool is_known);
  void count_created_locked(timestamp created_at, int delta);

  mutable std::shared_mutex mutex_;
  // Ordered by order id (UUIDv7: time first): orders arrive in time order, so the lookups of
  // recent orders - nearly all of them - walk nodes already in the cache; a hashed table missed
  // the cache on bucket, node and id for each (6.7 % of the pipeline in perf). The key is a copy
  // of the id inline in the node: comparing through the view's own heap-allocated id cost a
  // second cache miss per tree level (a third of the lookups' time).
  std::map<inline_id, order_view, text_less> orders_;
  std::unordered_map<std::string, std::string> by_key_;  // idempotency key -> order id
  std::map<order_status, std::int64_t> counts_;
  std::int64_t revenue_cents_ = 0;
  // Orders created per second of their creation time, for the last minute's count in stats()
  // (which used to scan every order): slot s % 60 holds second s.
  struct created_second {
    std::int64_t second = 0;
    std::int64_t count = 0;
  };
  created_second created_ring_[60]{};
  listener listener_;
};

// JSON of CONTRACT §4.
void write_seed_order(json_writer& w, const order_view& v);
void write_v1_order(json_writer& w, const order_view& v);
std::string seed_order_json(const order_view& v);
std::string v1_order_json(const order_view& v);
void write_stats(json_writer& w, const order_stats& s);

}  // namespace eventshop::services
