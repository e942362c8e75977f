// eventshop-saga-inspect: lists the in-flight (or stuck) order sagas of a SQLite saga store.
//
//   eventshop-saga-inspect --db data/sagas.db            # in-flight sagas, oldest first
//   eventshop-saga-inspect --db data/sagas.db --stuck    # only those past their deadline
//   eventshop-saga-inspect --db data/sagas.db --json     # one JSON object per line
//
// Read-only use of the store: it loads and prints, it fires no deadlines.
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>

#include "eventshop/core/json.hpp"
#include "eventshop/core/time.hpp"
#include "eventshop/saga/order_saga.hpp"
#include "eventshop/saga/sqlite_store.hpp"
#include "eventshop/saga/tracker.hpp"

namespace {

int usage(std::ostream& out, int code) {
  out << "usage: eventshop-saga-inspect --db FILE [--stuck] [--older-than-ms N] [--limit N] "
         "[--json]\n"
         "Lists in-flight order sagas (key, state, status, age, deadline) of a SQLite store.\n";
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  namespace sg = eventshop::saga;
  std::string db;
  bool stuck = false;
  bool json = false;
  long long older_than = 0;
  long long limit = 1000;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&](const char* what) -> std::string {
      if (i + 1 >= argc) {
        std::cerr << "eventshop-saga-inspect: " << a << " needs " << what << "\n";
        std::exit(2);
      }
      return argv[++i];
    };
    try {
      if (a == "--db")
        db = next("a file");
      else if (a == "--stuck")
        stuck = true;
      else if (a == "--json")
        json = true;
      else if (a == "--older-than-ms")
        older_than = std::stoll(next("a number"));
      else if (a == "--limit")
        limit = std::stoll(next("a number"));
      else if (a == "--help" || a == "-h")
        return usage(std::cout, 0);
      else {
        std::cerr << "eventshop-saga-inspect: unknown argument '" << a << "'\n";
        return usage(std::cerr, 2);
      }
    } catch (const std::logic_error&) {
      std::cerr << "eventshop-saga-inspect: " << a << ": not a number\n";
      return 2;
    }
  }
  if (db.empty() || limit <= 0 || older_than < 0) return usage(std::cerr, 2);
  try {
    sg::sqlite_saga_store store({db});
    sg::saga_tracker tracker(sg::order_saga::definition(), store);
    const auto list = stuck || older_than > 0 ? tracker.stuck(std::chrono::milliseconds(older_than),
                                                              static_cast<std::size_t>(limit))
                                              : tracker.in_flight(static_cast<std::size_t>(limit));
    for (const auto& s : list) {
      const std::string deadline = s.deadline ? eventshop::format_rfc3339(*s.deadline) : "";
      if (json) {
        eventshop::json_writer w;
        w.begin_object();
        w.key("key");
        w.string(s.key);
        w.key("state");
        w.string(s.state);
        w.key("age_ms");
        w.int64(s.age.count());
        w.key("in_state_ms");
        w.int64(s.in_state.count());
        w.key("deadline");
        if (s.deadline)
          w.string(deadline);
        else
          w.null();
        w.key("overdue");
        w.boolean(s.overdue);
        w.key("held");
        w.uint64(s.held);
        w.key("pending_actions");
        w.uint64(s.pending_actions);
        w.end_object();
        std::cout << w.view() << "\n";
      } else {
        std::cout << s.key << "  " << s.state << "  age " << s.age.count() << " ms  in state "
                  << s.in_state.count() << " ms  deadline " << (deadline.empty() ? "-" : deadline)
                  << (s.overdue ? "  OVERDUE" : "") << "  held " << s.held << "  pending "
                  << s.pending_actions << "\n";
      }
    }
    if (!json) std::cerr << list.size() << (stuck ? " stuck" : " in flight") << " saga(s)\n";
  } catch (const std::exception& e) {
    std::cerr << "eventshop-saga-inspect: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
