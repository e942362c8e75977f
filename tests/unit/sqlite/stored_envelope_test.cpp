// The canonical-form reader of stored envelopes must never accept what the strict decoder
// rejects, and must produce exactly the strict decoder's envelope when it accepts.
#include "stored_envelope.hpp"

#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "eventshop/core/codec.hpp"
#include "eventshop/core/error.hpp"
#include "eventshop/core/registry.hpp"

namespace eventshop::sqlite {
namespace {

envelope sample() {
  event_options o;
  o.source = "/eventshop/order";
  o.subject = "order-17";
  auto e = make_envelope(
      "OrderCreated", 2,
      R"({"order_id":"order-17","items":[{"product_id":"p-1","quantity":2,"unit_price":29.99}],"total":59.98,"note":null,"ok":true})",
      o);
  e.correlationid = "0190a0b1-0000-7000-8000-000000000001";
  e.causationid = "req-9";
  e.traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  e.extensions["tenant"] = "acme";
  e.extensions["zone"] = "eu1";
  return e;
}

// Accepts only when the strict decoder accepts, with the same result.
void expect_agrees(const std::string& json, bool expect_fast) {
  envelope fast;
  const bool accepted = detail::decode_canonical(json, fast);
  EXPECT_EQ(accepted, expect_fast) << json;
  if (!accepted) return;
  envelope strict;
  std::string problem;
  ASSERT_FALSE(decode(json, strict, problem)) << problem << "\n" << json;
  EXPECT_EQ(fast, strict) << json;
}

TEST(SqliteStoredEnvelope, ReadsWhatEncodeWrites) {
  expect_agrees(encode(sample()), true);
  auto minimal = sample();
  minimal.subject.clear();
  minimal.correlationid.clear();
  minimal.causationid.clear();
  minimal.traceparent.clear();
  minimal.extensions.clear();
  minimal.data = "{}";
  expect_agrees(encode(minimal), true);
  auto only_trace = minimal;
  only_trace.traceparent = "00-1-2-01";
  expect_agrees(encode(only_trace), true);
  auto unicode_data = sample();
  unicode_data.data = R"({"name":"caf\u00e9 \"x\"","raw":"déjà vu","n":[1,2.5e3,-0.1]})";
  expect_agrees(encode(unicode_data), false);  // raw UTF-8: validated by the strict decoder
  auto rich = sample();
  rich.data = R"({"s":"a\"b\\c\/d\n\u00e9\t","n":-0.5e+3,"z":0,"a":[true,false,null,{},[]],)"
              R"("o":{ "k" : [ 1 , 2 ] }})";
  expect_agrees(encode(rich), true);
}

TEST(SqliteStoredEnvelope, LeavesEscapedOrUnusualInputToTheStrictDecoder) {
  auto quoted = sample();
  quoted.subject = "order \"17\"";  // escaped by encode()
  expect_agrees(encode(quoted), false);
  auto accented = sample();
  accented.source = "/eventshop/caf\xc3\xa9";  // non-ASCII attribute
  expect_agrees(encode(accented), false);
  const std::string canonical = encode(sample());
  expect_agrees(" " + canonical, false);   // whitespace
  expect_agrees(canonical + "\n", false);  // trailing
  auto surrogates = sample();
  surrogates.data = R"({"emoji":"\ud83d\ude00"})";  // pairs are checked by the strict decoder
  expect_agrees(encode(surrogates), false);
  auto raw_utf8 = sample();
  raw_utf8.data = "{\"name\":\"caf\xc3\xa9\"}";  // UTF-8 validation: the strict decoder
  expect_agrees(encode(raw_utf8), false);
  auto deep = sample();
  deep.data = "{\"a\":" + std::string(300, '[') + std::string(300, ']') + "}";
  expect_agrees(encode(deep), false);
  expect_agrees(R"({"id":"x","specversion":"1.0","source":"s","type":"t","time":)"
                R"("2026-11-23T10:00:00.123Z","data":{}})",
                false);  // another attribute order (valid, but not canonical)
}

TEST(SqliteStoredEnvelope, RejectsWhatTheStrictDecoderRejects) {
  const std::string head = R"({"specversion":"1.0","id":"e1","source":"/s","type":"T",)";
  const std::string time = R"("time":"2026-11-23T10:00:00.123Z",)";
  const std::string ct = R"("datacontenttype":"application/json","dataschemaversion":1,)";
  const std::string ok = head + time + ct + R"("data":{"a":1}})";
  expect_agrees(ok, true);
  for (const std::string& bad : std::vector<std::string>{
           head + R"("time":"yesterday",)" + ct + R"("data":{}})",
           head + time + R"("datacontenttype":"text/plain","dataschemaversion":1,"data":{}})",
           head + time + R"("datacontenttype":"application/json","dataschemaversion":0,"data":{}})",
           head + time + ct + R"("data":{"a":}})",
           head + time + ct + R"("data":{"a":1}x})",
           head + time + ct + R"("data":[1]})",
           head + time + ct + R"("data":{"a":"\x01"}})",
           head + time + ct + R"("Bad":"x","data":{}})",
           head + time + ct + R"("subject":"x","data":{}})",
           head + time + ct + R"("ext":"a","ext":"b","data":{}})",
           R"({"specversion":"1.0","id":"","source":"/s","type":"T",)" + time + ct +
               R"("data":{}})",
           head + time + ct + R"("data":{"a":"caf)" + std::string("\xc3\x28") + R"("}})",
           head + time + ct + R"("data":{"a":1})",
           head + time + ct + R"("data":{"a":01}})",
           head + time + ct + R"("data":{"a":1.}})",
           head + time + ct + R"("data":{"a":-}})",
           head + time + ct + R"("data":{"a":1e}})",
           head + time + ct + R"("data":{"a":"\x"}})",
           head + time + ct + R"("data":{"a":"\u12"}})",
           head + time + ct + R"("data":{"a":tru}})",
           head + time + ct + R"("data":{"a":[1,]}})",
           head + time + ct + R"("data":{"a":1,}})",
           head + time + ct + R"("data":{a:1}})",
           head + time + ct + R"("data":{"a":"\ud800"}})",
       }) {
    envelope e;
    EXPECT_FALSE(detail::decode_canonical(bad, e)) << bad;
  }
}

// The bus's own encoder writes what the strict decoder reads back unchanged, for any text in the
// attributes (escapes, control characters, UTF-8), and the fast reader takes the plain cases.
TEST(SqliteStoredEnvelope, StoredFormRoundTripsThroughBothDecoders) {
  std::mt19937 rng(777);
  const std::string pieces[] = {"a",    "Z",    "9",    "-",           "/",
                                " ",    "\"",   "\\",   "\n",          "\t",
                                "\x01", "\x1f", "\x7f", "caf\xc3\xa9", "\xe2\x82\xac",
                                "{",    "}",    ":"};
  bool plain = false;  // only the first six pieces: no escapes, ASCII
  auto text = [&](std::size_t max) {
    std::string t;
    for (std::size_t n = rng() % (max + 1); n > 0; --n)
      t += pieces[rng() % (plain ? 6 : std::size(pieces))];
    return t;
  };
  int fast = 0;
  for (int i = 0; i < 3000; ++i) {
    plain = i % 4 == 0;
    auto e = sample();
    e.time = std::chrono::time_point_cast<std::chrono::milliseconds>(e.time);  // the wire's unit
    e.id = "id-" + text(6);
    e.source = "/s" + text(6);
    e.type = "T" + text(4);
    e.subject = text(8);
    e.correlationid = text(5);
    e.causationid = text(5);
    e.traceparent = i % 3 ? "" : text(5);
    e.extensions.clear();
    if (i % 2) e.extensions["ext" + std::to_string(i % 7)] = text(6);
    e.data = "{\"v\":" + std::to_string(i) + "}";
    std::string stored;
    encode_to(stored, e);
    envelope back;
    std::string problem;
    ASSERT_FALSE(decode(stored, back, problem)) << problem << "\n" << stored;
    ASSERT_EQ(back, e) << stored;
    envelope quick;
    if (detail::decode_canonical(stored, quick)) {
      ++fast;
      ASSERT_EQ(quick, e) << stored;
    }
  }
  EXPECT_GT(fast, 100);
  std::string out = "keep";
  auto bad = sample();
  bad.data = "[1]";
  EXPECT_THROW(encode_to(out, bad), error);
  auto big = sample();
  big.data = "{\"x\":\"" + std::string(2000, 'x') + "\"}";
  EXPECT_THROW(encode_to(out, big, codec_limits{.max_envelope_bytes = 1000}), error);
  EXPECT_EQ(out, "keep");  // nothing appended on error
}

// Random corruption of canonical envelopes: whatever the fast reader accepts, the strict decoder
// accepts too, with the same result.
TEST(SqliteStoredEnvelope, NeverAcceptsMoreThanTheStrictDecoder) {
  std::mt19937 rng(12345);
  auto rich = sample();
  rich.data = R"({"s":"a\"b\\c\/d\n\u00e9","n":-0.5e+3,"a":[true,false,null,{},[1,2]],"z":0})";
  const std::string bases[] = {encode(sample()), encode(rich)};
  const std::string alphabet = "{}[]\":,\\ 0159a-+.eEutfn\x01\xc3\x80";
  int accepted = 0;
  for (int i = 0; i < 40'000; ++i) {
    std::string s = bases[i % 2];
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int k = 0; k < edits; ++k) {
      const auto pos = rng() % s.size();
      switch (rng() % 3) {
        case 0:
          s[pos] = alphabet[rng() % alphabet.size()];
          break;
        case 1:
          s.erase(pos, 1);
          break;
        default:
          s.insert(pos, 1, alphabet[rng() % alphabet.size()]);
      }
    }
    envelope fast;
    if (!detail::decode_canonical(s, fast)) continue;
    ++accepted;
    envelope strict;
    std::string problem;
    ASSERT_FALSE(decode(s, strict, problem)) << problem << "\n" << s;
    ASSERT_EQ(fast, strict) << s;
  }
  EXPECT_GT(accepted, 100);  // the property was exercised, not vacuously true
}

}  // namespace
}  // namespace eventshop::sqlite
