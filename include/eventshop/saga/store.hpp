// eventshop/saga/store.hpp - where saga instances live between events: the record of one saga
// and the `saga_store` interface, with an in-memory implementation. eventshop::saga also ships a
// SQLite implementation (sqlite_store.hpp) that survives restarts.
//
// A store keeps whole records keyed by (saga name, key). save() replaces the record when the
// stored version is `record.version - 1` (optimistic concurrency: a second writer gets
// errc::conflict and nothing changes) and stores it with `record.version`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "eventshop/core/time.hpp"

namespace eventshop::saga {

// An event that arrived early and waits for the events it depends on.
struct held_event {
  std::string type;
  std::string id;
  std::string data;
  friend bool operator==(const held_event&, const held_event&) = default;
};

// An action emitted and not yet acknowledged by the host.
struct pending_action {
  std::string name;    // action name from the definition (e.g. "release_stock")
  std::string detail;  // its detail text (e.g. a reason)
  std::string step;    // the step it compensates, "" for a command
  friend bool operator==(const pending_action&, const pending_action&) = default;
};

// One saga instance. Plain value.
struct saga_record {
  std::string saga;   // definition name
  std::string key;    // correlation key (e.g. the order id)
  std::string state;  // current state name
  bool terminal = false;
  std::vector<std::string> completed;    // completed steps, in completion order
  std::vector<std::string> compensated;  // steps whose compensation was emitted
  std::vector<std::string> seen;         // ids of events applied, held or ignored (dedup)
  std::vector<held_event> held;          // early events, in arrival order
  std::vector<pending_action> outbox;    // emitted, not yet acknowledged
  timestamp started_at{};                // when the saga was created
  timestamp entered_at{};                // when it entered `state`
  timestamp updated_at{};                // last change
  std::optional<timestamp> deadline;     // when `state` times out
  std::int64_t version = 0;              // 1 after the first save, +1 per save

  bool has_completed(std::string_view step) const noexcept;
  bool has_compensated(std::string_view step) const noexcept;
  bool has_seen(std::string_view event_id) const noexcept;
  friend bool operator==(const saga_record&, const saga_record&) = default;
};

struct saga_query {
  bool include_terminal = false;  // in-flight only by default
  std::size_t limit = 1000;
};

// Thread safety of implementations: safe (each call is atomic).
class saga_store {
 public:
  virtual ~saga_store() = default;

  virtual std::optional<saga_record> load(std::string_view saga, std::string_view key) = 0;
  // Inserts (version 1) or replaces (version n when n-1 is stored). Throws eventshop::error:
  // conflict on a version mismatch, invalid_argument for an empty saga name or key.
  virtual void save(const saga_record& record) = 0;
  // Records of `saga`, oldest started first.
  virtual std::vector<saga_record> list(std::string_view saga, const saga_query& query = {}) = 0;
  // Non-terminal records with a deadline (for rescheduling after a restart), any order.
  virtual std::vector<saga_record> with_deadline(std::string_view saga) = 0;
  // Records with a non-empty outbox (actions to re-run after a restart).
  virtual std::vector<saga_record> with_outbox(std::string_view saga) = 0;
  // Deletes terminal records without pending actions last updated before `before`; returns how
  // many.
  virtual std::size_t purge_terminal(std::string_view saga, timestamp before) = 0;
};

// Thread safety: safe (one mutex). Memory: every record until purge_terminal().
class memory_saga_store final : public saga_store {
 public:
  std::optional<saga_record> load(std::string_view saga, std::string_view key) override;
  // Loads into `out`, reusing its buffers; false when absent.
  bool load_into(std::string_view saga, std::string_view key, saga_record& out);
  void save(const saga_record& record) override;
  std::vector<saga_record> list(std::string_view saga, const saga_query& query = {}) override;
  std::vector<saga_record> with_deadline(std::string_view saga) override;
  std::vector<saga_record> with_outbox(std::string_view saga) override;
  std::size_t purge_terminal(std::string_view saga, timestamp before) override;
  std::size_t size() const;

 private:
  struct key_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  using per_saga = std::unordered_map<std::string, saga_record, key_hash, std::equal_to<>>;
  mutable std::mutex mutex_;
  std::map<std::string, per_saga, std::less<>> sagas_;
};

// Checks what every store requires of a record before saving (non-empty saga, key and state,
// version >= 1). Throws eventshop::error(invalid_argument).
void validate_record(const saga_record& record);

}  // namespace eventshop::saga
