#include "frame.hpp"

#include <boost/beast/websocket/detail/hybi13.hpp>

namespace eventshop::realtime::ws {

std::string header(opcode op, std::size_t size) {
  std::string h;
  h.push_back(static_cast<char>(0x80 | op));
  if (size < 126) {
    h.push_back(static_cast<char>(size));
  } else if (size <= 0xFFFF) {
    h.push_back(static_cast<char>(126));
    h.push_back(static_cast<char>((size >> 8) & 0xFF));
    h.push_back(static_cast<char>(size & 0xFF));
  } else {
    h.push_back(static_cast<char>(127));
    for (int i = 7; i >= 0; --i)
      h.push_back(static_cast<char>((static_cast<std::uint64_t>(size) >> (8 * i)) & 0xFF));
  }
  return h;
}

std::string encode(opcode op, std::string_view payload) {
  std::string f = header(op, payload.size());
  f.append(payload);
  return f;
}

std::string close_frame(std::uint16_t code, std::string_view reason) {
  std::string payload;
  payload.push_back(static_cast<char>(code >> 8));
  payload.push_back(static_cast<char>(code & 0xFF));
  payload.append(reason.substr(0, 123));
  return encode(op_close, payload);
}

decoded decode(std::string_view buf, std::size_t max_payload) {
  decoded d;
  if (buf.size() < 2) return d;
  auto b0 = static_cast<std::uint8_t>(buf[0]);
  auto b1 = static_cast<std::uint8_t>(buf[1]);
  auto fail = [&](const char* why) {
    d.st = decoded::status::protocol_error;
    d.error = why;
    return d;
  };
  if (b0 & 0x70) return fail("reserved bits set (no extension was negotiated)");
  d.fin = (b0 & 0x80) != 0;
  std::uint8_t op = b0 & 0x0F;
  if (op != op_continuation && op != op_text && op != op_binary && op != op_close &&
      op != op_ping && op != op_pong) {
    return fail("unknown opcode");
  }
  d.op = static_cast<opcode>(op);
  if (!(b1 & 0x80)) return fail("client frames must be masked");
  std::uint64_t len = b1 & 0x7F;
  std::size_t pos = 2;
  if (len == 126) {
    if (buf.size() < 4) return d;
    len = (static_cast<std::uint64_t>(static_cast<std::uint8_t>(buf[2])) << 8) |
          static_cast<std::uint8_t>(buf[3]);
    pos = 4;
  } else if (len == 127) {
    if (buf.size() < 10) return d;
    len = 0;
    for (int i = 0; i < 8; ++i)
      len = (len << 8) | static_cast<std::uint8_t>(buf[2 + i]);
    pos = 10;
  }
  if (op >= 0x8) {
    if (!d.fin) return fail("fragmented control frame");
    if (len > 125) return fail("control frame payload over 125 bytes");
  } else if (len > max_payload) {
    d.st = decoded::status::too_big;
    return d;
  }
  if (buf.size() < pos + 4) return d;
  const char* mask = buf.data() + pos;
  pos += 4;
  if (buf.size() - pos < len) return d;
  d.payload.assign(buf.data() + pos, len);
  for (std::size_t i = 0; i < len; ++i)
    d.payload[i] = static_cast<char>(d.payload[i] ^ mask[i % 4]);
  d.consumed = pos + len;
  d.st = decoded::status::frame;
  return d;
}

std::string accept_key(std::string_view key) {
  if (key.size() != 24) return {};
  boost::beast::websocket::detail::sec_ws_accept_type out;
  boost::beast::websocket::detail::make_sec_ws_accept(
      out, boost::beast::string_view(key.data(), key.size()));
  return std::string(out.data(), out.size());
}

}  // namespace eventshop::realtime::ws
