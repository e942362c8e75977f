// Opening a database: clear errors for every way the file or its directory can be wrong, and the
// schema version table with its migrations.
#include <gtest/gtest.h>
#include <linux/capability.h>
#include <sqlite3.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <fstream>
#include <latch>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "events_view.hpp"
#include "eventshop/core/error.hpp"
#include "eventshop/core/registry.hpp"
#include "eventshop/sqlite/sqlite_bus.hpp"
#include "temp_dir.hpp"

namespace eventshop::sqlite {
namespace {

using testing::temp_dir;

// Runs `fn` and returns the eventshop::error it threw (fails the test if it did not throw).
template <class F>
error thrown(F fn) {
  try {
    fn();
  } catch (const error& e) {
    return e;
  }
  ADD_FAILURE() << "no eventshop::error thrown";
  return error(errc::ok, "");
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

bus_options at(const std::string& path) {
  bus_options o;
  o.path = path;
  return o;
}

void exec_raw(const std::string& path, const char* sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  char* err = nullptr;
  const int rc = sqlite3_exec(db, sql, nullptr, nullptr, &err);
  std::string msg = err ? err : "";
  sqlite3_free(err);
  sqlite3_close(db);
  ASSERT_EQ(rc, SQLITE_OK) << msg;
}

std::int64_t query_int(const std::string& path, const char* sql) {
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  if (std::string_view(sql).find("es_events") != std::string_view::npos)
    testing::create_events_view(db);  // TEMP: the file is not changed
  sqlite3_stmt* s = nullptr;
  sqlite3_prepare_v2(db, sql, -1, &s, nullptr);
  std::int64_t v = -1;
  if (sqlite3_step(s) == SQLITE_ROW) v = sqlite3_column_int64(s, 0);
  sqlite3_finalize(s);
  sqlite3_close(db);
  return v;
}

TEST(SqliteOpen, CreatesANewDatabaseWithEveryMigrationRecorded) {
  temp_dir dir;
  const auto path = dir.file("new.db");
  { sqlite_bus bus(at(path)); }
  EXPECT_EQ(query_int(path, "PRAGMA application_id"), 0x45765368);
  const auto version = query_int(path, "PRAGMA user_version");
  EXPECT_GE(version, 3);
  EXPECT_EQ(query_int(path, "SELECT count(*) FROM eventshop_schema"), version);
  EXPECT_EQ(query_int(path, "SELECT max(version) FROM eventshop_schema"), version);
  // Opening again changes nothing.
  { sqlite_bus bus(at(path)); }
  EXPECT_EQ(query_int(path, "SELECT count(*) FROM eventshop_schema"), version);
}

// Processes that start together (a consumer and a publisher) open a brand-new file at the same
// moment: whoever comes second must not mistake the half-created schema for a foreign database.
TEST(SqliteOpen, OpenersRacingOnANewFileAllSucceed) {
  temp_dir dir;
  constexpr int openers = 6;
  for (int round = 0; round < 15; ++round) {
    const auto path = dir.file("race-" + std::to_string(round) + ".db");
    std::latch start(openers);
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < openers; ++i)
      threads.emplace_back([&] {
        start.arrive_and_wait();
        try {
          sqlite_bus bus(at(path));
        } catch (const std::exception& e) {
          ADD_FAILURE() << "round " << round << ": " << e.what();
          ++failures;
        }
      });
    for (auto& t : threads)
      t.join();
    ASSERT_EQ(failures.load(), 0);
    EXPECT_EQ(query_int(path, "SELECT count(*) FROM eventshop_schema"),
              query_int(path, "PRAGMA user_version"));
  }
}

TEST(SqliteOpen, MissingDirectoryIsNamed) {
  temp_dir dir;
  const auto path = dir.file("no/such/dir/bus.db");
  const auto e = thrown([&] { sqlite_bus bus(at(path)); });
  EXPECT_EQ(e.code(), make_error_code(errc::io_error));
  EXPECT_TRUE(contains(e.what(), "does not exist")) << e.what();
  EXPECT_TRUE(contains(e.what(), dir.file("no/such/dir"))) << e.what();
}

TEST(SqliteOpen, AFileThatIsNotSqliteIsRejectedAndLeftAlone) {
  temp_dir dir;
  const auto path = dir.file("notes.txt");
  const std::string content(4096, 'x');
  std::ofstream(path) << content;
  const auto e = thrown([&] { sqlite_bus bus(at(path)); });
  EXPECT_EQ(e.code(), make_error_code(errc::invalid_argument));
  EXPECT_TRUE(contains(e.what(), "not an SQLite")) << e.what();
  std::ifstream in(path);
  std::string after((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(after, content);
}

TEST(SqliteOpen, AnotherApplicationsDatabaseIsRejectedAndLeftAlone) {
  temp_dir dir;
  const auto path = dir.file("other.db");
  exec_raw(path, "CREATE TABLE customers(id INTEGER PRIMARY KEY, name TEXT)");
  const auto e = thrown([&] { sqlite_bus bus(at(path)); });
  EXPECT_EQ(e.code(), make_error_code(errc::invalid_argument));
  EXPECT_TRUE(contains(e.what(), "another application")) << e.what();
  EXPECT_EQ(query_int(path, "SELECT count(*) FROM sqlite_master"), 1);
  EXPECT_EQ(query_int(path, "PRAGMA user_version"), 0);
  EXPECT_FALSE(std::filesystem::exists(path + "-wal"));  // journal mode untouched
}

TEST(SqliteOpen, ADifferentApplicationIdIsRejected) {
  temp_dir dir;
  const auto path = dir.file("marked.db");
  exec_raw(path, "PRAGMA application_id = 1234; CREATE TABLE t(x)");
  const auto e = thrown([&] { sqlite_bus bus(at(path)); });
  EXPECT_EQ(e.code(), make_error_code(errc::invalid_argument));
  EXPECT_TRUE(contains(e.what(), "not an eventshop database")) << e.what();
}

TEST(SqliteOpen, ANewerSchemaIsRefusedWithBothVersions) {
  temp_dir dir;
  const auto path = dir.file("future.db");
  { sqlite_bus bus(at(path)); }
  exec_raw(path, "PRAGMA user_version = 99");
  const auto e = thrown([&] { sqlite_bus bus(at(path)); });
  EXPECT_EQ(e.code(), make_error_code(errc::unsupported_version));
  EXPECT_TRUE(contains(e.what(), "schema version 99")) << e.what();
  EXPECT_EQ(query_int(path, "PRAGMA user_version"), 99);
}

// Publishes events {"n": first} .. {"n": last - 1} to topic "t", keyed k0..k4 in turn.
void publish_numbered(sqlite_bus& bus, int first, int last) {
  for (int i = first; i < last; ++i) {
    event_options o;
    o.source = "/eventshop/test";
    o.subject = "k" + std::to_string(i % 5);
    bus.publish("t", make_envelope("TestEvent", 1, "{\"n\":" + std::to_string(i) + "}", o)).get();
  }
}

TEST(SqliteOpen, AnOlderSchemaIsMigratedForward) {
  temp_dir dir;
  const auto path = dir.file("old.db");
  {
    sqlite_bus bus(at(path));
    publish_numbered(bus, 0, 40);
  }
  // Simulate a file written by a build that knew only migration 1: events in a rowid table with a
  // position index, no event store, outbox or sequence table.
  std::string drop_logs;
  for (int p = 0; p < bus_options{}.partitions; ++p)
    drop_logs += "DROP TABLE es_log_1_" + std::to_string(p) + "; ";
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(testing::create_events_view(db), SQLITE_OK);
    const std::string sql =
        "CREATE TABLE v1(seq INTEGER PRIMARY KEY, topic_id INTEGER NOT NULL, part INTEGER NOT "
        "NULL, off INTEGER NOT NULL, key TEXT NOT NULL, envelope BLOB NOT NULL); "
        "INSERT INTO v1 SELECT seq, topic_id, part, off, key, envelope FROM temp.es_events; "
        "DROP VIEW temp.es_events; " +
        drop_logs +
        "ALTER TABLE v1 RENAME TO es_events; "
        "CREATE UNIQUE INDEX es_events_position ON es_events(topic_id, part, off); "
        "DROP TABLE es_sequence; "
        "DROP TABLE es_outbox; DROP TABLE es_processed; DROP TABLE es_checkpoints; "
        "DROP TABLE es_streams; DROP TABLE es_store; DROP TABLE es_snapshots; "
        "DELETE FROM eventshop_schema WHERE version > 1; PRAGMA user_version = 1";
    char* err = nullptr;
    const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
    const std::string msg = err ? err : "";
    sqlite3_free(err);
    sqlite3_close(db);
    ASSERT_EQ(rc, SQLITE_OK) << msg;
  }
  EXPECT_EQ(query_int(path, "SELECT count(*) FROM sqlite_master WHERE name LIKE 'es_log_%'"), 0);
  {
    sqlite_bus bus(at(path));
    // Appending continues the offsets and the global sequence of the migrated events.
    publish_numbered(bus, 40, 50);
    std::mutex m;
    std::condition_variable cv;
    std::map<std::string, std::vector<int>> per_key;
    int seen = 0;
    auto sub = bus.subscribe("t", "reader", [&](const message& msg) {
      std::lock_guard lock(m);
      per_key[msg.event.subject].push_back(std::stoi(msg.event.data.substr(5)));
      ++seen;
      cv.notify_all();
    });
    std::unique_lock lock(m);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return seen >= 50; }));
    EXPECT_EQ(seen, 50);
    for (auto& [key, ns] : per_key) {
      ASSERT_EQ(ns.size(), 10u) << key;
      for (std::size_t i = 0; i < ns.size(); ++i)
        EXPECT_EQ(ns[i], std::stoi(key.substr(1)) + 5 * static_cast<int>(i)) << key;
    }
  }
  EXPECT_EQ(query_int(path, "PRAGMA user_version"), query_int(path,
                                                              "SELECT max(version) FROM "
                                                              "eventshop_schema"));
  EXPECT_GE(query_int(path, "PRAGMA user_version"), 5);
  EXPECT_EQ(query_int(path, "SELECT count(*) FROM sqlite_master WHERE name='es_events'"), 0);
  EXPECT_EQ(query_int(path, "SELECT count(*) FROM sqlite_master WHERE name LIKE 'es_log_1_%'"),
            bus_options{}.partitions);
  EXPECT_EQ(query_int(path, "SELECT count(*) FROM sqlite_master WHERE name='es_outbox'"), 1);
  EXPECT_EQ(query_int(path, "SELECT count(*) FROM eventshop_schema"),
            query_int(path, "PRAGMA user_version"));
  EXPECT_EQ(query_int(path, "SELECT count(DISTINCT seq) FROM es_events"), 50);
  EXPECT_EQ(query_int(path, "SELECT max(seq) FROM es_events"), 50);
  EXPECT_EQ(query_int(path,
                      "SELECT count(*) FROM es_partitions p WHERE p.next_offset <> (SELECT "
                      "count(*) FROM es_events e WHERE e.topic_id=p.topic_id AND "
                      "e.part=p.part)"),
            0);
}

TEST(SqliteOpen, ReadOnlyDirectoryIsNamed) {
  // Root ignores permission bits through its capabilities, so the check runs in a child that
  // dropped them all: it is then held to the owner's bits like anyone else. (Switching to
  // 'nobody' instead fails where the temp dir's ancestors are private to root, e.g. a chroot.)
  temp_dir dir;
  const auto ro = dir.path() / "ro";
  std::filesystem::create_directories(ro);
  std::filesystem::permissions(
      ro, std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec |
              std::filesystem::perms::others_read | std::filesystem::perms::others_exec |
              std::filesystem::perms::group_read | std::filesystem::perms::group_exec);
  std::filesystem::permissions(dir.path(), std::filesystem::perms::all);
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(fds[0]);
    if (::geteuid() == 0) {
      __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
      __user_cap_data_struct none[2]{};  // no effective, permitted or inheritable capability
      if (::syscall(SYS_capset, &header, none) != 0) ::_exit(3);
    }
    std::string msg = "no error";
    int code = 0;
    try {
      sqlite_bus bus(at((ro / "bus.db").string()));
    } catch (const error& e) {
      msg = e.what();
      code = e.code().value();
    }
    msg = std::to_string(code) + "|" + msg;
    if (::write(fds[1], msg.data(), msg.size()) < 0) ::_exit(4);
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string got;
  char buf[512];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;)
    got.append(buf, static_cast<std::size_t>(n));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(got.substr(0, got.find('|')), std::to_string(static_cast<int>(errc::io_error))) << got;
  EXPECT_TRUE(contains(got, "not writable")) << got;
  EXPECT_FALSE(std::filesystem::exists(ro / "bus.db"));
}

TEST(SqliteOpen, UrlsAndOptionsAreValidated) {
  EXPECT_EQ(bus_options::from_url("sqlite:/tmp/x.db").path, "/tmp/x.db");
  EXPECT_EQ(bus_options::from_url("sqlite://data/bus.db").path, "data/bus.db");
  EXPECT_THROW(bus_options::from_url("kafka:localhost"), error);
  EXPECT_THROW(bus_options::from_url("sqlite:"), error);
  bus_options o = at("x.db");
  o.partitions = 0;
  const auto e = thrown([&] { o.validate(); });
  EXPECT_TRUE(contains(e.what(), "partitions")) << e.what();
  o = at("x.db");
  o.session_timeout = o.heartbeat_interval;
  EXPECT_THROW(o.validate(), error);
  EXPECT_THROW(sqlite_bus(at(":memory:")), error);
}

}  // namespace
}  // namespace eventshop::sqlite
