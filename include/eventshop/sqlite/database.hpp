// eventshop/sqlite/database.hpp - a service's own SQLite file, and the unit of work on it.
//
// A `unit_of_work` is one SQLite transaction (BEGIN IMMEDIATE) in which a service
//   - changes its own tables (exec/query),
//   - marks the incoming event as handled (mark_handled: false if it already was),
//   - appends to event-store streams (append, with expected-version checks), and
//   - queues outgoing events in the transactional outbox (add_outbox),
// and then commits all of it at once, or nothing (destruction without commit() rolls back).
// That is what makes a consumer effectively-once: a redelivered event finds its id marked and
// changes nothing; a crash before commit leaves no trace and the event is delivered again.
// An outbox_relay (outbox.hpp) later publishes the outbox rows to a bus.
//
// Thread safety: `database` is safe from any thread; it has one connection, and a unit of work
// holds it exclusively until it ends (other threads' begin() waits). Do not begin a second unit
// of work, or call another eventshop::sqlite object on the same `database`, from inside one.
// Several processes may open the same file; SQLite serialises their transactions (busy_timeout).
#pragma once

#include <chrono>
#include <concepts>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "eventshop/core/envelope.hpp"
#include "eventshop/core/event_store.hpp"
#include "eventshop/sqlite/sqlite_bus.hpp"

namespace eventshop::sqlite {

// One SQL value (parameter or column).
class value {
 public:
  value() = default;
  value(std::nullptr_t) {}
  template <std::integral T>
  value(T v) : v_(static_cast<std::int64_t>(v)) {}
  value(double v) : v_(v) {}
  value(std::string v) : v_(std::move(v)) {}
  value(std::string_view v) : v_(std::string(v)) {}
  value(const char* v) : v_(std::string(v)) {}

  bool is_null() const noexcept { return v_.index() == 0; }
  std::int64_t as_int() const;         // throws wrong_type unless an integer
  double as_double() const;            // integers convert
  const std::string& as_text() const;  // throws wrong_type unless text

  const std::variant<std::monostate, std::int64_t, double, std::string>& get() const noexcept {
    return v_;
  }
  friend bool operator==(const value&, const value&) = default;

 private:
  std::variant<std::monostate, std::int64_t, double, std::string> v_;
};

using row = std::vector<value>;

struct database_options {
  std::string path;  // created (with the schema) if missing
  sync_mode synchronous = sync_mode::full;
  std::chrono::milliseconds busy_timeout{5000};  // per attempt; begin() retries up to 30 s

  void validate() const;
};

class unit_of_work;

class database {
 public:
  explicit database(database_options options);
  explicit database(std::string path) : database(database_options{std::move(path)}) {}
  ~database();
  database(const database&) = delete;
  database& operator=(const database&) = delete;

  unit_of_work begin();
  const database_options& options() const noexcept;

  // Runs statements outside a unit of work (e.g. CREATE TABLE IF NOT EXISTS for a read model).
  void exec_script(std::string_view sql);

  struct impl;
  impl& get_impl() noexcept { return *impl_; }

 private:
  std::shared_ptr<impl> impl_;
};

class unit_of_work {
 public:
  unit_of_work(unit_of_work&&) noexcept;
  unit_of_work& operator=(unit_of_work&&) = delete;
  ~unit_of_work();  // rolls back unless committed

  // Executes one statement with `?` parameters; returns the number of changed rows.
  std::int64_t exec(std::string_view sql, std::initializer_list<value> params = {});
  std::int64_t exec(std::string_view sql, const std::vector<value>& params);
  // Runs a query and returns every row.
  std::vector<row> query(std::string_view sql, std::initializer_list<value> params = {});
  std::vector<row> query(std::string_view sql, const std::vector<value>& params);

  // Records that `group` handled `event_id`; false if it was already recorded (then the caller
  // should skip its effects - they were committed before).
  bool mark_handled(std::string_view group, std::string_view event_id);
  bool handled(std::string_view group, std::string_view event_id);

  // Queues `event` for publication to `topic` (in order per key, at least once) by a relay.
  // Throws invalid_argument for a bad topic name or an invalid envelope.
  void add_outbox(std::string_view topic, const envelope& event);

  // The event store, inside this transaction (see core/event_store.hpp for the contract).
  append_result append(std::string_view stream, std::int64_t expected,
                       const std::vector<envelope>& events);

  // Projection checkpoints (see projection.hpp).
  std::int64_t checkpoint(std::string_view name);
  void set_checkpoint(std::string_view name, std::int64_t position);

  void commit();  // throws on failure (then nothing was written)
  void rollback() noexcept;
  bool active() const noexcept;

  struct state;

 private:
  friend class database;
  explicit unit_of_work(std::unique_ptr<state> s);
  std::unique_ptr<state> s_;
};

}  // namespace eventshop::sqlite
