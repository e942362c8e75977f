// The in-memory event store and the in-memory projection runner.
#include "eventshop/core/event_store.hpp"

#include <algorithm>

#include "eventshop/core/error.hpp"
#include "eventshop/core/projection.hpp"

namespace eventshop {

void check_expected_version(std::string_view stream, std::int64_t expected, std::int64_t actual) {
  if (expected == expected_version::any || expected == actual) return;
  throw error(errc::conflict, "stream '" + std::string(stream) + "': expected version " +
                                  std::to_string(expected) + ", actual version " +
                                  std::to_string(actual));
}

namespace {
void check_append_args(std::string_view stream, std::int64_t expected,
                       const std::vector<envelope>& events) {
  if (stream.empty()) throw error(errc::invalid_argument, "append: stream name must not be empty");
  if (expected < expected_version::any)
    throw error(errc::invalid_argument,
                "append to '" + std::string(stream) + "': expected version must be >= -1 (any)");
  if (events.empty())
    throw error(errc::invalid_argument, "append to '" + std::string(stream) + "': no events");
}
}  // namespace

append_result memory_event_store::append(std::string_view stream, std::int64_t expected,
                                         const std::vector<envelope>& events) {
  check_append_args(stream, expected, events);
  std::lock_guard lock(mutex_);
  auto it = streams_.find(stream);
  const auto actual = it == streams_.end() ? 0 : static_cast<std::int64_t>(it->second.size());
  check_expected_version(stream, expected, actual);
  if (it == streams_.end())
    it = streams_.emplace(std::string(stream), std::vector<std::size_t>{}).first;
  for (const auto& e : events) {
    it->second.push_back(all_.size());
    all_.push_back(stored_event{it->first, static_cast<std::int64_t>(it->second.size()),
                                static_cast<std::int64_t>(all_.size() + 1), e});
  }
  return {static_cast<std::int64_t>(it->second.size()), static_cast<std::int64_t>(all_.size())};
}

std::vector<stored_event> memory_event_store::read_stream(std::string_view stream,
                                                          std::int64_t after_version,
                                                          std::size_t max) {
  std::lock_guard lock(mutex_);
  std::vector<stored_event> out;
  const auto it = streams_.find(stream);
  if (it == streams_.end()) return out;
  for (std::size_t i = static_cast<std::size_t>(std::max<std::int64_t>(after_version, 0));
       i < it->second.size() && out.size() < max; ++i)
    out.push_back(all_[it->second[i]]);
  return out;
}

std::vector<stored_event> memory_event_store::read_all(std::int64_t after_position,
                                                       std::size_t max) {
  std::lock_guard lock(mutex_);
  std::vector<stored_event> out;
  for (std::size_t i = static_cast<std::size_t>(std::max<std::int64_t>(after_position, 0));
       i < all_.size() && out.size() < max; ++i)
    out.push_back(all_[i]);
  return out;
}

std::int64_t memory_event_store::stream_version(std::string_view stream) {
  std::lock_guard lock(mutex_);
  const auto it = streams_.find(stream);
  return it == streams_.end() ? 0 : static_cast<std::int64_t>(it->second.size());
}

std::int64_t memory_event_store::head_position() {
  std::lock_guard lock(mutex_);
  return static_cast<std::int64_t>(all_.size());
}

void memory_event_store::save_snapshot(const snapshot& s) {
  std::lock_guard lock(mutex_);
  const auto it = streams_.find(s.stream);
  const auto actual = it == streams_.end() ? 0 : static_cast<std::int64_t>(it->second.size());
  if (s.version < 0 || s.version > actual)
    throw error(errc::invalid_argument, "snapshot of '" + s.stream + "' at version " +
                                            std::to_string(s.version) + " but the stream is at " +
                                            std::to_string(actual));
  snapshots_[s.stream] = s;
}

std::optional<snapshot> memory_event_store::load_snapshot(std::string_view stream) {
  std::lock_guard lock(mutex_);
  const auto it = snapshots_.find(stream);
  if (it == snapshots_.end()) return std::nullopt;
  return it->second;
}

std::int64_t memory_checkpoint_store::load(std::string_view name) {
  std::lock_guard lock(mutex_);
  const auto it = positions_.find(name);
  return it == positions_.end() ? 0 : it->second;
}

void memory_checkpoint_store::save(std::string_view name, std::int64_t position) {
  std::lock_guard lock(mutex_);
  positions_[std::string(name)] = position;
}

std::size_t projection_runner::catch_up(projection& p) {
  const auto name = p.name();
  std::int64_t pos = checkpoints_.load(name);
  std::size_t handled = 0;
  for (;;) {
    const auto batch = store_.read_all(pos, batch_);
    if (batch.empty()) return handled;
    for (const auto& e : batch) {
      try {
        p.handle(e);
      } catch (...) {
        checkpoints_.save(name, pos);  // keep what was handled before the failing event
        throw;
      }
      pos = e.position;
      ++handled;
    }
    checkpoints_.save(name, pos);
  }
}

std::size_t projection_runner::rebuild(projection& p) {
  p.reset();
  checkpoints_.save(p.name(), 0);
  return catch_up(p);
}

}  // namespace eventshop
