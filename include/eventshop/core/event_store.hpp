// eventshop/core/event_store.hpp - the event-store interface and its in-memory implementation.
//
// A store keeps streams (one per aggregate, e.g. "order-<id>") of envelopes. Contract of every
// implementation (memory here, eventshop::sqlite::event_store on disk):
// - append(stream, expected, events) is atomic: all events or none. `expected` is the version
//   the caller last saw (the number of events in the stream; 0 = the stream must not exist yet)
//   or expected_version::any. A mismatch throws eventshop::error(errc::conflict) naming the
//   stream and both versions, and appends nothing - two writers racing on one stream: one wins.
// - Versions within a stream are 1, 2, 3, ...; every stored event also gets a global position,
//   strictly increasing across all streams in commit order, so read_all(after) never skips an
//   event that was committed before a later one was read.
// - Snapshots: save_snapshot keeps only the latest per stream; load_snapshot returns it.
// Thread safety: implementations are safe to use from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "eventshop/core/envelope.hpp"

namespace eventshop {

struct stored_event {
  std::string stream;
  std::int64_t version = 0;   // 1-based within the stream
  std::int64_t position = 0;  // 1-based, global
  envelope event;
};

struct snapshot {
  std::string stream;
  std::int64_t version = 0;  // the stream version the state reflects
  std::string state;         // opaque to the store (JSON by convention)
};

namespace expected_version {
inline constexpr std::int64_t any = -1;       // append without checking
inline constexpr std::int64_t no_stream = 0;  // the stream must not exist yet
}  // namespace expected_version

struct append_result {
  std::int64_t version = 0;        // the stream's version after the append
  std::int64_t last_position = 0;  // global position of the last appended event
};

class event_store {
 public:
  virtual ~event_store() = default;

  // Throws error(conflict) on a version mismatch, error(invalid_argument) for an empty stream
  // name, an expected version below -1, or an empty `events`.
  virtual append_result append(std::string_view stream, std::int64_t expected,
                               const std::vector<envelope>& events) = 0;
  // Events of `stream` with version > after_version, oldest first, at most `max`.
  virtual std::vector<stored_event> read_stream(
      std::string_view stream, std::int64_t after_version = 0,
      std::size_t max = std::numeric_limits<std::size_t>::max()) = 0;
  // Events of every stream with position > after_position, in position order, at most `max`.
  virtual std::vector<stored_event> read_all(std::int64_t after_position = 0,
                                             std::size_t max = 1000) = 0;
  virtual std::int64_t stream_version(std::string_view stream) = 0;  // 0 for an unknown stream
  virtual std::int64_t head_position() = 0;                          // 0 for an empty store

  // Replaces the stream's snapshot. Throws invalid_argument when `s.version` is beyond the
  // stream's current version.
  virtual void save_snapshot(const snapshot& s) = 0;
  virtual std::optional<snapshot> load_snapshot(std::string_view stream) = 0;
};

// Throws error(conflict) with the standard message when `expected` does not fit `actual`.
void check_expected_version(std::string_view stream, std::int64_t expected, std::int64_t actual);

// Everything in memory, lost at exit. Thread safety: safe (one mutex).
class memory_event_store final : public event_store {
 public:
  append_result append(std::string_view stream, std::int64_t expected,
                       const std::vector<envelope>& events) override;
  std::vector<stored_event> read_stream(
      std::string_view stream, std::int64_t after_version = 0,
      std::size_t max = std::numeric_limits<std::size_t>::max()) override;
  std::vector<stored_event> read_all(std::int64_t after_position = 0,
                                     std::size_t max = 1000) override;
  std::int64_t stream_version(std::string_view stream) override;
  std::int64_t head_position() override;
  void save_snapshot(const snapshot& s) override;
  std::optional<snapshot> load_snapshot(std::string_view stream) override;

 private:
  std::mutex mutex_;
  std::vector<stored_event> all_;  // position i+1 at index i
  std::map<std::string, std::vector<std::size_t>, std::less<>> streams_;
  std::map<std::string, snapshot, std::less<>> snapshots_;
};

}  // namespace eventshop
