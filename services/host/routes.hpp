// services/host/routes.hpp - the HTTP routes of each service (CONTRACT §4), seed-compatible and
// v1, on an eventshop::http::router. The services must outlive the server that serves them.
#pragma once

#include "eventshop/http/router.hpp"
#include "inventory/inventory_service.hpp"
#include "notification/notification_service.hpp"
#include "order/order_service.hpp"
#include "payment/payment_service.hpp"
#include "shipping/shipping_service.hpp"
#include "status/status_service.hpp"

namespace eventshop::realtime {
class broadcaster;
}

namespace eventshop::services {

void add_order_routes(http::router& r, order::order_service& svc);
void add_inventory_routes(http::router& r, inventory::inventory_service& svc);
void add_payment_routes(http::router& r, payment::payment_service& svc);
void add_notification_routes(http::router& r, notification::notification_service& svc);
void add_shipping_routes(http::router& r, shipping::shipping_service& svc);
void add_status_routes(http::router& r, status::status_service& svc);

}  // namespace eventshop::services
