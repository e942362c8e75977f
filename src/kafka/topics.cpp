#include <algorithm>
#include <thread>

#include "admin.hpp"
#include "bus_impl.hpp"
#include "eventshop/core/error.hpp"

namespace eventshop::kafka {
namespace detail {
namespace {

int to_ms(std::chrono::milliseconds d) {
  return static_cast<int>(std::clamp<std::int64_t>(d.count(), 1, 3'600'000));
}

// Admin requests go to the controller. librdkafka 2.0.2's mock cluster reports controller id 0,
// which is no broker (its ids start at 1), and librdkafka would wait for it forever; in that case
// (and only then) the request is sent to a broker that does exist. -1: leave it to librdkafka.
std::int32_t admin_target(rd_kafka_t* rk, std::chrono::milliseconds timeout) {
  const auto controller = rd_kafka_controllerid(rk, to_ms(timeout));
  const rd_kafka_metadata_t* raw = nullptr;
  if (rd_kafka_metadata(rk, 0, nullptr, &raw, to_ms(timeout))) return -1;
  metadata_ptr md(raw);
  if (md->broker_cnt == 0) return -1;
  for (int i = 0; i < md->broker_cnt; ++i)
    if (md->brokers[i].id == controller) return -1;
  return md->brokers[0].id;
}

}  // namespace

std::vector<create_result> create_topics(rd_kafka_t* rk, const std::vector<topic_spec>& specs,
                                         std::chrono::milliseconds timeout) {
  std::vector<create_result> out;
  if (specs.empty()) return out;
  char reason[512];
  std::vector<new_topic_ptr> owned;
  std::vector<rd_kafka_NewTopic_t*> raw;
  for (const auto& s : specs) {
    new_topic_ptr t(rd_kafka_NewTopic_new(s.name.c_str(), s.partitions, s.replication_factor,
                                          reason, sizeof(reason)));
    if (!t) throw error(errc::invalid_argument, "topic '" + s.name + "': " + reason);
    for (const auto& [k, v] : s.config) {
      const auto err = rd_kafka_NewTopic_set_config(t.get(), k.c_str(), v.c_str());
      if (err)
        throw error(errc::invalid_argument,
                    "topic '" + s.name + "' config '" + k + "': " + describe(err));
    }
    raw.push_back(t.get());
    owned.push_back(std::move(t));
  }
  admin_options_ptr options(rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS));
  if (rd_kafka_AdminOptions_set_operation_timeout(options.get(), to_ms(timeout), reason,
                                                  sizeof(reason)) ||
      rd_kafka_AdminOptions_set_request_timeout(options.get(), to_ms(timeout), reason,
                                                sizeof(reason)))
    throw error(errc::invalid_argument, std::string("admin timeout: ") + reason);
  if (const auto target = admin_target(rk, timeout); target >= 0)
    rd_kafka_AdminOptions_set_broker(options.get(), target, reason, sizeof(reason));
  queue_ptr queue(rd_kafka_queue_new(rk));
  rd_kafka_CreateTopics(rk, raw.data(), raw.size(), options.get(), queue.get());
  event_ptr ev(rd_kafka_queue_poll(queue.get(), to_ms(timeout) + 2000));
  // A failure of the request as a whole is reported for every topic in it.
  const auto whole = [&](rd_kafka_resp_err_t err, const std::string& message) {
    for (const auto& s : specs)
      out.push_back({s.name, err, message});
    return out;
  };
  if (!ev) return whole(RD_KAFKA_RESP_ERR__TIMED_OUT, "no answer from the cluster in time");
  if (const auto err = rd_kafka_event_error(ev.get()))
    return whole(err, rd_kafka_event_error_string(ev.get()));
  const auto* result = rd_kafka_event_CreateTopics_result(ev.get());
  std::size_t n = 0;
  const auto* const* topics = rd_kafka_CreateTopics_result_topics(result, &n);
  for (std::size_t i = 0; i < n; ++i) {
    create_result r;
    r.name = rd_kafka_topic_result_name(topics[i]);
    r.err = rd_kafka_topic_result_error(topics[i]);
    if (const char* msg = rd_kafka_topic_result_error_string(topics[i])) r.message = msg;
    out.push_back(std::move(r));
  }
  return out;
}

topic_info describe_topic(rd_kafka_t* rk, const std::string& name,
                          std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  topic_ptr rkt(rd_kafka_topic_new(rk, name.c_str(), nullptr));
  if (!rkt)
    throw error(errc::invalid_argument, "topic '" + name + "': " + describe(rd_kafka_last_error()));
  topic_info info;
  for (int round = 0;; ++round) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    const rd_kafka_metadata_t* raw = nullptr;
    const auto err = rd_kafka_metadata(rk, 0, rkt.get(), &raw, to_ms(left));
    metadata_ptr md(raw);
    if (err) {
      info.err = err;
    } else {
      info.err = RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC;
      for (int i = 0; i < md->topic_cnt; ++i) {
        const auto& t = md->topics[i];
        if (name != t.topic) continue;
        info.err = t.err;
        info.partitions = t.partition_cnt;
        info.replication_factor = t.partition_cnt > 0 ? t.partitions[0].replica_cnt : 0;
      }
      if (info.err == RD_KAFKA_RESP_ERR_NO_ERROR && info.partitions > 0) return info;
      // A topic without partitions yet, or a leader election in progress: ask again.
      if (info.err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART && round > 0) return info;
    }
    if (std::chrono::steady_clock::now() >= deadline) return info;
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min(20 * (round + 1), 200)));
  }
}

std::int32_t ensure_topic(rd_kafka_t* rk, const topic_spec& spec, bool create,
                          const std::function<void(const topic_spec&)>& creator,
                          std::chrono::milliseconds timeout) {
  if (create && creator) {
    creator(spec);
  } else if (create) {
    for (const auto& r : create_topics(rk, {spec}, timeout)) {
      if (r.err == RD_KAFKA_RESP_ERR_NO_ERROR || r.err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
        continue;
      if (r.err == RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE) {
        // No admin API (librdkafka's mock cluster): the metadata request below lets the broker
        // auto-create the topic with its default partition count.
        log().warn("the cluster has no CreateTopics API; relying on broker auto-creation",
                   {{"topic", spec.name}});
        continue;
      }
      throw error(to_error_code(r.err), "cannot create topic '" + spec.name + "': " +
                                            (r.message.empty() ? describe(r.err) : r.message));
    }
  }
  const auto info = describe_topic(rk, spec.name, timeout);
  if (info.err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
      info.err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC)
    throw error(errc::not_found, "topic '" + spec.name + "' does not exist" +
                                     (create ? "" : " (and create_topics is off)"));
  if (info.err)
    throw error(to_error_code(info.err),
                "cannot read metadata of topic '" + spec.name + "': " + describe(info.err));
  return info.partitions;
}

}  // namespace detail

void topic_spec::validate() const {
  validate_topic_name(name);
  if (partitions < 1)
    throw error(errc::invalid_argument,
                "topic '" + name + "': partitions must be >= 1, got " + std::to_string(partitions));
  if (replication_factor != -1 && replication_factor < 1)
    throw error(errc::invalid_argument, "topic '" + name +
                                            "': replication_factor must be -1 or >= 1, got " +
                                            std::to_string(replication_factor));
}

std::vector<topic_spec> contract_topics(std::int32_t partitions, std::int16_t replication_factor) {
  std::vector<topic_spec> out;
  for (const char* base : {"orders", "inventory", "payment", "notification", "shipping"}) {
    out.push_back(
        {.name = base, .partitions = partitions, .replication_factor = replication_factor});
    out.push_back({.name = std::string(base) + ".dlq",
                   .partitions = partitions,
                   .replication_factor = replication_factor});
  }
  return out;
}

struct topic_admin::impl {
  detail::handle_ptr rk;
  std::chrono::milliseconds timeout;
};

topic_admin::topic_admin(std::string bootstrap_servers, property_map properties,
                         std::chrono::milliseconds timeout)
    : impl_(std::make_unique<impl>()) {
  if (bootstrap_servers.empty())
    throw error(errc::invalid_argument, "topic_admin: bootstrap_servers must not be empty");
  if (timeout.count() <= 0)
    throw error(errc::invalid_argument, "topic_admin: timeout must be positive");
  detail::properties props{{"bootstrap.servers", bootstrap_servers},
                           {"allow.auto.create.topics", "false"},
                           {"client.id", "eventshop-admin"}};
  for (const auto& [k, v] : properties)
    props.insert_or_assign(k, v);
  props.insert_or_assign("bootstrap.servers", bootstrap_servers);
  impl_->rk = detail::make_handle(RD_KAFKA_PRODUCER, detail::make_conf(props));
  impl_->timeout = timeout;
}

topic_admin::~topic_admin() = default;

std::vector<topic_status> topic_admin::ensure(const std::vector<topic_spec>& specs) {
  for (const auto& s : specs)
    s.validate();
  auto* rk = impl_->rk.get();
  // Existing topics are only checked; the missing ones are created in one request.
  std::vector<detail::topic_info> infos;
  std::vector<topic_spec> missing;
  for (const auto& s : specs) {
    infos.push_back(detail::describe_topic(rk, s.name, impl_->timeout));
    if (infos.back().err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
        infos.back().err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC)
      missing.push_back(s);
  }
  const auto created = detail::create_topics(rk, missing, impl_->timeout);
  std::vector<topic_status> out;
  for (std::size_t i = 0; i < specs.size(); ++i) {
    const auto& s = specs[i];
    topic_status st;
    st.name = s.name;
    std::string create_problem;
    for (const auto& r : created) {
      if (r.name != s.name) continue;
      if (r.err == RD_KAFKA_RESP_ERR_NO_ERROR)
        st.created = true;
      else if (r.err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
        create_problem =
            "cannot create: " + (r.message.empty() ? detail::describe(r.err) : r.message);
    }
    auto info = infos[i];
    if (std::any_of(created.begin(), created.end(),
                    [&](const auto& r) { return r.name == s.name; }))
      info = detail::describe_topic(rk, s.name, impl_->timeout);
    if (info.err) {
      st.problem = !create_problem.empty() ? create_problem
                                           : "cannot describe: " + detail::describe(info.err);
    } else {
      st.partitions = info.partitions;
      st.replication_factor = info.replication_factor;
      if (info.partitions < s.partitions)
        st.problem = "has " + std::to_string(info.partitions) + " partitions, expected " +
                     std::to_string(s.partitions);
      else if (s.replication_factor > 0 && info.replication_factor < s.replication_factor)
        st.problem = "has replication factor " + std::to_string(info.replication_factor) +
                     ", expected " + std::to_string(s.replication_factor);
    }
    out.push_back(std::move(st));
  }
  return out;
}

std::int32_t topic_admin::partitions(std::string_view topic) {
  validate_topic_name(topic);
  return detail::ensure_topic(impl_->rk.get(), topic_spec{.name = std::string(topic)}, false, {},
                              impl_->timeout);
}

std::vector<std::string> topic_admin::list() {
  const rd_kafka_metadata_t* raw = nullptr;
  const auto err = rd_kafka_metadata(impl_->rk.get(), 1, nullptr, &raw,
                                     static_cast<int>(impl_->timeout.count()));
  detail::metadata_ptr md(raw);
  if (err) throw error(detail::to_error_code(err), "listing topics: " + detail::describe(err));
  std::vector<std::string> names;
  for (int i = 0; i < md->topic_cnt; ++i)
    names.emplace_back(md->topics[i].topic);
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace eventshop::kafka
