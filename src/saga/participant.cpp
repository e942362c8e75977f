// Choreography participants and the in-memory participant ledger.
#include "eventshop/saga/participant.hpp"

#include <algorithm>

#include "eventshop/core/error.hpp"

namespace eventshop::saga {

namespace {
std::string ledger_key(std::string_view group, std::string_view id) {
  std::string k;
  k.reserve(group.size() + 1 + id.size());
  k.append(group).push_back('\n');
  k.append(id);
  return k;
}
}  // namespace

// ---- memory_participant_ledger ----------------------------------------------------------------

bool memory_participant_ledger::run_once(std::string_view group, std::string_view event_id,
                                         const std::function<std::vector<outgoing_event>()>& work) {
  std::string key = ledger_key(group, event_id);
  std::lock_guard lock(mutex_);
  if (ids_.contains(key)) return false;
  std::vector<outgoing_event> out = work();  // throws: nothing recorded
  auto& box = outbox_[std::string(group)];
  for (auto& e : out)
    box.push_back(std::move(e));
  ids_.insert(key);
  order_.push_back(std::move(key));
  if (order_.size() > capacity_) {
    ids_.erase(order_.front());
    order_.pop_front();
  }
  return true;
}

std::vector<outgoing_event> memory_participant_ledger::unpublished(std::string_view group) {
  std::lock_guard lock(mutex_);
  const auto it = outbox_.find(group);
  return it == outbox_.end() ? std::vector<outgoing_event>{} : it->second;
}

void memory_participant_ledger::mark_published(std::string_view group,
                                               std::string_view outgoing_event_id) {
  std::lock_guard lock(mutex_);
  const auto it = outbox_.find(group);
  if (it == outbox_.end()) return;
  std::erase_if(it->second,
                [&](const outgoing_event& e) { return e.event.id == outgoing_event_id; });
}

std::size_t memory_participant_ledger::handled() const {
  std::lock_guard lock(mutex_);
  return ids_.size();
}

// ---- participant --------------------------------------------------------------------------

void participant_options::validate() const {
  validate_group_name(group);
  if (source.empty())
    throw error(errc::invalid_argument, "participant_options.source: must not be empty");
  if (registry == nullptr)
    throw error(errc::invalid_argument, "participant_options.registry: must not be null");
  if (publish_timeout.count() <= 0)
    throw error(errc::invalid_argument, "participant_options.publish_timeout: must be > 0");
}

participant::participant(bus& target, participant_ledger& ledger, participant_options options)
    : bus_(target), ledger_(ledger), options_(std::move(options)) {
  options_.validate();
}

participant::~participant() {
  stop();
}

void participant::add_route(std::string_view topic, std::string type, route r) {
  validate_topic_name(topic);
  if (!subscriptions_.empty())
    throw error(errc::invalid_argument,
                "participant '" + options_.group + "': reactions must be declared before start()");
  auto& routes = routes_[std::string(topic)];
  if (routes.contains(type))
    throw error(errc::invalid_argument, "participant '" + options_.group + "': a reaction to " +
                                            type + " on '" + std::string(topic) +
                                            "' is already declared");
  routes.emplace(std::move(type), std::move(r));
}

void participant::start() {
  if (!subscriptions_.empty()) return;
  for (const auto& [topic, routes] : routes_) {
    const std::string t = topic;
    handler h = [this, t](const message& m) { handle(t, m); };
    subscriptions_.push_back(bus_.subscribe(
        topic, options_.group, middleware::chain(h, options_.middleware), options_.subscribe));
  }
}

void participant::stop() {
  for (auto& s : subscriptions_)
    s.close();
}

void participant::handle(const std::string& topic, const message& m) {
  const auto& routes = routes_.find(topic)->second;
  const auto it = routes.find(m.event.type);
  if (it == routes.end()) {
    // Not ours: skip known types; an unknown type is an error for the dead-letter layer.
    if (!options_.registry->contains(m.event.type))
      throw error(errc::unknown_event_type,
                  "no decoder registered for event type '" + m.event.type.substr(0, 128) + "'");
    return;
  }
  ledger_.run_once(options_.group, m.event.id, [&] {
    // Published events continue the incoming event's conversation.
    context_scope scope(
        event_context{m.event.correlationid.empty() ? m.event.id : m.event.correlationid,
                      m.event.id,
                      m.event.traceparent,
                      {}});
    reaction r(options_);
    try {
      it->second(m, r);
    } catch (const step_failed&) {
      // The general form's business failure with nothing to publish: handled, no events.
    }
    return std::move(r.events());
  });
  flush();
}

void participant::flush() {
  std::lock_guard lock(flush_mutex_);
  for (auto& e : ledger_.unpublished(options_.group)) {
    auto ack = bus_.publish(e.topic, e.event);
    if (ack.wait_for(options_.publish_timeout) != std::future_status::ready)
      throw error(errc::timeout, "participant '" + options_.group + "': publishing " +
                                     e.event.type + " to '" + e.topic + "' was not acknowledged");
    ack.get();  // throws the backend's error
    ledger_.mark_published(options_.group, e.event.id);
  }
}

}  // namespace eventshop::saga
