// The SQLite plumbing shared by the bus, the event store, the outbox and the projections: opening
// with clear errors, the schema version table and its migrations, statements, transactions.
#include "db.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <thread>
#include <utility>
#include <vector>

namespace eventshop::sqlite::detail {

namespace {

// "EvSh": PRAGMA application_id marks a file as an eventshop database.
constexpr std::int32_t application_id = 0x45765368;

struct migration {
  int version;
  const char* description;
  const char* sql;
  void (*code)(connection&) = nullptr;  // runs after `sql`, in the same transaction
};

// Schema 5: every partition's events in a table of their own (es_log_<topic>_<partition>,
// offset = rowid), so every append is at the end of a b-tree instead of in the middle of one
// shared b-tree: the writer's CPU and the WAL bytes per event drop by about a third.
void split_events_by_partition(connection& c) {
  std::vector<std::pair<std::int64_t, std::int32_t>> parts;
  {
    auto s = c.prepare("SELECT topic_id, part FROM es_partitions ORDER BY topic_id, part");
    while (s.step())
      parts.emplace_back(s.int64(0), static_cast<std::int32_t>(s.int64(1)));
  }
  for (const auto& [topic, part] : parts) {
    create_partition_table(c, topic, part);
    c.prepare("INSERT INTO " + partition_table(topic, part) +
              "(off, seq, key, envelope) SELECT off, seq, key, envelope FROM es_events WHERE "
              "topic_id=? AND part=? ORDER BY off")
        .bind(1, topic)
        .bind(2, part)
        .run();
  }
  c.exec("DROP TABLE es_events");
}

// Append-only: a released migration is never edited, a change is a new entry.
constexpr migration migrations[] = {
    {1, "bus: topics, partitions, events, group offsets, members, leases",
     R"sql(
CREATE TABLE eventshop_schema(version INTEGER PRIMARY KEY, description TEXT NOT NULL,
                              applied_at INTEGER NOT NULL);
CREATE TABLE es_topics(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,
                       partitions INTEGER NOT NULL);
CREATE TABLE es_partitions(topic_id INTEGER NOT NULL, part INTEGER NOT NULL,
                           next_offset INTEGER NOT NULL, PRIMARY KEY(topic_id, part)) WITHOUT ROWID;
CREATE TABLE es_events(seq INTEGER PRIMARY KEY, topic_id INTEGER NOT NULL, part INTEGER NOT NULL,
                       off INTEGER NOT NULL, key TEXT NOT NULL, envelope BLOB NOT NULL);
CREATE UNIQUE INDEX es_events_position ON es_events(topic_id, part, off);
CREATE TABLE es_offsets(grp TEXT NOT NULL, topic_id INTEGER NOT NULL, part INTEGER NOT NULL,
                        next_offset INTEGER NOT NULL,
                        PRIMARY KEY(grp, topic_id, part)) WITHOUT ROWID;
CREATE TABLE es_members(grp TEXT NOT NULL, topic_id INTEGER NOT NULL, member TEXT NOT NULL,
                        pid INTEGER NOT NULL, heartbeat INTEGER NOT NULL,
                        PRIMARY KEY(grp, topic_id, member)) WITHOUT ROWID;
CREATE TABLE es_leases(grp TEXT NOT NULL, topic_id INTEGER NOT NULL, part INTEGER NOT NULL,
                       member TEXT NOT NULL, pid INTEGER NOT NULL, expires INTEGER NOT NULL,
                       PRIMARY KEY(grp, topic_id, part)) WITHOUT ROWID;
)sql"},
    {2, "event store: streams, stored events, snapshots",
     R"sql(
CREATE TABLE es_streams(stream TEXT PRIMARY KEY, version INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE es_store(position INTEGER PRIMARY KEY, stream TEXT NOT NULL, version INTEGER NOT NULL,
                      envelope BLOB NOT NULL, UNIQUE(stream, version));
CREATE TABLE es_snapshots(stream TEXT PRIMARY KEY, version INTEGER NOT NULL,
                          state BLOB NOT NULL) WITHOUT ROWID;
)sql"},
    {3, "outbox, idempotency, projection checkpoints",
     R"sql(
CREATE TABLE es_outbox(id INTEGER PRIMARY KEY AUTOINCREMENT, topic TEXT NOT NULL,
                       key TEXT NOT NULL, envelope BLOB NOT NULL);
CREATE TABLE es_processed(grp TEXT NOT NULL, event_id TEXT NOT NULL, handled_at INTEGER NOT NULL,
                          PRIMARY KEY(grp, event_id)) WITHOUT ROWID;
CREATE TABLE es_checkpoints(name TEXT PRIMARY KEY, position INTEGER NOT NULL) WITHOUT ROWID;
)sql"},
    // The events clustered by their position: a partition's events are contiguous in the b-tree,
    // so a consumer reads them sequentially (no index lookup then table lookup per row) and an
    // append updates one b-tree instead of a table and an index. The global sequence is kept,
    // assigned by the appending transaction from es_sequence.
    {4, "bus: events clustered by (topic, partition, offset); global sequence counter",
     R"sql(
CREATE TABLE es_events_v4(topic_id INTEGER NOT NULL, part INTEGER NOT NULL, off INTEGER NOT NULL,
                          seq INTEGER NOT NULL, key TEXT NOT NULL, envelope BLOB NOT NULL,
                          PRIMARY KEY(topic_id, part, off)) WITHOUT ROWID;
INSERT INTO es_events_v4(topic_id, part, off, seq, key, envelope)
  SELECT topic_id, part, off, seq, key, envelope FROM es_events ORDER BY topic_id, part, off;
DROP TABLE es_events;
ALTER TABLE es_events_v4 RENAME TO es_events;
CREATE TABLE es_sequence(id INTEGER PRIMARY KEY CHECK (id = 1), next_seq INTEGER NOT NULL);
INSERT INTO es_sequence(id, next_seq) SELECT 1, coalesce(max(seq), 0) + 1 FROM es_events;
)sql"},
    {5, "bus: one table of events per partition (es_log_<topic>_<partition>)", "",
     split_events_by_partition},
};

std::string sqlite_message(sqlite3* db, int rc) {
  std::string m = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  if (m.empty()) m = sqlite3_errstr(rc);
  return m;
}

std::int64_t pragma_int(connection& c, const char* sql) {
  auto s = c.prepare(sql);
  return s.step() ? s.int64(0) : 0;
}

void check_location(const open_params& p) {
  namespace fs = std::filesystem;
  if (p.path.empty()) throw error(errc::invalid_argument, "sqlite: database path is empty");
  if (p.path == ":memory:" || p.path.starts_with("file:"))
    throw error(errc::invalid_argument,
                "sqlite: '" + p.path + "' is not a file path (WAL mode needs a real file)");
  const fs::path file(p.path);
  fs::path dir = file.parent_path();
  if (dir.empty()) dir = ".";
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw error(errc::io_error, "sqlite: directory '" + dir.string() + "' of database '" + p.path +
                                    "' does not exist");
  const bool exists = fs::exists(file, ec);
  if (exists && fs::is_directory(file, ec))
    throw error(errc::invalid_argument,
                "sqlite: '" + p.path + "' is a directory, not a database file");
  if (!exists && !p.create)
    throw error(errc::not_found, "sqlite: database '" + p.path + "' does not exist");
  if (::access(dir.c_str(), W_OK) != 0)
    throw error(errc::io_error, "sqlite: directory '" + dir.string() + "' is not writable (" +
                                    std::strerror(errno) + "); WAL mode creates '" + p.path +
                                    "-wal' and '-shm' there");
  if (exists && ::access(file.c_str(), W_OK) != 0)
    throw error(errc::io_error,
                "sqlite: database '" + p.path + "' is read-only (" + std::strerror(errno) + ")");
}

// Refuses a file of another application or of a newer eventshop, without writing to it.
// The three reads must see one snapshot: another process may be creating the schema right now,
// and autocommit reads could see its tables without (yet) its marker.
void check_identity(connection& c) {
  const bool own_snapshot = !c.in_transaction();
  if (own_snapshot) c.exec("BEGIN");
  struct end_snapshot {
    connection& c;
    bool active;
    ~end_snapshot() {
      if (active) c.rollback();  // a read-only transaction: nothing to commit
    }
  } end{c, own_snapshot};
  const auto target = schema_version();
  const auto app = pragma_int(c, "PRAGMA application_id");
  const auto version = pragma_int(c, "PRAGMA user_version");
  if (app == 0 && version == 0) {
    const auto tables = pragma_int(c, "SELECT count(*) FROM sqlite_master");
    if (tables > 0)
      throw error(errc::invalid_argument,
                  "sqlite: '" + c.path() +
                      "' is an SQLite database of another application (it has " +
                      std::to_string(tables) + " schema objects and no eventshop marker)");
  } else if (app != application_id) {
    throw error(errc::invalid_argument, "sqlite: '" + c.path() +
                                            "' is not an eventshop database (application_id " +
                                            std::to_string(app) + ")");
  }
  if (version > target)
    throw error(errc::unsupported_version,
                "sqlite: database '" + c.path() + "' has schema version " +
                    std::to_string(version) + ", newer than this build of eventshop supports (" +
                    std::to_string(target) + "); upgrade eventshop to open it");
}

// Switching the journal mode needs the file to itself, and SQLite answers SQLITE_BUSY at once
// (without the busy handler) when another opener holds a lock: retry until busy_timeout.
std::string switch_to_wal(connection& c, std::chrono::milliseconds busy_timeout) {
  const auto deadline = std::chrono::steady_clock::now() + busy_timeout;
  for (;;) {
    try {
      auto mode = c.prepare("PRAGMA journal_mode=WAL");
      std::string got = mode.step() ? std::string(mode.text(0)) : "";
      mode.reset();
      return got;
    } catch (const error& e) {
      if (e.code() != make_error_code(errc::timeout) ||
          std::chrono::steady_clock::now() >= deadline)
        throw;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

void migrate(connection& c) {
  const auto target = schema_version();
  // Another process may migrate at the same moment: decide inside the write transaction.
  transaction_guard tx(c);
  check_identity(c);
  const auto version = pragma_int(c, "PRAGMA user_version");
  if (version == target) return;  // rolled back: nothing changed
  auto record = [&] {
    return c.prepare(
        "INSERT INTO eventshop_schema(version, description, applied_at) VALUES (?, ?, ?)");
  };
  for (const auto& m : migrations) {
    if (m.version <= version) continue;
    c.exec(m.sql);
    if (m.code) m.code(c);
    record().bind(1, m.version).bind(2, std::string_view(m.description)).bind(3, unix_ms()).run();
  }
  c.exec(("PRAGMA application_id = " + std::to_string(application_id)).c_str());
  c.exec(("PRAGMA user_version = " + std::to_string(target)).c_str());
  tx.commit();
}

}  // namespace

std::string partition_table(std::int64_t topic_id, std::int32_t partition) {
  return "es_log_" + std::to_string(topic_id) + "_" + std::to_string(partition);
}

void create_partition_table(connection& c, std::int64_t topic_id, std::int32_t partition) {
  c.exec(("CREATE TABLE IF NOT EXISTS " + partition_table(topic_id, partition) +
          "(off INTEGER PRIMARY KEY, seq INTEGER NOT NULL, key TEXT NOT NULL, envelope BLOB NOT "
          "NULL)")
             .c_str());
}

int schema_version() noexcept {
  return migrations[std::size(migrations) - 1].version;
}

std::int64_t unix_ms() noexcept {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

errc errc_for(int rc) noexcept {
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return errc::timeout;
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PERM:
      return errc::io_error;
    case SQLITE_CONSTRAINT:
      return errc::conflict;
    default:
      return errc::backend_error;
  }
}

void throw_sqlite(sqlite3* db, int rc, std::string_view what) {
  std::string msg = "sqlite: " + std::string(what) + ": " + sqlite_message(db, rc);
  if (db) {
    if (const char* f = sqlite3_db_filename(db, "main"); f && *f)
      msg += " (" + std::string(f) + ")";
  }
  if ((rc & 0xff) == SQLITE_NOTADB)
    throw error(errc::invalid_argument, msg + " - not an SQLite (eventshop) database");
  throw error(errc_for(rc), msg);
}

statement::statement(sqlite3* db, std::string_view sql) : db_(db) {
  sqlite3_stmt* s = nullptr;
  const int rc = sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()),
                                    SQLITE_PREPARE_PERSISTENT, &s, nullptr);
  if (rc != SQLITE_OK) throw_sqlite(db, rc, "prepare '" + std::string(sql.substr(0, 60)) + "'");
  h_.reset(s);
}

statement& statement::bind(int i, std::int64_t v) {
  sqlite3_bind_int64(h_.get(), i, v);
  return *this;
}
statement& statement::bind(int i, double v) {
  sqlite3_bind_double(h_.get(), i, v);
  return *this;
}
statement& statement::bind(int i, std::string_view v) {
  // An empty view may have a null data(): SQLite would bind NULL, not ''.
  sqlite3_bind_text64(h_.get(), i, v.data() ? v.data() : "", v.size(), SQLITE_TRANSIENT,
                      SQLITE_UTF8);
  return *this;
}
statement& statement::bind_static(int i, std::string_view v) {
  sqlite3_bind_text64(h_.get(), i, v.data() ? v.data() : "", v.size(), SQLITE_STATIC, SQLITE_UTF8);
  return *this;
}
statement& statement::bind_blob_static(int i, std::string_view v) {
  sqlite3_bind_blob64(h_.get(), i, v.data(), v.size(), SQLITE_STATIC);
  return *this;
}
statement& statement::bind_null(int i) {
  sqlite3_bind_null(h_.get(), i);
  return *this;
}

bool statement::step() {
  const int rc = sqlite3_step(h_.get());
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  const std::string sql = sqlite3_sql(h_.get()) ? sqlite3_sql(h_.get()) : "";
  sqlite3_reset(h_.get());
  throw_sqlite(db_, rc, "'" + sql.substr(0, 60) + "'");
}

void statement::reset() noexcept {
  sqlite3_reset(h_.get());
  sqlite3_clear_bindings(h_.get());
}

std::string_view statement::text(int col) const noexcept {
  const auto* p = sqlite3_column_blob(h_.get(), col);
  const int n = sqlite3_column_bytes(h_.get(), col);
  return p ? std::string_view(static_cast<const char*>(p), static_cast<std::size_t>(n))
           : std::string_view();
}

connection::connection(const open_params& p) : path_(p.path) {
  check_location(p);
  sqlite3* raw = nullptr;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
  if (p.create) flags |= SQLITE_OPEN_CREATE;
  const int rc = sqlite3_open_v2(p.path.c_str(), &raw, flags, nullptr);
  db_.reset(raw);
  if (rc != SQLITE_OK) throw_sqlite(raw, rc, "cannot open database '" + p.path + "'");
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, static_cast<int>(p.busy_timeout.count()));
  try {
    // Only takes effect on a new, empty file (before its first page is written).
    if (p.page_size > 0) exec(("PRAGMA page_size=" + std::to_string(p.page_size)).c_str());
    // The first read tells a foreign file apart ("file is not a database").
    check_identity(*this);
    const std::string got = switch_to_wal(*this, p.busy_timeout);
    if (got != "wal")
      throw error(errc::backend_error, "sqlite: could not switch '" + p.path +
                                           "' to WAL mode (journal_mode is '" + got + "')");
    exec(p.sync == sync_level::full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
    exec("PRAGMA foreign_keys=OFF");
    // Map the file instead of pread per page - unless the caller measured otherwise (the bus).
    exec(p.mmap ? "PRAGMA mmap_size=1073741824" : "PRAGMA mmap_size=0");
    exec("PRAGMA cache_size=-16384");
    if (pragma_int(*this, "PRAGMA user_version") != schema_version() ||
        pragma_int(*this, "PRAGMA application_id") != application_id)
      migrate(*this);
  } catch (const error& e) {
    if (e.code() == make_error_code(errc::io_error) &&
        std::string_view(e.what()).find("readonly") != std::string_view::npos)
      throw error(errc::io_error,
                  "sqlite: database '" + p.path +
                      "' cannot be written (read-only file or directory): " + e.what());
    throw;
  }
}

void connection::exec(const char* sql) {
  char* err = nullptr;
  const int rc = sqlite3_exec(db_.get(), sql, nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string what = err ? err : "";
    sqlite3_free(err);
    throw_sqlite(db_.get(), rc, "exec '" + std::string(sql).substr(0, 60) + "'");
  }
}

void connection::begin_immediate(std::chrono::steady_clock::time_point deadline) {
  for (;;) {
    const int rc = sqlite3_exec(db_.get(), "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
    if (rc == SQLITE_OK) return;
    if ((rc & 0xff) != SQLITE_BUSY || std::chrono::steady_clock::now() >= deadline)
      throw_sqlite(db_.get(), rc, "BEGIN IMMEDIATE");
    std::this_thread::yield();  // busy_timeout already waited; try again until the deadline
  }
}

void connection::commit() {
  const int rc = sqlite3_exec(db_.get(), "COMMIT", nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) {
    const int keep = rc;
    rollback();
    throw_sqlite(db_.get(), keep, "COMMIT");
  }
}

void connection::rollback() noexcept {
  if (!sqlite3_get_autocommit(db_.get()))
    sqlite3_exec(db_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
}

std::int64_t connection::data_version() {
  return pragma_int(*this, "PRAGMA data_version");
}

}  // namespace eventshop::sqlite::detail
