// saga_record helpers and the in-memory saga_store.
#include <algorithm>

#include "eventshop/core/error.hpp"
#include "eventshop/saga/store.hpp"

namespace eventshop::saga {

namespace {
bool contains(const std::vector<std::string>& v, std::string_view s) noexcept {
  return std::find(v.begin(), v.end(), s) != v.end();
}
// Copies `src` into `dst` reusing dst's buffers; vectors get headroom so that a record growing by
// one event per save does not reallocate (and re-copy every string) each time.
template <class V>
void assign_grow(V& dst, const V& src) {
  if (dst.capacity() < src.size()) dst.reserve(std::max<std::size_t>(8, 2 * src.size()));
  dst = src;
}
void assign_record(saga_record& dst, const saga_record& src) {
  dst.saga = src.saga;
  dst.key = src.key;
  dst.state = src.state;
  dst.terminal = src.terminal;
  assign_grow(dst.completed, src.completed);
  assign_grow(dst.compensated, src.compensated);
  assign_grow(dst.seen, src.seen);
  assign_grow(dst.held, src.held);
  assign_grow(dst.outbox, src.outbox);
  dst.started_at = src.started_at;
  dst.entered_at = src.entered_at;
  dst.updated_at = src.updated_at;
  dst.deadline = src.deadline;
  dst.version = src.version;
}

bool older(const saga_record& a, const saga_record& b) {
  return a.started_at != b.started_at ? a.started_at < b.started_at : a.key < b.key;
}
}  // namespace

bool saga_record::has_completed(std::string_view step) const noexcept {
  return contains(completed, step);
}
bool saga_record::has_compensated(std::string_view step) const noexcept {
  return contains(compensated, step);
}
bool saga_record::has_seen(std::string_view event_id) const noexcept {
  // Newest first: a redelivery is most likely of a recent event.
  for (auto it = seen.rbegin(); it != seen.rend(); ++it)
    if (*it == event_id) return true;
  return false;
}

void validate_record(const saga_record& r) {
  if (r.saga.empty()) throw error(errc::invalid_argument, "saga_record.saga: must not be empty");
  if (r.key.empty())
    throw error(errc::invalid_argument,
                "saga_record.key: must not be empty (saga '" + r.saga + "')");
  if (r.state.empty())
    throw error(errc::invalid_argument, "saga_record.state: must not be empty (saga '" + r.saga +
                                            "', key '" + r.key + "')");
  if (r.version < 1)
    throw error(errc::invalid_argument,
                "saga_record.version: must be >= 1, got " + std::to_string(r.version));
}

std::optional<saga_record> memory_saga_store::load(std::string_view saga, std::string_view key) {
  saga_record r;
  if (!load_into(saga, key, r)) return std::nullopt;
  return r;
}

bool memory_saga_store::load_into(std::string_view saga, std::string_view key, saga_record& out) {
  std::lock_guard lock(mutex_);
  const auto s = sagas_.find(saga);
  if (s == sagas_.end()) return false;
  const auto it = s->second.find(key);
  if (it == s->second.end()) return false;
  assign_record(out, it->second);
  return true;
}

void memory_saga_store::save(const saga_record& record) {
  validate_record(record);
  std::lock_guard lock(mutex_);
  auto s = sagas_.find(std::string_view(record.saga));
  if (s == sagas_.end()) s = sagas_.emplace(record.saga, per_saga{}).first;
  auto& map = s->second;
  const auto it = map.find(std::string_view(record.key));
  const std::int64_t stored = it == map.end() ? 0 : it->second.version;
  if (stored != record.version - 1)
    throw error(errc::conflict,
                "saga '" + record.saga + "' key '" + record.key + "': expected stored version " +
                    std::to_string(record.version - 1) + ", found " + std::to_string(stored));
  if (it == map.end())
    map.emplace(record.key, record);
  else
    it->second = record;  // copy-assignment reuses the stored buffers
}

std::vector<saga_record> memory_saga_store::list(std::string_view saga, const saga_query& query) {
  std::vector<saga_record> out;
  {
    std::lock_guard lock(mutex_);
    const auto s = sagas_.find(saga);
    if (s == sagas_.end()) return out;
    for (const auto& [k, r] : s->second)
      if (query.include_terminal || !r.terminal) out.push_back(r);
  }
  std::sort(out.begin(), out.end(), older);
  if (out.size() > query.limit) out.resize(query.limit);
  return out;
}

std::vector<saga_record> memory_saga_store::with_deadline(std::string_view saga) {
  std::vector<saga_record> out;
  std::lock_guard lock(mutex_);
  const auto s = sagas_.find(saga);
  if (s == sagas_.end()) return out;
  for (const auto& [k, r] : s->second)
    if (!r.terminal && r.deadline) out.push_back(r);
  return out;
}

std::vector<saga_record> memory_saga_store::with_outbox(std::string_view saga) {
  std::vector<saga_record> out;
  {
    std::lock_guard lock(mutex_);
    const auto s = sagas_.find(saga);
    if (s == sagas_.end()) return out;
    for (const auto& [k, r] : s->second)
      if (!r.outbox.empty()) out.push_back(r);
  }
  std::sort(out.begin(), out.end(), older);
  return out;
}

std::size_t memory_saga_store::purge_terminal(std::string_view saga, timestamp before) {
  std::lock_guard lock(mutex_);
  const auto s = sagas_.find(saga);
  if (s == sagas_.end()) return 0;
  return std::erase_if(s->second, [&](const auto& kv) {
    return kv.second.terminal && kv.second.outbox.empty() && kv.second.updated_at < before;
  });
}

std::size_t memory_saga_store::size() const {
  std::lock_guard lock(mutex_);
  std::size_t n = 0;
  for (const auto& [name, map] : sagas_)
    n += map.size();
  return n;
}

}  // namespace eventshop::saga
