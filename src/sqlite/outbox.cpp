// The outbox relay and the durable idempotency store.
#include "eventshop/sqlite/outbox.hpp"

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "database_impl.hpp"
#include "eventshop/core/codec.hpp"
#include "eventshop/core/error.hpp"
#include "eventshop/core/logging.hpp"

namespace eventshop::sqlite {

namespace {
const logger& relay_log() {
  static const logger log("eventshop.outbox_relay");
  return log;
}
}  // namespace

void relay_options::validate() const {
  if (batch < 1) throw error(errc::invalid_argument, "sqlite::relay_options.batch must be >= 1");
  if (poll_interval.count() < 1)
    throw error(errc::invalid_argument, "sqlite::relay_options.poll_interval must be >= 1 ms");
  if (ack_timeout.count() < 1)
    throw error(errc::invalid_argument, "sqlite::relay_options.ack_timeout must be >= 1 ms");
  if (retry_delay.count() < 0)
    throw error(errc::invalid_argument, "sqlite::relay_options.retry_delay must be >= 0");
}

struct outbox_relay::impl {
  database& db;
  bus& target;
  relay_options options;
  std::thread thread;
  std::atomic<bool> stop{false};
  std::function<std::size_t()> relay_fn;

  void run();
};

outbox_relay::outbox_relay(database& db, bus& target, relay_options options) {
  options.validate();
  impl_ = std::unique_ptr<impl>(new impl{db, target, options, {}, {}, {}});
}

outbox_relay::~outbox_relay() {
  stop();
}

std::size_t outbox_relay::pending() {
  auto uow = impl_->db.begin();
  const auto rows = uow.query("SELECT count(*) FROM es_outbox");
  return static_cast<std::size_t>(rows.front().front().as_int());
}

std::size_t outbox_relay::relay_once() {
  auto& i = *impl_;
  struct item {
    std::int64_t id;
    std::string topic;
    envelope event;
  };
  std::vector<item> items;
  {
    auto& d = i.db.get_impl();
    std::lock_guard lock(d.mutex);
    auto& st = d.cached("SELECT id, topic, envelope FROM es_outbox ORDER BY id LIMIT ?");
    st.bind(1, static_cast<std::int64_t>(i.options.batch));
    try {
      while (st.step())
        items.push_back({st.int64(0), std::string(st.text(1)),
                         decode(st.text(2), codec_limits{std::size_t{1} << 40})});
    } catch (...) {
      st.reset();
      throw;
    }
    st.reset();
  }
  if (items.empty()) return 0;

  struct acks_state {
    std::mutex m;
    std::condition_variable cv;
    std::vector<std::error_code> result;
    std::vector<bool> done;
    std::size_t count = 0;
  };
  auto acks = std::make_shared<acks_state>();
  acks->result.resize(items.size());
  acks->done.resize(items.size());
  for (std::size_t k = 0; k < items.size(); ++k) {
    // In id order: the bus keeps one publisher's order per key.
    i.target.publish(items[k].topic, items[k].event,
                     [acks, k](std::error_code ec, const publish_receipt&) {
                       std::lock_guard lock(acks->m);
                       acks->result[k] = ec;
                       acks->done[k] = true;
                       ++acks->count;
                       acks->cv.notify_all();
                     });
  }
  std::size_t prefix = 0;
  std::error_code first_error;
  {
    std::unique_lock lock(acks->m);
    acks->cv.wait_for(lock, i.options.ack_timeout, [&] { return acks->count == items.size(); });
    while (prefix < items.size() && acks->done[prefix] && !acks->result[prefix])
      ++prefix;
    if (prefix < items.size())
      first_error = acks->done[prefix] ? acks->result[prefix] : make_error_code(errc::timeout);
  }
  if (prefix > 0) {
    auto uow = i.db.begin();
    uow.exec("DELETE FROM es_outbox WHERE id <= ?", {items[prefix - 1].id});
    uow.commit();
  }
  if (first_error)
    throw error(first_error, "outbox relay: publishing outbox row " +
                                 std::to_string(items[prefix].id) + " to '" + items[prefix].topic +
                                 "' failed: " + first_error.message());
  return prefix;
}

void outbox_relay::impl::run() {
  auto& d = db.get_impl();
  while (!stop.load()) {
    std::uint64_t seen;
    {
      std::lock_guard lock(d.notify_mutex);
      seen = d.commits;
    }
    std::size_t n = 0;
    bool failed = false;
    try {
      n = relay_fn();
    } catch (const std::exception& e) {
      relay_log().warn("outbox relay round failed; will retry", {{"error", e.what()}});
      failed = true;
    }
    if (n > 0 && !failed) continue;
    std::unique_lock lock(d.notify_mutex);
    d.notify_cv.wait_for(lock, failed ? options.retry_delay : options.poll_interval,
                         [&] { return stop.load() || (!failed && d.commits != seen); });
  }
}

void outbox_relay::start() {
  auto& i = *impl_;
  if (i.thread.joinable()) return;
  i.stop.store(false);
  i.relay_fn = [this] { return relay_once(); };
  i.thread = std::thread([&i] { i.run(); });
}

void outbox_relay::stop() {
  auto& i = *impl_;
  if (!i.thread.joinable()) return;
  i.stop.store(true);
  {
    auto& d = i.db.get_impl();
    std::lock_guard lock(d.notify_mutex);
    d.notify_cv.notify_all();
  }
  i.thread.join();
}

bool idempotency_store::contains(std::string_view group, std::string_view event_id) {
  auto uow = db_.begin();
  const bool found = uow.handled(group, event_id);
  uow.rollback();
  return found;
}

void idempotency_store::insert(std::string_view group, std::string_view event_id) {
  auto uow = db_.begin();
  uow.mark_handled(group, event_id);
  uow.commit();
}

}  // namespace eventshop::sqlite
