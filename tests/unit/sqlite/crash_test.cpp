// Real processes against one database file: SIGKILL at random points, restart, and check that
// nothing acknowledged was lost or duplicated, offsets are consistent, and the idempotent
// consumer's effects equal the distinct events. Also: one process publishes, another consumes.
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <thread>

#include "events_view.hpp"
#include "temp_dir.hpp"

namespace eventshop::sqlite {
namespace {

using namespace std::chrono_literals;

pid_t spawn(const std::vector<std::string>& args) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(EVENTSHOP_SQLITE_CHILD));
    for (auto& a : args)
      argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(EVENTSHOP_SQLITE_CHILD, argv.data());
    ::_exit(127);
  }
  return pid;
}

int wait_exit(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::size_t line_count(const std::string& path) {
  std::ifstream in(path);
  std::size_t n = 0;
  for (std::string line; std::getline(in, line);)
    ++n;
  return n;
}

class db_reader {
 public:
  explicit db_reader(const std::string& path) {
    EXPECT_EQ(sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr), SQLITE_OK);
    sqlite3_busy_timeout(db_, 5000);
  }
  // The bus file's events as one relation, es_events (see events_view.hpp).
  void events_view() { EXPECT_EQ(testing::create_events_view(db_), SQLITE_OK); }
  ~db_reader() { sqlite3_close(db_); }
  std::int64_t integer(const std::string& sql) {
    sqlite3_stmt* s = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db_, sql.c_str(), -1, &s, nullptr), SQLITE_OK) << sql;
    std::int64_t v = -1;
    if (sqlite3_step(s) == SQLITE_ROW) v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
  }
  std::set<std::string> strings(const std::string& sql) {
    sqlite3_stmt* s = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db_, sql.c_str(), -1, &s, nullptr), SQLITE_OK) << sql;
    std::set<std::string> out;
    while (sqlite3_step(s) == SQLITE_ROW)
      out.emplace(reinterpret_cast<const char*>(sqlite3_column_text(s, 0)));
    sqlite3_finalize(s);
    return out;
  }

 private:
  sqlite3* db_ = nullptr;
};

// Checks every invariant after a crash; returns the number of distinct events in the bus.
std::int64_t check_invariants(const testing::temp_dir& dir, bool drained) {
  db_reader bus(dir.file("bus.db"));
  bus.events_view();
  const std::string id = "json_extract(envelope, '$.id')";
  const auto events = bus.integer("SELECT count(*) FROM es_events");
  EXPECT_EQ(bus.integer("SELECT count(DISTINCT " + id + ") FROM es_events"), events)
      << "an event is stored twice";
  // Offsets: contiguous per partition, next_offset = count, group positions within bounds.
  EXPECT_EQ(bus.integer("SELECT count(*) FROM es_partitions p WHERE p.next_offset <> (SELECT "
                        "count(*) FROM es_events e WHERE e.topic_id=p.topic_id AND e.part=p.part)"),
            0);
  EXPECT_EQ(bus.integer("SELECT count(*) FROM es_partitions p WHERE p.next_offset > 0 AND "
                        "p.next_offset - 1 <> (SELECT max(off) FROM es_events e WHERE "
                        "e.topic_id=p.topic_id AND e.part=p.part)"),
            0);
  EXPECT_EQ(bus.integer("SELECT count(*) FROM es_offsets o JOIN es_partitions p USING(topic_id, "
                        "part) WHERE o.next_offset < 0 OR o.next_offset > p.next_offset"),
            0);
  // Every acknowledged event is in the file.
  std::set<std::string> acked;
  {
    std::ifstream in(dir.file("acks.log"));
    for (std::string line; std::getline(in, line);)
      if (line.size() == 36) acked.insert(line);  // a torn last line is not an ack
  }
  const auto stored = bus.strings("SELECT " + id + " FROM es_events");
  std::size_t missing = 0;
  for (const auto& a : acked)
    missing += stored.count(a) == 0;
  EXPECT_EQ(missing, 0u) << "acknowledged events lost (of " << acked.size() << ")";

  db_reader fx(dir.file("effects.db"));
  const auto effects = fx.integer("SELECT count(*) FROM effects");
  EXPECT_EQ(fx.integer("SELECT count(DISTINCT event_id) FROM effects"), effects)
      << "an effect was applied twice";
  EXPECT_EQ(fx.integer("SELECT count(*) FROM es_processed"), effects);
  std::size_t unknown = 0;
  for (const auto& e : fx.strings("SELECT event_id FROM effects"))
    unknown += stored.count(e) == 0;
  EXPECT_EQ(unknown, 0u) << "an effect of an event that is not in the bus";
  // Committed positions never run ahead of the effects: committed => handled.
  const auto committed = bus.integer("SELECT coalesce(sum(next_offset), 0) FROM es_offsets");
  EXPECT_GE(effects, committed);
  if (drained) {
    EXPECT_EQ(effects, events);
  }
  return events;
}

TEST(SqliteCrash, KilledAtRandomPointsLosesNothingAcknowledged) {
  testing::temp_dir dir;
  std::mt19937 rng(std::random_device{}());
  std::int64_t last_events = 0;
  for (int round = 0; round < 5; ++round) {
    const auto before = line_count(dir.file("acks.log"));
    const auto target = before + std::uniform_int_distribution<std::size_t>(200, 3000)(rng);
    const pid_t child = spawn({"work", dir.path().string()});
    ASSERT_GT(child, 0);
    // Let it get somewhere: wait (bounded) until it acknowledged `target` events in total.
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (line_count(dir.file("acks.log")) < target && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(2ms);
    // ... plus a random sliver, so the kill lands anywhere in a commit cycle.
    std::this_thread::sleep_for(
        std::chrono::microseconds(std::uniform_int_distribution<int>(0, 20000)(rng)));
    ASSERT_EQ(::kill(child, SIGKILL), 0);
    EXPECT_EQ(wait_exit(child), 128 + SIGKILL);
    ASSERT_GE(line_count(dir.file("acks.log")), target) << "the child did not make progress";
    const auto events = check_invariants(dir, false);
    EXPECT_GE(events, last_events) << "events disappeared";
    last_events = events;
  }
  // Restart once more and let the consumer finish: every distinct event has exactly one effect.
  EXPECT_EQ(wait_exit(spawn({"drain", dir.path().string()})), 0);
  check_invariants(dir, true);
}

TEST(SqliteMultiProcess, OneProcessPublishesAnotherConsumes) {
  testing::temp_dir dir;
  constexpr int n = 3000;
  const pid_t consumer = spawn({"consume", dir.path().string(), std::to_string(n)});
  const pid_t publisher = spawn({"publish", dir.path().string(), std::to_string(n)});
  EXPECT_EQ(wait_exit(publisher), 0);
  EXPECT_EQ(wait_exit(consumer), 0);
  db_reader fx(dir.file("effects.db"));
  EXPECT_EQ(fx.integer("SELECT count(*) FROM effects"), n);
  EXPECT_EQ(fx.integer("SELECT count(DISTINCT event_id) FROM effects"), n);
  db_reader bus(dir.file("bus.db"));
  bus.events_view();
  EXPECT_EQ(bus.integer("SELECT count(*) FROM es_events"), n);
  EXPECT_EQ(bus.integer("SELECT count(*) FROM es_members"), 0);  // both left cleanly
}

TEST(SqliteMultiProcess, TwoConsumerProcessesShareOneGroup) {
  testing::temp_dir dir;
  constexpr int n = 4000;
  EXPECT_EQ(wait_exit(spawn({"publish", dir.path().string(), std::to_string(n)})), 0);
  const pid_t a = spawn({"consume", dir.path().string(), std::to_string(n)});
  const pid_t b = spawn({"consume", dir.path().string(), std::to_string(n)});
  EXPECT_EQ(wait_exit(a), 0);
  EXPECT_EQ(wait_exit(b), 0);
  db_reader fx(dir.file("effects.db"));
  EXPECT_EQ(fx.integer("SELECT count(*) FROM effects"), n);
  EXPECT_EQ(fx.integer("SELECT count(DISTINCT event_id) FROM effects"), n);
  // The partitions were shared: both processes applied effects.
  EXPECT_EQ(fx.integer("SELECT count(DISTINCT pid) FROM effects"), 2);
}

}  // namespace
}  // namespace eventshop::sqlite
