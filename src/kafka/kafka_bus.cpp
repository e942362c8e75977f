#include "eventshop/kafka/kafka_bus.hpp"

#include <algorithm>

#include "admin.hpp"
#include "binding.hpp"
#include "bus_impl.hpp"
#include "eventshop/core/codec.hpp"
#include "eventshop/core/error.hpp"
#include "subscriber.hpp"

namespace eventshop::kafka {

namespace detail {

const logger& log() {
  static const logger instance("kafka");
  return instance;
}

namespace {

void on_log(const rd_kafka_t* rk, int level, const char* facility, const char* text) {
  const auto lvl = level <= 3   ? log_level::error
                   : level == 4 ? log_level::warn
                   : level <= 6 ? log_level::info
                                : log_level::debug;
  if (!log().enabled(lvl)) return;
  log().log(lvl, text, {{"facility", facility}, {"client", rd_kafka_name(rk)}});
}

void on_error(rd_kafka_t* rk, int err, const char* reason, void*) {
  const auto code = static_cast<rd_kafka_resp_err_t>(err);
  if (code == RD_KAFKA_RESP_ERR__FATAL) {
    char fatal[512];
    const auto orig = rd_kafka_fatal_error(rk, fatal, sizeof(fatal));
    log().error(
        "kafka fatal error: the client cannot continue",
        {{"client", rd_kafka_name(rk)}, {"error", rd_kafka_err2name(orig)}, {"reason", fatal}});
    return;
  }
  // Transport errors and "all brokers down" are retried by librdkafka itself.
  log().warn(
      "kafka error",
      {{"client", rd_kafka_name(rk)}, {"error", rd_kafka_err2name(code)}, {"reason", reason}});
}

}  // namespace

void install_log_callbacks(rd_kafka_conf_t* conf) {
  rd_kafka_conf_set_log_cb(conf, on_log);
  rd_kafka_conf_set_error_cb(conf, on_error);
}

}  // namespace detail

namespace {

bool is_one_of(const std::string& v, std::initializer_list<const char*> allowed) {
  return std::any_of(allowed.begin(), allowed.end(), [&](const char* a) { return v == a; });
}

void check_managed(const property_map& props, const char* where, bool consumer_side) {
  for (const auto& [name, value] : props) {
    const auto bad = [&](const std::string& why) {
      throw error(errc::invalid_argument,
                  std::string("kafka_options::") + where + " '" + name + "': " + why);
    };
    if (name.empty()) bad("property names must not be empty");
    if (name == "bootstrap.servers" || name == "metadata.broker.list")
      bad("set kafka_options::bootstrap_servers instead");
    if (name == "enable.idempotence" && value != "true")
      bad("eventshop requires an idempotent producer (true)");
    if ((name == "acks" || name == "request.required.acks") && !is_one_of(value, {"all", "-1"}))
      bad("eventshop requires acks=all so an acknowledged event is replicated");
    if (consumer_side) {
      if (name == "enable.auto.commit" && value != "false")
        bad("offsets are committed by eventshop after the handler succeeded (must be false)");
      if (name == "enable.auto.offset.store" && value != "false")
        bad("offsets are stored by eventshop after the handler succeeded (must be false)");
      if (name == "group.id") bad("the group comes from subscribe()");
      if (name == "auto.offset.reset") bad("use subscribe_options::start");
    }
  }
}

// Called by librdkafka for every record, on the poller thread (or a flushing thread).
void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  auto* im = static_cast<kafka_bus::impl*>(opaque);
  std::unique_ptr<publish_callback> cb(static_cast<publish_callback*>(m->_private));
  if (m->err && detail::log().enabled(log_level::debug))
    detail::log().debug("delivery failed", {{"topic", rd_kafka_topic_name(m->rkt)},
                                            {"error", rd_kafka_err2name(m->err)}});
  if (cb && *cb) {
    try {
      (*cb)(detail::to_error_code(m->err), publish_receipt{m->partition, m->offset});
    } catch (const std::exception& ex) {
      detail::log().error("publish callback threw", {{"error", ex.what()}});
    } catch (...) {
      detail::log().error("publish callback threw");
    }
  }
  im->in_flight.fetch_sub(1, std::memory_order_relaxed);
  if (im->space_waiters.load(std::memory_order_relaxed) > 0) {
    std::lock_guard lock(im->space_mutex);
    im->space_cv.notify_all();
  }
}

}  // namespace

void kafka_options::validate() const {
  auto bad = [](const std::string& what) {
    throw error(errc::invalid_argument, "kafka_options::" + what);
  };
  if (bootstrap_servers.empty()) bad("bootstrap_servers must not be empty");
  if (client_id.empty()) bad("client_id must not be empty");
  if (partitions < 1) bad("partitions must be >= 1, got " + std::to_string(partitions));
  if (replication_factor != -1 && replication_factor < 1)
    bad("replication_factor must be -1 or >= 1, got " + std::to_string(replication_factor));
  if (redelivery_delay.count() < 0) bad("redelivery_delay must not be negative");
  if (commit_interval.count() < 0) bad("commit_interval must not be negative");
  if (flush_timeout.count() < 0) bad("flush_timeout must not be negative");
  if (leave_timeout.count() <= 0) bad("leave_timeout must be positive");
  if (admin_timeout.count() <= 0) bad("admin_timeout must be positive");
  if (max_event_bytes < 1) bad("max_event_bytes must be >= 1");
  if (dead_letter_suffix.empty()) bad("dead_letter_suffix must not be empty");
  try {
    validate_topic_name("t" + dead_letter_suffix);
  } catch (const error&) {
    bad("dead_letter_suffix '" + dead_letter_suffix + "' makes invalid topic names");
  }
  check_managed(properties, "properties", true);
  check_managed(producer_properties, "producer_properties", false);
  check_managed(consumer_properties, "consumer_properties", true);
}

kafka_bus::impl::impl(kafka_options o) : options(std::move(o)) {
  detail::properties props{{"bootstrap.servers", options.bootstrap_servers},
                           {"client.id", options.client_id},
                           {"partitioner", "murmur2_random"},
                           {"allow.auto.create.topics", options.create_topics ? "true" : "false"}};
  for (const auto& [k, v] : options.properties)
    props.insert_or_assign(k, v);
  for (const auto& [k, v] : options.producer_properties)
    props.insert_or_assign(k, v);
  props.insert_or_assign("enable.idempotence", "true");
  props.insert_or_assign("acks", "all");
  auto conf = detail::make_conf(props);
  rd_kafka_conf_set_dr_msg_cb(conf.get(), on_delivery);
  rd_kafka_conf_set_opaque(conf.get(), this);
  detail::install_log_callbacks(conf.get());
  producer = detail::make_handle(RD_KAFKA_PRODUCER, std::move(conf));
  poller = std::thread([this] {
    while (!stop_poller.load(std::memory_order_relaxed))
      rd_kafka_poll(producer.get(), 100);
    rd_kafka_poll(producer.get(), 0);
  });
}

kafka_bus::impl::~impl() {
  stop_poller = true;
  if (poller.joinable()) poller.join();
  topics.clear();  // topic handles before the producer
}

kafka_bus::impl::topic_entry& kafka_bus::impl::topic(std::string_view name) {
  {
    std::shared_lock lock(topics_mutex);
    if (auto it = topics.find(name); it != topics.end()) return it->second;
  }
  validate_topic_name(name);
  std::lock_guard create(create_mutex);
  {
    std::shared_lock lock(topics_mutex);
    if (auto it = topics.find(name); it != topics.end()) return it->second;
  }
  topic_spec spec{.name = std::string(name),
                  .partitions = options.partitions,
                  .replication_factor = options.replication_factor};
  const auto count = detail::ensure_topic(producer.get(), spec, options.create_topics,
                                          options.topic_creator, options.admin_timeout);
  detail::topic_ptr rkt(rd_kafka_topic_new(producer.get(), spec.name.c_str(), nullptr));
  if (!rkt)
    throw error(errc::backend_error,
                "topic '" + spec.name + "': " + detail::describe(rd_kafka_last_error()));
  std::unique_lock lock(topics_mutex);
  auto [it, fresh] = topics.emplace(spec.name, topic_entry{std::move(rkt), count});
  return it->second;
}

void kafka_bus::impl::produce(topic_entry& t, std::string_view key, std::string_view value,
                              detail::headers_ptr headers, publish_callback done) {
  auto* ctx = done ? new publish_callback(std::move(done)) : nullptr;
  in_flight.fetch_add(1, std::memory_order_relaxed);
  rd_kafka_resp_err_t err;
  for (;;) {
    rd_kafka_vu_t args[6];
    args[0].vtype = RD_KAFKA_VTYPE_RKT;
    args[0].u.rkt = t.rkt.get();
    args[1].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
    args[1].u.i = RD_KAFKA_MSG_F_COPY;
    args[2].vtype = RD_KAFKA_VTYPE_KEY;
    args[2].u.mem = {const_cast<char*>(key.data()), key.size()};
    args[3].vtype = RD_KAFKA_VTYPE_VALUE;
    args[3].u.mem = {const_cast<char*>(value.data()), value.size()};
    args[4].vtype = RD_KAFKA_VTYPE_HEADERS;
    args[4].u.headers = headers.get();
    args[5].vtype = RD_KAFKA_VTYPE_OPAQUE;
    args[5].u.ptr = ctx;
    detail::error_ptr e(rd_kafka_produceva(producer.get(), args, 6));
    err = e ? rd_kafka_error_code(e.get()) : RD_KAFKA_RESP_ERR_NO_ERROR;
    if (!err) {
      (void)headers.release();  // librdkafka owns them now
      return;
    }
    if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL || closed.load()) break;
    // Back-pressure: wait for delivery reports to make room.
    space_waiters.fetch_add(1);
    {
      std::unique_lock lock(space_mutex);
      space_cv.wait_for(lock, std::chrono::milliseconds(10));
    }
    space_waiters.fetch_sub(1);
  }
  in_flight.fetch_sub(1, std::memory_order_relaxed);
  std::unique_ptr<publish_callback> cb(ctx);
  detail::log().warn("publish refused", {{"topic", rd_kafka_topic_name(t.rkt.get())},
                                         {"error", detail::describe(err)}});
  if (cb) (*cb)(detail::to_error_code(err), publish_receipt{});
}

bool kafka_bus::impl::is_mock_cluster() const {
  std::call_once(cluster_id_once, [this] {
    if (char* id =
            rd_kafka_clusterid(producer.get(), static_cast<int>(options.admin_timeout.count()))) {
      mock = std::string_view(id).starts_with("mockCluster");
      rd_kafka_mem_free(producer.get(), id);
    }
    if (mock)
      detail::log().info(
          "connected to librdkafka's mock cluster (development only): consumers "
          "use session.timeout.ms=3000 unless configured");
  });
  return mock;
}

detail::conf_ptr kafka_bus::impl::consumer_conf(const std::string& group,
                                                const std::string& client_suffix,
                                                start_position start) const {
  detail::properties props{{"bootstrap.servers", options.bootstrap_servers},
                           {"client.id", options.client_id + "-" + client_suffix},
                           {"enable.partition.eof", "false"}};
  if (is_mock_cluster()) {
    // Dev only: the mock's coordinator waits session.timeout.ms - 1 s in every rebalance (44 s
    // with the default); explicit properties below still win.
    props.insert_or_assign("session.timeout.ms", "3000");
    props.insert_or_assign("heartbeat.interval.ms", "500");
    // The mock answers a fetch that finds too little data only after fetch.wait.max.ms (500 ms
    // by default; a real broker answers as soon as data arrives): 20 ms took the created ->
    // shipped latency of the all-in-one from 1.4 s to 70-90 ms, for ~5 % more CPU when idle.
    props.insert_or_assign("fetch.wait.max.ms", "20");
  }
  for (const auto& [k, v] : options.properties)
    props.insert_or_assign(k, v);
  for (const auto& [k, v] : options.consumer_properties)
    props.insert_or_assign(k, v);
  props.erase("enable.idempotence");  // producer-only; avoids librdkafka's warning
  props.erase("acks");
  props.insert_or_assign("group.id", group);
  props.insert_or_assign("enable.auto.commit", "false");
  props.insert_or_assign("enable.auto.offset.store", "false");
  props.insert_or_assign("auto.offset.reset",
                         start == start_position::earliest ? "earliest" : "latest");
  auto conf = detail::make_conf(props);
  detail::install_log_callbacks(conf.get());
  return conf;
}

kafka_bus::kafka_bus(kafka_options options) {
  options.validate();
  impl_ = std::make_shared<impl>(std::move(options));
}

kafka_bus::~kafka_bus() {
  close(std::chrono::milliseconds(0));
}

void kafka_bus::publish(std::string_view topic, envelope event, publish_callback on_ack) {
  auto& im = *impl_;
  if (topic.empty()) throw error(errc::invalid_argument, "publish: topic name must not be empty");
  validate(event);
  if (im.closed.load()) {
    if (on_ack) on_ack(make_error_code(errc::closed), publish_receipt{});
    return;
  }
  impl::topic_entry* t = nullptr;
  try {
    t = &im.topic(topic);
  } catch (const error& ex) {
    if (ex.code() == make_error_code(errc::invalid_argument)) throw;
    detail::log().warn("publish failed", {{"topic", topic}, {"error", ex.what()}});
    if (on_ack) on_ack(ex.code(), publish_receipt{});
    return;
  }
  if (im.options.mode == content_mode::binary) {
    if (event.data.size() > im.options.max_event_bytes) {
      if (on_ack) on_ack(make_error_code(errc::too_large), publish_receipt{});
      return;
    }
    im.produce(*t, event.key(), event.data, detail::binary_headers(event), std::move(on_ack));
  } else {
    thread_local std::string buffer;
    buffer.clear();
    try {
      encode_to(buffer, event, codec_limits{.max_envelope_bytes = im.options.max_event_bytes});
    } catch (const error& ex) {
      if (on_ack) on_ack(ex.code(), publish_receipt{});
      return;
    }
    im.produce(*t, event.key(), buffer, detail::structured_headers(), std::move(on_ack));
  }
}

subscription kafka_bus::subscribe(std::string_view topic, std::string_view group, handler h,
                                  const subscribe_options& options) {
  validate_topic_name(topic);
  validate_group_name(group);
  if (!h) throw error(errc::invalid_argument, "subscribe: the handler must not be empty");
  if (options.concurrency < 1 || options.concurrency > 256)
    throw error(errc::invalid_argument, "subscribe: concurrency must be 1..256, got " +
                                            std::to_string(options.concurrency));
  if (impl_->closed.load()) throw error(errc::closed, "subscribe: the bus is closed");
  impl_->topic(topic);  // exists before the members join
  auto state = detail::subscription_impl::start(impl_, std::string(topic), std::string(group),
                                                std::move(h), options);
  {
    std::lock_guard lock(impl_->subs_mutex);
    std::erase_if(impl_->subs, [](const auto& w) { return w.expired(); });
    impl_->subs.push_back(state);
    impl_->known_groups.emplace(std::string(topic), std::string(group));
  }
  return subscription(std::move(state));
}

void kafka_bus::close(std::chrono::milliseconds drain) {
  auto& im = *impl_;
  std::lock_guard close_lock(im.close_mutex);
  const auto start = std::chrono::steady_clock::now();
  const bool first = !im.closed.exchange(true);
  if (first) {
    const auto err =
        rd_kafka_flush(im.producer.get(), static_cast<int>(im.options.flush_timeout.count()));
    if (err) {
      detail::log().warn("close: deliveries still outstanding after flush_timeout; purging them",
                         {{"outstanding", rd_kafka_outq_len(im.producer.get())}});
      rd_kafka_purge(im.producer.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
      rd_kafka_flush(im.producer.get(), 1000);
    }
  }
  std::vector<std::shared_ptr<detail::subscription_impl>> live;
  {
    std::lock_guard lock(im.subs_mutex);
    for (auto& w : im.subs)
      if (auto s = w.lock()) live.push_back(std::move(s));
  }
  const auto deadline = start + drain;
  for (auto& s : live)
    if (!s->closed()) s->wait_drained(deadline);
  // Every member commits before any leaves (a leave starts a rebalance that refuses commits).
  for (auto& s : live)
    s->quiesce();
  for (auto& s : live)
    s->close();
}

std::int32_t kafka_bus::partitions(std::string_view topic) {
  return impl_->topic(topic).partitions;
}

std::int64_t kafka_bus::lag(std::string_view topic, std::string_view group) {
  validate_topic_name(topic);
  validate_group_name(group);
  auto& im = *impl_;
  const auto& t = im.topic(topic);
  const std::string topic_name(topic), group_name(group);
  std::shared_ptr<detail::subscription_impl> local;
  bool known = false;
  {
    std::lock_guard lock(im.subs_mutex);
    known = im.known_groups.contains({topic_name, group_name});
    for (auto& w : im.subs)
      if (auto s = w.lock();
          s && !s->closed() && s->topic() == topic_name && s->group() == group_name)
        local = s;
  }
  const auto committed = local ? local->committed(im.options.admin_timeout)
                               : detail::subscription_impl::committed_by_group(
                                     im, topic_name, group_name, t.partitions);
  std::int64_t total = 0;
  std::vector<std::pair<std::int64_t, std::int64_t>> marks(static_cast<std::size_t>(t.partitions));
  for (std::int32_t p = 0; p < t.partitions; ++p) {
    std::int64_t lo = 0, hi = 0;
    const auto err =
        rd_kafka_query_watermark_offsets(im.producer.get(), topic_name.c_str(), p, &lo, &hi,
                                         static_cast<int>(im.options.admin_timeout.count()));
    if (err)
      throw error(detail::to_error_code(err), "lag: cannot read the end offsets of '" + topic_name +
                                                  "': " + detail::describe(err));
    marks[static_cast<std::size_t>(p)] = {lo, hi};
    if (committed[static_cast<std::size_t>(p)] >= 0) known = true;
  }
  if (!known) return 0;
  for (std::size_t p = 0; p < marks.size(); ++p) {
    const auto [lo, hi] = marks[p];
    const auto from = committed[p] >= 0 ? committed[p] : lo;
    total += std::max<std::int64_t>(0, hi - from);
  }
  return total;
}

std::int64_t kafka_bus::in_flight() const noexcept {
  return impl_->in_flight.load();
}
const kafka_options& kafka_bus::options() const noexcept {
  return impl_->options;
}

}  // namespace eventshop::kafka
