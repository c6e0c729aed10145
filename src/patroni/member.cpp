#include "patroni/member.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

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

std::optional<std::uint64_t> parse_lsn(std::string_view text) {
  const auto slash = text.find('/');
  auto parse = [](std::string_view digits, int base) -> std::optional<std::uint64_t> {
    if (digits.empty() || digits.size() > 20) return std::nullopt;
    std::uint64_t value = 0;
    for (const char c : digits) {
      int digit = -1;
      if (c >= '0' && c <= '9')
        digit = c - '0';
      else if (base == 16 && c >= 'a' && c <= 'f')
        digit = c - 'a' + 10;
      else if (base == 16 && c >= 'A' && c <= 'F')
        digit = c - 'A' + 10;
      if (digit < 0 || digit >= base) return std::nullopt;
      value = value * base + digit;
    }
    return value;
  };
  if (slash == std::string_view::npos) return parse(text, 10);
  const auto high = parse(text.substr(0, slash), 16);
  const auto low = parse(text.substr(slash + 1), 16);
  if (!high || !low || *high > 0xffffffffULL || *low > 0xffffffffULL) return std::nullopt;
  return (*high << 32) | *low;
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

}  // namespace pgstack::patroni
