#include "common/network.h"

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

namespace pgstack {

Result<int> free_tcp_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return make_error(ErrorCode::kUnavailable, "cannot create a socket to find a free port");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof(address);
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0;
  ::close(fd);
  if (!ok) return make_error(ErrorCode::kUnavailable, "cannot find a free TCP port on 127.0.0.1");
  return static_cast<int>(ntohs(address.sin_port));
}

std::string utc_timestamp(std::chrono::system_clock::time_point when) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(when);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return buffer;
}

std::optional<std::chrono::sys_seconds> parse_utc_timestamp(std::string_view text) {
  int year = 0;
  unsigned month = 0;
  unsigned day = 0;
  int hour = 0;
  int minute = 0;
  int second = 0;
  int consumed = 0;
  const std::string copy(text);
  if (std::sscanf(copy.c_str(), "%4d-%2u-%2u%*1[Tt ]%2d:%2d:%2d%n", &year, &month, &day, &hour, &minute, &second,
                  &consumed) != 6)
    return std::nullopt;
  std::string_view rest = text.substr(static_cast<std::size_t>(consumed));
  if (!rest.empty() && rest.front() == '.') {
    rest.remove_prefix(1);
    while (!rest.empty() && std::isdigit(static_cast<unsigned char>(rest.front())) != 0) rest.remove_prefix(1);
  }
  std::chrono::minutes offset{0};
  if (rest == "Z" || rest == "z") {
    rest = {};
  } else if (rest.size() == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':') {
    const int offset_hours = std::atoi(std::string(rest.substr(1, 2)).c_str());
    const int offset_minutes = std::atoi(std::string(rest.substr(4, 2)).c_str());
    offset = std::chrono::minutes((rest[0] == '-' ? -1 : 1) * (offset_hours * 60 + offset_minutes));
    rest = {};
  }
  if (!rest.empty()) return std::nullopt;
  const std::chrono::year_month_day date{std::chrono::year{year}, std::chrono::month{month}, std::chrono::day{day}};
  if (!date.ok() || hour > 23 || minute > 59 || second > 60) return std::nullopt;
  return std::chrono::sys_seconds{std::chrono::sys_days{date}} + std::chrono::hours(hour) +
         std::chrono::minutes(minute) + std::chrono::seconds(second) - offset;
}

}  // namespace pgstack
