#include "system/system.hpp"

namespace eventshop::services {

ecommerce_system::ecommerce_system(service_env env, system_config config)
    : inventory_(std::make_unique<inventory::inventory_service>(env, config.products)),
      payment_(std::make_unique<payment::payment_service>(env, config.products, config.payment)),
      notification_(std::make_unique<notification::notification_service>(env)),
      shipping_(std::make_unique<shipping::shipping_service>(env, config.seed)),
      status_(std::make_unique<status::status_service>(env, config.status)),
      // One read model for both: the status service feeds it, the order service reads it (and
      // adds each order it creates before the bus echoes it back).
      order_(std::make_unique<order::order_service>(
          env, config.products, config.order,
          order::shared_view{&status_->view(), status_->group()})) {}

ecommerce_system::~ecommerce_system() {
  stop();
}

void ecommerce_system::start() {
  inventory_->start();
  payment_->start();
  notification_->start();
  shipping_->start();
  status_->start();
  order_->start();
}

void ecommerce_system::stop() {
  order_->stop();
  status_->stop();
  shipping_->stop();
  notification_->stop();
  payment_->stop();
  inventory_->stop();
}

bool ecommerce_system::ready() const {
  return inventory_->ready() && payment_->ready() && notification_->ready() && shipping_->ready() &&
         status_->ready() && order_->ready();
}

}  // namespace eventshop::services
