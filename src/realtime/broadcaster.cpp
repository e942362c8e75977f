// The WebSocket/SSE broadcaster: channels with offsets, epoch and history; sessions with
// bounded, conflating queues on their own strands.
#include "eventshop/realtime/broadcaster.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include <atomic>
#include <charconv>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <unordered_map>

#include <sys/socket.h>
#include <sys/uio.h>

#include "../http/connection.hpp"
#include "eventshop/core/batch_scope.hpp"
#include "eventshop/core/error.hpp"
#include "eventshop/core/json.hpp"
#include "eventshop/core/logging.hpp"
#include "eventshop/core/metrics.hpp"
#include "eventshop/core/uuid.hpp"
#include "eventshop/http/json.hpp"
#include "eventshop/http/server.hpp"
#include "frame.hpp"

namespace eventshop::realtime {

namespace asio = boost::asio;
using clock_type = std::chrono::steady_clock;
using bytes_ptr = std::shared_ptr<const std::string>;

void broadcaster_config::validate() const {
  auto bad = [](const std::string& what) {
    throw eventshop::error(errc::invalid_argument, "broadcaster_config: " + what);
  };
  if (max_queued_messages == 0) bad("max_queued_messages must be > 0");
  if (max_queued_bytes < 1024) bad("max_queued_bytes must be >= 1024");
  if (ping_interval.count() <= 0) bad("ping_interval must be > 0");
  if (idle_timeout.count() <= 0) bad("idle_timeout must be > 0");
  if (close_timeout.count() <= 0) bad("close_timeout must be > 0");
  if (max_frame_bytes < 64) bad("max_frame_bytes must be >= 64");
  if (max_subscriptions == 0) bad("max_subscriptions must be > 0");
  if (max_channel_name == 0) bad("max_channel_name must be > 0");
  for (const auto& o : allowed_origins) {
    if (o.empty()) bad("allowed_origins has an empty entry");
  }
  for (char c : epoch) {
    if (c == ':' || c < 0x21 || c > 0x7e) bad("epoch must be visible ASCII without ':'");
  }
}

namespace {

enum class mode { ws, raw, sse };

struct kind_entry {
  channel_kind_options options;
};

// One published message; its wire forms are built on first use (under the channel's lock) and
// then shared by every connection.
struct message {
  std::uint64_t offset = 0;
  std::string data;
  bytes_ptr ws, raw, sse;
};
using message_ptr = std::shared_ptr<message>;

std::string sse_event(std::string_view type, std::string_view id, std::string_view json) {
  std::string out;
  out.reserve(json.size() + 48);
  if (!id.empty()) {
    out += "id: ";
    out += id;
    out += '\n';
  }
  out += "event: ";
  out += type;
  out += "\ndata: ";
  for (char c : json) {
    if (c == '\n') {
      out += "\ndata: ";
    } else if (c != '\r') {
      out.push_back(c);
    }
  }
  out += "\n\n";
  return out;
}

std::string update_json(std::string_view channel_name, std::uint64_t offset,
                        std::string_view data) {
  std::string j;
  j.reserve(data.size() + channel_name.size() + 48);
  j += R"({"type":"update","channel":)";
  append_json_string(j, channel_name);
  j += R"(,"offset":)";
  j += std::to_string(offset);
  j += R"(,"data":)";
  j += data;
  j += '}';
  return j;
}

// update_json() as one WebSocket text frame, built in one allocation (updates are the bulk of
// what is sent: each is as large as the state it carries).
std::string update_frame(std::string_view channel_name, std::uint64_t offset,
                         std::string_view data) {
  std::string name;
  append_json_string(name, channel_name);
  char digits[24];
  const auto end = std::to_chars(digits, digits + sizeof digits, offset).ptr;
  const std::string_view parts[] = {R"({"type":"update","channel":)",
                                    name,
                                    R"(,"offset":)",
                                    {digits, static_cast<std::size_t>(end - digits)},
                                    R"(,"data":)",
                                    data,
                                    "}"};
  std::size_t size = 0;
  for (auto p : parts)
    size += p.size();
  std::string f = ws::header(ws::op_text, size);
  f.reserve(f.size() + size);
  for (auto p : parts)
    f.append(p);
  return f;
}

bytes_ptr shared(std::string s) {
  return std::make_shared<const std::string>(std::move(s));
}

bool parse_event_id(std::string_view id, std::string& epoch, std::uint64_t& offset) {
  auto colon = id.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 >= id.size()) return false;
  epoch = std::string(id.substr(0, colon));
  offset = 0;
  for (char c : id.substr(colon + 1)) {
    if (c < '0' || c > '9') return false;
    if (offset > (UINT64_MAX - 9) / 10) return false;
    offset = offset * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return true;
}

}  // namespace

class session;

struct channel {
  std::string name;
  const kind_entry* kind = nullptr;
  std::mutex mutex;
  std::uint64_t offset = 0;
  std::deque<message_ptr> history;
  std::vector<std::weak_ptr<session>> subscribers;

  const bytes_ptr& form(message& m, mode md) {
    switch (md) {
      case mode::ws:
        if (!m.ws) m.ws = shared(update_frame(name, m.offset, m.data));
        return m.ws;
      case mode::raw:
        if (!m.raw) m.raw = shared(ws::encode(ws::op_text, m.data));
        return m.raw;
      case mode::sse:
        break;
    }
    if (!m.sse) {
      m.sse = shared(sse_event("update", {}, update_json(name, m.offset, m.data)));
    }
    return m.sse;
  }
};

struct hub : std::enable_shared_from_this<hub> {
  broadcaster_config cfg;
  std::string epoch;
  logger log{"realtime"};
  std::map<std::string, kind_entry, std::less<>> kinds;

  struct name_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  std::mutex channels_mutex;
  std::unordered_map<std::string, std::shared_ptr<channel>, name_hash, std::equal_to<>> channels;

  std::mutex sessions_mutex;
  std::unordered_map<session*, std::weak_ptr<session>> sessions;
  std::atomic<std::uint64_t> slow_closes{0};

  // Metrics, resolved once (updates are lock-free); null when disabled.
  eventshop::counter* m_published = nullptr;
  eventshop::counter* m_conflated = nullptr;
  eventshop::counter* m_slow = nullptr;
  eventshop::gauge* m_connections[3] = {nullptr, nullptr, nullptr};

  void init_metrics() {
    if (!cfg.record_metrics) return;
    auto& reg = cfg.metrics ? *cfg.metrics : metrics_registry::global();
    const std::string& svc = cfg.metrics_service;
    m_published = &reg.counter("eventshop_realtime_published_total",
                               "Messages published to channels", {{"service", svc}});
    m_conflated =
        &reg.counter("eventshop_realtime_conflated_total",
                     "Queued messages replaced by a newer state (conflation)", {{"service", svc}});
    m_slow = &reg.counter("eventshop_realtime_slow_closes_total",
                          "Connections closed with 1008 for being too slow", {{"service", svc}});
    const char* modes[3] = {"ws", "raw", "sse"};
    for (int i = 0; i < 3; ++i) {
      m_connections[i] =
          &reg.gauge("eventshop_realtime_connections", "Open WebSocket/SSE connections",
                     {{"service", svc}, {"mode", modes[i]}});
    }
  }
  void count_connection(mode m, double d) {
    if (auto* g = m_connections[static_cast<int>(m)]) g->inc(d);
  }

  const kind_entry* kind_of(std::string_view name) const {
    auto colon = name.find(':');
    auto it = kinds.find(name.substr(0, colon));
    if (it == kinds.end()) return nullptr;
    // "orders" is a kind without ':'; "order:" needs a non-empty id.
    if (colon != std::string_view::npos && colon + 1 >= name.size()) return nullptr;
    return &it->second;
  }

  std::shared_ptr<channel> get_channel(std::string_view name, const kind_entry* k) {
    std::lock_guard lock(channels_mutex);
    auto it = channels.find(name);
    if (it != channels.end()) return it->second;
    auto ch = std::make_shared<channel>();
    ch->name = std::string(name);
    ch->kind = k;
    channels.emplace(ch->name, ch);
    return ch;
  }

  // The channel if it exists (lazy kinds: only once subscribed), else null.
  std::shared_ptr<channel> find_channel(std::string_view name) {
    std::lock_guard lock(channels_mutex);
    auto it = channels.find(name);
    return it == channels.end() ? nullptr : it->second;
  }

  // Drops a channel nobody listens to and nothing was published on. Not a channel of a kind
  // without history before subscription: it only exists since it was subscribed to, and
  // dropping it would let its offsets start again at 0 without a new epoch.
  void maybe_drop(const std::shared_ptr<channel>& ch) {
    if (!ch->kind->options.history_before_subscription) return;
    std::lock_guard lock(channels_mutex);
    std::lock_guard clock(ch->mutex);
    std::erase_if(ch->subscribers, [](const auto& w) { return w.expired(); });
    if (ch->offset == 0 && ch->subscribers.empty()) channels.erase(ch->name);
  }

  bool origin_allowed(const http::request& req) const {
    auto origin = req.header("Origin");
    if (!origin) return true;  // not a browser
    for (const auto& o : cfg.allowed_origins) {
      if (o == "*" || o == *origin) return true;
    }
    return false;
  }

  void accept(http::request& req, std::shared_ptr<http::connection> conn, mode m,
              std::vector<std::string> raw_channels);
  void close_all();
};

// ------------------------------------------------------------------------------- session

class session : public std::enable_shared_from_this<session> {
 public:
  session(std::shared_ptr<hub> owner, std::shared_ptr<http::connection> conn, mode m)
      : owner_(std::move(owner)),
        conn_(std::move(conn)),
        mode_(m),
        timer_(conn_->socket.get_executor()),
        close_timer_(conn_->socket.get_executor()) {
    owner_->count_connection(mode_, 1);
  }

  ~session() {
    owner_->count_connection(mode_, -1);
    std::lock_guard lock(owner_->sessions_mutex);
    owner_->sessions.erase(this);
  }

  mode kind() const noexcept { return mode_; }

  // Starts the session: `greeting` (101 or SSE headers) goes out first.
  void start(std::string greeting, const std::vector<std::string>& initial_channels,
             std::optional<std::pair<std::string, std::uint64_t>> since) {
    {
      std::lock_guard lock(owner_->sessions_mutex);
      owner_->sessions.emplace(this, weak_from_this());
    }
    last_heard_ = clock_type::now();
    enqueue_control(shared(std::move(greeting)));
    for (const auto& name : initial_channels)
      subscribe(name, since);
    pending_ = std::move(conn_->leftover);
    schedule_tick();
    read();
    if (!pending_.empty()) process_input();
  }

  // Queues bytes (any thread) without sending them: flush() sends. `ch` non-null with conflate:
  // replaces a queued older message of the same channel. Overflow: close 1008.
  void enqueue(const bytes_ptr& bytes, const channel* ch, bool conflate) {
    std::unique_lock lock(qmutex_);
    if (closing_q_) return;
    if (conflate && ch) {
      for (auto& it : queue_) {
        if (it.ch == ch && it.conflatable) {
          queued_bytes_ = queued_bytes_ - it.bytes->size() + bytes->size();
          it.bytes = bytes;
          if (owner_->m_conflated) owner_->m_conflated->inc();
          return;
        }
      }
    }
    queue_.push_back({bytes, ch, conflate && ch, false, 0});
    queued_bytes_ += bytes->size();
    if (queue_.size() > owner_->cfg.max_queued_messages ||
        queued_bytes_ > owner_->cfg.max_queued_bytes) {
      // Still over the bound after conflation: this client is too slow.
      drop_queued_locked();
      closing_q_ = true;
      owner_->slow_closes.fetch_add(1, std::memory_order_relaxed);
      if (owner_->m_slow) owner_->m_slow->inc();
      push_close_locked(1008, "client too slow");
      lock.unlock();
      asio::post(conn_->socket.get_executor(),
                 [self = shared_from_this()] { self->begin_close(); });
    }
  }

  // flush(), now or - on a thread delivering a batch of bus events (a handler publishing) - once
  // at the end of the batch: under load the batch's messages then go out in one system call.
  void flush_soon() {
    if (!batch_scope::active()) return flush();
    {
      std::lock_guard lock(qmutex_);
      if (flush_deferred_) return;
      flush_deferred_ = true;
    }
    defer_to_batch_end([self = shared_from_this()] {
      {
        std::lock_guard lock(self->qmutex_);
        self->flush_deferred_ = false;
      }
      self->flush();
    });
  }

  void enqueue_control(const bytes_ptr& bytes) {
    enqueue(bytes, nullptr, false);
    flush();
  }

  // Sends what is queued from the calling thread (normally the publisher's, after it released
  // the channel's lock) with non-blocking sendmsg(2) calls, one per up to 64 queued messages.
  // Posting each message to the io thread instead cost a wake-up and a context switch per
  // message whenever that thread was idle, and sending each one alone cost a system call per
  // message; a publisher that finds another thread flushing leaves its message to that thread.
  // What the socket does not take at once is left to the io thread's write. The queue lock is
  // not held during the system call: a publisher never waits for another's send.
  void flush() {
    std::unique_lock lock(qmutex_);
    if (writing_ || flushing_ || closing_q_ || queue_.empty()) return;
    flushing_ = true;
    const int fd = conn_->socket.native_handle();
    for (;;) {
      sending_.clear();
      iov_.clear();
      std::size_t batch_bytes = 0;
      while (!queue_.empty() && sending_.size() < 64 && batch_bytes < 256 * 1024) {
        item& front = queue_.front();
        if (front.is_close || !front.bytes) break;  // a close is the io thread's to write
        const std::size_t n = front.bytes->size() - front.written;
        iov_.push_back({const_cast<char*>(front.bytes->data()) + front.written, n});
        batch_bytes += n;
        sending_.push_back(std::move(front));
        queue_.pop_front();
      }
      if (sending_.empty()) break;
      queued_bytes_ -= batch_bytes;
      lock.unlock();
      msghdr msg{};
      msg.msg_iov = iov_.data();
      msg.msg_iovlen = iov_.size();
      const ssize_t r = fd < 0 ? -1 : ::sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
      lock.lock();
      // Give back, in order and at the front, what did not go out (an error is the io thread's
      // write's to report).
      std::size_t sent = r > 0 ? static_cast<std::size_t>(r) : 0;
      std::size_t first_unsent = 0;
      for (; first_unsent < sending_.size(); ++first_unsent) {
        item& it = sending_[first_unsent];
        const std::size_t left = it.bytes->size() - it.written;
        if (sent < left) {
          it.written += sent;
          if (it.written > 0) it.conflatable = false;  // half a frame cannot be replaced
          break;
        }
        sent -= left;
      }
      for (std::size_t i = sending_.size(); i > first_unsent; --i) {
        item& it = sending_[i - 1];
        queued_bytes_ += it.bytes->size() - it.written;
        queue_.push_front(std::move(it));
      }
      const bool all_sent = first_unsent == sending_.size();
      sending_.clear();
      if (!all_sent || closing_q_ || queue_.empty()) break;
    }
    flushing_ = false;
    if (terminate_waiting_) flushed_cv_.notify_all();
    if (!queue_.empty()) kick_locked();
  }

  // Graceful close from any thread.
  void close(std::uint16_t code, std::string reason) {
    asio::dispatch(conn_->socket.get_executor(),
                   [self = shared_from_this(), code, reason = std::move(reason)] {
                     self->close_on_strand(code, reason);
                   });
  }

 private:
  struct item {
    bytes_ptr bytes;
    const channel* ch = nullptr;
    bool conflatable = false;
    bool is_close = false;
    std::size_t written = 0;  // bytes of it already sent (by flush)
  };

  // Starts the io thread's write of the queue, unless it runs or flush() runs (which calls this
  // when it leaves anything queued).
  void kick_locked() {
    if (writing_ || flushing_) return;
    writing_ = true;
    asio::post(conn_->socket.get_executor(), [self = shared_from_this()] { self->write_next(); });
  }

  // Drops the queued messages, except the rest of one that flush() began: the close frame
  // must not follow half a frame.
  void drop_queued_locked() {
    const bool keep_front = !queue_.empty() && queue_.front().written > 0;
    std::optional<item> front;
    if (keep_front) front = std::move(queue_.front());
    queue_.clear();
    queued_bytes_ = 0;
    if (front) {
      queued_bytes_ = front->bytes->size() - front->written;
      queue_.push_back(std::move(*front));
    }
  }

  void push_close_locked(std::uint16_t code, std::string_view reason) {
    if (mode_ == mode::sse) {
      queue_.push_back({nullptr, nullptr, false, true});
    } else {
      queue_.push_back({shared(ws::close_frame(code, reason)), nullptr, false, true});
    }
    kick_locked();
  }

  void write_next() {
    std::size_t batch_bytes = 0;
    {
      std::lock_guard lock(qmutex_);
      inflight_.clear();
      while (!queue_.empty() && inflight_.size() < 64 && batch_bytes < 256 * 1024) {
        batch_bytes +=
            queue_.front().bytes ? queue_.front().bytes->size() - queue_.front().written : 0;
        inflight_.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      queued_bytes_ -= batch_bytes;
      if (inflight_.empty()) {
        writing_ = false;
        return;
      }
    }
    buffers_.clear();
    for (const auto& it : inflight_) {
      if (it.bytes) buffers_.emplace_back(asio::buffer(*it.bytes) + it.written);
    }
    asio::async_write(conn_->socket, buffers_,
                      [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                        if (ec) return self->terminate();
                        bool sent_close = false;
                        for (const auto& it : self->inflight_)
                          sent_close |= it.is_close;
                        self->inflight_.clear();
                        if (sent_close) {
                          boost::system::error_code ignored;
                          self->conn_->socket.shutdown(asio::ip::tcp::socket::shutdown_send,
                                                       ignored);
                          // Wait (bounded by close_timer_) for the peer's close frame / EOF.
                          std::lock_guard lock(self->qmutex_);
                          self->writing_ = false;
                          return;
                        }
                        self->write_next();
                      });
  }

  void begin_close() {
    closing_ = true;
    close_timer_.expires_after(owner_->cfg.close_timeout);
    close_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (!ec) self->terminate();
    });
  }

  void close_on_strand(std::uint16_t code, std::string_view reason) {
    {
      std::lock_guard lock(qmutex_);
      if (closing_q_) return;
      closing_q_ = true;
      if (code != 1000) drop_queued_locked();  // going away / errors: drop what is queued
      push_close_locked(code, reason);
    }
    begin_close();
  }

  // Ends everything now: socket closed, subscriptions dropped.
  void terminate() {
    if (terminated_) return;
    terminated_ = true;
    boost::system::error_code ignored;
    timer_.cancel();
    close_timer_.cancel();
    {
      // Before the socket is closed: no flush() may use its descriptor from here on, and one
      // that is sending finishes first.
      std::unique_lock lock(qmutex_);
      closing_q_ = true;
      terminate_waiting_ = true;
      flushed_cv_.wait(lock, [this] { return !flushing_; });
      terminate_waiting_ = false;
      queue_.clear();
      queued_bytes_ = 0;
    }
    conn_->socket.close(ignored);
    for (auto& [name, ch] : subs_)
      unlink(ch);
    subs_.clear();
  }

  void unlink(const std::shared_ptr<channel>& ch) {
    {
      std::lock_guard lock(ch->mutex);
      std::erase_if(ch->subscribers, [this](const std::weak_ptr<session>& w) {
        auto s = w.lock();
        return !s || s.get() == this;
      });
    }
    owner_->maybe_drop(ch);
  }

  // ---- timers: pings and idle close
  void schedule_tick() {
    auto period = std::min(owner_->cfg.ping_interval, owner_->cfg.idle_timeout / 2);
    if (period.count() <= 0) period = std::chrono::milliseconds(1);
    timer_.expires_after(period);
    timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (ec || self->terminated_) return;
      self->tick();
    });
  }

  void tick() {
    auto now = clock_type::now();
    if (closing_) return;
    if (mode_ != mode::sse && now - last_heard_ >= owner_->cfg.idle_timeout) {
      return close_on_strand(1001, "idle timeout");
    }
    if (now - last_ping_ >= owner_->cfg.ping_interval) {
      last_ping_ = now;
      static const bytes_ptr ping = shared(ws::encode(ws::op_ping, "eventshop"));
      static const bytes_ptr sse_ping = shared(": ping\n\n");
      enqueue_control(mode_ == mode::sse ? sse_ping : ping);
    }
    schedule_tick();
  }

  // ---- reading
  void read() {
    conn_->socket.async_read_some(
        asio::buffer(chunk_),
        [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
          if (ec) return self->terminate();
          self->last_heard_ = clock_type::now();
          if (self->mode_ == mode::sse) {
            // SSE clients send nothing after the request; ignore bytes, detect EOF.
            return self->read();
          }
          self->pending_.append(self->chunk_.data(), n);
          self->process_input();
          if (!self->terminated_) self->read();
        });
  }

  void process_input() {
    while (!terminated_) {
      auto d = ws::decode(pending_, owner_->cfg.max_frame_bytes);
      if (d.st == ws::decoded::status::need_more) {
        if (pending_.size() > owner_->cfg.max_frame_bytes + 16) {
          pending_.clear();
          return close_on_strand(1009, "message too big");
        }
        return;
      }
      if (d.st == ws::decoded::status::too_big) {
        pending_.clear();
        return close_on_strand(1009, "message too big");
      }
      if (d.st == ws::decoded::status::protocol_error) {
        pending_.clear();
        return close_on_strand(1002, d.error);
      }
      pending_.erase(0, d.consumed);
      on_frame(d);
    }
  }

  void on_frame(ws::decoded& d) {
    switch (d.op) {
      case ws::op_ping:
        enqueue_control(shared(ws::encode(ws::op_pong, d.payload)));
        return;
      case ws::op_pong:
        return;
      case ws::op_close: {
        if (closing_) return terminate();  // the answer to our close
        std::uint16_t code = 1000;
        if (d.payload.size() >= 2) {
          code = static_cast<std::uint16_t>((static_cast<std::uint8_t>(d.payload[0]) << 8) |
                                            static_cast<std::uint8_t>(d.payload[1]));
        }
        (void)code;  // any client close is answered with a normal close
        return close_on_strand(1000, "");
      }
      case ws::op_continuation:
        if (!in_fragment_) return close_on_strand(1002, "continuation without a message");
        if (fragment_.size() + d.payload.size() > owner_->cfg.max_frame_bytes) {
          return close_on_strand(1009, "message too big");
        }
        fragment_ += d.payload;
        if (d.fin) {
          in_fragment_ = false;
          std::string msg = std::move(fragment_);
          fragment_.clear();
          on_message(fragment_op_, msg);
        }
        return;
      case ws::op_text:
      case ws::op_binary:
        if (in_fragment_) return close_on_strand(1002, "new message inside a fragmented one");
        if (!d.fin) {
          in_fragment_ = true;
          fragment_op_ = d.op;
          fragment_ = std::move(d.payload);
          return;
        }
        on_message(d.op, d.payload);
        return;
    }
  }

  void send_error(std::string_view code, std::string_view message) {
    std::string j = R"({"type":"error","code":)";
    append_json_string(j, code);
    j += R"(,"message":)";
    append_json_string(j, message);
    j += '}';
    enqueue_control(shared(ws::encode(ws::op_text, j)));
  }

  void on_message(ws::opcode op, const std::string& text) {
    if (mode_ == mode::raw) return;  // the seed's clients send nothing meaningful
    if (op == ws::op_binary) {
      return send_error("bad_frame", "binary frames are not supported; send JSON text frames");
    }
    std::optional<json_document> doc;
    try {
      doc.emplace(text);
    } catch (const std::exception& e) {
      return send_error("bad_json", std::string("the message is not valid JSON: ") + e.what());
    }
    json_view root = doc->root();
    if (!root.is_object()) return send_error("bad_request", "the message must be a JSON object");
    json_view op_field = root["op"];
    if (!op_field.is_string()) return send_error("bad_request", "field 'op' (string) is required");
    std::string_view op_name = op_field.as_string();
    if (op_name == "ping") {
      static const bytes_ptr pong = shared(ws::encode(ws::op_text, R"({"type":"pong"})"));
      return enqueue_control(pong);
    }
    if (op_name != "subscribe" && op_name != "unsubscribe") {
      return send_error("unknown_op", "op must be subscribe, unsubscribe or ping, not '" +
                                          std::string(op_name.substr(0, 64)) + "'");
    }
    json_view ch = root["channel"];
    if (!ch.is_string() || ch.as_string().empty()) {
      return send_error("bad_request", "field 'channel' (non-empty string) is required");
    }
    std::string name(ch.as_string());
    if (op_name == "unsubscribe") {
      auto it = subs_.find(name);
      if (it == subs_.end()) return send_error("not_subscribed", "not subscribed to " + name);
      auto chp = it->second;
      subs_.erase(it);
      unlink(chp);
      return;
    }
    std::optional<std::pair<std::string, std::uint64_t>> since;
    json_view s = root["since"];
    if (s.present() && !s.is_null()) {
      json_view off = s["offset"], ep = s["epoch"];
      if (!s.is_object() || !off.is_integer() || off.as_int64() < 0 || !ep.is_string()) {
        return send_error("bad_request",
                          "field 'since' must be {\"offset\":<integer >= 0>,\"epoch\":<string>}");
      }
      since.emplace(std::string(ep.as_string()), static_cast<std::uint64_t>(off.as_int64()));
    }
    subscribe(name, since);
  }

 public:
  // Subscribes (strand) and queues subscribed + missed updates or a snapshot, atomically with
  // respect to publish().
  bool subscribe(const std::string& name,
                 const std::optional<std::pair<std::string, std::uint64_t>>& since) {
    if (name.size() > owner_->cfg.max_channel_name) {
      send_error("bad_request", "channel name too long");
      return false;
    }
    const kind_entry* k = owner_->kind_of(name);
    if (!k) {
      send_error("unknown_channel", "no such channel: " + name.substr(0, 200));
      return false;
    }
    if (!subs_.count(name) && subs_.size() >= owner_->cfg.max_subscriptions) {
      send_error(
          "too_many_subscriptions",
          "at most " + std::to_string(owner_->cfg.max_subscriptions) + " channels per connection");
      return false;
    }
    auto ch = owner_->get_channel(name, k);
    std::lock_guard lock(ch->mutex);
    if (!subs_.count(name)) {
      subs_.emplace(name, ch);
      ch->subscribers.push_back(weak_from_this());
    }
    std::uint64_t current = ch->offset;
    const std::string& epoch = owner_->epoch;
    bool recovered = false;
    if (since && since->first == epoch && since->second <= current) {
      std::uint64_t oldest = ch->history.empty() ? current + 1 : ch->history.front()->offset;
      recovered = since->second == current || since->second + 1 >= oldest;
    }
    if (mode_ == mode::raw) {
      std::optional<std::string> snap;
      if (k->options.snapshot) snap = k->options.snapshot(name);
      if (snap) {
        enqueue(shared(ws::encode(ws::op_text, *snap)), ch.get(), k->options.conflate);
        flush();
      }
      return true;
    }
    std::string sub = R"({"type":"subscribed","channel":)";
    append_json_string(sub, name);
    sub += R"(,"epoch":)";
    append_json_string(sub, epoch);
    sub += R"(,"offset":)" + std::to_string(current) + R"(,"recovered":)" +
           (recovered ? "true" : "false") + "}";
    if (mode_ == mode::sse) {
      enqueue_control(shared(sse_event("subscribed", {}, sub)));
    } else {
      enqueue_control(shared(ws::encode(ws::op_text, sub)));
    }
    if (recovered) {
      for (const auto& m : ch->history) {
        if (m->offset <= since->second) continue;
        if (mode_ == mode::sse) {
          enqueue_control(shared(sse_event("update", epoch + ":" + std::to_string(m->offset),
                                           update_json(name, m->offset, m->data))));
        } else {
          enqueue_control(ch->form(*m, mode_));
        }
      }
      return true;
    }
    std::optional<std::string> snap;
    if (k->options.snapshot) snap = k->options.snapshot(name);
    std::string j = R"({"type":"snapshot","channel":)";
    append_json_string(j, name);
    j += R"(,"offset":)" + std::to_string(current) + R"(,"data":)" + (snap ? *snap : "null") + "}";
    if (mode_ == mode::sse) {
      enqueue_control(shared(sse_event("snapshot", epoch + ":" + std::to_string(current), j)));
    } else {
      enqueue_control(shared(ws::encode(ws::op_text, j)));
    }
    return true;
  }

 private:
  std::shared_ptr<hub> owner_;
  std::shared_ptr<http::connection> conn_;
  mode mode_;
  asio::steady_timer timer_;
  asio::steady_timer close_timer_;

  // Guarded by qmutex_ (publishers on any thread).
  std::mutex qmutex_;
  std::deque<item> queue_;
  std::size_t queued_bytes_ = 0;
  bool writing_ = false;
  bool closing_q_ = false;
  bool flushing_ = false;        // a thread is in flush()
  bool flush_deferred_ = false;  // flush_soon() deferred a flush() to the end of a batch
  bool terminate_waiting_ = false;
  std::condition_variable flushed_cv_;
  std::vector<item> sending_;  // flush()'s, while flushing_
  std::vector<iovec> iov_;     // flush()'s, while flushing_

  // Strand only.
  std::vector<item> inflight_;
  std::vector<asio::const_buffer> buffers_;
  std::unordered_map<std::string, std::shared_ptr<channel>> subs_;
  std::array<char, 1024> chunk_{};
  std::string pending_;
  std::string fragment_;
  ws::opcode fragment_op_ = ws::op_text;
  bool in_fragment_ = false;
  bool closing_ = false;
  bool terminated_ = false;
  clock_type::time_point last_heard_{};
  clock_type::time_point last_ping_ = clock_type::now();

  friend struct hub;
};

// ------------------------------------------------------------------------------- accept

namespace {

// Writes a complete HTTP error response on a taken-over connection and closes it.
void reject(const std::shared_ptr<http::connection>& conn, int status, std::string_view code,
            const std::string& message, const std::string& extra_headers = {}) {
  auto res = http::error_response(status, code, message);
  auto text = std::make_shared<std::string>();
  *text =
      "HTTP/1.1 " + std::to_string(status) + " " + std::string(http::reason_phrase(status)) +
      "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(res.body.size()) +
      "\r\nConnection: close\r\n" + extra_headers + "\r\n" + res.body;
  asio::async_write(conn->socket, asio::buffer(*text),
                    [conn, text](boost::system::error_code, std::size_t) {
                      boost::system::error_code ignored;
                      conn->socket.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
                      conn->socket.close(ignored);
                    });
}

bool header_has_token(std::optional<std::string_view> value, std::string_view token) {
  if (!value) return false;
  std::string_view v = *value;
  while (!v.empty()) {
    auto comma = v.find(',');
    std::string_view t = v.substr(0, comma);
    while (!t.empty() && (t.front() == ' ' || t.front() == '\t'))
      t.remove_prefix(1);
    while (!t.empty() && (t.back() == ' ' || t.back() == '\t'))
      t.remove_suffix(1);
    if (http::iequals(t, token)) return true;
    if (comma == std::string_view::npos) break;
    v.remove_prefix(comma + 1);
  }
  return false;
}

}  // namespace

void hub::accept(http::request& req, std::shared_ptr<http::connection> conn, mode m,
                 std::vector<std::string> initial) {
  if (!origin_allowed(req)) {
    return reject(conn, 403, "origin_not_allowed",
                  "origin " + std::string(req.header("Origin").value_or("")) + " is not allowed");
  }
  std::string greeting;
  std::optional<std::pair<std::string, std::uint64_t>> since;
  if (m == mode::sse) {
    if (initial.empty()) {
      return reject(conn, 400, "missing_parameter", "query parameter 'channel' is required");
    }
    for (const auto& c : initial) {
      if (c.size() > cfg.max_channel_name || !kind_of(c)) {
        return reject(conn, 400, "unknown_channel", "no such channel: " + c.substr(0, 200));
      }
    }
    if (initial.size() > cfg.max_subscriptions) {
      return reject(conn, 400, "too_many_subscriptions", "too many channels");
    }
    auto last = req.header("Last-Event-ID");
    std::optional<std::string> q;
    if (!last) {
      q = req.query_param("last_event_id");
      if (q) last = *q;
    }
    std::string ep;
    std::uint64_t off = 0;
    if (last && initial.size() == 1 && parse_event_id(*last, ep, off)) since.emplace(ep, off);
    greeting =
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
        "X-Accel-Buffering: no\r\nX-Request-Id: " +
        req.request_id + "\r\n";
    if (auto origin = req.header("Origin")) {
      greeting += "Access-Control-Allow-Origin: " + std::string(*origin) + "\r\nVary: Origin\r\n";
    }
    greeting += "\r\nretry: 2000\n\n";
  } else {
    if (!header_has_token(req.header("Upgrade"), "websocket") ||
        !header_has_token(req.header("Connection"), "upgrade")) {
      return reject(conn, 426, "upgrade_required", "this is a WebSocket endpoint",
                    "Upgrade: websocket\r\n");
    }
    if (req.header("Sec-WebSocket-Version").value_or("") != "13") {
      return reject(conn, 426, "upgrade_required", "Sec-WebSocket-Version must be 13",
                    "Sec-WebSocket-Version: 13\r\n");
    }
    std::string accept_key = ws::accept_key(req.header("Sec-WebSocket-Key").value_or(""));
    if (accept_key.empty()) {
      return reject(conn, 400, "bad_handshake", "missing or malformed Sec-WebSocket-Key");
    }
    greeting =
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Accept: " +
        accept_key + "\r\n\r\n";
  }
  auto s = std::make_shared<session>(shared_from_this(), std::move(conn), m);
  std::string greet = std::move(greeting);
  // Start on the connection's strand.
  asio::dispatch(s->conn_->socket.get_executor(),
                 [s, greet = std::move(greet), initial = std::move(initial), since]() mutable {
                   s->start(std::move(greet), initial, since);
                 });
}

void hub::close_all() {
  std::vector<std::shared_ptr<session>> all;
  {
    std::lock_guard lock(sessions_mutex);
    for (auto& [p, w] : sessions) {
      if (auto s = w.lock()) all.push_back(std::move(s));
    }
  }
  for (auto& s : all)
    s->close(1001, "server going away");
}

// ------------------------------------------------------------------------------- broadcaster

struct broadcaster::impl : hub {};

broadcaster::broadcaster(broadcaster_config config) {
  config.validate();
  impl_ = std::make_shared<impl>();
  impl_->cfg = std::move(config);
  impl_->epoch = impl_->cfg.epoch.empty() ? random_hex(16) : impl_->cfg.epoch;
  impl_->init_metrics();
}

broadcaster::~broadcaster() {
  impl_->close_all();
}

void broadcaster::add_channel_kind(std::string kind, channel_kind_options options) {
  if (kind.empty() || kind.find(':') != std::string::npos) {
    throw eventshop::error(errc::invalid_argument,
                           "add_channel_kind: kind '" + kind + "' must be non-empty without ':'");
  }
  if (impl_->kinds.count(kind)) {
    throw eventshop::error(errc::invalid_argument, "add_channel_kind: kind '" + kind + "' exists");
  }
  impl_->kinds.emplace(std::move(kind), kind_entry{std::move(options)});
}

void broadcaster::attach(http::server& server, attach_options options) {
  std::weak_ptr<hub> weak = impl_;
  auto& r = server.routes();
  r.add_takeover(http::method::get, options.ws_path,
                 [weak](http::request& req, std::shared_ptr<http::connection> c) {
                   if (auto d = weak.lock()) d->accept(req, std::move(c), mode::ws, {});
                 });
  if (!options.raw_ws_path.empty()) {
    r.add_takeover(http::method::get, options.raw_ws_path,
                   [weak, prefix = options.raw_channel_prefix](
                       http::request& req, std::shared_ptr<http::connection> c) {
                     auto d = weak.lock();
                     if (!d) return;
                     std::string id =
                         req.params.empty() ? std::string{} : req.params.front().second;
                     d->accept(req, std::move(c), mode::raw, {prefix + id});
                   });
  }
  r.add_takeover(http::method::get, options.sse_path,
                 [weak](http::request& req, std::shared_ptr<http::connection> c) {
                   auto d = weak.lock();
                   if (!d) return;
                   std::vector<std::string> channels;
                   std::string_view q = req.query;
                   while (!q.empty()) {
                     auto amp = q.find('&');
                     std::string_view pair = q.substr(0, amp);
                     q = amp == std::string_view::npos ? std::string_view{} : q.substr(amp + 1);
                     auto eq = pair.find('=');
                     if (pair.substr(0, eq) != "channel" || eq == std::string_view::npos) continue;
                     auto v = http::url_decode(pair.substr(eq + 1), true);
                     if (!v) continue;
                     // "channel=a,b" and "channel=a&channel=b" both work.
                     std::string_view rest = *v;
                     while (!rest.empty()) {
                       auto comma = rest.find(',');
                       if (!rest.substr(0, comma).empty())
                         channels.emplace_back(rest.substr(0, comma));
                       if (comma == std::string_view::npos) break;
                       rest.remove_prefix(comma + 1);
                     }
                   }
                   d->accept(req, std::move(c), mode::sse, std::move(channels));
                 });
  server.add_stop_hook([weak] {
    if (auto d = weak.lock()) d->close_all();
  });
}

std::uint64_t broadcaster::publish(std::string_view channel_name, std::string_view json) {
  return publish_lazy(channel_name, [json] { return json; });
}

std::uint64_t broadcaster::publish_lazy(std::string_view channel_name,
                                        const std::function<std::string_view()>& make_json) {
  if (channel_name.size() > impl_->cfg.max_channel_name) {
    throw eventshop::error(errc::invalid_argument, "publish: channel name too long");
  }
  const kind_entry* k = impl_->kind_of(channel_name);
  if (!k) {
    throw eventshop::error(errc::invalid_argument, "publish: no channel kind registered for '" +
                                                       std::string(channel_name) + "'");
  }
  auto ch = k->options.history_before_subscription ? impl_->get_channel(channel_name, k)
                                                   : impl_->find_channel(channel_name);
  if (!ch) return 0;  // never subscribed to: the message would go nowhere
  if (impl_->m_published) impl_->m_published->inc();
  const bool keep = impl_->cfg.history_size > 0;
  {
    std::lock_guard lock(ch->mutex);
    if (!keep && ch->subscribers.empty()) return ++ch->offset;  // nobody gets it, nothing kept
  }
  // Built outside the channel's lock, which publishers of the same channel wait for.
  auto m = std::make_shared<message>();
  m->data = std::string(make_json());
  // The sessions to flush once the lock is released, so that no publisher of this channel waits
  // for another's system calls.
  thread_local std::vector<std::shared_ptr<session>> to_flush;
  struct flush_after {
    std::vector<std::shared_ptr<session>>& sessions;
    ~flush_after() {
      for (const auto& s : sessions)
        s->flush_soon();
      sessions.clear();
    }
  } flush_on_exit{to_flush};
  std::lock_guard lock(ch->mutex);
  m->offset = ++ch->offset;
  if (keep) {
    ch->history.push_back(m);
    while (ch->history.size() > impl_->cfg.history_size)
      ch->history.pop_front();
  }
  bool conflate = k->options.conflate;
  bool stale = false;
  for (const auto& w : ch->subscribers) {
    auto s = w.lock();
    if (!s) {
      stale = true;
      continue;
    }
    if (s->kind() == mode::sse) {
      if (!m->sse) {
        m->sse = shared(sse_event("update", impl_->epoch + ":" + std::to_string(m->offset),
                                  update_json(ch->name, m->offset, m->data)));
      }
      s->enqueue(m->sse, ch.get(), conflate);
    } else {
      s->enqueue(ch->form(*m, s->kind()), ch.get(), conflate);
    }
    to_flush.push_back(std::move(s));
  }
  if (stale) std::erase_if(ch->subscribers, [](const auto& w) { return w.expired(); });
  return m->offset;
}

channel_position broadcaster::position(std::string_view channel_name) const {
  channel_position p;
  p.epoch = impl_->epoch;
  std::shared_ptr<channel> ch;
  {
    std::lock_guard lock(impl_->channels_mutex);
    auto it = impl_->channels.find(channel_name);
    if (it == impl_->channels.end()) return p;
    ch = it->second;
  }
  std::lock_guard lock(ch->mutex);
  p.offset = ch->offset;
  return p;
}

const std::string& broadcaster::epoch() const noexcept {
  return impl_->epoch;
}

std::size_t broadcaster::connection_count() const noexcept {
  std::lock_guard lock(impl_->sessions_mutex);
  return impl_->sessions.size();
}

std::uint64_t broadcaster::slow_closes() const noexcept {
  return impl_->slow_closes.load();
}

void broadcaster::close_all() {
  impl_->close_all();
}

}  // namespace eventshop::realtime
