// Private to eventshop::sqlite: thin RAII wrappers over the SQLite C API, the schema and its
// migrations. Nothing here is installed; public headers never include sqlite3.h.
#pragma once

#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "eventshop/core/error.hpp"

namespace eventshop::sqlite::detail {

struct db_closer {
  void operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
};
struct stmt_finalizer {
  void operator()(sqlite3_stmt* s) const noexcept { sqlite3_finalize(s); }
};
using db_ptr = std::unique_ptr<sqlite3, db_closer>;
using stmt_ptr = std::unique_ptr<sqlite3_stmt, stmt_finalizer>;

// Maps an SQLite result code to eventshop's error codes.
errc errc_for(int rc) noexcept;
// Throws eventshop::error: "<what>: <sqlite message> (<path>)".
[[noreturn]] void throw_sqlite(sqlite3* db, int rc, std::string_view what);

class statement {
 public:
  statement() = default;
  statement(sqlite3* db, std::string_view sql);

  statement& bind(int i, std::int64_t v);
  statement& bind(int i, int v) { return bind(i, static_cast<std::int64_t>(v)); }
  statement& bind(int i, double v);
  statement& bind(int i, std::string_view v);         // copied by SQLite (SQLITE_TRANSIENT)
  statement& bind_static(int i, std::string_view v);  // caller keeps v alive until reset()
  statement& bind_blob_static(int i, std::string_view v);
  statement& bind_null(int i);

  bool step();  // true while a row is available; throws on error
  void run() {  // steps to the end and resets
    while (step()) {
    }
    reset();
  }
  void reset() noexcept;

  std::int64_t int64(int col) const noexcept { return sqlite3_column_int64(h_.get(), col); }
  double real(int col) const noexcept { return sqlite3_column_double(h_.get(), col); }
  bool is_null(int col) const noexcept { return sqlite3_column_type(h_.get(), col) == SQLITE_NULL; }
  int type(int col) const noexcept { return sqlite3_column_type(h_.get(), col); }
  std::string_view text(int col) const noexcept;
  int columns() const noexcept { return sqlite3_column_count(h_.get()); }
  sqlite3_stmt* get() const noexcept { return h_.get(); }

 private:
  sqlite3* db_ = nullptr;
  stmt_ptr h_;
};

enum class sync_level { full, normal };

struct open_params {
  std::string path;
  sync_level sync = sync_level::full;
  std::chrono::milliseconds busy_timeout{5000};
  bool create = true;
  int page_size = 0;  // for a file this connection creates; 0 = SQLite's default (4096)
  bool mmap = true;   // read the file through a 1 GiB memory map (else pread into the cache)
};

// One connection. Distinct objects: safe. Shared objects: unsafe (opened NOMUTEX).
class connection {
 public:
  connection() = default;
  // Opens `path`, checks it is an eventshop database (or an empty file/new file when
  // `create`), applies pending migrations, sets WAL, synchronous and busy_timeout.
  explicit connection(const open_params& p);

  sqlite3* get() const noexcept { return db_.get(); }
  const std::string& path() const noexcept { return path_; }
  void exec(const char* sql);
  statement prepare(std::string_view sql) { return statement(db_.get(), sql); }

  // BEGIN IMMEDIATE, retrying SQLITE_BUSY (beyond busy_timeout) until `deadline`.
  void begin_immediate(std::chrono::steady_clock::time_point deadline);
  void begin_immediate() {
    begin_immediate(std::chrono::steady_clock::now() + std::chrono::seconds(30));
  }
  void commit();
  void rollback() noexcept;
  bool in_transaction() const noexcept { return sqlite3_get_autocommit(db_.get()) == 0; }
  std::int64_t data_version();  // PRAGMA data_version
  std::int64_t changes() const noexcept { return sqlite3_changes64(db_.get()); }

 private:
  db_ptr db_;
  std::string path_;
};

// Runs a rolled-back-on-exception transaction.
class transaction_guard {
 public:
  explicit transaction_guard(connection& c) : c_(c) { c_.begin_immediate(); }
  ~transaction_guard() {
    if (!done_) c_.rollback();
  }
  void commit() {
    c_.commit();
    done_ = true;
  }
  transaction_guard(const transaction_guard&) = delete;
  transaction_guard& operator=(const transaction_guard&) = delete;

 private:
  connection& c_;
  bool done_ = false;
};

// Events of one partition (schema 5): table es_log_<topic_id>_<partition>(off INTEGER PRIMARY
// KEY, seq, key, envelope). Created with the topic's es_partitions rows, in their transaction.
std::string partition_table(std::int64_t topic_id, std::int32_t partition);
void create_partition_table(connection& c, std::int64_t topic_id, std::int32_t partition);

// The schema version this build writes and understands.
int schema_version() noexcept;

// Milliseconds since the Unix epoch (leases and heartbeats across processes).
std::int64_t unix_ms() noexcept;

}  // namespace eventshop::sqlite::detail
