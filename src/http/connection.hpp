// Private to eventshop's compiled libraries: what a takeover handler (eventshop::realtime)
// receives from the HTTP server. Not installed; includes Asio.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>

#include "eventshop/http/router.hpp"

namespace eventshop::http {

using strand_type = boost::asio::strand<boost::asio::io_context::executor_type>;
using socket_type = boost::asio::basic_stream_socket<boost::asio::ip::tcp, strand_type>;

// Shared by the server and its connections; outlives both.
struct connection_counter {
  std::atomic<std::size_t> open{0};
};

class connection {
 public:
  connection(socket_type s, std::string pending, std::shared_ptr<connection_counter> counter)
      : socket(std::move(s)), leftover(std::move(pending)), counter_(std::move(counter)) {}
  ~connection() {
    if (counter_) counter_->open.fetch_sub(1, std::memory_order_relaxed);
  }
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  socket_type socket;    // its executor is the connection's strand
  std::string leftover;  // bytes received after the request that was handed over

 private:
  std::shared_ptr<connection_counter> counter_;
};

}  // namespace eventshop::http
