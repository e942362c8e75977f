#include "subscriber.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <future>
#include <map>

#include "binding.hpp"
#include "eventshop/core/error.hpp"

namespace eventshop::kafka::detail {

namespace {
using clock = std::chrono::steady_clock;

std::vector<std::int64_t> committed_of(rd_kafka_t* rk, const std::string& topic,
                                       std::int32_t partitions, std::chrono::milliseconds timeout) {
  partition_list_ptr list(rd_kafka_topic_partition_list_new(partitions));
  for (std::int32_t p = 0; p < partitions; ++p)
    rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), p);
  const auto err = rd_kafka_committed(rk, list.get(), static_cast<int>(timeout.count()));
  if (err)
    throw error(to_error_code(err),
                "cannot read committed offsets of '" + topic + "': " + describe(err));
  std::vector<std::int64_t> out(static_cast<std::size_t>(partitions), -1);
  for (int i = 0; i < list->cnt; ++i) {
    const auto& e = list->elems[i];
    if (e.partition >= 0 && e.partition < partitions && e.offset >= 0)
      out[static_cast<std::size_t>(e.partition)] = e.offset;
  }
  return out;
}

// A consumer's session.timeout.ms (librdkafka's default when unset or unreadable).
std::chrono::milliseconds session_timeout(const rd_kafka_conf_t* conf) {
  char value[32];
  std::size_t size = sizeof value;
  if (rd_kafka_conf_get(conf, "session.timeout.ms", value, &size) != RD_KAFKA_CONF_OK)
    return std::chrono::milliseconds(45000);
  return std::chrono::milliseconds(std::strtol(value, nullptr, 10));
}
}  // namespace

// One group member: a consumer handle and the thread that polls it and runs the handler.
class member : public std::enable_shared_from_this<member> {
 public:
  member(std::shared_ptr<kafka_bus::impl> bus, std::string topic, std::string group,
         std::shared_ptr<handler> h, std::shared_ptr<commit_signal> signal, int index,
         start_position start, std::shared_ptr<const std::vector<std::int64_t>> start_offsets)
      : bus_(std::move(bus)),
        topic_(std::move(topic)),
        group_(std::move(group)),
        handler_(std::move(h)),
        signal_(std::move(signal)),
        start_offsets_(std::move(start_offsets)) {
    auto conf = bus_->consumer_conf(group_, group_ + "-" + std::to_string(index), start);
    rd_kafka_conf_set_opaque(conf.get(), this);
    rd_kafka_conf_set_rebalance_cb(conf.get(), &member::on_rebalance);
    rd_kafka_conf_set_offset_commit_cb(conf.get(), &member::on_commit);
    join_limit_ = session_timeout(conf.get());
    rk_ = make_handle(RD_KAFKA_CONSUMER, std::move(conf));
    rd_kafka_poll_set_consumer(rk_.get());
    partition_list_ptr topics(rd_kafka_topic_partition_list_new(1));
    rd_kafka_topic_partition_list_add(topics.get(), topic_.c_str(), RD_KAFKA_PARTITION_UA);
    if (const auto err = rd_kafka_subscribe(rk_.get(), topics.get())) {
      rd_kafka_consumer_close(rk_.get());
      throw error(to_error_code(err), "subscribe to '" + topic_ + "': " + describe(err));
    }
  }

  void start() {
    started_ = true;
    thread_ = std::thread([self = shared_from_this()] { self->run(); });
  }

  void request_stop() {
    {
      std::lock_guard lock(wait_mutex_);
      stop_ = true;
    }
    wait_cv_.notify_all();
  }

  // After request_stop(): waits until the member stopped handling and committed its work, or
  // until `deadline` (a commit waiting for an unreachable coordinator).
  void wait_quiesced(clock::time_point deadline) {
    if (thread_.get_id() == std::this_thread::get_id()) return;
    std::unique_lock lock(wait_mutex_);
    wait_cv_.wait_until(lock, deadline, [this] { return quiesced_ || !started_; });
  }

  void allow_leave() {
    {
      std::lock_guard lock(wait_mutex_);
      may_leave_ = true;
    }
    wait_cv_.notify_all();
  }

  // Waits for the thread unless called from it (a handler closing its own subscription), at
  // most until `deadline`. librdkafka 2.0.2's consumer_close() can wait forever for an offset
  // commit that was in flight when the coordinator went away; such a member is detached: it
  // keeps itself (and the bus internals it uses) alive and finishes if the coordinator returns.
  void join(clock::time_point deadline) {
    if (!thread_.joinable()) return;
    if (thread_.get_id() == std::this_thread::get_id()) {
      thread_.detach();
      return;
    }
    {
      std::unique_lock lock(wait_mutex_);
      if (!wait_cv_.wait_until(lock, deadline, [this] { return finished_ || !started_; })) {
        thread_.detach();
        log().error(
            "a group member did not finish leaving within leave_timeout (unreachable "
            "coordinator?); left to finish on its own thread",
            {{"topic", topic_}, {"group", group_}});
        return;
      }
    }
    thread_.join();
  }

  rd_kafka_t* handle() const noexcept { return rk_.get(); }

 private:
  bool stopping() {
    std::lock_guard lock(wait_mutex_);
    return stop_;
  }

  // Waits `d` unless stopped; false when stopped.
  bool pause(std::chrono::milliseconds d) {
    std::unique_lock lock(wait_mutex_);
    return !wait_cv_.wait_for(lock, d, [this] { return stop_; });
  }

  void run() {
    while (!stopping()) {
      retry_due();
      auto wait = std::chrono::milliseconds(100);
      for (const auto& [p, h] : held_)
        wait =
            std::clamp(std::chrono::duration_cast<std::chrono::milliseconds>(h.due - clock::now()),
                       std::chrono::milliseconds(0), wait);
      message_ptr m(rd_kafka_consumer_poll(rk_.get(), static_cast<int>(wait.count())));
      if (!m) {
        if (dirty_) commit(true);
        continue;
      }
      if (m->err) {
        if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
          log().warn("consumer error",
                     {{"topic", topic_}, {"group", group_}, {"error", describe(m->err)}});
        continue;
      }
      // A record behind a held one: dropped here, fetched again once the held one succeeded.
      if (held_.contains(m->partition)) continue;
      if (!process(std::move(m))) break;  // stopped with the record unfinished: not committed
      if (dirty_ && clock::now() - last_commit_ >= bus_->options.commit_interval) commit(true);
    }
    // Records waiting for redelivery are abandoned: never stored, so the next owner of their
    // partition gets them again.
    held_.clear();
    // Graceful leave, in two steps so that members of one subscription (or of one bus being
    // closed) all commit before any of them leaves: a leave starts a rebalance, during which
    // the coordinator refuses commits.
    for (int attempt = 0; dirty_ && attempt < 3; ++attempt) {
      if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
      commit(false);
    }
    {
      std::lock_guard lock(wait_mutex_);
      quiesced_ = true;
    }
    wait_cv_.notify_all();
    {
      std::unique_lock lock(wait_mutex_);
      wait_cv_.wait(lock, [this] { return may_leave_; });
    }
    finish_join();
    closing_ = true;
    rd_kafka_consumer_close(rk_.get());  // revokes the partitions, leaves the group
    if (keep_handle_) (void)rk_.release();
    {
      std::lock_guard lock(wait_mutex_);
      finished_ = true;
    }
    wait_cv_.notify_all();
  }

  // librdkafka before 2.3.0 aborts the process when it destroys a cooperative-sticky member
  // that has joined its group but not yet received its first assignment
  // (confluentinc/librdkafka#4312). Such a member finishes its join before it leaves: polling
  // brings the assignment. It is stopped, so no handler runs; a record fetched meanwhile is
  // dropped uncommitted, for the next owner of its partition. A member whose JoinGroup is still
  // unanswered leaves at once: librdkafka discards a JoinGroup response that arrives after the
  // close.
  void finish_join() {
    if (assigned_once_ || rd_kafka_version() >= 0x020300ff) return;
    const char* protocol = rd_kafka_rebalance_protocol(rk_.get());
    if (!protocol || std::strcmp(protocol, "COOPERATIVE") != 0) return;
    log().debug("finishing the group join before leaving", {{"topic", topic_}, {"group", group_}});
    const auto deadline = clock::now() + join_limit_;
    while (!assigned_once_ && clock::now() < deadline)
      message_ptr(rd_kafka_consumer_poll(rk_.get(), 100));
    if (assigned_once_) return;
    // Destroying the handle now would abort the process: it is left allocated instead.
    keep_handle_ = true;
    log().error(
        "a cooperative-sticky member got no assignment within session.timeout.ms of its join; "
        "its librdkafka handle is not destroyed (librdkafka < 2.3.0 would abort, issue 4312)",
        {{"topic", topic_}, {"group", group_}});
  }

  // A record whose handler failed, waiting for its next attempt. Its partition is paused, so
  // the records behind it wait too (order within a partition), while the member keeps polling:
  // its other partitions go on, and rebalances are served.
  struct held_record {
    message_ptr record;
    envelope event;
    int attempt = 1;
    clock::time_point due;
  };

  // Handles a new record once; on failure holds it for redelivery. False only when stopped
  // before an undecodable record could be dead-lettered.
  bool process(message_ptr m) {
    envelope e;
    std::string problem;
    if (const auto ec = decode_record(*m, e, problem, bus_->options.max_event_bytes)) {
      if (!dead_letter_raw(*m, problem)) return false;
      store(*m);
      return true;
    }
    held_record h{std::move(m), std::move(e), 1, {}};
    if (attempt(h)) {
      store(*h.record);
      return true;
    }
    const auto partition = h.record->partition;
    h.due = clock::now() + bus_->options.redelivery_delay;
    partition_list_ptr list(rd_kafka_topic_partition_list_new(1));
    rd_kafka_topic_partition_list_add(list.get(), topic_.c_str(), partition);
    rd_kafka_pause_partitions(rk_.get(), list.get());
    held_.insert_or_assign(partition, std::move(h));
    return true;
  }

  bool attempt(held_record& h) {
    const message msg{.topic = topic_,
                      .group = group_,
                      .partition = h.record->partition,
                      .offset = h.record->offset,
                      .attempt = h.attempt,
                      .event = h.event};
    try {
      (*handler_)(msg);
      return true;
    } catch (const std::exception& ex) {
      log().debug("handler failed; redelivering", {{"topic", topic_},
                                                   {"group", group_},
                                                   {"offset", msg.offset},
                                                   {"attempt", msg.attempt},
                                                   {"error", ex.what()}});
    } catch (...) {
      log().debug(
          "handler failed; redelivering",
          {{"topic", topic_}, {"group", group_}, {"offset", msg.offset}, {"attempt", msg.attempt}});
    }
    return false;
  }

  // Redelivers the held records that are due. One that succeeds is stored, and its partition
  // resumes right behind it (an explicit seek: records of it that arrived meanwhile were
  // dropped and are fetched again).
  void retry_due() {
    for (auto it = held_.begin(); it != held_.end() && !stopping();) {
      auto& h = it->second;
      if (h.due > clock::now()) {
        ++it;
        continue;
      }
      ++h.attempt;
      if (!attempt(h)) {
        h.due = clock::now() + bus_->options.redelivery_delay;
        ++it;
        continue;
      }
      store(*h.record);
      partition_list_ptr list(rd_kafka_topic_partition_list_new(1));
      rd_kafka_topic_partition_list_add(list.get(), topic_.c_str(), h.record->partition)->offset =
          h.record->offset + 1;
      error_ptr err(rd_kafka_seek_partitions(rk_.get(), list.get(), 5000));
      if (err)
        log().warn("seek after redelivery failed",
                   {{"topic", topic_}, {"error", rd_kafka_error_string(err.get())}});
      rd_kafka_resume_partitions(rk_.get(), list.get());
      it = held_.erase(it);
    }
  }

  void store(const rd_kafka_message_t& m) {
    // offset + 1 is what gets committed: the next record to read.
    if (const auto err = rd_kafka_offset_store(m.rkt, m.partition, m.offset)) {
      log().warn("cannot store offset (partition revoked?); the record will be redelivered",
                 {{"topic", topic_},
                  {"partition", m.partition},
                  {"offset", m.offset},
                  {"error", describe(err)}});
      return;
    }
    dirty_ = true;
  }

  void commit(bool async) {
    dirty_ = false;
    last_commit_ = clock::now();
    const auto err = rd_kafka_commit(rk_.get(), nullptr, async ? 1 : 0);
    if (!async) after_commit(err);
  }

  void after_commit(rd_kafka_resp_err_t err) {
    if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET) {
      dirty_ = true;  // the stored offsets are committed with the next attempt
      log().warn("offset commit failed; will retry",
                 {{"topic", topic_}, {"group", group_}, {"error", describe(err)}});
      return;
    }
    {
      std::lock_guard lock(signal_->mutex);
      ++signal_->commits;
    }
    signal_->cv.notify_all();
  }

  // A record that is not a CloudEvent: forward it unchanged to the dead-letter topic, so the
  // partition can move on without losing it. False when stopped before it was acknowledged.
  bool dead_letter_raw(const rd_kafka_message_t& m, const std::string& problem) {
    const std::string dlq = topic_ + bus_->options.dead_letter_suffix;
    log().error(
        "undecodable record",
        {{"topic", topic_}, {"partition", m.partition}, {"offset", m.offset}, {"error", problem}});
    if (topic_.size() > bus_->options.dead_letter_suffix.size() &&
        topic_.ends_with(bus_->options.dead_letter_suffix)) {
      log().error("undecodable record on a dead-letter topic: skipped", {{"topic", topic_}});
      return true;
    }
    for (;;) {
      rd_kafka_headers_t* original = nullptr;
      headers_ptr headers(
          rd_kafka_message_headers(const_cast<rd_kafka_message_t*>(&m), &original) == 0
              ? rd_kafka_headers_copy(original)
              : rd_kafka_headers_new(4));
      const auto add = [&](const char* name, const std::string& v) {
        rd_kafka_header_add(headers.get(), name, -1, v.data(), static_cast<ssize_t>(v.size()));
      };
      add("dlqerror", problem);
      add("dlqtopic", topic_);
      add("dlqgroup", group_);
      add("dlqpartition", std::to_string(m.partition));
      add("dlqoffset", std::to_string(m.offset));
      std::promise<std::error_code> acked;
      auto result = acked.get_future();
      try {
        auto& t = bus_->topic(dlq);
        const std::string_view key =
            m.key ? std::string_view(static_cast<const char*>(m.key), m.key_len)
                  : std::string_view();
        const std::string_view value =
            m.payload ? std::string_view(static_cast<const char*>(m.payload), m.len)
                      : std::string_view();
        bus_->produce(
            t, key, value, std::move(headers),
            [&acked](std::error_code ec, const publish_receipt&) { acked.set_value(ec); });
        const auto ec = result.get();
        if (!ec) return true;
        log().warn("dead-letter publish failed; retrying",
                   {{"topic", dlq}, {"error", ec.message()}});
      } catch (const std::exception& ex) {
        log().warn("dead-letter publish failed; retrying", {{"topic", dlq}, {"error", ex.what()}});
      }
      if (!pause(bus_->options.redelivery_delay)) return false;
    }
  }

  static void on_commit(rd_kafka_t*, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t*,
                        void* opaque) {
    static_cast<member*>(opaque)->after_commit(err);
  }

  // Runs on the member's thread (inside poll or consumer_close), so no handler is in flight:
  // the record being handled when the rebalance started was finished first.
  static void on_rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                           rd_kafka_topic_partition_list_t* partitions, void* opaque) {
    auto* self = static_cast<member*>(opaque);
    const bool cooperative = std::strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
      log().debug("partitions assigned",
                  {{"topic", self->topic_}, {"group", self->group_}, {"count", partitions->cnt}});
      self->assigned_once_ = true;
      partition_list_ptr positioned;
      if (self->start_offsets_) {
        // start = latest means "events published after subscribe() returned", not "after the
        // assignment arrived" (seconds later): a partition without a committed offset starts
        // at the end offset recorded by subscribe().
        positioned.reset(rd_kafka_topic_partition_list_copy(partitions));
        if (rd_kafka_committed(rk, positioned.get(),
                               static_cast<int>(self->bus_->options.admin_timeout.count())) == 0) {
          for (int i = 0; i < positioned->cnt; ++i) {
            auto& e = positioned->elems[i];
            if (e.offset < 0 && e.partition >= 0 &&
                static_cast<std::size_t>(e.partition) < self->start_offsets_->size())
              e.offset = (*self->start_offsets_)[static_cast<std::size_t>(e.partition)];
          }
          partitions = positioned.get();
        }
      }
      if (cooperative) {
        error_ptr e(rd_kafka_incremental_assign(rk, partitions));
        if (e)
          log().error("incremental assign failed", {{"error", rd_kafka_error_string(e.get())}});
      } else {
        rd_kafka_assign(rk, partitions);
      }
      rd_kafka_resume_partitions(rk, partitions);  // none starts paused
      return;
    }
    // Revoked (or an error): commit what is done before another member takes over.
    if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
      log().debug("partitions revoked",
                  {{"topic", self->topic_}, {"group", self->group_}, {"count", partitions->cnt}});
    } else {
      log().warn("rebalance error", {{"topic", self->topic_}, {"error", describe(err)}});
    }
    // Held records of revoked partitions are abandoned (uncommitted: the next owner gets them),
    // and the partitions un-paused: librdkafka keeps a partition's pause across rebalances.
    rd_kafka_resume_partitions(rk, partitions);
    for (int i = 0; i < partitions->cnt; ++i)
      self->held_.erase(partitions->elems[i].partition);
    if (self->dirty_) self->commit(false);
    if (cooperative) {
      error_ptr e(rd_kafka_incremental_unassign(rk, partitions));
      if (e)
        log().error("incremental unassign failed", {{"error", rd_kafka_error_string(e.get())}});
    } else {
      rd_kafka_assign(rk, nullptr);
    }
  }

  std::shared_ptr<kafka_bus::impl> bus_;
  std::string topic_;
  std::string group_;
  std::shared_ptr<handler> handler_;
  std::shared_ptr<commit_signal> signal_;
  handle_ptr rk_;
  std::thread thread_;
  std::mutex wait_mutex_;
  std::condition_variable wait_cv_;
  bool stop_ = false;
  bool quiesced_ = false;
  bool may_leave_ = false;
  bool finished_ = false;  // run() returned from consumer_close
  bool started_ = false;
  // Touched only by the member's own thread (callbacks run there too).
  std::shared_ptr<const std::vector<std::int64_t>> start_offsets_;  // latest: end offsets
  std::map<std::int32_t, held_record> held_;  // by partition; member thread only
  bool dirty_ = false;
  bool closing_ = false;
  clock::time_point last_commit_ = clock::now();
  bool assigned_once_ = false;  // an assignment arrived (see finish_join)
  bool keep_handle_ = false;    // see finish_join
  std::chrono::milliseconds join_limit_{0};
};

std::shared_ptr<subscription_impl> subscription_impl::start(std::shared_ptr<kafka_bus::impl> bus,
                                                            std::string topic, std::string group,
                                                            handler h,
                                                            const subscribe_options& options) {
  auto state = std::make_shared<subscription_impl>(bus, topic, group);
  auto shared_handler = std::make_shared<handler>(std::move(h));
  std::shared_ptr<const std::vector<std::int64_t>> start_offsets;
  if (options.start == start_position::latest) {
    const auto partitions = bus->topic(topic).partitions;
    std::vector<std::int64_t> ends(static_cast<std::size_t>(partitions), 0);
    for (std::int32_t p = 0; p < partitions; ++p) {
      std::int64_t low = 0;
      const auto err = rd_kafka_query_watermark_offsets(
          bus->producer.get(), topic.c_str(), p, &low, &ends[static_cast<std::size_t>(p)],
          static_cast<int>(bus->options.admin_timeout.count()));
      if (err)
        throw error(to_error_code(err),
                    "subscribe: cannot read the end offsets of '" + topic + "': " + describe(err));
    }
    start_offsets = std::make_shared<const std::vector<std::int64_t>>(std::move(ends));
  }
  try {
    for (int i = 0; i < options.concurrency; ++i)
      state->members_.push_back(std::make_shared<member>(
          bus, topic, group, shared_handler, state->signal_, i, options.start, start_offsets));
  } catch (...) {
    state->members_.clear();
    state->closed_ = true;
    throw;
  }
  for (auto& m : state->members_)
    m->start();
  return state;
}

subscription_impl::subscription_impl(std::shared_ptr<kafka_bus::impl> bus, std::string topic,
                                     std::string group)
    : bus_(std::move(bus)), topic_(std::move(topic)), group_(std::move(group)) {}

subscription_impl::~subscription_impl() {
  close();
}

void subscription_impl::quiesce() {
  const auto deadline = clock::now() + bus_->options.leave_timeout;
  for (auto& m : members_)
    m->request_stop();
  for (auto& m : members_)
    m->wait_quiesced(deadline);
}

void subscription_impl::close() {
  std::lock_guard lock(close_mutex_);
  closed_ = true;
  quiesce();
  for (auto& m : members_)
    m->allow_leave();
  const auto deadline = clock::now() + bus_->options.leave_timeout;
  for (auto& m : members_)
    m->join(deadline);
}

std::vector<std::int64_t> subscription_impl::committed(std::chrono::milliseconds timeout) {
  const auto partitions = bus_->topic(topic_).partitions;
  return committed_of(members_.front()->handle(), topic_, partitions, timeout);
}

std::vector<std::int64_t> subscription_impl::committed_by_group(kafka_bus::impl& bus,
                                                                const std::string& topic,
                                                                const std::string& group,
                                                                std::int32_t partitions) {
  auto rk =
      make_handle(RD_KAFKA_CONSUMER, bus.consumer_conf(group, "lag", start_position::earliest));
  std::vector<std::int64_t> out;
  try {
    out = committed_of(rk.get(), topic, partitions, bus.options.admin_timeout);
  } catch (...) {
    rd_kafka_consumer_close(rk.get());
    throw;
  }
  rd_kafka_consumer_close(rk.get());
  return out;
}

void subscription_impl::wait_drained(clock::time_point deadline) {
  const auto partitions = bus_->topic(topic_).partitions;
  std::vector<std::int64_t> high(static_cast<std::size_t>(partitions), 0),
      low(static_cast<std::size_t>(partitions), 0);
  for (std::int32_t p = 0; p < partitions; ++p) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
    if (left.count() <= 0) return;
    if (rd_kafka_query_watermark_offsets(
            bus_->producer.get(), topic_.c_str(), p, &low[static_cast<std::size_t>(p)],
            &high[static_cast<std::size_t>(p)], static_cast<int>(left.count())))
      return;
  }
  for (;;) {
    std::uint64_t seen;
    {
      std::lock_guard lock(signal_->mutex);
      seen = signal_->commits;
    }
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
    if (left.count() <= 0) break;
    try {
      const auto done = committed(std::min(left, bus_->options.admin_timeout));
      bool all = true;
      for (std::size_t p = 0; p < done.size(); ++p)
        if (high[p] > low[p] && done[p] < high[p]) all = false;
      if (all) return;
    } catch (const error& ex) {
      log().debug("drain: committed offsets unavailable", {{"error", ex.what()}});
    }
    // Wake on our own commits; re-check now and then for members in other processes.
    std::unique_lock lock(signal_->mutex);
    signal_->cv.wait_until(lock, std::min(deadline, clock::now() + std::chrono::milliseconds(200)),
                           [&] { return signal_->commits != seen; });
  }
  log().warn("close: drain deadline passed before the group caught up",
             {{"topic", topic_}, {"group", group_}});
}

}  // namespace eventshop::kafka::detail
