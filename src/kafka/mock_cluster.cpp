#include "eventshop/kafka/mock_cluster.hpp"

#include "handles.hpp"  // rdkafka.h, which rdkafka_mock.h needs first
// clang-format off
#include <librdkafka/rdkafka_mock.h>
// clang-format on

#include "eventshop/core/error.hpp"

namespace eventshop::kafka {

struct mock_cluster::impl {
  // The mock cluster lives inside a (never used) producer handle's threads; it must be destroyed
  // before that handle.
  detail::handle_ptr owner;
  rd_kafka_mock_cluster_t* cluster = nullptr;
  std::string bootstrap;
  int brokers = 0;

  ~impl() {
    if (cluster) rd_kafka_mock_cluster_destroy(cluster);
  }
};

mock_cluster::mock_cluster(int brokers) : impl_(std::make_unique<impl>()) {
  if (brokers < 1 || brokers > 16)
    throw error(errc::invalid_argument,
                "mock_cluster: brokers must be 1..16, got " + std::to_string(brokers));
  // A quiet handle: no bootstrap servers, nothing to connect to.
  impl_->owner = detail::make_handle(
      RD_KAFKA_PRODUCER, detail::make_conf({{"log_level", "3"}, {"client.id", "eventshop-mock"}}));
  impl_->cluster = rd_kafka_mock_cluster_new(impl_->owner.get(), brokers);
  if (!impl_->cluster)
    throw error(errc::backend_error, "mock_cluster: librdkafka could not start it");
  impl_->bootstrap = rd_kafka_mock_cluster_bootstraps(impl_->cluster);
  impl_->brokers = brokers;
}

mock_cluster::~mock_cluster() = default;

const std::string& mock_cluster::bootstrap_servers() const noexcept {
  return impl_->bootstrap;
}
int mock_cluster::brokers() const noexcept {
  return impl_->brokers;
}

namespace {
void check_broker(int id, int brokers) {
  if (id < 1 || id > brokers)
    throw error(errc::invalid_argument, "mock_cluster: broker id must be 1.." +
                                            std::to_string(brokers) + ", got " +
                                            std::to_string(id));
}
}  // namespace

void mock_cluster::set_broker_down(int broker_id) {
  check_broker(broker_id, impl_->brokers);
  if (const auto err = rd_kafka_mock_broker_set_down(impl_->cluster, broker_id))
    throw error(errc::backend_error, "mock_cluster: " + detail::describe(err));
}

void mock_cluster::set_broker_up(int broker_id) {
  check_broker(broker_id, impl_->brokers);
  if (const auto err = rd_kafka_mock_broker_set_up(impl_->cluster, broker_id))
    throw error(errc::backend_error, "mock_cluster: " + detail::describe(err));
}

void mock_cluster::push_request_errors(std::int16_t api_key, const std::vector<int>& codes) {
  std::vector<rd_kafka_resp_err_t> errs;
  errs.reserve(codes.size());
  for (int c : codes)
    errs.push_back(static_cast<rd_kafka_resp_err_t>(c));
  rd_kafka_mock_push_request_errors_array(impl_->cluster, api_key, errs.size(), errs.data());
}

void mock_cluster::delay_responses(int broker_id, std::int16_t api_key, int count,
                                   std::chrono::milliseconds delay) {
  check_broker(broker_id, impl_->brokers);
  if (count < 0) throw error(errc::invalid_argument, "mock_cluster: a negative count of responses");
  for (int i = 0; i < count; ++i) {
    const auto err = rd_kafka_mock_broker_push_request_error_rtts(
        impl_->cluster, broker_id, api_key, 1, RD_KAFKA_RESP_ERR_NO_ERROR,
        static_cast<int>(delay.count()));
    if (err) throw error(errc::backend_error, "mock_cluster: " + detail::describe(err));
  }
}

void mock_cluster::create_topic(const std::string& name, std::int32_t partitions,
                                int replication_factor) {
  const auto err =
      rd_kafka_mock_topic_create(impl_->cluster, name.c_str(), partitions, replication_factor);
  if (err && err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
    throw error(detail::to_error_code(err),
                "mock_cluster: topic '" + name + "': " + detail::describe(err));
}

}  // namespace eventshop::kafka
