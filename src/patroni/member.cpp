#include "patroni/member.h"

#include <charconv>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/strings.h"
#include "model/lsn.h"

namespace pgstack::patroni {
namespace {

std::optional<std::uint64_t> json_lsn(const nlohmann::json& value) {
  if (value.is_number_unsigned()) return value.get<std::uint64_t>();
  if (value.is_number_integer() && value.get<std::int64_t>() >= 0) return value.get<std::uint64_t>();
  if (value.is_string()) return parse_lsn(value.get<std::string>());
  return std::nullopt;
}

std::string text_of(const nlohmann::json& object, const char* field) {
  const auto found = object.find(field);
  return found != object.end() && found->is_string() ? found->get<std::string>() : std::string();
}

}  // namespace

// Patroni writes WAL positions as integers; Postgres' "X/Y" text is read by model's one LSN parser.
std::optional<std::uint64_t> parse_lsn(std::string_view text) {
  if (auto number = parse_unsigned(text)) return number;
  return model::parse_lsn(text);
}

Result<Member> parse_member(std::string_view name, std::string_view json_text) {
  const auto json = nlohmann::json::parse(json_text, nullptr, false);
  if (json.is_discarded() || !json.is_object())
    return make_error(ErrorCode::kInvalidInput, fmt::format("member {}: the value is not a JSON object", name));
  Member member;
  member.name = std::string(name);
  member.role = text_of(json, "role");
  member.state = text_of(json, "state");
  member.api_url = text_of(json, "api_url");
  member.conn_url = text_of(json, "conn_url");
  if (const auto timeline = json.find("timeline"); timeline != json.end() && timeline->is_number_integer())
    member.timeline = timeline->get<std::int64_t>();
  if (const auto location = json.find("xlog_location"); location != json.end())
    member.xlog_location = json_lsn(*location);
  if (const auto pending = json.find("pending_restart"); pending != json.end() && pending->is_boolean())
    member.pending_restart = pending->get<bool>();
  return member;
}

Result<std::pair<std::string, int>> conn_url_address(const std::string& url) {
  const auto scheme = url.find("://");
  if (scheme == std::string::npos) return make_error(ErrorCode::kInvalidInput, "conn_url \"" + url + "\": no scheme");
  const std::string rest = url.substr(scheme + 3);
  const std::string authority = rest.substr(0, rest.find('/'));
  const auto colon = authority.rfind(':');
  if (colon == std::string::npos) return make_error(ErrorCode::kInvalidInput, "conn_url \"" + url + "\": no port");
  std::string host = authority.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  const std::string port_text = authority.substr(colon + 1);
  int port = 0;
  const auto [end, failure] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (failure != std::errc() || end != port_text.data() + port_text.size() || port <= 0 || port > 65535)
    return make_error(ErrorCode::kInvalidInput, "conn_url \"" + url + "\": bad port");
  return std::make_pair(host, port);
}

}  // namespace pgstack::patroni
