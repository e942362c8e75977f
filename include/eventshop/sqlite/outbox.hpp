// eventshop/sqlite/outbox.hpp - relays the transactional outbox to any bus, and a durable
// idempotency store for middleware::idempotent.
//
// outbox_relay reads es_outbox rows in id order (= commit order of the units of work that
// added them), publishes them to the bus in that order, waits for the acknowledgements, and
// deletes the acknowledged prefix. So every row is published at least once, and events of one
// key keep their order (given a bus that keeps the order of one publisher's publishes, as every
// eventshop bus does). A crash between the ack and the delete republishes those rows: consumers
// de-duplicate by event id (unit_of_work::mark_handled or middleware::idempotent).
//
// Threads: start() runs one relay thread; it is woken by commits of units of work on the same
// `database` object and otherwise polls every `poll_interval`. relay_once() does one pass on
// the caller's thread (do not mix it with start()). Thread safety: start/stop from one thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string_view>

#include "eventshop/core/bus.hpp"
#include "eventshop/core/middleware.hpp"
#include "eventshop/sqlite/database.hpp"

namespace eventshop::sqlite {

struct relay_options {
  std::size_t batch = 500;                        // rows published per round
  std::chrono::milliseconds poll_interval{10};    // when no local commit woke the relay
  std::chrono::milliseconds ack_timeout{30'000};  // a round without all acks is retried
  std::chrono::milliseconds retry_delay{100};     // after a failed publish

  void validate() const;
};

class outbox_relay {
 public:
  outbox_relay(database& db, bus& target, relay_options options = {});
  ~outbox_relay();  // stop()
  outbox_relay(const outbox_relay&) = delete;
  outbox_relay& operator=(const outbox_relay&) = delete;

  // Publishes up to one batch; returns how many rows were published and removed. Throws
  // eventshop::error if a publish failed (the rows stay for the next try).
  std::size_t relay_once();
  void start();
  void stop();            // finishes the current round
  std::size_t pending();  // rows waiting in the outbox

  struct impl;

 private:
  std::unique_ptr<impl> impl_;
};

// middleware::idempotent's store, durable in the database (table es_processed). For effects in
// the same transaction as the mark, use unit_of_work::mark_handled instead.
class idempotency_store final : public eventshop::idempotency_store {
 public:
  explicit idempotency_store(database& db) : db_(db) {}
  bool contains(std::string_view group, std::string_view event_id) override;
  void insert(std::string_view group, std::string_view event_id) override;

 private:
  database& db_;
};

}  // namespace eventshop::sqlite
