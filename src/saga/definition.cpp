// saga_definition: the builder, its validation, and the Mermaid export.
#include "eventshop/saga/definition.hpp"

#include <algorithm>
#include <set>

#include "eventshop/core/error.hpp"
#include "eventshop/saga/store.hpp"

namespace eventshop::saga {

namespace {

[[noreturn]] void invalid(const std::string& saga, const std::string& what) {
  throw error(errc::invalid_argument, "saga '" + saga + "': " + what);
}

bool valid_name(std::string_view n) {
  if (n.empty() || n.size() > 64) return false;
  return std::all_of(n.begin(), n.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

std::string duration_text(std::chrono::milliseconds d) {
  const auto ms = d.count();
  if (ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
  if (ms % 60'000 == 0) return std::to_string(ms / 60'000) + "min";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

}  // namespace

saga_definition::saga_definition(std::string name) : name_(std::move(name)) {}

saga_definition& saga_definition::initial(std::string name, state_options options) {
  if (!initial_.empty()) invalid(name_, "initial state declared twice ('" + initial_ + "')");
  initial_ = name;
  return state(std::move(name), std::move(options));
}

saga_definition& saga_definition::state(std::string name, state_options options) {
  states_.push_back({std::move(name), std::move(options)});
  return *this;
}

saga_definition& saga_definition::step(std::string name, std::string completed_by,
                                       std::string compensation) {
  steps_.push_back({std::move(name), std::move(completed_by), std::move(compensation)});
  return *this;
}

saga_definition& saga_definition::on(std::string from, std::string event, std::string to,
                                     transition_options options) {
  transitions_.push_back({std::move(from), std::move(event), std::move(to), std::move(options)});
  return *this;
}

saga_definition& saga_definition::on_timeout(std::string from, std::string to,
                                             transition_options options) {
  return on(std::move(from), std::string(timeout_event), std::move(to), std::move(options));
}

const state_def* saga_definition::find_state(std::string_view name) const noexcept {
  for (const auto& s : states_)
    if (s.name == name) return &s;
  return nullptr;
}

const step_def* saga_definition::find_step(std::string_view name) const noexcept {
  for (const auto& s : steps_)
    if (s.name == name) return &s;
  return nullptr;
}

void saga_definition::validate() const {
  if (!valid_name(name_)) invalid(name_, "name must be 1-64 characters of [A-Za-z0-9_]");
  if (initial_.empty()) invalid(name_, "no initial state");
  std::set<std::string, std::less<>> names;
  for (const auto& s : states_) {
    if (!valid_name(s.name))
      invalid(name_, "state name '" + s.name + "' must be 1-64 characters of [A-Za-z0-9_]");
    if (!names.insert(s.name).second) invalid(name_, "state '" + s.name + "' declared twice");
    if (s.options.deadline.count() < 0)
      invalid(name_, "state '" + s.name + "': deadline must be >= 0");
  }
  std::set<std::string, std::less<>> step_names;
  for (const auto& st : steps_) {
    if (!valid_name(st.name))
      invalid(name_, "step name '" + st.name + "' must be 1-64 characters of [A-Za-z0-9_]");
    if (names.contains(st.name) || !step_names.insert(st.name).second)
      invalid(name_, "step '" + st.name + "' clashes with another step or state name");
    if (st.completed_by.empty()) invalid(name_, "step '" + st.name + "': no completing event");
  }
  for (const auto& t : transitions_) {
    const std::string where = "transition " + t.from + " --" + t.event + "--> " + t.to;
    const state_def* from = find_state(t.from);
    if (from == nullptr) invalid(name_, where + ": unknown state '" + t.from + "'");
    if (find_state(t.to) == nullptr) invalid(name_, where + ": unknown state '" + t.to + "'");
    if (t.event.empty()) invalid(name_, where + ": empty event type");
    if (from->options.terminal && t.to != t.from)
      invalid(name_, where + ": a terminal state may only have internal transitions");
    for (const auto& a : t.options.emit)
      if (a.name.empty()) invalid(name_, where + ": an emitted action has no name");
  }
  for (const auto& s : states_) {
    const auto& o = s.options;
    if (!o.branches.empty()) {
      if (o.terminal) invalid(name_, "state '" + s.name + "': terminal and parallel");
      if (find_state(o.join) == nullptr)
        invalid(name_, "parallel state '" + s.name + "': join state '" + o.join + "' unknown");
      for (const auto& b : o.branches)
        if (find_step(b) == nullptr)
          invalid(name_, "parallel state '" + s.name + "': branch '" + b + "' is not a step");
    } else if (!o.join.empty()) {
      invalid(name_, "state '" + s.name + "': join without branches");
    }
    if (o.deadline.count() > 0) {
      if (o.terminal) invalid(name_, "terminal state '" + s.name + "' has a deadline");
      const bool has_timeout = std::any_of(transitions_.begin(), transitions_.end(), [&](auto& t) {
        return t.from == s.name && t.event == timeout_event;
      });
      if (!has_timeout)
        invalid(name_, "state '" + s.name + "' has a deadline but no timeout transition");
    }
  }
}

// ---- Mermaid ----------------------------------------------------------------------------------

namespace {

std::string label(const saga_definition& d, const transition_def& t) {
  std::string l;
  if (t.event == timeout_event) {
    const state_def* s = d.find_state(t.from);
    l = "timeout";
    if (s != nullptr && s->options.deadline.count() > 0)
      l += " after " + duration_text(s->options.deadline);
  } else {
    l = t.event;
  }
  if (!t.options.guard_name.empty()) l += " [" + t.options.guard_name + "]";
  std::vector<std::string> acts;
  if (t.options.compensate) acts.emplace_back("compensate");
  for (const auto& a : t.options.emit)
    acts.push_back(a.name);
  for (const auto& st : d.steps())
    if (st.completed_by == t.event && t.event != timeout_event) {
      // Show which step the event completes.
      acts.insert(acts.begin(), "done " + st.name);
      break;
    }
  if (!acts.empty()) {
    l += " / ";
    for (std::size_t i = 0; i < acts.size(); ++i)
      l += (i ? ", " : "") + acts[i];
  }
  return l;
}

}  // namespace

std::string to_mermaid(const saga_definition& d) {
  d.validate();
  std::string out = "stateDiagram-v2\n";
  out += "    %% saga '" + d.name() + "' - generated by eventshop::saga::to_mermaid\n";
  for (const auto& st : d.steps())
    out += "    %% step " + st.name + ": completed by " + st.completed_by + ", compensated by " +
           (st.compensation.empty() ? std::string("nothing (irreversible)") : st.compensation) +
           "\n";
  for (const auto& s : d.states()) {
    std::string desc = s.options.description;
    if (s.options.deadline.count() > 0)
      desc +=
          (desc.empty() ? "" : ", ") + std::string("deadline ") + duration_text(s.options.deadline);
    if (!desc.empty()) out += "    " + s.name + " : " + desc + "\n";
  }
  out += "    [*] --> " + d.initial_state() + "\n";
  for (const auto& s : d.states()) {
    if (s.options.branches.empty()) continue;
    out += "    state " + s.name + " {\n";
    bool first = true;
    for (const auto& b : s.options.branches) {
      if (!first) out += "        --\n";
      first = false;
      const step_def* st = d.find_step(b);
      out += "        [*] --> " + b + "\n";
      // The transitions of the parallel state that complete this branch.
      for (const auto& t : d.transitions())
        if (t.from == s.name && t.to == s.name && t.event == st->completed_by) {
          std::string l = t.event;
          if (!t.options.guard_name.empty()) l += " [" + t.options.guard_name + "]";
          out += "        " + b + " --> [*] : " + l + "\n";
        }
    }
    out += "    }\n";
    std::string joined;
    for (std::size_t i = 0; i < s.options.branches.size(); ++i)
      joined += (i ? " and " : "") + s.options.branches[i];
    out += "    " + s.name + " --> " + s.options.join + " : join (" + joined + " done)\n";
  }
  for (const auto& t : d.transitions()) {
    const state_def* from = d.find_state(t.from);
    if (!from->options.branches.empty() && t.to == t.from) {
      const bool completes_branch =
          std::any_of(from->options.branches.begin(), from->options.branches.end(),
                      [&](const auto& b) { return d.find_step(b)->completed_by == t.event; });
      if (completes_branch) continue;  // drawn inside the composite state
    }
    out += "    " + t.from + " --> " + t.to + " : " + label(d, t) + "\n";
  }
  for (const auto& s : d.states())
    if (s.options.terminal) out += "    " + s.name + " --> [*]\n";
  return out;
}

}  // namespace eventshop::saga
