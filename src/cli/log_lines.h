// What `pgstack logs` asks and prints, pure (options in, a request path or text out) so it is
// unit-tested without a terminal, a controller or a store: the API request of the command's flags, one
// record as lines, colours by severity, and which records a follow poll has not shown yet.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "model/document.h"

namespace pgstack::cli {

// The logs endpoint's query parameters from the command's flags (empty values left out), as a path.
std::string logs_request_path(std::string_view namespace_name, std::string_view cluster,
                              const std::map<std::string, std::string>& parameters);

// Colours only for a terminal, and never with $NO_COLOR set (https://no-color.org), whatever its value.
bool use_log_colors(bool stdout_is_terminal, const char* no_color);

// One record of the API's items as
//   TIME MEMBER(ROLE) TYPE LEVEL [SQLSTATE] message
// with the message's further lines, and DETAIL, HINT, CONTEXT and QUERY when present, indented below.
// Control characters a log line may carry (escape sequences) are shown as ^X, never sent to the terminal.
// With `color`: the level (and for errors the line) in red, warnings in yellow, debug dimmed.
std::string format_log_record(const model::Json& item, bool color);

// A record's logTime (the API's RFC 3339 with milliseconds).
std::optional<std::chrono::system_clock::time_point> log_record_time(const model::Json& item);

// `-f`: each poll reads again the last `lookback` before the newest record shown, so a record that
// reaches the store a little after newer ones (a lagging shipper, Patroni's last line) is still shown;
// records already shown are recognised by their cursor and skipped. Nothing older than `floor` (the
// newest record of the first page, which was cut at --records) is shown.
class LogFollower {
 public:
  LogFollower(std::chrono::milliseconds lookback, std::chrono::system_clock::time_point floor)
      : lookback_(lookback), floor_(floor) {}
  // The items not shown yet and not older than the floor, in the order given; they count as shown from now on.
  std::vector<model::Json> unseen(const std::vector<model::Json>& items);
  // `from` of the next poll (RFC 3339, ms): lookback before the newest record shown, not before the floor.
  std::string poll_from() const;

 private:
  std::chrono::milliseconds lookback_;
  std::chrono::system_clock::time_point floor_;
  std::optional<std::chrono::system_clock::time_point> newest_;
  std::map<std::string, std::chrono::system_clock::time_point> shown_;  // cursor -> the record's time
};

}  // namespace pgstack::cli
