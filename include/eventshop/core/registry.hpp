// eventshop/core/registry.hpp - which event types exist, their current schema version, and the
// upcasters that lift an old version of a payload to the current one.
//
//   registry.add<OrderCreated>();
//   registry.add_upcaster("OrderCreated", 1, [](json_view v1, json_writer& out) { ... v2 ... });
//   OrderCreated oc = decode_event<OrderCreated>(envelope, registry);
//
// Thread safety: registration is expected at start-up; lookups are safe concurrently with each
// other and with registration (shared mutex).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>

#include "eventshop/core/clock.hpp"
#include "eventshop/core/context.hpp"
#include "eventshop/core/envelope.hpp"
#include "eventshop/core/event.hpp"
#include "eventshop/core/uuid.hpp"

namespace eventshop {

// Turns payload version N (the view) into version N+1 (written to `out`).
using upcaster = std::function<void(json_view old_data, json_writer& out)>;

class event_registry {
 public:
  struct entry {
    std::int64_t version = 1;
    std::map<std::int64_t, upcaster> upcasters;  // from-version -> step
    std::function<void(json_view)> check;        // decodes into the C++ type, throws on error
  };

  template <typed_event T>
  void add() {
    add(std::string(T::event_type), T::schema_version,
        [](json_view data) { (void)decode_data<T>(data); });
  }
  void add(std::string type, std::int64_t version, std::function<void(json_view)> check = {});
  void add_upcaster(std::string type, std::int64_t from_version, upcaster step);

  bool contains(std::string_view type) const;
  // Current schema version of `type`; throws errc::unknown_event_type.
  std::int64_t version_of(std::string_view type) const;

  // The payload of `e` at its type's current version: `e.data` itself when already current, else
  // the result of applying each upcaster in turn. Throws unknown_event_type, or
  // unsupported_version when the payload is newer than this build or a step is missing.
  std::string upcast(const envelope& e) const;

  // Decodes and checks `e`'s payload as its registered type (after upcasting); throws with the
  // field path on error. Used to reject bad events before a handler sees them.
  void check(const envelope& e) const;

  // The registry that typed subscriptions use by default. ecommerce/events.hpp registers the
  // CONTRACT catalog into it through register_catalog().
  static event_registry& global();

 private:
  mutable std::shared_mutex mutex_;
  std::map<std::string, entry, std::less<>> entries_;
};

// Decodes `e` as T, upcasting older payloads through `registry`. Throws eventshop::error:
// wrong_type when e.type is not T's, unsupported_version, or the field error.
template <typed_event T>
T decode_event(const envelope& e, const event_registry& registry = event_registry::global()) {
  if (e.type != T::event_type)
    throw error(errc::wrong_type,
                "event type is '" + e.type + "', expected '" + std::string(T::event_type) + "'");
  if (e.dataschemaversion == T::schema_version) return decode_data<T>(std::string_view(e.data));
  if (e.dataschemaversion > T::schema_version)
    throw error(errc::unsupported_version, e.type + " schema version " +
                                               std::to_string(e.dataschemaversion) +
                                               " is newer than this build understands (" +
                                               std::to_string(T::schema_version) + ")");
  return decode_data<T>(std::string_view(registry.upcast(e)));
}

// What a new event needs besides its payload.
struct event_options {
  std::string source;                   // "/eventshop/<service>"
  std::string subject;                  // aggregate key
  const clock* clk = &clock::system();  // injectable for tests
};

// Fills the envelope of a new event: a UUIDv7 id, the type and version of T, the time now, the
// payload, and - from the current context_scope, if any - correlationid, causationid and
// traceparent. Without a context the event starts a new conversation: correlationid = its id.
envelope make_envelope(std::string_view type, std::int64_t version, std::string data,
                       const event_options& options);

template <typed_event T>
envelope make_event(const T& data, const event_options& options) {
  return make_envelope(T::event_type, T::schema_version, encode_data(data), options);
}

}  // namespace eventshop
