#include "common/catalog.hpp"

#include <set>

#include "eventshop/core/error.hpp"

namespace eventshop::services {

std::vector<product_info> default_catalog() {
  return {
      {"product-1", "Premium Widget", money{2999}, 100, 20},
      {"product-2", "Deluxe Gadget", money{4999}, 50, 10},
      {"product-3", "Elite Device", money{9999}, 25, 5},
  };
}

catalog::catalog(std::vector<product_info> products) : products_(std::move(products)) {}

const product_info* catalog::find(std::string_view id) const noexcept {
  for (const auto& p : products_)
    if (p.id == id) return &p;
  return nullptr;
}

void catalog::validate() const {
  std::set<std::string, std::less<>> seen;
  for (const auto& p : products_) {
    if (p.id.empty()) throw error(errc::invalid_argument, "catalog: a product has an empty id");
    if (!seen.insert(p.id).second)
      throw error(errc::invalid_argument, "catalog: duplicate product id '" + p.id + "'");
    if (p.price.cents < 0)
      throw error(errc::invalid_argument, "catalog: product '" + p.id + "' has a negative price");
    if (p.initial_stock < 0)
      throw error(errc::invalid_argument, "catalog: product '" + p.id + "' has negative stock");
    if (p.alert_level < 0)
      throw error(errc::invalid_argument,
                  "catalog: product '" + p.id + "' has a negative alert level");
  }
}

}  // namespace eventshop::services
