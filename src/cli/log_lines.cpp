#include "cli/log_lines.h"

#include <fmt/format.h>

#include "cli/api_client.h"
#include "common/time.h"

namespace pgstack::cli {
namespace {

using model::Json;
using WallClock = std::chrono::system_clock;

constexpr std::string_view kRed = "\033[31m";
constexpr std::string_view kBoldRed = "\033[1;31m";
constexpr std::string_view kYellow = "\033[33m";
constexpr std::string_view kDim = "\033[2m";
constexpr std::string_view kReset = "\033[0m";

std::string field(const Json& item, const char* name) {
  const auto found = item.find(name);
  if (found == item.end() || !found->is_string()) return {};
  return found->get<std::string>();
}

// Printable text: control characters but tab become ^X (ESC is ^[), so a log line cannot drive the terminal.
std::string printable(std::string_view text) {
  std::string out;
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte == '\t' || (byte >= 0x20 && byte != 0x7f)) {
      out += c;
    } else {
      out += '^';
      out += static_cast<char>(byte == 0x7f ? '?' : byte + 0x40);
    }
  }
  return out;
}

std::vector<std::string_view> lines_of(std::string_view text) {
  std::vector<std::string_view> lines;
  for (;;) {
    const auto end = text.find('\n');
    lines.push_back(text.substr(0, end));
    if (end == std::string_view::npos) return lines;
    text.remove_prefix(end + 1);
  }
}

enum class Tone { kPlain, kError, kWarning, kDebug };

Tone tone_of(std::string_view level) {
  if (level == "ERROR" || level == "FATAL" || level == "PANIC" || level == "CRITICAL") return Tone::kError;
  if (level == "WARNING" || level == "WARN") return Tone::kWarning;
  if (level.starts_with("DEBUG")) return Tone::kDebug;
  return Tone::kPlain;
}

// "2026-12-05T05:59:59.500Z" (the API's form) to a time point with its milliseconds.
std::optional<WallClock::time_point> parse_log_time(std::string_view text) {
  if (text.size() < 20) return std::nullopt;
  const auto seconds = parse_utc_timestamp(std::string(text.substr(0, 19)) + "Z");
  if (!seconds) return std::nullopt;
  int milliseconds = 0;
  if (text.size() >= 24 && text[19] == '.') {
    for (std::size_t i = 20; i < 23; ++i) {
      if (text[i] < '0' || text[i] > '9') return std::nullopt;
      milliseconds = milliseconds * 10 + (text[i] - '0');
    }
  }
  return WallClock::time_point(*seconds) + std::chrono::milliseconds(milliseconds);
}

std::string format_log_time(WallClock::time_point time) {
  const auto ms = std::chrono::floor<std::chrono::milliseconds>(time);
  return utc_timestamp(ms).substr(0, 19) +
         fmt::format(".{:03}Z", (ms.time_since_epoch() % std::chrono::seconds(1)).count());
}

}  // namespace

std::string logs_request_path(std::string_view namespace_name, std::string_view cluster,
                              const std::map<std::string, std::string>& parameters) {
  std::string path = fmt::format("/apis/pgstack.io/v1/namespaces/{}/sgclusters/{}/logs", percent_encode(namespace_name),
                                 percent_encode(cluster));
  char separator = '?';
  for (const auto& [name, value] : parameters) {
    if (value.empty()) continue;
    path += separator + name + "=" + percent_encode(value);
    separator = '&';
  }
  return path;
}

bool use_log_colors(bool stdout_is_terminal, const char* no_color) { return stdout_is_terminal && no_color == nullptr; }

std::string format_log_record(const Json& item, bool color) {
  const std::string level = field(item, "errorLevel");
  const std::string role = field(item, "role");
  const std::string sql_state = field(item, "sqlState");
  const Tone tone = tone_of(level);
  const auto paint = [color](std::string_view code, const std::string& text) {
    return color && !code.empty() ? std::string(code) + text + std::string(kReset) : text;
  };
  const std::string_view level_color = tone == Tone::kError     ? kBoldRed
                                       : tone == Tone::kWarning ? kYellow
                                       : tone == Tone::kDebug   ? kDim
                                                                : std::string_view();
  // An error's message in red too: the eye finds it in a page of LOG lines.
  const std::string_view message_color = tone == Tone::kError ? kRed : tone == Tone::kDebug ? kDim : std::string_view();
  std::string level_text = printable(level.empty() ? "-" : level);
  if (!sql_state.empty() && (tone == Tone::kError || tone == Tone::kWarning))
    level_text += " [" + printable(sql_state) + "]";
  std::string out = fmt::format("{} {}{} {} {} ", paint(kDim, printable(field(item, "logTime"))),
                                printable(field(item, "podName")), role.empty() ? "" : "(" + printable(role) + ")",
                                printable(field(item, "logType")), paint(level_color, level_text));
  const std::string indent = "    ";
  bool first = true;
  const std::string message = field(item, "message");  // lines_of keeps views into it
  for (const auto line : lines_of(message)) {
    out += (first ? std::string() : indent) + paint(message_color, printable(line)) + "\n";
    first = false;
  }
  for (const auto& [name, label] : {std::pair{"detail", "DETAIL:  "}, std::pair{"hint", "HINT:  "},
                                    std::pair{"context", "CONTEXT:  "}, std::pair{"query", "QUERY:  "}}) {
    const std::string value = field(item, name);
    if (value.empty()) continue;
    first = true;
    for (const auto line : lines_of(value)) {
      out += indent + (first ? std::string(label) : std::string("  ")) + printable(line) + "\n";
      first = false;
    }
  }
  return out;
}

std::optional<WallClock::time_point> log_record_time(const Json& item) {
  return parse_log_time(field(item, "logTime"));
}

std::vector<Json> LogFollower::unseen(const std::vector<Json>& items) {
  std::vector<Json> fresh;
  for (const auto& item : items) {
    const std::string cursor = field(item, "cursor");
    const auto time = log_record_time(item);
    if (cursor.empty() || !time || *time < floor_ || shown_.count(cursor) > 0) continue;
    shown_[cursor] = *time;
    if (!newest_ || *time > *newest_) newest_ = *time;
    fresh.push_back(item);
  }
  // What is older than the window of the next poll will not come again.
  if (newest_) std::erase_if(shown_, [&](const auto& entry) { return entry.second < *newest_ - lookback_; });
  return fresh;
}

std::string LogFollower::poll_from() const {
  if (!newest_) return format_log_time(floor_);
  return format_log_time(std::max(floor_, *newest_ - lookback_));
}

}  // namespace pgstack::cli
