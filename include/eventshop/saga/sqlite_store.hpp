// eventshop/saga/sqlite_store.hpp - a saga_store in a SQLite database file, so sagas (and their
// deadlines and unacknowledged actions) survive restarts. Available when eventshop was built with
// EVENTSHOP_WITH_SQLITE (the default; eventshop::saga then defines EVENTSHOP_SAGA_HAVE_SQLITE for
// its users); SQLite itself stays out of this header.
//
// One row per saga instance in table `saga_instances` (indexed columns for state, deadline and
// outbox size, the rest as a JSON body). save() is one statement, atomic and durable when it
// returns (WAL journal, synchronous=NORMAL by default: a power loss may lose the last commits,
// a process crash loses nothing; set `synchronous_full` for power-loss durability). Several
// processes may open the same file; run one saga_tracker per saga name, since the tracker caches.
//
// Thread safety: safe; calls are serialised on the one connection.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "eventshop/saga/store.hpp"

namespace eventshop::saga {

struct sqlite_saga_store_options {
  std::string path;                              // database file (created if missing); required
  std::chrono::milliseconds busy_timeout{5000};  // wait for other writers' locks
  bool synchronous_full = false;                 // PRAGMA synchronous=FULL instead of NORMAL

  void validate() const;  // throws eventshop::error(invalid_argument)
};

class sqlite_saga_store final : public saga_store {
 public:
  // Opens (creating the file and the table if needed). Throws eventshop::error(io_error or
  // backend_error) naming the file when it cannot.
  explicit sqlite_saga_store(sqlite_saga_store_options options);
  ~sqlite_saga_store() override;
  sqlite_saga_store(const sqlite_saga_store&) = delete;
  sqlite_saga_store& operator=(const sqlite_saga_store&) = delete;

  std::optional<saga_record> load(std::string_view saga, std::string_view key) override;
  void save(const saga_record& record) override;
  std::vector<saga_record> list(std::string_view saga, const saga_query& query = {}) override;
  std::vector<saga_record> with_deadline(std::string_view saga) override;
  std::vector<saga_record> with_outbox(std::string_view saga) override;
  std::size_t purge_terminal(std::string_view saga, timestamp before) override;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace eventshop::saga
