// eventshop/core/batch_scope.hpp - work a handler defers to the end of the batch of events its
// thread is delivering.
//
// A bus delivers events in batches: under load a dispatch thread runs handlers for many events
// in a row, when idle for one at a time. Work that costs the same whether it covers one event or
// a hundred - a socket write of everything the batch produced, a flush - is better done once per
// batch. defer_to_batch_end() runs `work` when the thread's current batch ends, on the same
// thread, in the order deferred; on a thread that is not delivering a batch it runs it at once.
// So under load the work is coalesced, and when idle nothing waits.
//
// The in-memory and SQLite buses open a batch_scope around each pass of a dispatch thread over
// its partitions (the Kafka bus delivers one record per poll, so its handlers run outside any
// scope and deferred work runs at once). Scopes nest: the outermost one runs the deferred work.
//
// Thread safety: everything here is per thread.
#pragma once

#include <functional>

namespace eventshop {

class batch_scope {
 public:
  batch_scope() noexcept;
  // Runs the work deferred during the scope (the outermost scope only). Work that throws is
  // logged and the rest still runs.
  ~batch_scope();
  batch_scope(const batch_scope&) = delete;
  batch_scope& operator=(const batch_scope&) = delete;

  // True while this thread is inside a batch_scope.
  static bool active() noexcept;
};

// Runs `work` at the end of this thread's current batch_scope, or now when there is none.
void defer_to_batch_end(std::function<void()> work);

}  // namespace eventshop
