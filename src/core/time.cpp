#include "eventshop/core/time.hpp"

#include "eventshop/core/clock.hpp"

namespace eventshop {
namespace {

// Howard Hinnant's civil-from-days and days-from-civil: exact, branch-light, no time zone DB.
struct civil {
  int year;
  unsigned month, day;
};

constexpr civil civil_from_days(long long z) {
  z += 719468;
  const long long era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const long long y = static_cast<long long>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {static_cast<int>(y + (m <= 2)), m, d};
}

constexpr long long days_from_civil(int y, unsigned m, unsigned d) {
  y -= m <= 2;
  const long long era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<long long>(doe) - 719468;
}

void put2(char* p, unsigned v) {
  p[0] = static_cast<char>('0' + v / 10);
  p[1] = static_cast<char>('0' + v % 10);
}

bool digits(std::string_view s, size_t pos, size_t n, unsigned& out) {
  if (pos + n > s.size()) return false;
  unsigned v = 0;
  for (size_t i = 0; i < n; ++i) {
    const char c = s[pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  out = v;
  return true;
}

}  // namespace

clock& clock::system() {
  struct system_clock_source final : clock {
    time_point now() const override { return std::chrono::system_clock::now(); }
    steady_point steady_now() const override { return std::chrono::steady_clock::now(); }
  };
  static system_clock_source instance;
  return instance;
}

void append_rfc3339(std::string& out, timestamp t) {
  char buf[24];
  write_rfc3339(buf, t);
  out.append(buf, sizeof buf);
}

void write_rfc3339(char* buf, timestamp t) noexcept {
  using namespace std::chrono;
  const long long ms = duration_cast<milliseconds>(t.time_since_epoch()).count();
  long long days = ms / 86'400'000;
  long long rem = ms % 86'400'000;
  if (rem < 0) {
    rem += 86'400'000;
    --days;
  }
  const civil c = civil_from_days(days);
  const unsigned y = static_cast<unsigned>(c.year < 0 ? 0 : c.year % 10000);
  buf[0] = static_cast<char>('0' + y / 1000);
  buf[1] = static_cast<char>('0' + y / 100 % 10);
  buf[2] = static_cast<char>('0' + y / 10 % 10);
  buf[3] = static_cast<char>('0' + y % 10);
  buf[4] = '-';
  put2(buf + 5, c.month);
  buf[7] = '-';
  put2(buf + 8, c.day);
  buf[10] = 'T';
  const auto r = static_cast<unsigned>(rem);
  put2(buf + 11, r / 3'600'000);
  buf[13] = ':';
  put2(buf + 14, r / 60'000 % 60);
  buf[16] = ':';
  put2(buf + 17, r / 1000 % 60);
  buf[19] = '.';
  const unsigned milli = r % 1000;
  buf[20] = static_cast<char>('0' + milli / 100);
  put2(buf + 21, milli % 100);
  buf[23] = 'Z';
}

std::string format_rfc3339(timestamp t) {
  std::string s;
  s.reserve(24);
  append_rfc3339(s, t);
  return s;
}

std::optional<timestamp> parse_rfc3339(std::string_view s) {
  unsigned year, month, day, hour, minute, second;
  if (!digits(s, 0, 4, year) || s.size() < 20 || s[4] != '-' || !digits(s, 5, 2, month) ||
      s[7] != '-' || !digits(s, 8, 2, day) || (s[10] != 'T' && s[10] != 't') ||
      !digits(s, 11, 2, hour) || s[13] != ':' || !digits(s, 14, 2, minute) || s[16] != ':' ||
      !digits(s, 17, 2, second))
    return std::nullopt;
  static constexpr unsigned month_days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month < 1 || month > 12 || day < 1 || day > month_days[month - 1] || hour > 23 ||
      minute > 59 || second > 60)
    return std::nullopt;
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  if (month == 2 && day == 29 && !leap) return std::nullopt;
  size_t pos = 19;
  long long nanos = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    size_t n = 0;
    long long scale = 100'000'000;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      nanos += (s[pos] - '0') * scale;
      scale /= 10;
      ++pos;
      ++n;
    }
    if (n == 0) return std::nullopt;
  }
  if (pos >= s.size()) return std::nullopt;
  long long offset_minutes = 0;
  if (s[pos] == 'Z' || s[pos] == 'z') {
    ++pos;
  } else if (s[pos] == '+' || s[pos] == '-') {
    unsigned oh, om;
    if (!digits(s, pos + 1, 2, oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !digits(s, pos + 4, 2, om) || oh > 23 || om > 59)
      return std::nullopt;
    offset_minutes = (s[pos] == '+' ? 1 : -1) * static_cast<long long>(oh * 60 + om);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  const long long days = days_from_civil(static_cast<int>(year), month, day);
  const long long secs =
      days * 86400 + hour * 3600 + minute * 60 + (second > 59 ? 59 : second) - offset_minutes * 60;
  using namespace std::chrono;
  return timestamp{duration_cast<system_clock::duration>(seconds{secs} + nanoseconds{nanos})};
}

}  // namespace eventshop
