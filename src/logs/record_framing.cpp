#include "logs/record_framing.h"

#include <cctype>

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

bool starts_patroni_record(std::string_view line) {
  // "2026-12-04 05:30:08,123 " is 24 characters; a level and ": " follow.
  constexpr std::string_view kShape = "dddd-dd-dd dd:dd:dd,ddd ";
  if (line.size() < kShape.size() + 3) return false;
  for (std::size_t i = 0; i < kShape.size(); ++i) {
    const bool digit = std::isdigit(static_cast<unsigned char>(line[i])) != 0;
    if (kShape[i] == 'd' ? !digit : line[i] != kShape[i]) return false;
  }
  std::size_t i = kShape.size();
  const std::size_t level_start = i;
  while (i < line.size() && std::isupper(static_cast<unsigned char>(line[i])) != 0) ++i;
  return i > level_start && line.substr(i, 2) == ": ";
}

FramedRecords frame_patroni_records(std::string_view bytes, bool final) {
  FramedRecords out;
  std::size_t record_start = 0;
  std::size_t line_start = 0;
  while (line_start < bytes.size()) {
    const std::size_t newline = bytes.find('\n', line_start);
    if (newline == std::string_view::npos) break;  // a line still being written
    if (line_start > record_start && starts_patroni_record(bytes.substr(line_start, newline - line_start))) {
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

PatroniRecord parse_patroni_record(std::string_view record) {
  PatroniRecord out;
  const std::size_t first_line_end = record.find('\n');
  if (!starts_patroni_record(record.substr(0, first_line_end))) {
    out.message = record;
    return out;
  }
  out.timestamp = record.substr(0, 23);
  const std::size_t colon = record.find(": ", 24);
  out.severity = record.substr(24, colon - 24);
  out.message = record.substr(colon + 2);
  return out;
}

}  // namespace pgstack::logs
