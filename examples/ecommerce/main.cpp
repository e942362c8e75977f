// eventshop-ecommerce: the e-commerce system of CONTRACT §2-§6 in one process - the six services
// on one bus (SQLite under ./data by default), each on its own port, and the web UI.
//
//   $ eventshop-ecommerce                       # sqlite bus in ./data, ports 8080-8085, UI on 3000
//   $ eventshop-ecommerce --bus memory --ports 9080 --ui-port 0
//   $ eventshop-ecommerce --step-delay-ms 800 --payment-decline-rate 0.05 --seed 7
//
// See --help for every flag; KAFKA_BROKER, ORDER_SERVICE_PORT ... STATUS_SERVICE_PORT and
// FRONTEND_PORT are honoured as in the original system.
#include "host/run.hpp"

int main(int argc, char** argv) {
  return eventshop::services::run_main(argc, argv, {});
}
