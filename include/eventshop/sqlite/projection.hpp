// eventshop/sqlite/projection.hpp - projections whose read model lives in a SQLite database and
// whose checkpoint commits in the same transaction as the read model's writes.
//
// The runner reads a batch of events after the checkpoint from any event store, then - in one
// unit of work on the target database - hands each event to the projection (which writes its
// tables through the unit of work) and moves the checkpoint. A crash either keeps the batch and
// its checkpoint or neither, so no event is applied twice and none is skipped. rebuild() empties
// the read model (projection::reset) and replays from position 0; the result equals the live run
// when handle() depends only on the events.
// Thread safety: one runner per projection, used by one thread at a time; runners in different
// processes on the same file stay correct (the checkpoint is re-read inside the transaction).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "eventshop/core/event_store.hpp"
#include "eventshop/sqlite/database.hpp"

namespace eventshop::sqlite {

class projection {
 public:
  virtual ~projection() = default;
  virtual std::string name() const = 0;
  // Creates the read model's tables if needed (called once per runner, outside a transaction).
  virtual void setup(database&) {}
  virtual void handle(unit_of_work& uow, const stored_event& e) = 0;
  virtual void reset(unit_of_work& uow) = 0;  // empty the read model
};

class projection_runner {
 public:
  projection_runner(eventshop::event_store& source, database& target, std::size_t batch = 1000)
      : source_(source), target_(target), batch_(batch == 0 ? 1 : batch) {}

  std::size_t catch_up(projection& p);  // returns the number of events applied
  std::size_t rebuild(projection& p);
  std::int64_t position(const projection& p);

 private:
  eventshop::event_store& source_;
  database& target_;
  std::size_t batch_;
};

}  // namespace eventshop::sqlite
