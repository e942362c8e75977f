#include "eventshop/core/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "eventshop/core/error.hpp"

namespace eventshop {
namespace {

bool valid_metric_name(std::string_view n) {
  if (n.empty()) return false;
  for (size_t i = 0; i < n.size(); ++i) {
    const char c = n[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    if (!(alpha || (i > 0 && c >= '0' && c <= '9'))) return false;
  }
  return true;
}

bool valid_label_name(std::string_view n) {
  return valid_metric_name(n) && n.find(':') == std::string_view::npos && n.substr(0, 2) != "__";
}

std::string escape_label_value(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string render_labels(const metric_labels& labels) {
  std::string out;
  for (const auto& [k, v] : labels) {
    if (!valid_label_name(k))
      throw error(errc::invalid_argument, "invalid metric label name '" + k + "'");
    out += out.empty() ? "" : ",";
    out += k;
    out += "=\"";
    out += escape_label_value(v);
    out += '"';
  }
  return out;
}

std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15) return std::to_string(static_cast<long long>(v));
  std::ostringstream s;
  s.precision(17);
  s << v;
  return s.str();
}

std::string with_label(const std::string& labels, std::string_view extra) {
  if (labels.empty()) return std::string(extra);
  return labels + "," + std::string(extra);
}

}  // namespace

histogram::histogram(std::vector<double> upper_bounds) : bounds_(std::move(upper_bounds)) {
  if (!std::is_sorted(bounds_.begin(), bounds_.end()))
    throw error(errc::invalid_argument, "histogram bounds must be sorted ascending");
  counts_ = std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1);
}

void histogram::observe(double v) noexcept {
  const auto it = std::lower_bound(bounds_.begin(), bounds_.end(), v);
  counts_[static_cast<std::size_t>(it - bounds_.begin())].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

std::vector<double> histogram::latency_buckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
          0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};
}

metrics_registry::family& metrics_registry::get_family(std::string_view name, std::string_view help,
                                                       kind k) {
  if (!valid_metric_name(name))
    throw error(errc::invalid_argument, "invalid metric name '" + std::string(name) + "'");
  auto it = families_.find(name);
  if (it == families_.end())
    it = families_.emplace(std::string(name), family{k, std::string(help), {}, {}, {}}).first;
  if (it->second.k != k)
    throw error(errc::invalid_argument,
                "metric '" + std::string(name) + "' is already registered as another kind");
  return it->second;
}

counter& metrics_registry::counter(std::string_view name, std::string_view help,
                                   const metric_labels& labels) {
  const std::string key = render_labels(labels);
  std::lock_guard lock(mutex_);
  auto& slot = get_family(name, help, kind::counter).counters[key];
  if (!slot) slot = std::make_unique<eventshop::counter>();
  return *slot;
}

gauge& metrics_registry::gauge(std::string_view name, std::string_view help,
                               const metric_labels& labels) {
  const std::string key = render_labels(labels);
  std::lock_guard lock(mutex_);
  auto& slot = get_family(name, help, kind::gauge).gauges[key];
  if (!slot) slot = std::make_unique<eventshop::gauge>();
  return *slot;
}

histogram& metrics_registry::histogram(std::string_view name, std::string_view help,
                                       const metric_labels& labels, std::vector<double> bounds) {
  for (const auto& [k, v] : labels)
    if (k == "le") throw error(errc::invalid_argument, "histogram label 'le' is reserved");
  const std::string key = render_labels(labels);
  std::lock_guard lock(mutex_);
  auto& slot = get_family(name, help, kind::histogram).histograms[key];
  if (!slot) slot = std::make_unique<eventshop::histogram>(std::move(bounds));
  return *slot;
}

std::string metrics_registry::render() const {
  std::lock_guard lock(mutex_);
  std::string out;
  for (const auto& [name, f] : families_) {
    out += "# HELP " + name + " ";
    for (char c : f.help)
      out += c == '\n' ? std::string("\\n") : c == '\\' ? std::string("\\\\") : std::string(1, c);
    out += "\n# TYPE " + name + " ";
    out += f.k == kind::counter ? "counter" : f.k == kind::gauge ? "gauge" : "histogram";
    out += '\n';
    auto line = [&out](const std::string& metric, const std::string& labels, double v) {
      out += metric;
      if (!labels.empty()) out += "{" + labels + "}";
      out += ' ';
      out += format_value(v);
      out += '\n';
    };
    for (const auto& [labels, c] : f.counters)
      line(name, labels, c->value());
    for (const auto& [labels, g] : f.gauges)
      line(name, labels, g->value());
    for (const auto& [labels, h] : f.histograms) {
      std::uint64_t cumulative = 0;
      for (std::size_t i = 0; i < h->bounds().size(); ++i) {
        cumulative += h->bucket_count(i);
        line(name + "_bucket", with_label(labels, "le=\"" + format_value(h->bounds()[i]) + "\""),
             static_cast<double>(cumulative));
      }
      line(name + "_bucket", with_label(labels, "le=\"+Inf\""), static_cast<double>(h->count()));
      line(name + "_sum", labels, h->sum());
      line(name + "_count", labels, static_cast<double>(h->count()));
    }
  }
  return out;
}

metrics_registry& metrics_registry::global() {
  static metrics_registry instance;
  return instance;
}

}  // namespace eventshop
