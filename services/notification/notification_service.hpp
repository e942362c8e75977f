// services/notification/notification_service.hpp - the notification service on the bus.
//
// Consumes `payment`, `inventory`, `orders` and `shipping` as consumer group "notification" and
// publishes NotificationSent to `notification` (once per order and kind). State is rebuilt on
// start from `notification`. Thread safety: safe.
#pragma once

#include "common/service_base.hpp"
#include "notification/notification.hpp"

namespace eventshop::services::notification {

class notification_service final : public service_base {
 public:
  explicit notification_service(service_env env);
  ~notification_service() override;

  notifications& domain() noexcept { return notifications_; }
  const notifications& domain() const noexcept { return notifications_; }

 private:
  void on_start() override;
  void handle(const message& m);

  notifications notifications_;
};

}  // namespace eventshop::services::notification
