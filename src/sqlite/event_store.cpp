// sqlite::event_store: appends through a unit of work; reads straight from the connection.
#include "eventshop/sqlite/event_store.hpp"

#include "database_impl.hpp"
#include "eventshop/core/codec.hpp"
#include "eventshop/core/error.hpp"

namespace eventshop::sqlite {

namespace {
constexpr codec_limits unlimited{std::size_t{1} << 40};

stored_event row_to_event(const detail::statement& st) {
  stored_event e;
  e.position = st.int64(0);
  e.stream = std::string(st.text(1));
  e.version = st.int64(2);
  e.event = decode(st.text(3), unlimited);
  return e;
}

template <class Bind>
std::vector<stored_event> read_rows(database& db, std::string_view sql, Bind bind) {
  auto& d = db.get_impl();
  std::lock_guard lock(d.mutex);
  auto& st = d.cached(sql);
  bind(st);
  std::vector<stored_event> out;
  try {
    while (st.step())
      out.push_back(row_to_event(st));
  } catch (...) {
    st.reset();
    throw;
  }
  st.reset();
  return out;
}

std::int64_t clamp_max(std::size_t max) {
  return max > static_cast<std::size_t>(INT64_MAX) ? INT64_MAX : static_cast<std::int64_t>(max);
}
}  // namespace

append_result event_store::append(std::string_view stream, std::int64_t expected,
                                  const std::vector<envelope>& events) {
  auto uow = db_.begin();
  auto r = uow.append(stream, expected, events);
  uow.commit();
  return r;
}

std::vector<stored_event> event_store::read_stream(std::string_view stream,
                                                   std::int64_t after_version, std::size_t max) {
  return read_rows(db_,
                   "SELECT position, stream, version, envelope FROM es_store WHERE stream=? AND "
                   "version>? ORDER BY version LIMIT ?",
                   [&](detail::statement& st) {
                     st.bind(1, stream).bind(2, after_version).bind(3, clamp_max(max));
                   });
}

std::vector<stored_event> event_store::read_all(std::int64_t after_position, std::size_t max) {
  return read_rows(
      db_,
      "SELECT position, stream, version, envelope FROM es_store WHERE position>? "
      "ORDER BY position LIMIT ?",
      [&](detail::statement& st) { st.bind(1, after_position).bind(2, clamp_max(max)); });
}

std::int64_t event_store::stream_version(std::string_view stream) {
  auto& d = db_.get_impl();
  std::lock_guard lock(d.mutex);
  auto& st = d.cached("SELECT version FROM es_streams WHERE stream=?");
  st.bind(1, stream);
  const std::int64_t v = st.step() ? st.int64(0) : 0;
  st.reset();
  return v;
}

std::int64_t event_store::head_position() {
  auto& d = db_.get_impl();
  std::lock_guard lock(d.mutex);
  auto& st = d.cached("SELECT coalesce(max(position), 0) FROM es_store");
  const std::int64_t v = st.step() ? st.int64(0) : 0;
  st.reset();
  return v;
}

void event_store::save_snapshot(const snapshot& s) {
  if (s.stream.empty())
    throw error(errc::invalid_argument, "snapshot: stream name must not be empty");
  auto uow = db_.begin();
  const auto rows = uow.query("SELECT version FROM es_streams WHERE stream=?", {s.stream});
  const std::int64_t actual = rows.empty() ? 0 : rows.front().front().as_int();
  if (s.version < 0 || s.version > actual)
    throw error(errc::invalid_argument, "snapshot of '" + s.stream + "' at version " +
                                            std::to_string(s.version) + " but the stream is at " +
                                            std::to_string(actual));
  uow.exec(
      "INSERT INTO es_snapshots(stream, version, state) VALUES (?, ?, ?) ON CONFLICT(stream) DO "
      "UPDATE SET version=excluded.version, state=excluded.state",
      {s.stream, s.version, s.state});
  uow.commit();
}

std::optional<snapshot> event_store::load_snapshot(std::string_view stream) {
  auto& d = db_.get_impl();
  std::lock_guard lock(d.mutex);
  auto& st = d.cached("SELECT version, state FROM es_snapshots WHERE stream=?");
  st.bind(1, stream);
  std::optional<snapshot> out;
  if (st.step()) out = snapshot{std::string(stream), st.int64(0), std::string(st.text(1))};
  st.reset();
  return out;
}

}  // namespace eventshop::sqlite
