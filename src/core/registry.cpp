#include "eventshop/core/registry.hpp"

#include <mutex>

#include "context_detail.hpp"

namespace eventshop {

namespace {
thread_local const event_context* tl_context = nullptr;
}  // namespace

const event_context* current_context() noexcept {
  return tl_context;
}

const event_context* detail::exchange_current_context(const event_context* ctx) noexcept {
  const event_context* previous = tl_context;
  tl_context = ctx;
  return previous;
}

context_scope::context_scope(event_context ctx) : ctx_(std::move(ctx)), previous_(tl_context) {
  tl_context = &ctx_;
}
context_scope::~context_scope() {
  tl_context = previous_;
}

std::string money::to_string() const {
  json_writer w;
  w.cents(cents);
  return w.str();
}

std::string detail::json_path::str() const {
  if (parent == nullptr) return std::string(key);
  std::string s = parent->str();
  if (is_index) {
    s += '[';
    s += std::to_string(index);
    s += ']';
  } else {
    s += '.';
    s += key;
  }
  return s;
}

void detail::throw_field_error(errc code, const json_path& path, std::string_view what) {
  throw error(code, path.str() + ": " + std::string(what));
}

void event_registry::add(std::string type, std::int64_t version,
                         std::function<void(json_view)> check) {
  if (type.empty()) throw error(errc::invalid_argument, "event type name must not be empty");
  if (version < 1) throw error(errc::invalid_argument, "schema version must be >= 1");
  std::unique_lock lock(mutex_);
  auto& e = entries_[std::move(type)];
  e.version = version;
  e.check = std::move(check);
}

void event_registry::add_upcaster(std::string type, std::int64_t from_version, upcaster step) {
  if (from_version < 1) throw error(errc::invalid_argument, "upcaster from_version must be >= 1");
  std::unique_lock lock(mutex_);
  entries_[std::move(type)].upcasters[from_version] = std::move(step);
}

bool event_registry::contains(std::string_view type) const {
  std::shared_lock lock(mutex_);
  return entries_.find(type) != entries_.end();
}

std::int64_t event_registry::version_of(std::string_view type) const {
  std::shared_lock lock(mutex_);
  const auto it = entries_.find(type);
  if (it == entries_.end())
    throw error(errc::unknown_event_type, "unknown event type '" + std::string(type) + "'");
  return it->second.version;
}

std::string event_registry::upcast(const envelope& e) const {
  std::shared_lock lock(mutex_);
  const auto it = entries_.find(e.type);
  if (it == entries_.end())
    throw error(errc::unknown_event_type, "unknown event type '" + e.type + "'");
  const entry& en = it->second;
  if (e.dataschemaversion > en.version)
    throw error(errc::unsupported_version,
                e.type + " schema version " + std::to_string(e.dataschemaversion) +
                    " is newer than this build understands (" + std::to_string(en.version) + ")");
  std::string data = e.data;
  for (std::int64_t v = e.dataschemaversion; v < en.version; ++v) {
    const auto step = en.upcasters.find(v);
    if (step == en.upcasters.end())
      throw error(errc::unsupported_version, "no upcaster for " + e.type + " from schema version " +
                                                 std::to_string(v) + " to " +
                                                 std::to_string(v + 1));
    const json_document doc(data);
    json_writer out;
    step->second(doc.root(), out);
    data = out.str();
  }
  return data;
}

void event_registry::check(const envelope& e) const {
  std::function<void(json_view)> fn;
  {
    std::shared_lock lock(mutex_);
    const auto it = entries_.find(e.type);
    if (it == entries_.end())
      throw error(errc::unknown_event_type, "unknown event type '" + e.type + "'");
    fn = it->second.check;
  }
  const std::string data = upcast(e);
  const json_document doc(data);
  if (fn) fn(doc.root());
}

event_registry& event_registry::global() {
  static event_registry instance;
  return instance;
}

envelope make_envelope(std::string_view type, std::int64_t version, std::string data,
                       const event_options& options) {
  envelope e;
  e.id = new_uuid_v7(*options.clk);
  e.source = options.source;
  e.type.assign(type);
  e.subject = options.subject;
  e.time = options.clk->now();
  e.dataschemaversion = version;
  e.data = std::move(data);
  if (const event_context* ctx = current_context()) {
    e.correlationid = ctx->correlationid.empty() ? e.id : ctx->correlationid;
    e.causationid = ctx->causationid;
    e.traceparent = ctx->traceparent;
  } else {
    e.correlationid = e.id;
  }
  return e;
}

}  // namespace eventshop
