// eventshop/core/projection.hpp - projections: read models fed from an event store.
//
// A projection has a name (the key of its checkpoint) and handles stored events in position
// order. The runner reads the store from the projection's checkpoint, hands each event to it and
// moves the checkpoint forward. Rebuilding = reset the read model, checkpoint 0, replay: the
// result must equal the live run, so handle() must depend only on the events it is given.
//
// This in-memory runner saves the checkpoint after handle() returned for a batch, so a crash in
// between replays that batch: fine for read models kept in memory (rebuilt at start anyway). For
// a durable read model whose writes commit in the same transaction as the checkpoint, use
// eventshop::sqlite::projection_runner.
// Thread safety: memory_checkpoint_store is safe; a projection_runner is used by one thread at a
// time (run one runner per projection).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "eventshop/core/event_store.hpp"

namespace eventshop {

class projection {
 public:
  virtual ~projection() = default;
  virtual std::string name() const = 0;
  // Applies one event to the read model. Throwing stops the run; the checkpoint stays before
  // the event, so it is handed over again next time.
  virtual void handle(const stored_event& e) = 0;
  // Empties the read model before a rebuild.
  virtual void reset() = 0;
};

class checkpoint_store {
 public:
  virtual ~checkpoint_store() = default;
  virtual std::int64_t load(std::string_view name) = 0;  // 0 when never saved
  virtual void save(std::string_view name, std::int64_t position) = 0;
};

class memory_checkpoint_store final : public checkpoint_store {
 public:
  std::int64_t load(std::string_view name) override;
  void save(std::string_view name, std::int64_t position) override;

 private:
  std::mutex mutex_;
  std::map<std::string, std::int64_t, std::less<>> positions_;
};

class projection_runner {
 public:
  projection_runner(event_store& store, checkpoint_store& checkpoints, std::size_t batch = 1000)
      : store_(store), checkpoints_(checkpoints), batch_(batch == 0 ? 1 : batch) {}

  // Hands every event after the checkpoint to `p`; returns how many were handled.
  std::size_t catch_up(projection& p);
  // reset(), checkpoint 0, catch_up().
  std::size_t rebuild(projection& p);

 private:
  event_store& store_;
  checkpoint_store& checkpoints_;
  std::size_t batch_;
};

}  // namespace eventshop
