#include "model/cron.h"

#include <array>
#include <charconv>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "common/strings.h"

namespace pgstack::model {
namespace {

struct FieldRange {
  const char* name;
  int low;
  int high;
  const std::array<const char*, 12>* names;  // names[i] is value low+i... (months from 1, weekdays from 0)
};

const std::array<const char*, 12> kMonthNames = {"jan", "feb", "mar", "apr", "may", "jun",
                                                 "jul", "aug", "sep", "oct", "nov", "dec"};
const std::array<const char*, 12> kWeekdayNames = {"sun", "mon", "tue", "wed", "thu", "fri", "sat", "", "", "", "", ""};

bool parse_value(std::string_view text, const FieldRange& range, int& value) {
  if (range.names != nullptr) {
    const std::string lowered = to_lower(text);
    for (std::size_t i = 0; i < range.names->size(); ++i) {
      if (lowered == (*range.names)[i] && lowered[0] != '\0') {
        value = static_cast<int>(i) + range.low;
        return true;
      }
    }
  }
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  return error == std::errc() && end == text.data() + text.size();
}

// At most `length` bytes of `text`, cut before a UTF-8 continuation byte so the message stays text.
std::string prefix_of(std::string_view text, std::size_t length) {
  if (text.size() <= length) return std::string(text);
  while (length > 0 && (static_cast<unsigned char>(text[length]) & 0xC0) == 0x80) --length;
  return std::string(text.substr(0, length)) + "...";
}

std::string shortened(std::string_view text) { return prefix_of(text, 20); }

// Sets bits [low..high] of one field; returns an error message or "".
std::string parse_field(std::string_view text, const FieldRange& range, std::vector<bool>& bits, bool& restricted) {
  restricted = text != "*";
  for (const auto& part : split(text, ',')) {
    std::string_view item = part;
    int step = 1;
    if (const auto slash = item.find('/'); slash != std::string_view::npos) {
      if (!parse_value(item.substr(slash + 1), FieldRange{range.name, 0, 0, nullptr}, step) || step < 1)
        return fmt::format("bad step in {} field \"{}\": expected a number from 1", range.name, shortened(text));
      item = item.substr(0, slash);
    }
    int first = range.low;
    int last = range.high;
    if (item != "*") {
      const auto dash = item.find('-');
      if (!parse_value(item.substr(0, dash), range, first))
        return fmt::format("bad {} \"{}\"", range.name, shortened(item));
      last = first;
      if (dash != std::string_view::npos && !parse_value(item.substr(dash + 1), range, last))
        return fmt::format("bad {} \"{}\"", range.name, shortened(item));
      // A single value with a step ("5/15") means "from 5 to the end".
      if (dash == std::string_view::npos && step > 1) last = range.high;
    }
    const int high = range.high == 6 ? 7 : range.high;  // weekday 7 is Sunday too
    if (first < range.low || last > high || first > last)
      return fmt::format("{} \"{}\" is outside {}-{}", range.name, shortened(item), range.low, range.high);
    // In steps of `step` without overflowing: a step past the range sets `first` alone.
    for (int value = first; value <= last; value = value > last - step ? last + 1 : value + step)
      bits[value == 7 && range.high == 6 ? 0 : value] = true;
  }
  return "";
}

}  // namespace

Result<CronSchedule> parse_cron(std::string_view expression) {
  constexpr std::size_t kMaxLength = 256;
  constexpr std::size_t kMaxQuoted = 80;
  std::string text = trim(expression);
  if (text == "@hourly")
    text = "0 * * * *";
  else if (text == "@daily" || text == "@midnight")
    text = "0 0 * * *";
  else if (text == "@weekly")
    text = "0 0 * * 0";
  else if (text == "@monthly")
    text = "0 0 1 * *";
  else if (text == "@yearly" || text == "@annually")
    text = "0 0 1 1 *";

  std::vector<std::string> fields;
  for (const auto& piece : split(text, ' ')) {
    if (!piece.empty()) fields.push_back(piece);
  }
  // A schedule is a short line: quote at most its start.
  const std::string quoted = expression.size() <= kMaxQuoted
                                 ? std::string(expression)
                                 : fmt::format("{} ({} bytes)", prefix_of(expression, kMaxQuoted), expression.size());
  const auto invalid = [&](const std::string& why) {
    return make_error(ErrorCode::kInvalidInput,
                      fmt::format("expected a 5-field cron schedule (minute hour day-of-month month day-of-week, "
                                  "e.g. \"0 5 * * *\"), got \"{}\": {}",
                                  quoted, why));
  };
  if (expression.size() > kMaxLength) return invalid(fmt::format("it is over {} bytes", kMaxLength));
  if (fields.size() != 5) return invalid(fmt::format("it has {} fields", fields.size()));

  const FieldRange ranges[5] = {{"minute", 0, 59, nullptr},
                                {"hour", 0, 23, nullptr},
                                {"day-of-month", 1, 31, nullptr},
                                {"month", 1, 12, &kMonthNames},
                                {"day-of-week", 0, 6, &kWeekdayNames}};
  CronSchedule schedule;
  for (int i = 0; i < 5; ++i) {
    std::vector<bool> bits(64, false);
    bool restricted = false;
    if (std::string why = parse_field(fields[i], ranges[i], bits, restricted); !why.empty()) return invalid(why);
    for (int value = 0; value < 64; ++value) {
      if (!bits[value]) continue;
      switch (i) {
        case 0: schedule.minutes.set(value); break;
        case 1: schedule.hours.set(value); break;
        case 2: schedule.days_of_month.set(value); break;
        case 3: schedule.months.set(value); break;
        case 4: schedule.days_of_week.set(value); break;
      }
    }
    if (i == 2) schedule.day_of_month_restricted = restricted;
    if (i == 4) schedule.day_of_week_restricted = restricted;
  }
  return schedule;
}

}  // namespace pgstack::model
