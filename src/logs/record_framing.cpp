#include "logs/record_framing.h"

#include <algorithm>
#include <cctype>
#include <optional>

namespace pgstack::logs {

FramedRecords frame_csv_records(std::string_view bytes) {
  FramedRecords out;
  bool quoted = false;
  std::size_t start = 0;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    const char c = bytes[i];
    // A doubled quote inside quotes toggles twice: no separate escape handling is needed.
    if (c == '"') {
      quoted = !quoted;
    } else if (c == '\n' && !quoted) {
      out.records.push_back(bytes.substr(start, i - start));
      start = i + 1;
      out.consumed = start;
    }
  }
  return out;
}

namespace {

// Whether `text` starts with `shape`, where 'd' is any digit and every other character itself.
bool has_shape(std::string_view text, std::string_view shape) {
  if (text.size() < shape.size()) return false;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    const bool digit = std::isdigit(static_cast<unsigned char>(text[i])) != 0;
    if (shape[i] == 'd' ? !digit : text[i] != shape[i]) return false;
  }
  return true;
}

std::size_t skip_while(std::string_view text, std::size_t at, int (*accept)(int)) {
  while (at < text.size() && accept(static_cast<unsigned char>(text[at])) != 0) ++at;
  return at;
}

int is_zone_character(int c) { return std::isalnum(c) != 0 || c == '+' || c == '-' || c == ':' ? 1 : 0; }

constexpr std::string_view kPatroniShape = "dddd-dd-dd dd:dd:dd,ddd ";
constexpr std::string_view kDottedShape = "dddd-dd-dd dd:dd:dd.ddd ";
constexpr std::string_view kSpdlogShape = "[dddd-dd-dd dd:dd:dd.ddd] [";

// Where the parts of a record's first line are, or nothing when the line starts no record of `format`.
struct LineParts {
  std::size_t timestamp_begin = 0, timestamp_end = 0;
  std::size_t severity_begin = 0, severity_end = 0;
  std::size_t message_begin = 0;
};

std::optional<LineParts> line_parts(TextFormat format, std::string_view line) {
  LineParts parts;
  switch (format) {
    case TextFormat::kPatroni:
    case TextFormat::kPgbackrest: {
      // Patroni: "<ts> LEVEL: "; pgBackRest: "<ts> P00   LEVEL: ".
      const bool patroni = format == TextFormat::kPatroni;
      if (!has_shape(line, patroni ? kPatroniShape : kDottedShape)) return std::nullopt;
      parts.timestamp_end = 23;
      std::size_t at = 24;
      if (!patroni) {
        if (!has_shape(line.substr(at), "Pdd ")) return std::nullopt;
        at = skip_while(line, at + 4, [](int c) { return c == ' ' ? 1 : 0; });
      }
      parts.severity_begin = at;
      at = skip_while(line, at, [](int c) { return std::isupper(c); });
      if (at == parts.severity_begin || line.substr(at, 2) != ": ") return std::nullopt;
      parts.severity_end = at;
      parts.message_begin = at + 2;
      return parts;
    }
    case TextFormat::kPgbouncer: {
      // "<ts> ZONE [pid] LEVEL message"
      if (!has_shape(line, kDottedShape)) return std::nullopt;
      std::size_t at = skip_while(line, 24, is_zone_character);
      if (at == 24 || line.substr(at, 2) != " [") return std::nullopt;
      parts.timestamp_end = at;
      const std::size_t digits = skip_while(line, at + 2, [](int c) { return std::isdigit(c); });
      if (digits == at + 2 || line.substr(digits, 2) != "] ") return std::nullopt;
      parts.severity_begin = digits + 2;
      at = skip_while(line, parts.severity_begin, [](int c) { return std::isupper(c); });
      if (at == parts.severity_begin || (at < line.size() && line[at] != ' ')) return std::nullopt;
      parts.severity_end = at;
      parts.message_begin = std::min(at + 1, line.size());
      return parts;
    }
    case TextFormat::kSpdlog: {
      // "[<ts>] [level] message"
      if (!has_shape(line, kSpdlogShape)) return std::nullopt;
      parts.timestamp_begin = 1;
      parts.timestamp_end = 24;
      parts.severity_begin = kSpdlogShape.size();
      const std::size_t at = skip_while(line, parts.severity_begin, [](int c) { return std::islower(c); });
      if (at == parts.severity_begin || line.substr(at, 1) != "]") return std::nullopt;
      parts.severity_end = at;
      parts.message_begin = std::min(at + 2, line.size());
      return parts;
    }
  }
  return std::nullopt;
}

}  // namespace

bool starts_text_record(TextFormat format, std::string_view line) { return line_parts(format, line).has_value(); }

FramedRecords frame_text_records(TextFormat format, std::string_view bytes, bool final) {
  FramedRecords out;
  std::size_t record_start = 0;
  std::size_t line_start = 0;
  while (line_start < bytes.size()) {
    const std::size_t newline = bytes.find('\n', line_start);
    if (newline == std::string_view::npos) break;  // a line still being written
    if (line_start > record_start && starts_text_record(format, bytes.substr(line_start, newline - line_start))) {
      out.records.push_back(bytes.substr(record_start, line_start - 1 - record_start));
      record_start = line_start;
      out.consumed = record_start;
    }
    line_start = newline + 1;
  }
  // The last record is complete when the file is done with, up to its last whole line.
  if (final && line_start > record_start) {
    out.records.push_back(bytes.substr(record_start, line_start - 1 - record_start));
    out.consumed = line_start;
  }
  return out;
}

TextRecord parse_text_record(TextFormat format, std::string_view record) {
  TextRecord out;
  const auto parts = line_parts(format, record.substr(0, record.find('\n')));
  if (!parts) {
    out.message = record;
    return out;
  }
  out.timestamp = record.substr(parts->timestamp_begin, parts->timestamp_end - parts->timestamp_begin);
  out.zoned = format == TextFormat::kPgbouncer;
  out.severity = record.substr(parts->severity_begin, parts->severity_end - parts->severity_begin);
  out.message = record.substr(parts->message_begin);
  return out;
}

bool starts_patroni_record(std::string_view line) { return starts_text_record(TextFormat::kPatroni, line); }

FramedRecords frame_patroni_records(std::string_view bytes, bool final) {
  return frame_text_records(TextFormat::kPatroni, bytes, final);
}

PatroniRecord parse_patroni_record(std::string_view record) { return parse_text_record(TextFormat::kPatroni, record); }

}  // namespace pgstack::logs
