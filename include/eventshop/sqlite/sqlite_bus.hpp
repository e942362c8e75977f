// eventshop/sqlite/sqlite_bus.hpp - the durable embedded bus: one SQLite file (WAL mode).
//
// What it promises, beyond bus.hpp:
// - Durability: a publish is acknowledged only after the transaction holding it committed with
//   synchronous=FULL (the WAL is fsync'ed). With `sync_mode::normal` the WAL is fsync'ed only at
//   checkpoints: still safe against a crash of the *process*, but a power loss or OS crash may
//   lose the last acknowledged transactions (never corrupts the file).
// - Group commit: publishes from all threads are queued and one writer thread commits them in
//   batches of up to `max_commit_batch`; each publish is acknowledged after its batch committed
//   (and, with sync_mode::full, after the WAL was fsync'ed), in publish order. With full, the
//   fsync is pipelined: a syncer thread fsyncs the WAL and runs the callbacks while the writer
//   inserts the next batch; this bus's handlers never see an event before it was acknowledged,
//   a reader of another bus object on the file (another process) may see it up to one fsync
//   earlier (docs/sqlite.md).
// - Offsets: a group's position per partition is committed only after the handler returned for
//   every event up to it (batched and pipelined, one commit in flight per partition: a crash
//   redelivers at most what was handled while the last commit was in flight).
// - Several processes may open the same file: publishers append under SQLite's write lock;
//   members of one group in different processes share partitions through lease rows (owner
//   member, pid, expiry). A lease held by a process that died (pid gone) or that stopped
//   heartbeating for `session_timeout` is taken over.
// - Noticing new events: local publishes wake dispatch threads directly after commit; commits by
//   other processes are noticed by a watcher thread polling PRAGMA data_version every
//   `poll_interval` (default 1 ms), so idle latency stays around a millisecond.
// - Retention: `compact()` (run every `compact_interval` by the maintenance thread, or by hand)
//   deletes events every group has consumed, beyond `retain_events` per partition; it never
//   deletes what a known group has not consumed.
//
// Threads: one writer thread, one syncer thread (sync_mode::full: runs the publish callbacks; else
// the writer does), one watcher/maintenance thread per bus, one dispatch thread per
// subscription member (each with its own connection). Handlers run on dispatch threads.
// Thread safety: safe from any thread. Opening errors (missing or read-only directory, a file
// that is not an eventshop database, a newer schema) throw eventshop::error naming the problem.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "eventshop/core/bus.hpp"

namespace eventshop::sqlite {

enum class sync_mode {
  full,    // fsync the WAL on every commit: acknowledged events survive power loss (default)
  normal,  // fsync only at checkpoints: survives process crashes, may lose recent acks on power
           // loss
};

struct bus_options {
  std::string path;  // the database file (created if missing)
  sync_mode synchronous = sync_mode::full;
  std::int32_t partitions = 8;                         // for topics this bus creates
  std::chrono::milliseconds redelivery_delay{50};      // after a handler threw
  std::size_t max_batch = 1000;                        // events read per dispatch round
  std::size_t max_commit_batch = 10'000;               // publishes per transaction
  std::size_t max_pending = 200'000;                   // queued publishes before publish() blocks
  std::chrono::milliseconds busy_timeout{5000};        // SQLite busy handler per attempt
  std::chrono::milliseconds write_timeout{30'000};     // give up a batch (acks fail) after this
  std::chrono::microseconds poll_interval{1000};       // data_version polling (other processes)
  std::chrono::milliseconds heartbeat_interval{200};   // member heartbeat and lease renewal
  std::chrono::milliseconds session_timeout{3000};     // a silent member's leases expire after this
  std::int64_t retain_events = 1'000'000;              // per partition, for compact()
  std::chrono::milliseconds compact_interval{60'000};  // automatic compact(); 0 = never

  void validate() const;  // throws eventshop::error(invalid_argument) naming the field

  // "sqlite:PATH" (also "sqlite://PATH") -> options with `path` set; throws invalid_argument.
  static bus_options from_url(std::string_view url);
};

class sqlite_bus final : public bus {
 public:
  explicit sqlite_bus(bus_options options);
  explicit sqlite_bus(std::string_view url) : sqlite_bus(bus_options::from_url(url)) {}
  ~sqlite_bus() override;  // close(0)
  sqlite_bus(const sqlite_bus&) = delete;
  sqlite_bus& operator=(const sqlite_bus&) = delete;

  using bus::publish;
  void publish(std::string_view topic, envelope event, publish_callback on_ack) override;
  subscription subscribe(std::string_view topic, std::string_view group, handler h,
                         const subscribe_options& options = {}) override;
  void close(std::chrono::milliseconds drain = std::chrono::seconds(5)) override;
  bus_features features() const noexcept override { return {true, true, true}; }
  std::int32_t partitions(std::string_view topic) override;
  std::int64_t lag(std::string_view topic, std::string_view group) override;

  // Deletes events of `topic` (all topics if empty) that every group recorded in the file has
  // consumed, keeping the newest `retain_events` per partition. Returns how many were deleted.
  std::int64_t compact(std::string_view topic = {});

  // Committed position of `group` (next offset to consume) on one partition; -1 if unknown.
  std::int64_t committed(std::string_view topic, std::string_view group, std::int32_t partition);

  const bus_options& options() const noexcept;

  // Counters since this object was opened (writer thread): for metrics and benchmarks.
  struct stats_t {
    std::int64_t transactions = 0;    // committed write transactions
    std::int64_t events = 0;          // events they appended
    std::int64_t offset_commits = 0;  // group offset commits they carried
    std::int64_t writer_cpu_ns = 0;   // CPU time the writer thread used (for benchmarks)
    std::int64_t syncs = 0;           // fsyncs that acknowledged transactions (one may cover
                                      // several; with sync_mode::normal: = transactions)
  };
  stats_t stats() const noexcept;

  struct impl;

 private:
  std::shared_ptr<impl> impl_;
};

}  // namespace eventshop::sqlite
