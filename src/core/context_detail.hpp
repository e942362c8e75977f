// Private helper of eventshop::core for the thread's current context (not installed).
#pragma once

#include "eventshop/core/context.hpp"

namespace eventshop::detail {

// Makes `ctx` (may be null) the current context of this thread and returns the one it replaces:
// what context_scope does, without copying the context. The caller restores the previous one
// before `ctx` goes away.
const event_context* exchange_current_context(const event_context* ctx) noexcept;

}  // namespace eventshop::detail
