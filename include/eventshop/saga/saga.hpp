// eventshop/saga/saga.hpp - everything in eventshop::saga in one include: saga definitions, the
// tracker and its stores, choreography participants, and the order saga of CONTRACT §3.
// See docs/sagas.md.
#pragma once

#include "eventshop/saga/definition.hpp"
#include "eventshop/saga/order_saga.hpp"
#include "eventshop/saga/order_saga_runner.hpp"
#include "eventshop/saga/participant.hpp"
#include "eventshop/saga/sqlite_store.hpp"
#include "eventshop/saga/store.hpp"
#include "eventshop/saga/tracker.hpp"
