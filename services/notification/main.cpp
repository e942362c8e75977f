// eventshop-notification-service: the notification service alone (CONTRACT §6); see --help.
#include "host/run.hpp"

int main(int argc, char** argv) {
  return eventshop::services::run_main(argc, argv, "notification");
}
