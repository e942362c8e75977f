// sqlite_saga_store: saga records in SQLite (one row each, JSON body).
#include "eventshop/saga/sqlite_store.hpp"

#include <sqlite3.h>

#include <mutex>

#include "eventshop/core/error.hpp"
#include "eventshop/core/json.hpp"

namespace eventshop::saga {

namespace {

struct db_closer {
  void operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
};
struct stmt_finalizer {
  void operator()(sqlite3_stmt* s) const noexcept { sqlite3_finalize(s); }
};
using db_ptr = std::unique_ptr<sqlite3, db_closer>;
using stmt_ptr = std::unique_ptr<sqlite3_stmt, stmt_finalizer>;

std::int64_t to_ns(timestamp t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}
timestamp from_ns(std::int64_t ns) {
  return timestamp{std::chrono::duration_cast<timestamp::duration>(std::chrono::nanoseconds{ns})};
}

void write_strings(json_writer& w, std::string_view name, const std::vector<std::string>& v) {
  w.key(name);
  w.begin_array();
  for (const auto& s : v)
    w.string(s);
  w.end_array();
}

std::string encode_body(const saga_record& r) {
  json_writer w;
  w.begin_object();
  write_strings(w, "completed", r.completed);
  write_strings(w, "compensated", r.compensated);
  write_strings(w, "seen", r.seen);
  w.key("held");
  w.begin_array();
  for (const auto& h : r.held) {
    w.begin_object();
    w.key("type");
    w.string(h.type);
    w.key("id");
    w.string(h.id);
    w.key("data");
    w.string(h.data);
    w.end_object();
  }
  w.end_array();
  w.key("outbox");
  w.begin_array();
  for (const auto& a : r.outbox) {
    w.begin_object();
    w.key("name");
    w.string(a.name);
    w.key("detail");
    w.string(a.detail);
    w.key("step");
    w.string(a.step);
    w.end_object();
  }
  w.end_array();
  w.key("started_ns");
  w.int64(to_ns(r.started_at));
  w.key("entered_ns");
  w.int64(to_ns(r.entered_at));
  w.key("updated_ns");
  w.int64(to_ns(r.updated_at));
  if (r.deadline) {
    w.key("deadline_ns");
    w.int64(to_ns(*r.deadline));
  }
  w.end_object();
  return w.str();
}

[[noreturn]] void corrupt(std::string_view saga, std::string_view key, std::string_view what) {
  throw error(errc::backend_error, "saga store: record '" + std::string(saga) + "'/'" +
                                       std::string(key) + "' is corrupt: " + std::string(what));
}

std::vector<std::string> read_strings(json_view v, std::string_view saga, std::string_view key,
                                      std::string_view name) {
  std::vector<std::string> out;
  const json_view a = v[name];
  if (!a.is_array()) corrupt(saga, key, std::string(name) + " is not an array");
  out.reserve(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (!a.at(i).is_string()) corrupt(saga, key, std::string(name) + " holds a non-string");
    out.emplace_back(a.at(i).as_string());
  }
  return out;
}

std::string read_string(json_view v, std::string_view field, std::string_view saga,
                        std::string_view key) {
  const json_view s = v[field];
  if (!s.is_string()) corrupt(saga, key, std::string(field) + " is not a string");
  return std::string(s.as_string());
}

std::int64_t read_int(json_view v, std::string_view field, std::string_view saga,
                      std::string_view key) {
  const json_view s = v[field];
  if (!s.is_integer()) corrupt(saga, key, std::string(field) + " is not an integer");
  return s.as_int64();
}

}  // namespace

void sqlite_saga_store_options::validate() const {
  if (path.empty())
    throw error(errc::invalid_argument, "sqlite_saga_store_options.path: must not be empty");
  if (busy_timeout.count() < 0)
    throw error(errc::invalid_argument, "sqlite_saga_store_options.busy_timeout: must be >= 0");
}

struct sqlite_saga_store::impl {
  sqlite_saga_store_options opt;
  std::mutex mu;
  db_ptr db;
  stmt_ptr load_stmt, insert_stmt, update_stmt, version_stmt;

  [[noreturn]] void fail(std::string_view what) const {
    throw error(errc::backend_error, "saga store " + opt.path + ": " + std::string(what) + ": " +
                                         sqlite3_errmsg(db.get()));
  }

  void exec(const char* sql) {
    char* msg = nullptr;
    if (sqlite3_exec(db.get(), sql, nullptr, nullptr, &msg) != SQLITE_OK) {
      const std::string m = msg != nullptr ? msg : "unknown error";
      sqlite3_free(msg);
      throw error(errc::backend_error, "saga store " + opt.path + ": " + m);
    }
  }

  stmt_ptr prepare(const char* sql) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v3(db.get(), sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr) != SQLITE_OK)
      fail("prepare");
    return stmt_ptr(s);
  }

  explicit impl(sqlite_saga_store_options o) : opt(std::move(o)) {
    opt.validate();
    sqlite3* raw = nullptr;
    const int rc =
        sqlite3_open_v2(opt.path.c_str(), &raw,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    db.reset(raw);
    if (rc != SQLITE_OK)
      throw error(errc::io_error, "saga store: cannot open " + opt.path + ": " +
                                      (raw != nullptr ? sqlite3_errmsg(raw) : "out of memory"));
    sqlite3_busy_timeout(db.get(), static_cast<int>(opt.busy_timeout.count()));
    exec("PRAGMA journal_mode=WAL");
    exec(opt.synchronous_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
    exec(
        "CREATE TABLE IF NOT EXISTS saga_instances ("
        " saga TEXT NOT NULL, key TEXT NOT NULL, state TEXT NOT NULL,"
        " terminal INTEGER NOT NULL, version INTEGER NOT NULL,"
        " started_ns INTEGER NOT NULL, updated_ns INTEGER NOT NULL, deadline_ns INTEGER,"
        " outbox INTEGER NOT NULL, body TEXT NOT NULL,"
        " PRIMARY KEY (saga, key)) WITHOUT ROWID;"
        "CREATE INDEX IF NOT EXISTS saga_instances_open"
        " ON saga_instances (saga, terminal, started_ns);");
    load_stmt = prepare(
        "SELECT saga, key, state, terminal, version, body FROM saga_instances"
        " WHERE saga = ?1 AND key = ?2");
    insert_stmt = prepare(
        "INSERT INTO saga_instances (saga, key, state, terminal, version, started_ns,"
        " updated_ns, deadline_ns, outbox, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
        " ON CONFLICT (saga, key) DO NOTHING");
    update_stmt = prepare(
        "UPDATE saga_instances SET state = ?3, terminal = ?4, version = ?5, started_ns = ?6,"
        " updated_ns = ?7, deadline_ns = ?8, outbox = ?9, body = ?10"
        " WHERE saga = ?1 AND key = ?2 AND version = ?5 - 1");
    version_stmt = prepare("SELECT version FROM saga_instances WHERE saga = ?1 AND key = ?2");
  }

  static void bind_text(sqlite3_stmt* s, int i, std::string_view v) {
    sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }

  saga_record row(sqlite3_stmt* s) const {
    saga_record r;
    auto text = [&](int col) {
      const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s, col));
      return std::string(p != nullptr ? p : "",
                         static_cast<std::size_t>(sqlite3_column_bytes(s, col)));
    };
    r.saga = text(0);
    r.key = text(1);
    r.state = text(2);
    r.terminal = sqlite3_column_int(s, 3) != 0;
    r.version = sqlite3_column_int64(s, 4);
    const std::string body = text(5);
    try {
      const json_document doc(body);
      const json_view v = doc.root();
      r.completed = read_strings(v, r.saga, r.key, "completed");
      r.compensated = read_strings(v, r.saga, r.key, "compensated");
      r.seen = read_strings(v, r.saga, r.key, "seen");
      const json_view held = v["held"];
      if (!held.is_array()) corrupt(r.saga, r.key, "held is not an array");
      for (std::size_t i = 0; i < held.size(); ++i)
        r.held.push_back({read_string(held.at(i), "type", r.saga, r.key),
                          read_string(held.at(i), "id", r.saga, r.key),
                          read_string(held.at(i), "data", r.saga, r.key)});
      const json_view outbox = v["outbox"];
      if (!outbox.is_array()) corrupt(r.saga, r.key, "outbox is not an array");
      for (std::size_t i = 0; i < outbox.size(); ++i)
        r.outbox.push_back({read_string(outbox.at(i), "name", r.saga, r.key),
                            read_string(outbox.at(i), "detail", r.saga, r.key),
                            read_string(outbox.at(i), "step", r.saga, r.key)});
      r.started_at = from_ns(read_int(v, "started_ns", r.saga, r.key));
      r.entered_at = from_ns(read_int(v, "entered_ns", r.saga, r.key));
      r.updated_at = from_ns(read_int(v, "updated_ns", r.saga, r.key));
      if (v["deadline_ns"].present())
        r.deadline = from_ns(read_int(v, "deadline_ns", r.saga, r.key));
    } catch (const error& e) {
      if (e.code() == make_error_code(errc::backend_error)) throw;
      corrupt(r.saga, r.key, e.what());
    }
    return r;
  }

  std::vector<saga_record> query(const std::string& sql, std::string_view saga,
                                 std::int64_t limit = -1) {
    stmt_ptr s = prepare(sql.c_str());
    bind_text(s.get(), 1, saga);
    sqlite3_bind_int64(s.get(), 2, limit);
    std::vector<saga_record> out;
    for (;;) {
      const int rc = sqlite3_step(s.get());
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) fail("query");
      out.push_back(row(s.get()));
    }
    return out;
  }
};

sqlite_saga_store::sqlite_saga_store(sqlite_saga_store_options options)
    : impl_(std::make_unique<impl>(std::move(options))) {}

sqlite_saga_store::~sqlite_saga_store() = default;

std::optional<saga_record> sqlite_saga_store::load(std::string_view saga, std::string_view key) {
  std::lock_guard lock(impl_->mu);
  sqlite3_stmt* s = impl_->load_stmt.get();
  sqlite3_reset(s);
  impl::bind_text(s, 1, saga);
  impl::bind_text(s, 2, key);
  const int rc = sqlite3_step(s);
  if (rc == SQLITE_DONE) {
    sqlite3_reset(s);
    return std::nullopt;
  }
  if (rc != SQLITE_ROW) {
    sqlite3_reset(s);
    impl_->fail("load");
  }
  saga_record r = impl_->row(s);
  sqlite3_reset(s);
  return r;
}

void sqlite_saga_store::save(const saga_record& r) {
  validate_record(r);
  const std::string body = encode_body(r);
  std::lock_guard lock(impl_->mu);
  sqlite3_stmt* s = r.version == 1 ? impl_->insert_stmt.get() : impl_->update_stmt.get();
  sqlite3_reset(s);
  impl::bind_text(s, 1, r.saga);
  impl::bind_text(s, 2, r.key);
  impl::bind_text(s, 3, r.state);
  sqlite3_bind_int(s, 4, r.terminal ? 1 : 0);
  sqlite3_bind_int64(s, 5, r.version);
  sqlite3_bind_int64(s, 6, to_ns(r.started_at));
  sqlite3_bind_int64(s, 7, to_ns(r.updated_at));
  if (r.deadline)
    sqlite3_bind_int64(s, 8, to_ns(*r.deadline));
  else
    sqlite3_bind_null(s, 8);
  sqlite3_bind_int64(s, 9, static_cast<std::int64_t>(r.outbox.size()));
  impl::bind_text(s, 10, body);
  const int rc = sqlite3_step(s);
  sqlite3_reset(s);
  if (rc != SQLITE_DONE) impl_->fail("save");
  if (sqlite3_changes(impl_->db.get()) == 1) return;
  // Nothing written: the stored version is not the expected one.
  sqlite3_stmt* v = impl_->version_stmt.get();
  sqlite3_reset(v);
  impl::bind_text(v, 1, r.saga);
  impl::bind_text(v, 2, r.key);
  std::int64_t stored = 0;
  if (sqlite3_step(v) == SQLITE_ROW) stored = sqlite3_column_int64(v, 0);
  sqlite3_reset(v);
  throw error(errc::conflict, "saga '" + r.saga + "' key '" + r.key +
                                  "': expected stored version " + std::to_string(r.version - 1) +
                                  ", found " + std::to_string(stored));
}

std::vector<saga_record> sqlite_saga_store::list(std::string_view saga, const saga_query& q) {
  std::lock_guard lock(impl_->mu);
  const std::string where = q.include_terminal ? "" : " AND terminal = 0";
  const auto limit = q.limit > static_cast<std::size_t>(INT64_MAX)
                         ? std::int64_t{-1}
                         : static_cast<std::int64_t>(q.limit);
  return impl_->query(
      "SELECT saga, key, state, terminal, version, body FROM saga_instances"
      " WHERE saga = ?1" +
          where + " ORDER BY started_ns, key LIMIT ?2",
      saga, limit);
}

std::vector<saga_record> sqlite_saga_store::with_deadline(std::string_view saga) {
  std::lock_guard lock(impl_->mu);
  return impl_->query(
      "SELECT saga, key, state, terminal, version, body FROM saga_instances"
      " WHERE saga = ?1 AND terminal = 0 AND deadline_ns IS NOT NULL LIMIT ?2",
      saga);
}

std::vector<saga_record> sqlite_saga_store::with_outbox(std::string_view saga) {
  std::lock_guard lock(impl_->mu);
  return impl_->query(
      "SELECT saga, key, state, terminal, version, body FROM saga_instances"
      " WHERE saga = ?1 AND outbox > 0 ORDER BY started_ns, key LIMIT ?2",
      saga);
}

std::size_t sqlite_saga_store::purge_terminal(std::string_view saga, timestamp before) {
  std::lock_guard lock(impl_->mu);
  stmt_ptr s = impl_->prepare(
      "DELETE FROM saga_instances WHERE saga = ?1 AND terminal = 1 AND outbox = 0"
      " AND updated_ns < ?2");
  impl::bind_text(s.get(), 1, saga);
  sqlite3_bind_int64(s.get(), 2, to_ns(before));
  if (sqlite3_step(s.get()) != SQLITE_DONE) impl_->fail("purge");
  return static_cast<std::size_t>(sqlite3_changes(impl_->db.get()));
}

}  // namespace eventshop::saga
