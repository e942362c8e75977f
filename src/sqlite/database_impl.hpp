// Private: the insides of sqlite::database and sqlite::unit_of_work.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "db.hpp"
#include "eventshop/sqlite/database.hpp"

namespace eventshop::sqlite {

struct database::impl {
  database_options options;
  std::mutex mutex;  // one user of `conn` at a time (a unit of work holds it throughout)
  detail::connection conn;
  std::unordered_map<std::string, detail::statement> cache;  // guarded by mutex

  std::mutex notify_mutex;
  std::condition_variable notify_cv;
  std::uint64_t commits = 0;  // units of work that added outbox rows

  detail::statement& cached(std::string_view sql);  // caller holds mutex
  void notify_commit();
};

struct unit_of_work::state {
  std::shared_ptr<database::impl> db;
  std::unique_lock<std::mutex> lock;
  bool active = false;
  bool outbox = false;
};

namespace detail {
void bind_values(statement& st, const value* first, std::size_t n);
value column_value(const statement& st, int col);
}  // namespace detail

}  // namespace eventshop::sqlite
