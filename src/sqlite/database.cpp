// The database object, the unit of work and the SQL value type.
#include "eventshop/sqlite/database.hpp"

#include <condition_variable>
#include <mutex>
#include <unordered_map>

#include "database_impl.hpp"
#include "eventshop/core/codec.hpp"
#include "eventshop/core/error.hpp"

namespace eventshop::sqlite {

using detail::statement;

std::int64_t value::as_int() const {
  if (const auto* p = std::get_if<std::int64_t>(&v_)) return *p;
  throw error(errc::wrong_type, "sqlite value is not an integer");
}
double value::as_double() const {
  if (const auto* p = std::get_if<double>(&v_)) return *p;
  if (const auto* p = std::get_if<std::int64_t>(&v_)) return static_cast<double>(*p);
  throw error(errc::wrong_type, "sqlite value is not a number");
}
const std::string& value::as_text() const {
  if (const auto* p = std::get_if<std::string>(&v_)) return *p;
  throw error(errc::wrong_type, "sqlite value is not text");
}

void database_options::validate() const {
  if (path.empty())
    throw error(errc::invalid_argument, "sqlite::database_options.path must not be empty");
  if (busy_timeout.count() < 0)
    throw error(errc::invalid_argument, "sqlite::database_options.busy_timeout must be >= 0");
}

statement& database::impl::cached(std::string_view sql) {
  auto it = cache.find(std::string(sql));
  if (it == cache.end()) {
    if (cache.size() > 256) cache.clear();
    it = cache.emplace(std::string(sql), conn.prepare(sql)).first;
  }
  return it->second;
}

void database::impl::notify_commit() {
  {
    std::lock_guard lock(notify_mutex);
    ++commits;
  }
  notify_cv.notify_all();
}

database::database(database_options options) {
  options.validate();
  impl_ = std::make_shared<impl>();
  impl_->options = std::move(options);
  impl_->conn = detail::connection({impl_->options.path,
                                    impl_->options.synchronous == sync_mode::full
                                        ? detail::sync_level::full
                                        : detail::sync_level::normal,
                                    impl_->options.busy_timeout, true});
}

database::~database() = default;

const database_options& database::options() const noexcept {
  return impl_->options;
}

void database::exec_script(std::string_view sql) {
  std::lock_guard lock(impl_->mutex);
  impl_->conn.exec(std::string(sql).c_str());
}

unit_of_work database::begin() {
  auto s = std::make_unique<unit_of_work::state>();
  s->db = impl_;
  s->lock = std::unique_lock(impl_->mutex);
  impl_->conn.begin_immediate();
  s->active = true;
  return unit_of_work(std::move(s));
}

unit_of_work::unit_of_work(std::unique_ptr<state> s) : s_(std::move(s)) {}
unit_of_work::unit_of_work(unit_of_work&&) noexcept = default;
unit_of_work::~unit_of_work() {
  rollback();
}

bool unit_of_work::active() const noexcept {
  return s_ && s_->active;
}

namespace {
void check_active(const unit_of_work& u) {
  if (!u.active()) throw error(errc::closed, "unit of work already committed or rolled back");
}
}  // namespace

void detail::bind_values(statement& st, const value* first, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    const int idx = static_cast<int>(i + 1);
    std::visit(
        [&](const auto& v) {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, std::monostate>)
            st.bind_null(idx);
          else if constexpr (std::is_same_v<T, std::string>)
            st.bind(idx, std::string_view(v));
          else
            st.bind(idx, v);
        },
        first[i].get());
  }
}

value detail::column_value(const statement& st, int col) {
  switch (st.type(col)) {
    case SQLITE_NULL:
      return value();
    case SQLITE_INTEGER:
      return value(st.int64(col));
    case SQLITE_FLOAT:
      return value(st.real(col));
    default:
      return value(std::string(st.text(col)));
  }
}

std::int64_t unit_of_work::exec(std::string_view sql, std::initializer_list<value> params) {
  check_active(*this);
  auto& st = s_->db->cached(sql);
  detail::bind_values(st, params.begin(), params.size());
  st.run();
  return s_->db->conn.changes();
}
std::int64_t unit_of_work::exec(std::string_view sql, const std::vector<value>& params) {
  check_active(*this);
  auto& st = s_->db->cached(sql);
  detail::bind_values(st, params.data(), params.size());
  st.run();
  return s_->db->conn.changes();
}

std::vector<row> unit_of_work::query(std::string_view sql, std::initializer_list<value> params) {
  return query(sql, std::vector<value>(params));
}
std::vector<row> unit_of_work::query(std::string_view sql, const std::vector<value>& params) {
  check_active(*this);
  auto& st = s_->db->cached(sql);
  detail::bind_values(st, params.data(), params.size());
  std::vector<row> out;
  try {
    while (st.step()) {
      row r;
      for (int c = 0; c < st.columns(); ++c)
        r.push_back(detail::column_value(st, c));
      out.push_back(std::move(r));
    }
  } catch (...) {
    st.reset();
    throw;
  }
  st.reset();
  return out;
}

bool unit_of_work::mark_handled(std::string_view group, std::string_view event_id) {
  check_active(*this);
  if (group.empty() || event_id.empty())
    throw error(errc::invalid_argument, "mark_handled needs a group and an event id");
  auto& st = s_->db->cached(
      "INSERT OR IGNORE INTO es_processed(grp, event_id, handled_at) VALUES (?, ?, ?)");
  st.bind(1, group).bind(2, event_id).bind(3, detail::unix_ms()).run();
  return s_->db->conn.changes() == 1;
}

bool unit_of_work::handled(std::string_view group, std::string_view event_id) {
  check_active(*this);
  auto& st = s_->db->cached("SELECT 1 FROM es_processed WHERE grp=? AND event_id=?");
  st.bind(1, group).bind(2, event_id);
  const bool found = st.step();
  st.reset();
  return found;
}

void unit_of_work::add_outbox(std::string_view topic, const envelope& event) {
  check_active(*this);
  validate_topic_name(topic);
  validate(event);
  const std::string json = encode(event);
  auto& st = s_->db->cached("INSERT INTO es_outbox(topic, key, envelope) VALUES (?, ?, ?)");
  st.bind(1, topic).bind(2, std::string_view(event.key())).bind_blob_static(3, json).run();
  s_->outbox = true;
}

append_result unit_of_work::append(std::string_view stream, std::int64_t expected,
                                   const std::vector<envelope>& events) {
  check_active(*this);
  if (stream.empty()) throw error(errc::invalid_argument, "append: stream name must not be empty");
  if (expected < expected_version::any)
    throw error(errc::invalid_argument,
                "append to '" + std::string(stream) + "': expected version must be >= -1 (any)");
  if (events.empty())
    throw error(errc::invalid_argument, "append to '" + std::string(stream) + "': no events");
  std::vector<std::string> encoded;
  encoded.reserve(events.size());
  for (const auto& e : events) {
    validate(e);
    encoded.push_back(encode(e));
  }
  auto& db = *s_->db;
  auto& ver = db.cached("SELECT version FROM es_streams WHERE stream=?");
  ver.bind(1, stream);
  const std::int64_t actual = ver.step() ? ver.int64(0) : 0;
  ver.reset();
  check_expected_version(stream, expected, actual);
  auto& ins = db.cached("INSERT INTO es_store(stream, version, envelope) VALUES (?, ?, ?)");
  std::int64_t v = actual;
  std::int64_t pos = 0;
  for (const auto& json : encoded) {
    ins.bind(1, stream).bind(2, ++v).bind_blob_static(3, json).run();
    pos = sqlite3_last_insert_rowid(db.conn.get());
  }
  db.cached(
        "INSERT INTO es_streams(stream, version) VALUES (?, ?) ON CONFLICT(stream) DO UPDATE SET "
        "version=excluded.version")
      .bind(1, stream)
      .bind(2, v)
      .run();
  return {v, pos};
}

std::int64_t unit_of_work::checkpoint(std::string_view name) {
  check_active(*this);
  auto& st = s_->db->cached("SELECT position FROM es_checkpoints WHERE name=?");
  st.bind(1, name);
  const std::int64_t pos = st.step() ? st.int64(0) : 0;
  st.reset();
  return pos;
}

void unit_of_work::set_checkpoint(std::string_view name, std::int64_t position) {
  check_active(*this);
  s_->db
      ->cached(
          "INSERT INTO es_checkpoints(name, position) VALUES (?, ?) ON CONFLICT(name) DO UPDATE "
          "SET position=excluded.position")
      .bind(1, name)
      .bind(2, position)
      .run();
}

void unit_of_work::commit() {
  check_active(*this);
  s_->active = false;
  try {
    s_->db->conn.commit();
  } catch (...) {
    s_->lock.unlock();
    throw;
  }
  const bool outbox = s_->outbox;
  auto db = s_->db;
  s_->lock.unlock();
  if (outbox) db->notify_commit();
}

void unit_of_work::rollback() noexcept {
  if (!s_ || !s_->active) return;
  s_->active = false;
  s_->db->conn.rollback();
  s_->lock.unlock();
}

}  // namespace eventshop::sqlite
