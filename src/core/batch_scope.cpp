#include "eventshop/core/batch_scope.hpp"

#include <exception>
#include <utility>
#include <vector>

#include "eventshop/core/logging.hpp"

namespace eventshop {

namespace {

thread_local int depth = 0;
thread_local std::vector<std::function<void()>> deferred;

void run_logged(const std::function<void()>& work) noexcept {
  try {
    work();
  } catch (const std::exception& e) {
    logger("core").error("work deferred to the end of a batch failed", {{"error", e.what()}});
  } catch (...) {
    logger("core").error("work deferred to the end of a batch failed", {{"error", "unknown"}});
  }
}

}  // namespace

batch_scope::batch_scope() noexcept {
  ++depth;
}

batch_scope::~batch_scope() {
  if (--depth > 0) return;
  // Swapped out first: the work may open a scope of its own and defer more.
  std::vector<std::function<void()>> work;
  work.swap(deferred);
  for (const auto& w : work)
    run_logged(w);
  work.clear();
  if (deferred.empty()) deferred.swap(work);  // keeps the capacity for the next batch
}

bool batch_scope::active() noexcept {
  return depth > 0;
}

void defer_to_batch_end(std::function<void()> work) {
  if (depth == 0) return run_logged(work);
  deferred.push_back(std::move(work));
}

}  // namespace eventshop
