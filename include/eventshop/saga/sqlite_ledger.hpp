// eventshop/saga/sqlite_ledger.hpp - a participant_ledger on eventshop::sqlite's unit of work:
// the reaction's own writes, the "handled" mark of the incoming event and the outgoing events
// (as transactional outbox rows) commit in ONE SQLite transaction, or not at all.
//
//   sqlite::database db(data_dir + "/inventory.db");
//   saga::sqlite_participant_ledger ledger(db);
//   sqlite::outbox_relay relay(db, bus);   // publishes the outbox rows
//   relay.start();
//   saga::participant p(bus, ledger, {.group = "inventory", .source = "/eventshop/inventory"});
//   p.on<OrderCreated>(topics::orders, [&](const OrderCreated& o, saga::reaction& r) {
//     auto& tx = saga::sqlite_participant_ledger::current();   // this reaction's transaction
//     tx.exec("UPDATE stock SET reserved = reserved + ? WHERE product_id = ?", {...});
//     r.publish(InventoryConfirmed{...});
//   });
//
// Header-only: include it only where you link eventshop::sqlite too (eventshop::saga itself does
// not depend on it). Publishing is the outbox_relay's job, so unpublished() is always empty and
// the participant never publishes by itself; the relay delivers each row at least once, in
// commit order. Thread safety: as sqlite::database (one unit of work at a time per database).
#pragma once

#include <stdexcept>

#include "eventshop/core/error.hpp"
#include "eventshop/saga/participant.hpp"
#include "eventshop/sqlite/database.hpp"

namespace eventshop::saga {

class sqlite_participant_ledger final : public participant_ledger {
 public:
  explicit sqlite_participant_ledger(sqlite::database& db) : db_(db) {}

  bool run_once(std::string_view group, std::string_view event_id,
                const std::function<std::vector<outgoing_event>()>& work) override {
    sqlite::unit_of_work tx = db_.begin();
    if (!tx.mark_handled(group, event_id)) return false;  // rolled back: nothing to do
    struct current_guard {
      explicit current_guard(sqlite::unit_of_work* t) : previous(current_) { current_ = t; }
      ~current_guard() { current_ = previous; }
      current_guard(const current_guard&) = delete;
      current_guard& operator=(const current_guard&) = delete;
      sqlite::unit_of_work* previous;
    } guard(&tx);
    const std::vector<outgoing_event> events = work();  // throws: the transaction rolls back
    for (const auto& e : events)
      tx.add_outbox(e.topic, e.event);
    tx.commit();
    return true;
  }

  std::vector<outgoing_event> unpublished(std::string_view) override { return {}; }
  void mark_published(std::string_view, std::string_view) override {}

  // The unit of work of the reaction running on this thread. Throws eventshop::error
  // (invalid_argument) when called outside a reaction run by a sqlite_participant_ledger.
  static sqlite::unit_of_work& current() {
    if (current_ == nullptr)
      throw error(errc::invalid_argument,
                  "sqlite_participant_ledger::current(): no reaction is running on this thread");
    return *current_;
  }

 private:
  sqlite::database& db_;
  static inline thread_local sqlite::unit_of_work* current_ = nullptr;
};

}  // namespace eventshop::saga
