#include <gtest/gtest.h>

#include <cmath>

#include "eventshop/core/codec.hpp"
#include "eventshop/core/context.hpp"
#include "eventshop/core/registry.hpp"
#include "eventshop/ecommerce/events.hpp"

namespace test_events {

struct Line {
  std::string sku;
  int qty = 0;
};
EVENTSHOP_FIELDS(Line, sku, qty)

struct Parcel {
  EVENTSHOP_EVENT_TYPE("ParcelSent", 2);
  std::string id;
  std::vector<Line> lines;
  eventshop::money value;
  bool fragile = false;
  double weight_kg = 0;
  std::optional<std::string> note;
  eventshop::timestamp at{};
};
EVENTSHOP_FIELDS(Parcel, id, lines, value, fragile, weight_kg, note, at)

}  // namespace test_events

namespace eventshop {
namespace {

using test_events::Parcel;
using namespace eventshop::ecommerce;

std::string field_error(std::string_view json) {
  try {
    (void)decode_data<Parcel>(json);
  } catch (const error& e) {
    return e.what();
  }
  return "";
}

TEST(TypedEvent, EncodesFieldsInDeclarationOrder) {
  Parcel p{"p-1",
           {{"a", 2}, {"b", 1}},
           money{1999},
           true,
           1.5,
           std::nullopt,
           timestamp{std::chrono::milliseconds{1'795'428'000'123}}};
  EXPECT_EQ(encode_data(p),
            R"({"id":"p-1","lines":[{"sku":"a","qty":2},{"sku":"b","qty":1}],"value":19.99,)"
            R"("fragile":true,"weight_kg":1.5,"at":"2026-11-23T10:00:00.123Z"})");
  p.note = "handle with care";
  const Parcel back = decode_data<Parcel>(encode_data(p));
  EXPECT_EQ(back.id, "p-1");
  ASSERT_EQ(back.lines.size(), 2u);
  EXPECT_EQ(back.lines[1].sku, "b");
  EXPECT_EQ(back.value.cents, 1999);
  EXPECT_EQ(back.note, "handle with care");
  EXPECT_EQ(back.at, p.at);
}

TEST(TypedEvent, ErrorsNameTheFieldPath) {
  const std::string ok_tail =
      R"(,"value":1,"fragile":false,"weight_kg":0,"at":"2026-11-23T10:00:00Z"})";
  EXPECT_EQ(
      field_error(R"({"id":"x","lines":[{"sku":"a","qty":1},{"sku":"b","qty":"2"}])" + ok_tail),
      "data.lines[1].qty: expected an integer");
  EXPECT_EQ(field_error(R"({"lines":[])" + ok_tail), "data.id: is required");
  EXPECT_EQ(field_error(R"({"id":"x","lines":[{"qty":1}])" + ok_tail),
            "data.lines[0].sku: is required");
  EXPECT_EQ(field_error(R"({"id":"x","lines":{})" + ok_tail), "data.lines: expected an array");
  EXPECT_EQ(
      field_error(
          R"({"id":"x","lines":[],"value":1.999,"fragile":false,"weight_kg":0,"at":"2026-11-23T10:00:00Z"})"),
      "data.value: expected an amount with at most two decimals");
  EXPECT_EQ(
      field_error(
          R"({"id":"x","lines":[],"value":1,"fragile":1,"weight_kg":0,"at":"2026-11-23T10:00:00Z"})"),
      "data.fragile: expected a boolean");
  EXPECT_EQ(
      field_error(R"({"id":"x","lines":[],"value":1,"fragile":true,"weight_kg":0,"at":"noon"})"),
      "data.at: expected an RFC 3339 timestamp");
  EXPECT_EQ(field_error(R"({"id":"x","lines":[{"sku":"a","qty":99999999999}])" + ok_tail),
            "data.lines[0].qty: integer out of range");
  EXPECT_NE(field_error("{not json"), "");
  EXPECT_EQ(field_error("[]"), "data: expected an object");
}

TEST(TypedEvent, UnknownFieldsAreIgnoredForForwardCompatibility) {
  const Parcel p = decode_data<Parcel>(
      R"({"id":"x","lines":[],"value":0,"fragile":false,"weight_kg":0,"at":"2026-11-23T10:00:00Z","added_later":{"x":1}})");
  EXPECT_EQ(p.id, "x");
}

TEST(JsonWriter, PlacesCommasAndColonsAtEveryNestingLevel) {
  json_writer w;
  w.begin_object();
  w.key("a");
  w.begin_array();
  w.begin_object();
  w.end_object();
  w.begin_array();
  w.end_array();
  w.int64(-7);
  w.uint64(18446744073709551615ull);
  w.number(59.98);
  w.number(3.0);
  w.number(1e21);
  w.boolean(true);
  w.null();
  w.raw(R"({"x":[1]})");
  w.cents(-5);
  w.string("q\"\n");
  w.end_array();
  w.key("k\u00e9y");
  w.begin_object();
  w.key("n");
  w.cents(5998);
  w.end_object();
  w.end_object();
  EXPECT_EQ(
      w.view(),
      R"({"a":[{},[],-7,18446744073709551615,59.98,3.0,1e21,true,null,{"x":[1]},-0.05,"q\"\n"],)"
      "\"k\u00e9y\":{\"n\":59.98}}");
  EXPECT_NO_THROW(json_document{w.view()});
  EXPECT_THROW(w.number(std::nan("")), error);
  w.clear();
  w.begin_array();
  w.string("again");
  w.end_array();
  EXPECT_EQ(w.view(), R"(["again"])");
  EXPECT_EQ(w.take(), R"(["again"])");
  EXPECT_EQ(w.view(), "");
  // Deeper than the writer's 64 levels of inline state: two elements at every level.
  std::string expected;
  for (int i = 0; i < 100; ++i) {
    w.begin_array();
    w.int64(i);
    expected += (i > 0 ? ",[" : "[") + std::to_string(i);
  }
  for (int i = 0; i < 100; ++i) {
    w.end_array();
    expected += "]";
    if (i < 99) {
      w.int64(i);
      expected += "," + std::to_string(i);
    }
  }
  EXPECT_EQ(w.view(), expected);
  EXPECT_NO_THROW(json_document{w.view()});
}

TEST(JsonDocument, ParsesEscapesUtf8AndLargeDocumentsAndRejectsWhatIsNotJson) {
  // Escapes are unescaped (the in-situ path), non-ASCII text is kept.
  const json_document doc(R"({"s":"a\"b\\c\u00e9\n","u":"日本","n":-12.5,"b":true})");
  EXPECT_EQ(doc.root()["s"].as_string(), "a\"b\\c\u00e9\n");
  EXPECT_EQ(doc.root()["u"].as_string(), "日本");
  // Larger than the document's inline buffer.
  std::string big = "[";
  for (int i = 0; i < 5000; ++i)
    big += (i ? "," : "") + std::to_string(i);
  big += "]";
  const json_document large(big);
  ASSERT_TRUE(large.root().is_array());
  EXPECT_EQ(large.root().size(), 5000u);
  // Invalid UTF-8, an embedded NUL, trailing garbage, truncation: all errors.
  for (const std::string& bad : {std::string("{\"s\":\"\xff\"}"), std::string("{\"a\":1}\0x", 9),
                                 std::string("{\"a\":1} x"), std::string("{\"a\":")}) {
    EXPECT_THROW(json_document{bad}, error) << bad;
  }
}

// A thread reuses the memory of its last destroyed document: documents parsed one after
// another (small, large, failed, nested, alive at the same time) never see each other's values.
TEST(JsonDocument, DocumentsParsedOneAfterAnotherAreIndependent) {
  std::string big = "[";
  for (int i = 0; i < 20000; ++i)
    big += (i ? "," : "") + std::string("\"v") + std::to_string(i) + "\"";
  big += "]";  // > 64 KiB of text and far beyond the inline pool
  for (int round = 0; round < 3; ++round) {
    {
      const json_document a(R"({"k":"first","n":1})");
      EXPECT_EQ(a.root()["k"].as_string(), "first");
    }
    {
      const json_document large(big);
      ASSERT_EQ(large.root().size(), 20000u);
      EXPECT_EQ(large.root().at(19999).as_string(), "v19999");
    }
    EXPECT_THROW(json_document{"{\"k\":"}, error);
    const json_document b(R"({"k":"second"})");
    {
      const json_document c(R"({"k":"third","n":3})");  // while b is alive
      EXPECT_EQ(c.root()["k"].as_string(), "third");
      EXPECT_TRUE(c.root()["n"].is_number());
    }
    EXPECT_EQ(b.root()["k"].as_string(), "second");
    EXPECT_FALSE(b.root()["n"].is_number());
    json_document moved = json_document(R"({"k":"moved"})");
    EXPECT_EQ(moved.root()["k"].as_string(), "moved");
  }
}

// The escaper looks at 8 bytes at a time: every byte that needs escaping is found at every
// position of a word, next to ASCII and to UTF-8 bytes, as a byte-by-byte escaper finds it.
// Calls f(s, len, pos) for every string of `len` (0..19) 'a's with one special character at
// `pos`: where an escaper that scans 8 bytes at a time can go wrong.
template <class F>
void for_each_string_with_a_special(F f) {
  const std::string specials[] = {"\"",   "\\",       "\n", "\x01", "\x1f", std::string(1, '\0'),
                                  "\x7f", "\xc3\xa9", " ",  "\xff"};
  for (std::size_t len = 0; len <= 19; ++len)
    for (std::size_t pos = 0; pos < std::max<std::size_t>(len, 1); ++pos)
      for (const auto& sp : specials) {
        std::string s(len, 'a');
        if (len > 0) s.replace(pos, 1, sp);
        f(s, len, pos);
      }
}

TEST(JsonString, EscapesExactlyWhatAByteByByteEscaperDoes) {
  const auto reference = [](std::string_view s) {
    std::string out = "\"";
    for (const char ch : s) {
      const auto c = static_cast<unsigned char>(ch);
      if (c == '"' || c == '\\') {
        out += '\\';
        out += ch;
      } else if (c == '\n') {
        out += "\\n";
      } else if (c == '\r') {
        out += "\\r";
      } else if (c == '\t') {
        out += "\\t";
      } else if (c == '\b') {
        out += "\\b";
      } else if (c == '\f') {
        out += "\\f";
      } else if (c < 0x20) {
        static constexpr char hex[] = "0123456789ABCDEF";
        out += "\\u00";
        out += hex[c >> 4];
        out += hex[c & 0xf];
      } else {
        out += ch;
      }
    }
    return out + "\"";
  };
  for_each_string_with_a_special([&](const std::string& s, std::size_t len, std::size_t pos) {
    std::string out = "prefix";
    append_json_string(out, s);
    EXPECT_EQ(out, "prefix" + reference(s)) << "len " << len << " pos " << pos;
  });
}

TEST(JsonWriter, KeysAndStringsAreEscapedAsAppendJsonStringDoes) {
  for_each_string_with_a_special([](const std::string& s, std::size_t len, std::size_t pos) {
    std::string quoted;
    append_json_string(quoted, s);
    json_writer w;
    w.begin_object();
    w.key(s);
    w.string(s);
    w.end_object();
    EXPECT_EQ(w.view(), "{" + quoted + ":" + quoted + "}") << "len " << len << " pos " << pos;
  });
}

TEST(JsonWriter, WritersOneAfterAnotherAndAtTheSameTimeAreIndependent) {
  // A thread reuses the state of its last writer: none of it may show in the next one.
  {
    json_writer left_open;
    left_open.begin_object();
    left_open.key("a");
    left_open.begin_array();
    left_open.int64(1);
  }
  json_writer a;
  json_writer b;  // alive at the same time as `a`
  a.begin_array();
  b.begin_object();
  a.string("x");
  b.key("k");
  b.int64(2);
  a.int64(3);
  a.end_array();
  b.end_object();
  EXPECT_EQ(a.view(), R"(["x",3])");
  EXPECT_EQ(b.view(), R"({"k":2})");
  const std::string taken = a.take();
  EXPECT_EQ(taken, R"(["x",3])");
  {
    json_writer c;
    c.string("after a taken text");
    EXPECT_EQ(c.view(), R"("after a taken text")");
  }
  EXPECT_EQ(encode_data(ecommerce::StockItem{"p", 2}), R"({"product_id":"p","quantity":2})");
  EXPECT_EQ(encode_data(ecommerce::StockItem{"q", 3}), R"({"product_id":"q","quantity":3})");
  EXPECT_EQ(taken, R"(["x",3])");
}

TEST(TypedEvent, MoneyIsExactInCents) {
  json_writer w;
  for (std::int64_t c : {0LL, 1LL, 5LL, 10LL, 99LL, 100LL, 5998LL, 199999LL, -250LL}) {
    w.clear();
    w.cents(c);
    json_document doc(w.view());
    std::int64_t back = 0;
    ASSERT_TRUE(doc.root().to_cents(back)) << w.view();
    EXPECT_EQ(back, c) << w.view();
  }
  EXPECT_EQ(money{5998}.to_string(), "59.98");
  EXPECT_EQ(money{5}.to_string(), "0.05");
  EXPECT_EQ((money{2999} * 3).cents, 8997);
}

TEST(Registry, UpcastsOldPayloadsStepByStep) {
  event_registry r;
  r.add<Parcel>();  // version 2
  r.add_upcaster("ParcelSent", 1, [](json_view v1, json_writer& out) {
    // v1 had "parcel_id" and no lines; v2 renamed it to "id" and added lines.
    out.begin_object();
    out.key("id");
    out.string(v1["parcel_id"].as_string());
    out.key("lines");
    out.begin_array();
    out.end_array();
    out.key("value");
    out.cents(0);
    out.key("fragile");
    out.boolean(false);
    out.key("weight_kg");
    out.number(0);
    out.key("at");
    out.string("2026-01-01T00:00:00.000Z");
    out.end_object();
  });
  envelope e = make_envelope("ParcelSent", 1, R"({"parcel_id":"old-7"})", {.source = "/test"});
  const Parcel p = decode_event<Parcel>(e, r);
  EXPECT_EQ(p.id, "old-7");
  EXPECT_NO_THROW(r.check(e));

  e.dataschemaversion = 3;
  try {
    (void)decode_event<Parcel>(e, r);
    FAIL();
  } catch (const error& err) {
    EXPECT_EQ(err.code(), make_error_code(errc::unsupported_version));
  }
}

TEST(Registry, MissingUpcasterAndUnknownTypeAreDistinctErrors) {
  event_registry r;
  r.add<Parcel>();
  envelope e = make_envelope("ParcelSent", 1, "{}", {.source = "/test"});
  try {
    (void)r.upcast(e);
    FAIL();
  } catch (const error& err) {
    EXPECT_EQ(err.code(), make_error_code(errc::unsupported_version));
    EXPECT_NE(std::string(err.what()).find("no upcaster"), std::string::npos);
  }
  e.type = "Nope";
  try {
    r.check(e);
    FAIL();
  } catch (const error& err) {
    EXPECT_EQ(err.code(), make_error_code(errc::unknown_event_type));
  }
  EXPECT_THROW(r.add("", 1), error);
  EXPECT_THROW(r.add("X", 0), error);
}

TEST(MakeEvent, FillsTheEnvelopeAndStartsAConversation) {
  manual_clock clk;
  const OrderCreated oc{"order-1",   "cust-1", {{"product-1", 2, money{2999}}}, money{5998}, "USD",
                        "product-1", 2};
  const envelope e =
      make_event(oc, {.source = "/eventshop/order", .subject = "order-1", .clk = &clk});
  EXPECT_TRUE(is_uuid(e.id));
  EXPECT_EQ(e.type, "OrderCreated");
  EXPECT_EQ(e.subject, "order-1");
  EXPECT_EQ(e.time, clk.now());
  EXPECT_EQ(e.correlationid, e.id);
  EXPECT_TRUE(e.causationid.empty());
  EXPECT_NO_THROW(validate(e));
  const OrderCreated back = decode_event<OrderCreated>(decode(encode(e)));
  EXPECT_EQ(back.total.cents, 5998);
  EXPECT_EQ(back.items.at(0).unit_price.cents, 2999);
  EXPECT_NE(e.data.find(R"("total":59.98)"), std::string::npos);
}

TEST(MakeEvent, InheritsCorrelationAndCausationFromTheContext) {
  context_scope scope(
      {.correlationid = "saga-1", .causationid = "evt-9", .traceparent = "00-t-s-01"});
  const envelope e = make_event(OrderCancelled{"o", "changed mind"},
                                {.source = "/eventshop/order", .subject = "o"});
  EXPECT_EQ(e.correlationid, "saga-1");
  EXPECT_EQ(e.causationid, "evt-9");
  EXPECT_EQ(e.traceparent, "00-t-s-01");
}

TEST(Catalog, EveryContractTypeIsRegisteredAndRoundTrips) {
  const auto& r = event_registry::global();
  for (const char* t :
       {"OrderCreated", "OrderCancellationRequested", "OrderCancelled", "OrderCancellationRejected",
        "InventoryConfirmed", "InventoryRejected", "InventoryReleased", "StockReplenished",
        "LowStockDetected", "PaymentCompleted", "PaymentFailed", "PaymentRefunded",
        "NotificationSent", "Shipped"})
    EXPECT_TRUE(r.contains(t)) << t;
  const Shipped s{"o-1", "TRK1A2B3C4D", "DHL", 3, timestamp{std::chrono::seconds{1'795'428'000}}};
  const envelope e = make_event(s, {.source = "/eventshop/shipping", .subject = "o-1"});
  EXPECT_NO_THROW(r.check(e));
  EXPECT_EQ(decode_event<Shipped>(e).tracking_number, "TRK1A2B3C4D");
  EXPECT_EQ(std::string(Shipped::topic), "shipping");
}

}  // namespace
}  // namespace eventshop
