// The generic saga toolkit: definition validation, the tracker's rules (duplicates, holding,
// compensation, parallel join, deadlines, outbox), introspection, the deadline runner thread,
// and the Mermaid export.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>

#include "eventshop/core/clock.hpp"
#include "eventshop/core/error.hpp"
#include "eventshop/saga/definition.hpp"
#include "eventshop/saga/store.hpp"
#include "eventshop/saga/tracker.hpp"

namespace es = eventshop;
namespace sg = eventshop::saga;
using namespace std::chrono_literals;

namespace {

// A trip booking: flight, then hotel ∥ car, joined into `booked`.
sg::saga_definition trip() {
  sg::saga_definition d("trip");
  d.initial("start")
      .state("flying", {.deadline = 5s})
      .state("staying", {.deadline = 5s, .branches = {"hotel", "car"}, .join = "booked"})
      .state("booked", {.terminal = true})
      .state("aborted", {.terminal = true});
  d.step("flight", "FlightBooked", "cancel_flight")
      .step("hotel", "HotelBooked", "cancel_hotel")
      .step("car", "CarBooked", "cancel_car");
  d.on("start", "TripRequested", "flying")
      .on("flying", "FlightBooked", "staying")
      .on("flying", "FlightFailed", "aborted", {.compensate = true, .reason = "flight failed"})
      .on_timeout("flying", "aborted", {.compensate = true, .reason = "timeout"})
      .on("staying", "HotelBooked", "staying")
      .on("staying", "CarBooked", "staying")
      .on("staying", "HotelFailed", "aborted",
          {.compensate = true,
           .reason = "hotel failed",
           .emit = {{"notify_customer", "sorry", {}}}})
      .on_timeout("staying", "aborted", {.compensate = true, .reason = "timeout"});
  return d;
}

class tracker_test : public ::testing::Test {
 protected:
  es::manual_clock clk;
  sg::memory_saga_store store;
  sg::saga_definition def = trip();
  std::unique_ptr<sg::saga_tracker> t = std::make_unique<sg::saga_tracker>(def, store, clk);
  int next_id = 0;

  sg::handle_result send(std::string_view type, std::string key = "k") {
    const std::string id = "e" + std::to_string(++next_id);
    return t->handle(key, {type, id, {}});
  }
};

std::vector<std::string> names(const std::vector<sg::emitted_action>& acts) {
  std::vector<std::string> out;
  for (const auto& a : acts)
    out.push_back(a.name);
  return out;
}

}  // namespace

TEST_F(tracker_test, parallel_branches_join_in_any_order) {
  send("TripRequested");
  send("FlightBooked");
  auto r = send("CarBooked");
  EXPECT_EQ(r.to_state, "staying");
  r = send("HotelBooked");
  EXPECT_EQ(r.to_state, "booked");
  EXPECT_EQ(r.transitions, 2U);  // the branch and the join
  EXPECT_TRUE(r.terminal);
  EXPECT_FALSE(t->get("k")->deadline.has_value());
}

TEST_F(tracker_test, compensates_completed_steps_newest_first_then_emits) {
  send("TripRequested");
  send("FlightBooked");
  send("CarBooked");
  const auto r = send("HotelFailed");
  EXPECT_EQ(names(r.actions),
            (std::vector<std::string>{"cancel_car", "cancel_flight", "notify_customer"}));
  EXPECT_EQ(r.actions[0].step, "car");
  EXPECT_EQ(r.actions[0].detail, "hotel failed");
  EXPECT_EQ(r.actions[2].detail, "sorry");
  EXPECT_EQ(t->get("k")->compensated, (std::vector<std::string>{"car", "flight"}));
}

TEST_F(tracker_test, late_step_after_the_end_is_compensated_once) {
  send("TripRequested");
  send("FlightFailed");
  auto r = send("FlightBooked");
  EXPECT_EQ(r.outcome, sg::handle_outcome::applied);
  EXPECT_EQ(names(r.actions), (std::vector<std::string>{"cancel_flight"}));
  r = send("FlightBooked");
  EXPECT_EQ(r.outcome, sg::handle_outcome::ignored);
  EXPECT_TRUE(r.actions.empty());
}

TEST_F(tracker_test, duplicates_ignored_and_unknown_events_change_nothing) {
  const auto first = t->handle("k", {"TripRequested", "same", {}});
  EXPECT_EQ(first.outcome, sg::handle_outcome::applied);
  const auto before = store.load("trip", "k").value();
  EXPECT_EQ(t->handle("k", {"TripRequested", "same", {}}).outcome, sg::handle_outcome::duplicate);
  EXPECT_EQ(t->handle("k", {"Unrelated", "x", {}}).outcome, sg::handle_outcome::ignored);
  EXPECT_EQ(store.load("trip", "k").value(), before);
  // An ignored first event creates no saga.
  EXPECT_EQ(t->handle("other", {"Unrelated", "y", {}}).outcome, sg::handle_outcome::ignored);
  EXPECT_FALSE(store.load("trip", "other").has_value());
}

TEST_F(tracker_test, bad_input_is_rejected_without_change) {
  EXPECT_THROW(t->handle("", {"TripRequested", "i", {}}), es::error);
  EXPECT_THROW(t->handle("k", {"", "i", {}}), es::error);
  EXPECT_THROW(t->handle("k", {"TripRequested", "", {}}), es::error);
  EXPECT_EQ(store.size(), 0U);
}

TEST_F(tracker_test, held_events_are_bounded) {
  sg::tracker_options o;
  o.max_held = 2;
  t = std::make_unique<sg::saga_tracker>(def, store, clk, o);
  EXPECT_EQ(send("HotelBooked").outcome, sg::handle_outcome::held);
  EXPECT_EQ(send("CarBooked").outcome, sg::handle_outcome::held);
  EXPECT_EQ(send("FlightBooked").outcome, sg::handle_outcome::ignored);  // over the bound
  EXPECT_EQ(t->get("k")->held.size(), 2U);
  EXPECT_EQ(t->in_flight().at(0).held, 2U);
}

TEST_F(tracker_test, preview_changes_nothing) {
  send("TripRequested");
  const auto before = store.load("trip", "k").value();
  const auto r = t->preview("k", {"FlightFailed", "p", {}});
  EXPECT_EQ(r.to_state, "aborted");
  EXPECT_EQ(store.load("trip", "k").value(), before);
  EXPECT_EQ(t->get("k")->state, "flying");
  EXPECT_TRUE(t->pending_actions().empty());
}

TEST_F(tracker_test, deadlines_fire_in_order_and_stale_ones_are_skipped) {
  send("TripRequested", "a");
  clk.advance(1s);
  send("TripRequested", "b");
  clk.advance(3s);
  send("FlightBooked", "a");  // a's deadline moves to t=9s
  // The earliest scheduled entry: a's first deadline (stale now, skipped when it comes due).
  EXPECT_EQ(t->next_deadline(), clk.now() - 4s + 5s);
  clk.advance(2s);  // t = 6s: only b is due
  auto fired = t->fire_due();
  ASSERT_EQ(fired.size(), 1U);
  EXPECT_EQ(fired[0].first, "b");
  EXPECT_EQ(fired[0].second.to_state, "aborted");
  clk.advance(3s);
  fired = t->fire_due();
  ASSERT_EQ(fired.size(), 1U);
  EXPECT_EQ(fired[0].first, "a");
  EXPECT_EQ(names(fired[0].second.actions), (std::vector<std::string>{"cancel_flight"}));
  EXPECT_TRUE(t->fire_due().empty());
}

TEST_F(tracker_test, stuck_lists_overdue_and_long_waiting_sagas) {
  send("TripRequested", "a");
  clk.advance(2s);
  send("TripRequested", "b");
  EXPECT_TRUE(t->stuck().empty());
  const auto waiting = t->stuck(1s);
  ASSERT_EQ(waiting.size(), 1U);
  EXPECT_EQ(waiting[0].key, "a");
  clk.advance(3s);
  const auto overdue = t->stuck();
  ASSERT_EQ(overdue.size(), 1U);
  EXPECT_TRUE(overdue[0].overdue);
  EXPECT_EQ(overdue[0].age, 5s);
  t->fire_due();
  EXPECT_TRUE(t->stuck().empty());
}

TEST_F(tracker_test, outbox_survives_until_acknowledged) {
  send("TripRequested");
  send("FlightBooked");
  send("HotelFailed");
  t = std::make_unique<sg::saga_tracker>(def, store, clk);  // restart
  auto pending = t->pending_actions();
  ASSERT_EQ(pending.size(), 1U);
  EXPECT_EQ(names(pending[0].second),
            (std::vector<std::string>{"cancel_flight", "notify_customer"}));
  t->acknowledge("k");
  EXPECT_TRUE(t->pending_actions().empty());
  EXPECT_EQ(store.load("trip", "k")->state, "aborted");
}

TEST_F(tracker_test, a_second_writer_gets_a_conflict_and_the_tracker_recovers) {
  send("TripRequested");
  auto r = store.load("trip", "k").value();
  r.version += 1;
  r.seen.push_back("external");
  store.save(r);  // someone else wrote meanwhile; the tracker's cache is stale
  EXPECT_THROW(send("FlightBooked"), es::error);
  // The tracker dropped its cached copy: the next event works on the stored record.
  EXPECT_EQ(send("FlightBooked").to_state, "staying");
  EXPECT_TRUE(t->get("k")->has_seen("external"));
}

TEST(deadline_runner, fires_on_its_thread_when_poked) {
  es::manual_clock clk;
  sg::memory_saga_store store;
  const auto def = trip();
  sg::saga_tracker t(def, store, clk);
  t.handle("k", {"TripRequested", "1", {}});
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> fired;
  sg::deadline_runner runner(
      t,
      [&](const auto& results) {
        std::lock_guard lock(mu);
        for (const auto& [key, r] : results)
          fired.push_back(key + ":" + r.to_state);
        cv.notify_all();
      },
      50ms);
  clk.advance(5s);
  runner.poke();
  std::unique_lock lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, 10s, [&] { return !fired.empty(); }));
  EXPECT_EQ(fired, (std::vector<std::string>{"k:aborted"}));
  lock.unlock();
  runner.stop();
  EXPECT_EQ(runner.fired(), 1U);
}

TEST(saga_definition, validation_names_the_problem) {
  auto expect_error = [](const sg::saga_definition& d, const std::string& part) {
    try {
      d.validate();
      FAIL() << "expected: " << part;
    } catch (const es::error& e) {
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
    }
  };
  expect_error(sg::saga_definition("x").state("a"), "no initial state");
  {
    sg::saga_definition d("x");
    d.initial("a").on("a", "E", "b");
    expect_error(d, "unknown state 'b'");
  }
  {
    sg::saga_definition d("x");
    d.initial("a").state("a");
    expect_error(d, "declared twice");
  }
  {
    sg::saga_definition d("x");
    d.initial("a", {.deadline = 1s});
    expect_error(d, "no timeout transition");
  }
  {
    sg::saga_definition d("x");
    d.initial("a").state("end", {.terminal = true}).on("end", "E", "a");
    expect_error(d, "terminal state may only have internal transitions");
  }
  {
    sg::saga_definition d("x");
    d.initial("a", {.branches = {"nope"}, .join = "a"});
    expect_error(d, "branch 'nope' is not a step");
  }
  {
    sg::saga_definition d("bad name");
    d.initial("a");
    expect_error(d, "name must be");
  }
  EXPECT_NO_THROW(trip().validate());
  es::manual_clock clk;
  sg::memory_saga_store store;
  sg::saga_definition broken("x");
  EXPECT_THROW(sg::saga_tracker(broken, store, clk), es::error);
}

TEST(saga_definition, mermaid_export_is_deterministic_and_complete) {
  const std::string m = sg::to_mermaid(trip());
  EXPECT_EQ(m, sg::to_mermaid(trip()));
  EXPECT_EQ(m.rfind("stateDiagram-v2\n", 0), 0U);
  for (const char* line : {
           "    [*] --> start\n",
           "    start --> flying : TripRequested\n",
           "    flying --> staying : FlightBooked / done flight\n",
           "    flying --> aborted : timeout after 5s / compensate\n",
           "    state staying {\n",
           "        [*] --> hotel\n",
           "        hotel --> [*] : HotelBooked\n",
           "        --\n",
           "        car --> [*] : CarBooked\n",
           "    staying --> booked : join (hotel and car done)\n",
           "    staying --> aborted : HotelFailed / compensate, notify_customer\n",
           "    booked --> [*]\n",
       })
    EXPECT_NE(m.find(line), std::string::npos) << "missing: " << line << "in\n" << m;
}
