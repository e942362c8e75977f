// eventshop/realtime/broadcaster.hpp - WebSocket and SSE push of CONTRACT §5.
//
// A `broadcaster` holds named channels ("order:<id>", "orders", "stats", ...). Each channel has
// an offset that grows by one per published message and belongs to the broadcaster's `epoch`
// (a random id per broadcaster, so a restart without persistent history changes it), and a
// bounded history of its last `history_size` messages for resume. `publish(channel, json)` is
// the whole producer API: the message is encoded once per wire form and the same bytes are
// queued to every subscribed connection; publish never blocks on a connection.
//
// Channels are grouped by kind: the text before the first ':' ("order" for "order:42"), or the
// whole name when there is no ':'. Each kind is registered with `add_channel_kind` and says
// whether it is a state channel (each message is the full new state: queued, unsent messages of
// the same channel are replaced by the newer one - conflation) and how to get a snapshot (the
// current state as JSON, or nullopt when unknown). Subscribing to a channel of an unregistered
// kind is refused with an `error` message (`unknown_channel`).
//
// attach(server) registers on an http::server:
//  - GET /v1/ws       WebSocket, JSON protocol of CONTRACT §5 (subscribe with optional
//                     since{offset,epoch}, unsubscribe, ping; subscribed/snapshot/update/pong/
//                     error). Bad frames get {"type":"error",...} and the connection stays.
//  - GET /v1/events?channel=C[&channel=C2]  SSE: `id: <epoch>:<offset>`, `event: <type>`,
//                     `data: <the same JSON as over WebSocket>`; Last-Event-ID (or ?last_event_id=)
//                     resumes like `since`.
//  - GET /ws/{order_id}  the seed's raw mode: the current state of channel
//                     raw_channel_prefix + order_id (if known) as a bare JSON text frame, then the
//                     bare `data` of every update; client messages are ignored.
// Origin check: a WebSocket handshake or SSE request whose Origin is not in `allowed_origins`
// is answered 403; requests without Origin are accepted; "*" allows every origin.
//
// Flow control: each connection has a queue bounded by max_queued_messages/max_queued_bytes.
// After conflation, a connection still over its bound is sent close code 1008 (policy violation,
// "client too slow") and closed; other connections are never delayed by it. Pings go out every
// ping_interval; a connection that sent nothing (no frame, no pong) for idle_timeout is closed
// (1001). Incoming frames over max_frame_bytes close the connection with 1009.
//
// Snapshot providers run on io threads under the channel's lock (so no update can slip between
// snapshot and subscription): keep them fast and never call publish() from them. A snapshot may
// be newer than the offset it is sent with; for state channels that is harmless.
//
// Thread safety: publish(), position(), counters: safe from any thread. add_channel_kind() and
// attach() before server::start().
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace eventshop {
class metrics_registry;
}

namespace eventshop::http {
class server;
}

namespace eventshop::realtime {

struct broadcaster_config {
  std::size_t history_size = 128;                  // messages kept per channel for resume (0: none)
  std::size_t max_queued_messages = 1024;          // per connection, after conflation
  std::size_t max_queued_bytes = 4 * 1024 * 1024;  // per connection, after conflation
  std::chrono::milliseconds ping_interval{15'000};
  std::chrono::milliseconds idle_timeout{45'000};
  std::chrono::milliseconds close_timeout{5'000};  // wait for a close frame to be written
  std::size_t max_frame_bytes = 64 * 1024;         // largest accepted client message
  std::size_t max_subscriptions = 256;             // channels per connection
  std::size_t max_channel_name = 200;
  std::vector<std::string> allowed_origins;  // WebSocket/SSE Origin allow-list ("*": any)
  std::string epoch;                         // empty: a random 16-hex-digit epoch
  // Metrics (labels service=<metrics_service>): eventshop_realtime_connections{mode} gauge,
  // eventshop_realtime_published_total, eventshop_realtime_conflated_total,
  // eventshop_realtime_slow_closes_total. nullptr: metrics_registry::global().
  metrics_registry* metrics = nullptr;
  bool record_metrics = true;
  std::string metrics_service = "realtime";

  // Throws eventshop::error(invalid_argument) naming the first bad field.
  void validate() const;
};

// Where a channel stands: its epoch and the offset of its last message (0: none yet).
struct channel_position {
  std::string epoch;
  std::uint64_t offset = 0;
};

// Current state of a channel as JSON text, or nullopt when it is unknown.
using snapshot_provider = std::function<std::optional<std::string>(std::string_view channel)>;

struct channel_kind_options {
  bool conflate = false;       // state channel: newer message replaces a queued older one
  snapshot_provider snapshot;  // unset: snapshots carry "data":null
  // true: a channel of this kind exists from its first message on, and keeps its last
  // history_size messages from then on. false (for kinds with one channel per entity, like
  // "order:<id>", most of them never watched): a channel exists only from its first
  // subscription on - a client can only resume from an offset it was sent - and is kept from
  // then on; messages for a channel nobody has subscribed to are dropped without being built
  // (publish_lazy), and its offsets count from its first subscription. A late subscriber gets a
  // snapshot either way.
  bool history_before_subscription = true;
};

struct attach_options {
  std::string ws_path = "/v1/ws";
  std::string sse_path = "/v1/events";
  std::string raw_ws_path = "/ws/{order_id}";  // "" disables the seed raw mode
  std::string raw_channel_prefix = "order:";   // raw mode follows channel prefix + {order_id}
};

class broadcaster {
 public:
  explicit broadcaster(broadcaster_config config = {});
  ~broadcaster();  // closes every connection
  broadcaster(const broadcaster&) = delete;
  broadcaster& operator=(const broadcaster&) = delete;

  // Registers kind `kind` ("order", "orders", "stats"). Throws eventshop::error(
  // invalid_argument) for an empty kind, one containing ':' or a duplicate.
  void add_channel_kind(std::string kind, channel_kind_options options);

  // Adds the WebSocket/SSE routes to `server` (before it starts) and closes this broadcaster's
  // connections when it stops. The broadcaster must outlive the server's io threads.
  void attach(http::server& server, attach_options options = {});

  // Publishes `json` (one JSON value, normally an object) as the next message of `channel`.
  // Returns its offset (0: the channel's kind has history_before_subscription = false and
  // nobody ever subscribed to it, so the message went nowhere). Throws
  // eventshop::error(invalid_argument) for a channel of an unregistered kind or an over-long name;
  // the JSON is not re-validated (it is the caller's).
  std::uint64_t publish(std::string_view channel, std::string_view json);

  // Like publish(), but `make_json` is only called when the message goes somewhere: to a
  // subscriber or into the channel's history. Not for a channel of a kind with
  // history_before_subscription = false that nobody ever subscribed to. `make_json` is called at
  // most once, on the calling thread, under the channel's lock (keep it fast; never call publish
  // from it); it may return a view of a string that it owns and that outlives the call.
  std::uint64_t publish_lazy(std::string_view channel,
                             const std::function<std::string_view()>& make_json);

  channel_position position(std::string_view channel) const;
  const std::string& epoch() const noexcept;

  // Open WebSocket + SSE connections, and the number closed for being too slow (1008).
  std::size_t connection_count() const noexcept;
  std::uint64_t slow_closes() const noexcept;

  // Closes every connection (1001 going away). Also done by the server's stop().
  void close_all();

 private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

}  // namespace eventshop::realtime
