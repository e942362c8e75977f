// saga_tracker: runs a saga_definition per key over a saga_store, with a deadline heap.
#include "eventshop/saga/tracker.hpp"

#include <algorithm>
#include <queue>
#include <unordered_map>

#include "eventshop/core/error.hpp"
#include "eventshop/core/logging.hpp"

namespace eventshop::saga {

void tracker_options::validate() const {
  if (max_seen < 1) throw error(errc::invalid_argument, "tracker_options.max_seen: must be >= 1");
  if (max_cached < 1)
    throw error(errc::invalid_argument, "tracker_options.max_cached: must be >= 1");
}

std::string_view to_string(handle_outcome o) noexcept {
  switch (o) {
    case handle_outcome::applied:
      return "applied";
    case handle_outcome::duplicate:
      return "duplicate";
    case handle_outcome::held:
      return "held";
    case handle_outcome::ignored:
      return "ignored";
  }
  return "unknown";
}

namespace {

struct key_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};

struct compiled_transition {
  const transition_def* def = nullptr;
  int to = -1;
  bool internal = false;
  int completes = -1;  // step index
};

struct compiled_state {
  const state_def* def = nullptr;
  std::vector<compiled_transition> transitions;
  std::vector<std::string> future;  // event types some reachable state takes
  std::vector<int> branches;        // step indices
  int join = -1;
};

using deadline_entry = std::pair<timestamp, std::string>;

}  // namespace

struct saga_tracker::impl {
  const saga_definition& def;
  saga_store& store;
  memory_saga_store* memory = nullptr;  // fast path: load without an optional copy
  const clock& clk;
  tracker_options opt;
  mutable std::mutex mu;
  std::vector<compiled_state> states;
  std::unordered_map<std::string, saga_record, key_hash, std::equal_to<>> cache;
  std::priority_queue<deadline_entry, std::vector<deadline_entry>, std::greater<>> heap;
  logger log{"saga"};

  impl(const saga_definition& d, saga_store& s, const clock& c, tracker_options o)
      : def(d), store(s), memory(dynamic_cast<memory_saga_store*>(&s)), clk(c), opt(o) {
    def.validate();
    opt.validate();
    compile();
  }

  int state_index(std::string_view name) const {
    for (std::size_t i = 0; i < states.size(); ++i)
      if (states[i].def->name == name) return static_cast<int>(i);
    throw error(errc::invalid_argument, "saga '" + def.name() + "': stored state '" +
                                            std::string(name) + "' is not in the definition");
  }

  int step_index(std::string_view name) const {
    const auto& steps = def.steps();
    for (std::size_t i = 0; i < steps.size(); ++i)
      if (steps[i].name == name) return static_cast<int>(i);
    return -1;
  }

  void compile() {
    const auto& sd = def.states();
    states.resize(sd.size());
    for (std::size_t i = 0; i < sd.size(); ++i)
      states[i].def = &sd[i];
    for (std::size_t i = 0; i < sd.size(); ++i) {
      for (const auto& b : sd[i].options.branches)
        states[i].branches.push_back(step_index(b));
      if (!sd[i].options.join.empty()) states[i].join = state_index(sd[i].options.join);
    }
    for (const auto& t : def.transitions()) {
      compiled_transition ct;
      ct.def = &t;
      ct.to = state_index(t.to);
      ct.internal = t.to == t.from;
      const auto& steps = def.steps();
      for (std::size_t k = 0; k < steps.size(); ++k)
        if (steps[k].completed_by == t.event) ct.completes = static_cast<int>(k);
      states[static_cast<std::size_t>(state_index(t.from))].transitions.push_back(ct);
    }
    // Event types each state can still expect: those of states reachable from it.
    for (std::size_t i = 0; i < states.size(); ++i) {
      std::vector<bool> seen(states.size(), false);
      std::vector<int> todo;
      auto successors = [&](int s, auto&& f) {
        for (const auto& t : states[static_cast<std::size_t>(s)].transitions)
          if (!t.internal) f(t.to);
        if (states[static_cast<std::size_t>(s)].join >= 0)
          f(states[static_cast<std::size_t>(s)].join);
      };
      successors(static_cast<int>(i), [&](int n) { todo.push_back(n); });
      while (!todo.empty()) {
        const int n = todo.back();
        todo.pop_back();
        if (seen[static_cast<std::size_t>(n)]) continue;
        seen[static_cast<std::size_t>(n)] = true;
        successors(n, [&](int m) { todo.push_back(m); });
      }
      for (std::size_t n = 0; n < states.size(); ++n) {
        if (!seen[n]) continue;
        for (const auto& t : states[n].transitions)
          if (t.def->event != timeout_event &&
              std::find(states[i].future.begin(), states[i].future.end(), t.def->event) ==
                  states[i].future.end())
            states[i].future.push_back(t.def->event);
      }
    }
  }

  // ---- the state machine --------------------------------------------------------------------

  void emit(saga_record& r, handle_result& res, std::string name, std::string detail,
            std::string step) {
    r.outbox.push_back({name, detail, step});
    res.actions.push_back({std::move(name), std::move(detail), std::move(step)});
  }

  void enter(saga_record& r, int s, timestamp now, handle_result& res) {
    const compiled_state& cs = states[static_cast<std::size_t>(s)];
    r.state = cs.def->name;
    r.entered_at = now;
    r.terminal = cs.def->options.terminal;
    if (!r.terminal && cs.def->options.deadline.count() > 0)
      r.deadline = now + std::chrono::duration_cast<timestamp::duration>(cs.def->options.deadline);
    else
      r.deadline.reset();
    check_join(r, s, now, res);
  }

  void check_join(saga_record& r, int s, timestamp now, handle_result& res) {
    const compiled_state& cs = states[static_cast<std::size_t>(s)];
    if (cs.join < 0) return;
    for (int b : cs.branches)
      if (!r.has_completed(def.steps()[static_cast<std::size_t>(b)].name)) return;
    ++res.transitions;
    enter(r, cs.join, now, res);
  }

  const compiled_transition* match(int s, const saga_record& r, const saga_event& ev) const {
    for (const auto& t : states[static_cast<std::size_t>(s)].transitions)
      if (t.def->event == ev.type && (!t.def->options.guard || t.def->options.guard(r, ev)))
        return &t;
    return nullptr;
  }

  bool expects(int s, std::string_view type) const {
    const auto& f = states[static_cast<std::size_t>(s)].future;
    return std::find(f.begin(), f.end(), type) != f.end();
  }

  void fire(saga_record& r, int s, const compiled_transition& t, const saga_event& ev,
            timestamp now, handle_result& res) {
    ++res.transitions;
    const auto& o = t.def->options;
    if (t.completes >= 0) {
      const std::string& step = def.steps()[static_cast<std::size_t>(t.completes)].name;
      if (!r.has_completed(step)) r.completed.push_back(step);
    }
    if (o.compensate) {
      for (auto it = r.completed.rbegin(); it != r.completed.rend(); ++it) {
        const step_def* st = def.find_step(*it);
        if (st == nullptr || st->compensation.empty() || r.has_compensated(*it)) continue;
        r.compensated.push_back(*it);
        emit(r, res, st->compensation, o.reason, *it);
      }
    }
    for (const auto& a : o.emit)
      emit(r, res, a.name, a.describe ? a.describe(r, ev) : a.detail, {});
    if (!t.internal)
      enter(r, t.to, now, res);
    else
      check_join(r, s, now, res);
  }

  // A step completed after the saga ended: undo it at once.
  bool late_step(saga_record& r, const saga_event& ev, handle_result& res) {
    bool any = false;
    for (const auto& st : def.steps()) {
      if (st.completed_by != ev.type || st.compensation.empty() || r.has_completed(st.name))
        continue;
      r.completed.push_back(st.name);
      r.compensated.push_back(st.name);
      emit(r, res, st.compensation,
           std::string(ev.type) + " arrived after the saga ended in " + r.state, st.name);
      any = true;
    }
    return any;
  }

  // Applies `ev`; true when the record changed.
  bool apply(saga_record& r, const saga_event& ev, timestamp now, handle_result& res) {
    const int s = state_index(r.state);
    if (const compiled_transition* t = match(s, r, ev)) {
      fire(r, s, *t, ev, now, res);
      res.outcome = handle_outcome::applied;
      settle(r, now, res);
      return true;
    }
    if (states[static_cast<std::size_t>(s)].def->options.terminal) {
      if (!late_step(r, ev, res)) return false;
      res.outcome = handle_outcome::applied;
      return true;
    }
    if (ev.type != timeout_event && expects(s, ev.type) && r.held.size() < opt.max_held) {
      r.held.push_back({std::string(ev.type), std::string(ev.id), std::string(ev.data)});
      res.outcome = handle_outcome::held;
      return true;
    }
    return false;
  }

  // Applies held events that the current state takes, until none does.
  void settle(saga_record& r, timestamp now, handle_result& res) {
    bool progress = true;
    while (progress && !r.held.empty()) {
      progress = false;
      for (std::size_t i = 0; i < r.held.size(); ++i) {
        const int s = state_index(r.state);
        const compiled_transition* t =
            match(s, r, saga_event{r.held[i].type, r.held[i].id, r.held[i].data});
        const bool terminal = states[static_cast<std::size_t>(s)].def->options.terminal;
        if (t == nullptr && !terminal && expects(s, r.held[i].type)) continue;  // still early
        const held_event h = std::move(r.held[i]);
        r.held.erase(r.held.begin() + static_cast<std::ptrdiff_t>(i));
        const saga_event ev{h.type, h.id, h.data};
        if (t != nullptr)
          fire(r, s, *t, ev, now, res);
        else if (terminal)
          late_step(r, ev, res);
        // else: no future for it any more - dropped (its id stays seen)
        progress = true;
        break;
      }
    }
  }

  // ---- records ------------------------------------------------------------------------------

  saga_record* lookup(std::string_view key, bool create, bool& fresh) {
    fresh = false;
    if (auto it = cache.find(key); it != cache.end()) return &it->second;
    if (cache.size() >= opt.max_cached) cache.erase(cache.begin());
    auto [it, inserted] = cache.try_emplace(std::string(key));
    saga_record& r = it->second;
    bool found = false;
    try {
      if (memory != nullptr) {
        found = memory->load_into(def.name(), key, r);
      } else if (auto loaded = store.load(def.name(), key)) {
        r = std::move(*loaded);
        found = true;
      }
    } catch (...) {
      cache.erase(it);
      throw;
    }
    if (found) return &r;
    if (!create) {
      cache.erase(it);
      return nullptr;
    }
    const timestamp now = clk.now();
    r.saga = def.name();
    r.key = std::string(key);
    r.started_at = r.updated_at = now;
    r.seen.reserve(8);
    r.completed.reserve(def.steps().size());
    handle_result ignored;
    enter(r, state_index(def.initial_state()), now, ignored);
    fresh = true;
    return &r;
  }

  void remember(saga_record& r, std::string_view id) {
    if (r.seen.size() >= opt.max_seen) r.seen.erase(r.seen.begin());
    r.seen.emplace_back(id);
  }

  // Saves `r`; schedules its deadline when `reschedule` (it changed).
  void persist(saga_record& r, bool reschedule) {
    ++r.version;
    try {
      store.save(r);
    } catch (...) {
      cache.erase(r.key);  // the store is the truth: reload next time
      throw;
    }
    if (reschedule && r.deadline && !r.terminal) heap.emplace(*r.deadline, r.key);
  }

  std::uint64_t mask(const saga_record& r) const {
    std::uint64_t m = 0;
    const auto& steps = def.steps();
    for (const auto& c : r.completed)
      for (std::size_t i = 0; i < steps.size(); ++i)
        if (steps[i].name == c) m |= std::uint64_t{1} << i;
    return m;
  }

  void check_event(std::string_view key, const saga_event& ev) const {
    if (key.empty()) throw error(errc::invalid_argument, "saga '" + def.name() + "': empty key");
    if (ev.type.empty())
      throw error(errc::invalid_argument,
                  "saga '" + def.name() + "' key '" + std::string(key) + "': empty event type");
    if (ev.id.empty())
      throw error(errc::invalid_argument,
                  "saga '" + def.name() + "' key '" + std::string(key) + "': empty event id");
  }

  handle_result preview(std::string_view key, const saga_event& ev) {
    check_event(key, ev);
    saga_record copy;
    if (auto it = cache.find(key); it != cache.end()) {
      copy = it->second;
    } else if (auto loaded = store.load(def.name(), key)) {
      copy = std::move(*loaded);
    } else {
      const timestamp now = clk.now();
      copy.saga = def.name();
      copy.key = std::string(key);
      copy.started_at = copy.updated_at = now;
      handle_result ignored;
      enter(copy, state_index(def.initial_state()), now, ignored);
    }
    handle_result res;
    res.from_state = copy.state;
    res.completed_before = mask(copy);
    if (copy.has_seen(ev.id))
      res.outcome = handle_outcome::duplicate;
    else if (!apply(copy, ev, clk.now(), res))
      res.outcome = handle_outcome::ignored;
    res.to_state = copy.state;
    res.terminal = copy.terminal;
    res.completed_after = mask(copy);
    return res;
  }

  handle_result handle(std::string_view key, const saga_event& ev) {
    check_event(key, ev);
    bool fresh = false;
    saga_record* r = lookup(key, true, fresh);
    handle_result res;
    res.from_state = r->state;
    res.completed_before = res.completed_after = mask(*r);
    if (r->has_seen(ev.id)) {
      res.outcome = handle_outcome::duplicate;
      res.to_state = r->state;
      res.terminal = r->terminal;
      return res;
    }
    const timestamp now = clk.now();
    // A fresh record's initial deadline is not scheduled yet.
    const bool had_deadline = !fresh && r->deadline.has_value();
    const timestamp old_deadline = had_deadline ? *r->deadline : timestamp{};
    bool changed = false;
    try {
      changed = apply(*r, ev, now, res);
    } catch (...) {
      cache.erase(std::string(key));  // a guard threw midway: drop the partial change
      throw;
    }
    if (!changed) {
      res.outcome = handle_outcome::ignored;
      res.to_state = r->state;
      res.terminal = r->terminal;
      if (fresh) cache.erase(std::string(key));
      return res;
    }
    remember(*r, ev.id);
    r->updated_at = now;
    persist(*r, r->deadline.has_value() && (!had_deadline || *r->deadline != old_deadline));
    res.completed_after = mask(*r);
    res.to_state = r->state;
    res.terminal = r->terminal;
    if (r->terminal && r->outbox.empty()) cache.erase(std::string(key));
    return res;
  }

  saga_info info(const saga_record& r, timestamp now) const {
    saga_info i;
    i.key = r.key;
    i.state = r.state;
    i.age = std::chrono::duration_cast<std::chrono::milliseconds>(now - r.started_at);
    i.in_state = std::chrono::duration_cast<std::chrono::milliseconds>(now - r.entered_at);
    i.deadline = r.deadline;
    i.overdue = r.deadline && *r.deadline <= now;
    i.held = r.held.size();
    i.pending_actions = r.outbox.size();
    return i;
  }
};

saga_tracker::saga_tracker(const saga_definition& definition, saga_store& store, const clock& clk,
                           tracker_options options)
    : impl_(std::make_unique<impl>(definition, store, clk, options)) {
  recover();
}

saga_tracker::~saga_tracker() = default;

handle_result saga_tracker::handle(std::string_view key, const saga_event& event) {
  std::lock_guard lock(impl_->mu);
  return impl_->handle(key, event);
}

handle_result saga_tracker::preview(std::string_view key, const saga_event& event) const {
  std::lock_guard lock(impl_->mu);
  return impl_->preview(key, event);
}

std::vector<std::pair<std::string, handle_result>> saga_tracker::fire_due() {
  std::lock_guard lock(impl_->mu);
  auto& m = *impl_;
  std::vector<std::pair<std::string, handle_result>> out;
  const timestamp now = m.clk.now();
  while (!m.heap.empty() && m.heap.top().first <= now) {
    const deadline_entry e = m.heap.top();
    m.heap.pop();
    bool fresh = false;
    saga_record* r = m.lookup(e.second, false, fresh);
    if (r == nullptr || r->terminal || !r->deadline || *r->deadline != e.first) continue;
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(e.first.time_since_epoch()).count();
    const std::string id = "timeout:" + r->state + ":" + std::to_string(ms);
    handle_result res = m.handle(e.second, saga_event{timeout_event, id, {}});
    if (res.outcome == handle_outcome::duplicate) continue;
    if (res.outcome == handle_outcome::ignored)
      m.log.warn("saga deadline passed but no timeout transition matched",
                 {{"saga", m.def.name()}, {"key", e.second}, {"state", res.from_state}});
    out.emplace_back(e.second, std::move(res));
  }
  return out;
}

std::optional<timestamp> saga_tracker::next_deadline() const {
  std::lock_guard lock(impl_->mu);
  if (impl_->heap.empty()) return std::nullopt;
  return impl_->heap.top().first;
}

void saga_tracker::recover() {
  std::lock_guard lock(impl_->mu);
  auto& m = *impl_;
  m.heap = {};
  m.cache.clear();
  for (auto& r : m.store.with_deadline(m.def.name()))
    if (r.deadline && !r.terminal) m.heap.emplace(*r.deadline, r.key);
}

void saga_tracker::acknowledge(std::string_view key) {
  std::lock_guard lock(impl_->mu);
  auto& m = *impl_;
  bool fresh = false;
  saga_record* r = m.lookup(key, false, fresh);
  if (r == nullptr || r->outbox.empty()) return;
  r->outbox.clear();
  r->updated_at = m.clk.now();
  m.persist(*r, false);
  if (r->terminal) m.cache.erase(std::string(key));
}

std::vector<std::pair<std::string, std::vector<emitted_action>>> saga_tracker::pending_actions()
    const {
  std::lock_guard lock(impl_->mu);
  std::vector<std::pair<std::string, std::vector<emitted_action>>> out;
  for (const auto& r : impl_->store.with_outbox(impl_->def.name())) {
    std::vector<emitted_action> acts;
    for (const auto& a : r.outbox)
      acts.push_back({a.name, a.detail, a.step});
    out.emplace_back(r.key, std::move(acts));
  }
  return out;
}

std::optional<saga_record> saga_tracker::get(std::string_view key) const {
  std::lock_guard lock(impl_->mu);
  if (auto it = impl_->cache.find(key); it != impl_->cache.end()) return it->second;
  return impl_->store.load(impl_->def.name(), key);
}

std::vector<saga_info> saga_tracker::in_flight(std::size_t limit) const {
  std::lock_guard lock(impl_->mu);
  const timestamp now = impl_->clk.now();
  std::vector<saga_info> out;
  for (const auto& r : impl_->store.list(impl_->def.name(), {false, limit}))
    out.push_back(impl_->info(r, now));
  return out;
}

std::vector<saga_info> saga_tracker::stuck(std::chrono::milliseconds older_than,
                                           std::size_t limit) const {
  std::lock_guard lock(impl_->mu);
  const timestamp now = impl_->clk.now();
  std::vector<saga_info> out;
  for (const auto& r :
       impl_->store.list(impl_->def.name(), {false, static_cast<std::size_t>(-1)})) {
    saga_info i = impl_->info(r, now);
    if (i.overdue || (older_than.count() > 0 && i.in_state > older_than))
      out.push_back(std::move(i));
    if (out.size() >= limit) break;
  }
  return out;
}

const saga_definition& saga_tracker::definition() const noexcept {
  return impl_->def;
}
const clock& saga_tracker::clock_ref() const noexcept {
  return impl_->clk;
}

// ---- deadline_runner ----------------------------------------------------------------------

deadline_runner::deadline_runner(saga_tracker& tracker, callback on_fired,
                                 std::chrono::milliseconds poll)
    : tracker_(tracker), on_fired_(std::move(on_fired)), poll_(poll) {
  if (poll_.count() <= 0)
    throw error(errc::invalid_argument, "deadline_runner poll: must be > 0 ms");
  thread_ = std::thread([this] { run(); });
}

deadline_runner::~deadline_runner() {
  stop();
}

void deadline_runner::stop() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void deadline_runner::poke() {
  {
    std::lock_guard lock(mutex_);
    poked_ = true;
  }
  cv_.notify_all();
}

std::size_t deadline_runner::fired() const noexcept {
  std::lock_guard lock(mutex_);
  return fired_;
}

void deadline_runner::run() {
  const logger log("saga");
  for (;;) {
    {
      std::lock_guard lock(mutex_);
      if (stop_) return;
      poked_ = false;
    }
    try {
      auto fired = tracker_.fire_due();
      if (!fired.empty()) {
        if (on_fired_) on_fired_(fired);
        std::lock_guard lock(mutex_);
        fired_ += fired.size();
      }
    } catch (const std::exception& e) {
      log.error("saga deadline handling failed", {{"error", e.what()}});
    }
    auto wait = poll_;
    if (const auto next = tracker_.next_deadline()) {
      const auto until =
          std::chrono::duration_cast<std::chrono::milliseconds>(*next - tracker_.clock_ref().now());
      wait = std::clamp(until, std::chrono::milliseconds{1}, poll_);
    }
    std::unique_lock lock(mutex_);
    cv_.wait_for(lock, wait, [&] { return stop_ || poked_; });
  }
}

}  // namespace eventshop::saga
