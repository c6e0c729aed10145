// One member as Patroni publishes it under <cluster prefix>members/<name> (dcs.h): its role and state,
// where its Postgres and REST API listen, its timeline and WAL position.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "common/error.h"

namespace pgstack::patroni {

struct Member {
  std::string name;
  std::string role;      // roles.h: master/primary, replica, sync_standby, standby_leader, ...
  std::string state;     // running, streaming, starting, stopped, crashed, ...
  std::string api_url;   // http(s)://host:port/patroni (rest.h)
  std::string conn_url;  // postgres://host:port/postgres
  std::int64_t timeline = 0;
  std::optional<std::uint64_t> xlog_location;  // the WAL position Patroni last saw
  bool pending_restart = false;
};

// kInvalidInput when the value is not a JSON object; missing fields stay empty.
Result<Member> parse_member(std::string_view name, std::string_view json_text);

// Where a member's Postgres listens, from its conn_url ("postgres://host:port/db"; IPv6 hosts come
// bracketed and are returned without the brackets). kInvalidInput naming the URL otherwise.
Result<std::pair<std::string, int>> conn_url_address(const std::string& conn_url);

// A WAL position as Patroni or Postgres writes it: an integer ("50331968") or "X/Y" in hexadecimal.
std::optional<std::uint64_t> parse_lsn(std::string_view text);

}  // namespace pgstack::patroni
