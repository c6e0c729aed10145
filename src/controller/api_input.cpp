#include "controller/api_input.h"

#include <algorithm>
#include <array>

#include <fmt/format.h>

#include "common/strings.h"
#include "controller/api_reply.h"
#include "model/codec.h"

namespace pgstack::controller {
namespace {

constexpr std::size_t kMaxLabelLength = 63;
constexpr std::size_t kExcerptLength = 64;

// Well-formed UTF-8 (Unicode table 3-7): no overlong forms, no surrogates, nothing past U+10FFFF.
bool is_utf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    if (lead < 0x80) {
      ++i;
      continue;
    }
    std::size_t extra = 0;
    unsigned char low = 0x80;
    unsigned char high = 0xBF;
    if (lead >= 0xC2 && lead <= 0xDF) {
      extra = 1;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      extra = 2;
      if (lead == 0xE0) low = 0xA0;
      if (lead == 0xED) high = 0x9F;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      extra = 3;
      if (lead == 0xF0) low = 0x90;
      if (lead == 0xF4) high = 0x8F;
    } else {
      return false;
    }
    if (text.size() - i <= extra) return false;
    for (std::size_t k = 1; k <= extra; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if (next < (k == 1 ? low : 0x80) || next > (k == 1 ? high : 0xBF)) return false;
    }
    i += extra + 1;
  }
  return true;
}

// A short, printable-ASCII rendering of client input for a message: other bytes as \xNN, cut at 64.
std::string excerpt(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size() && i < kExcerptLength; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7F && c != '"' && c != '\\') {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("\\x{:02X}", c);
    }
  }
  if (text.size() > kExcerptLength) out += fmt::format("... ({} bytes)", text.size());
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decodes `text`; false at a '%' not followed by two hex digits.
bool percent_decode(std::string_view text, bool plus_is_space, std::string& out) {
  out.clear();
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%') {
      if (i + 2 >= text.size()) return false;
      const int high = hex_value(text[i + 1]);
      const int low = hex_value(text[i + 2]);
      if (high < 0 || low < 0) return false;
      out += static_cast<char>(high * 16 + low);
      i += 2;
    } else if (plus_is_space && text[i] == '+') {
      out += ' ';
    } else {
      out += text[i];
    }
  }
  return true;
}

bool has_control_bytes(std::string_view text) {
  for (const char c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) return true;
  }
  return false;
}

InputProblem bad_path(std::size_t index, std::string message) {
  return {400, "Invalid path", fmt::format("path segment {}", index), std::move(message)};
}

const std::map<std::string, std::vector<std::string>>& known_query_values() {
  // deleteLogs: a mistyped value must not delete a cluster while keeping its logs. dryRun: Kubernetes'
  // only value; a mistyped one must not write for real.
  static const std::map<std::string, std::vector<std::string>> known = {
      {"reveal", {"true", "false", "1", "0"}}, {"deleteLogs", {"true", "false", "1", "0"}}, {"dryRun", {"All"}}};
  return known;
}

}  // namespace

std::optional<InputProblem> split_path(std::string_view target, std::vector<std::string>& segments) {
  segments.clear();
  const std::string_view path = target.substr(0, target.find('?'));
  std::size_t index = 0;
  for (const auto& raw : split(path, '/')) {
    if (raw.empty()) continue;
    ++index;
    std::string segment;
    if (!percent_decode(raw, false, segment))
      return bad_path(index, fmt::format("\"{}\" has a '%' that is not followed by two hex digits "
                                         "(percent-encoding is %XX)",
                                         excerpt(raw)));
    if (segment == "." || segment == "..")
      return bad_path(index, fmt::format("\"{}\" is a relative segment; expected a name", excerpt(raw)));
    if (!is_utf8(segment) || has_control_bytes(segment))
      return bad_path(index,
                      fmt::format("\"{}\" decodes to control characters or bytes that are not UTF-8", excerpt(raw)));
    segments.push_back(std::move(segment));
  }
  return std::nullopt;
}

std::optional<InputProblem> parse_query(std::string_view target, std::map<std::string, std::string>& query) {
  query.clear();
  const auto question = target.find('?');
  if (question == std::string_view::npos) return std::nullopt;
  for (const auto& pair : split(target.substr(question + 1), '&')) {
    if (pair.empty()) continue;
    const auto equals = pair.find('=');
    std::string name;
    std::string value;
    const std::string_view raw_name = std::string_view(pair).substr(0, equals);
    const std::string_view raw_value =
        equals == std::string::npos ? std::string_view() : std::string_view(pair).substr(equals + 1);
    if (!percent_decode(raw_name, true, name) || !percent_decode(raw_value, true, value))
      return InputProblem{400, "Invalid query", fmt::format("query parameter \"{}\"", excerpt(raw_name)),
                          "has a '%' that is not followed by two hex digits (percent-encoding is %XX)"};
    if (known_query_values().count(name) > 0 && query.count(name) > 0)
      return InputProblem{400, "Invalid query", fmt::format("query parameter {}", name), "is given more than once"};
    query[name] = std::move(value);
  }
  return std::nullopt;
}

std::optional<InputProblem> check_query(const std::map<std::string, std::string>& query) {
  for (const auto& [name, values] : known_query_values()) {
    const auto given = query.find(name);
    if (given == query.end()) continue;
    if (std::find(values.begin(), values.end(), given->second) == values.end())
      return InputProblem{400, "Invalid query", fmt::format("query parameter {}", name),
                          fmt::format("\"{}\" is not a value of {}; expected one of: {}", excerpt(given->second), name,
                                      fmt::join(values, ", "))};
  }
  return std::nullopt;
}

bool is_dns1123_label(std::string_view text) {
  if (text.empty() || text.size() > kMaxLabelLength) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const bool alphanumeric = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!alphanumeric && !(c == '-' && i > 0 && i + 1 < text.size())) return false;
  }
  return true;
}

std::optional<InputProblem> check_route_names(std::string_view method, const std::string& ns, std::size_t ns_index,
                                              const std::string* name, std::size_t name_index) {
  constexpr std::string_view kLabel =
      "expected a DNS-1123 label: lower-case letters, digits and '-', starting and ending with a letter or digit, "
      "at most 63 characters";
  const bool listing = name == nullptr && method == "GET";
  if (!(listing && ns == "_all") && !is_dns1123_label(ns))
    return InputProblem{400, "Invalid path", fmt::format("path segment {} (namespace)", ns_index),
                        fmt::format("\"{}\" is not a namespace: {}{}", excerpt(ns), kLabel,
                                    listing ? ", or _all to list every namespace" : "")};
  if (name != nullptr && !is_dns1123_label(*name))
    return InputProblem{400, "Invalid path", fmt::format("path segment {} (name)", name_index),
                        fmt::format("\"{}\" is not a name: {}", excerpt(*name), kLabel)};
  return std::nullopt;
}

std::optional<InputProblem> check_content_type(const std::map<std::string, std::string>& headers,
                                               std::string_view body) {
  const auto header = headers.find("content-type");
  if (body.empty() || header == headers.end()) return std::nullopt;
  const std::string media_type = to_lower(trim(std::string_view(header->second).substr(0, header->second.find(';'))));
  static const std::array<std::string_view, 4> accepted = {"application/json", "application/yaml", "application/x-yaml",
                                                           "text/yaml"};
  if (media_type.empty() || std::find(accepted.begin(), accepted.end(), media_type) != accepted.end())
    return std::nullopt;
  return InputProblem{415, "Unsupported Media Type", "header Content-Type",
                      fmt::format("\"{}\" is not accepted; expected application/json, application/yaml, "
                                  "application/x-yaml or text/yaml (or no Content-Type)",
                                  excerpt(header->second))};
}

HttpReply problem_reply(const InputProblem& refused) {
  const std::string detail = fmt::format("{}: {}", refused.where, refused.message);
  return problem(refused.status, refused.title, detail,
                 model::Json::array({{{"path", refused.where}, {"message", refused.message}, {"text", detail}}}));
}

std::optional<InputProblem> check_request(const HttpRequest& request, std::vector<std::string>& segments) {
  const std::string& target = request.target.empty() ? request.path : request.target;
  if (auto refused = split_path(target, segments)) return refused;
  std::map<std::string, std::string> query;
  if (auto refused = parse_query(target, query)) return refused;
  if (auto refused = check_query(query)) return refused;
  return check_content_type(request.headers, request.body);
}

std::optional<InputProblem> parse_switchover_body(std::string_view body, std::string& candidate) {
  candidate.clear();
  if (trim(body).empty()) return std::nullopt;
  const InputProblem expected{422, "Invalid request body", "body",
                              "expected {\"candidate\": \"<member>\"} or an empty body"};
  auto loaded = model::load_documents(body, "request");
  if (loaded.diagnostics.has_errors() || loaded.documents.size() != 1) {
    InputProblem refused = expected;
    if (!loaded.diagnostics.items().empty()) refused.message += ": " + loaded.diagnostics.items().front().message;
    return refused;
  }
  const model::Json& document = loaded.documents[0].body;
  for (const auto& [key, value] : document.items()) {
    if (key != "candidate")
      return InputProblem{422, "Invalid request body", fmt::format("body field {}", excerpt(key)),
                          "unknown field; expected only candidate"};
  }
  if (document.contains("candidate")) {
    if (!document["candidate"].is_string())
      return InputProblem{422, "Invalid request body", "body field candidate", "expected a member name (a string)"};
    candidate = document["candidate"].get<std::string>();
  }
  return std::nullopt;
}

}  // namespace pgstack::controller
