#include "logs/ship_plan.h"

#include <algorithm>
#include <cctype>
#include <tuple>

#include <fmt/format.h>

#include "common/strings.h"
#include "logs/log_store_plan.h"

namespace pgstack::logs {

std::string_view log_type_name(LogType type) {
  switch (type) {
    case LogType::kPostgres: return "postgres";
    case LogType::kPatroni: return "patroni";
    case LogType::kPgbouncer: return "pgbouncer";
    case LogType::kPgbackrest: return "pgbackrest";
    case LogType::kProxy: return "proxy";
    case LogType::kAgent: return "agent";
  }
  return "unknown";
}

std::optional<TextFormat> text_format(LogType type) {
  switch (type) {
    case LogType::kPostgres: return std::nullopt;
    case LogType::kPatroni: return TextFormat::kPatroni;
    case LogType::kPgbouncer: return TextFormat::kPgbouncer;
    case LogType::kPgbackrest: return TextFormat::kPgbackrest;
    case LogType::kProxy:
    case LogType::kAgent: return TextFormat::kSpdlog;
  }
  return std::nullopt;
}

std::string_view log_table_for(LogType type) {
  if (type == LogType::kPostgres) return kPostgresLogTable;
  return type == LogType::kPatroni ? kPatroniLogTable : kPgstackLogTable;
}

std::string_view copy_columns_for(LogType type) {
  if (type == LogType::kPostgres) return kCsvlogColumns;
  return type == LogType::kPatroni ? kPatroniColumns : kPgstackColumns;
}

namespace {

// The current file of a log that is rotated by renaming; nothing for logs rotated into new files.
std::optional<std::string_view> renamed_log_name(LogType type) {
  switch (type) {
    case LogType::kPatroni: return "patroni.log";
    case LogType::kPgbouncer: return "pgbouncer.log";
    case LogType::kProxy: return "proxy.log";
    case LogType::kAgent: return "agent.log";
    case LogType::kPostgres:
    case LogType::kPgbackrest: return std::nullopt;
  }
  return std::nullopt;
}

// patroni.log -> 0, patroni.log.3 -> 3; nothing for any other name.
std::optional<std::uint64_t> rotation_number(std::string_view base, std::string_view name) {
  if (name == base) return 0;
  if (!name.starts_with(base) || name.size() < base.size() + 2 || name[base.size()] != '.') return std::nullopt;
  const auto number = parse_unsigned(name.substr(base.size() + 1));
  if (!number || *number == 0) return std::nullopt;
  return *number;
}

}  // namespace

std::optional<std::uint64_t> renamed_log_number(LogType type, std::string_view name) {
  const auto base = renamed_log_name(type);
  if (!base) return std::nullopt;
  return rotation_number(*base, name);
}

bool is_log_file(LogType type, std::string_view name) {
  if (type == LogType::kPostgres) return name.size() > 4 && name.ends_with(".csv");
  if (type == LogType::kPgbackrest) return name.size() > 4 && name.ends_with(".log");
  return rotation_number(*renamed_log_name(type), name).has_value();
}

std::vector<LogFile> order_log_files(LogType type, std::vector<LogFile> files) {
  if (const auto base = renamed_log_name(type)) {
    std::sort(files.begin(), files.end(), [&](const LogFile& a, const LogFile& b) {
      return rotation_number(*base, a.name).value_or(0) > rotation_number(*base, b.name).value_or(0);
    });
  } else {
    std::sort(files.begin(), files.end(), [](const LogFile& a, const LogFile& b) {
      return std::tie(a.modified_ns, a.name) < std::tie(b.modified_ns, b.name);
    });
  }
  return files;
}

std::uint64_t head_bytes_for(std::uint64_t offset) { return std::min(offset, kHeadBytes); }

ResumePoint resume_point(const LogFile& file, const std::optional<IngestState>& state, std::string_view head_digest) {
  if (!state) return {0, ""};
  if (file.size < state->offset)
    return {0, fmt::format("{} is shorter ({} bytes) than its shipped offset {}: truncated, read again from 0",
                           file.name, file.size, state->offset)};
  if (state->head_bytes > 0 && head_digest != state->head_digest)
    return {0, fmt::format("{} begins differently from the file shipped with inode {}: a new file, read from 0",
                           file.name, file.inode)};
  return {state->offset, ""};
}

NextFile next_file(const std::vector<LogFile>& files, const std::vector<std::uint64_t>& offsets) {
  NextFile next;
  for (std::size_t i = 0; i < files.size() && i < offsets.size(); ++i) {
    if (files[i].size <= offsets[i]) continue;
    next.bytes_behind += files[i].size - offsets[i];
    if (!next.index) next.index = i;
  }
  return next;
}

bool file_is_finished(LogType type, const LogFile& file, bool newest, std::int64_t now_ns,
                      std::chrono::nanoseconds settle) {
  const bool quiet = now_ns - file.modified_ns >= settle.count();
  if (type == LogType::kPostgres) return !newest && quiet;
  const auto base = renamed_log_name(type);
  // The agent renames these and signals the writer (its own sink notices), which writes on to the renamed file
  // until it reopens.
  if (type == LogType::kPgbouncer || type == LogType::kProxy || type == LogType::kAgent) return quiet;
  return (base && file.name != *base) || quiet;
}

BatchDecision decide_batch(LogType type, std::string_view bytes, bool buffer_full, bool finished_and_at_end) {
  BatchDecision decision;
  const auto format = text_format(type);
  decision.framed = format ? frame_text_records(*format, bytes, finished_and_at_end) : frame_csv_records(bytes);
  if (!decision.framed.records.empty()) {
    decision.kind = BatchKind::kRecords;
  } else if (buffer_full) {
    decision.kind = BatchKind::kOversizedRecord;
  } else if (finished_and_at_end && !bytes.empty()) {
    const bool balanced = std::count(bytes.begin(), bytes.end(), '"') % 2 == 0;
    decision.kind = format || balanced ? BatchKind::kFinalTail : BatchKind::kBrokenTail;
  }
  return decision;
}

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// "2026-12-04 05:30:08.123 UTC," at the start of `text`: csvlog's first field (a zone name of letters, or an
// offset such as +01 or -0330).
bool starts_csvlog_timestamp(std::string_view text) {
  constexpr std::string_view kShape = "dddd-dd-dd dd:dd:dd.ddd ";
  if (text.size() < kShape.size() + 2) return false;
  for (std::size_t i = 0; i < kShape.size(); ++i) {
    if (kShape[i] == 'd' ? !is_digit(text[i]) : text[i] != kShape[i]) return false;
  }
  std::size_t i = kShape.size();
  const std::size_t zone_start = i;
  while (
      i < text.size() && i - zone_start < 8 &&
      (std::isalpha(static_cast<unsigned char>(text[i])) != 0 || is_digit(text[i]) || text[i] == '+' || text[i] == '-'))
    ++i;
  return i > zone_start && i < text.size() && text[i] == ',';
}

}  // namespace

std::optional<std::size_t> next_record_start(LogType type, std::string_view bytes) {
  const auto format = text_format(type);
  for (std::size_t at = 1; at < bytes.size(); ++at) {
    if (format) {
      if (bytes[at - 1] != '\n') continue;
      const auto end = bytes.find('\n', at);
      if (starts_text_record(*format, bytes.substr(at, end == std::string_view::npos ? end : end - at))) return at;
    } else if (is_digit(bytes[at]) && starts_csvlog_timestamp(bytes.substr(at))) {
      return at;
    }
  }
  return std::nullopt;
}

bool is_refused_content(std::string_view sqlstate) { return sqlstate.size() == 5 && sqlstate.substr(0, 2) == "22"; }

void append_valid_utf8(std::string_view bytes, std::string& out) {
  constexpr std::string_view kReplacement = "\xEF\xBF\xBD";
  out.reserve(out.size() + bytes.size());
  std::size_t i = 0;
  while (i < bytes.size()) {
    const auto lead = static_cast<unsigned char>(bytes[i]);
    if (lead < 0x80) {
      if (lead == 0) {
        out += kReplacement;
      } else {
        out += static_cast<char>(lead);
      }
      ++i;
      continue;
    }
    // Lengths and the range of the second byte by lead byte (RFC 3629): no overlongs, no surrogates,
    // nothing above U+10FFFF.
    std::size_t length = 0;
    unsigned char low = 0x80;
    unsigned char high = 0xBF;
    if (lead >= 0xC2 && lead <= 0xDF) {
      length = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      length = 3;
      if (lead == 0xE0) low = 0xA0;
      if (lead == 0xED) high = 0x9F;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      length = 4;
      if (lead == 0xF0) low = 0x90;
      if (lead == 0xF4) high = 0x8F;
    }
    std::size_t valid = length == 0 ? 0 : 1;
    while (valid > 0 && valid < length && i + valid < bytes.size()) {
      const auto next = static_cast<unsigned char>(bytes[i + valid]);
      if (next < (valid == 1 ? low : 0x80) || next > (valid == 1 ? high : 0xBF)) break;
      ++valid;
    }
    if (length > 0 && valid == length) {
      out.append(bytes.substr(i, length));
      i += length;
    } else {
      // One replacement for the longest bad prefix (at least the lead byte), as the Unicode standard advises.
      out += kReplacement;
      i += std::max<std::size_t>(valid, 1);
    }
  }
}

namespace {

void append_csv_field(std::string_view value, std::string& out) {
  out += '"';
  for (char c : value) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}

}  // namespace

namespace {

// Upper case, and the names Postgres and Patroni use: pgBackRest's WARN is WARNING.
std::string normalized_severity(std::string_view severity) {
  std::string out(severity);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (out == "WARN") out = "WARNING";
  return out;
}

}  // namespace

std::string text_csv_row(LogType type, const TextRecord& record, std::string_view fallback_time) {
  std::string row;
  if (record.timestamp.empty()) {
    append_csv_field(fallback_time, row);
  } else {
    // "05:30:08,123" -> "05:30:08.123": Postgres reads a fraction after a dot.
    std::string timestamp(record.timestamp);
    std::replace(timestamp.begin(), timestamp.end(), ',', '.');
    append_csv_field(timestamp, row);
  }
  row += ',';
  if (type != LogType::kPatroni) {
    append_csv_field(log_type_name(type), row);
    row += ',';
  }
  if (!record.severity.empty()) append_csv_field(normalized_severity(record.severity), row);  // nothing: NULL
  row += ',';
  append_csv_field(record.message, row);
  row += '\n';
  return row;
}

std::string patroni_csv_row(const PatroniRecord& record, std::string_view fallback_time) {
  return text_csv_row(LogType::kPatroni, record, fallback_time);
}

std::string truncation_marker(std::uint64_t record_bytes) {
  return fmt::format(" [pgstack: truncated, the record had {} bytes]", record_bytes);
}

std::string truncate_csv_record(std::string_view prefix, std::uint64_t record_bytes, std::size_t columns) {
  std::string out;
  std::size_t fields = 0;
  std::size_t i = 0;
  bool cut = false;
  while (i <= prefix.size() && fields < columns && !cut) {
    if (fields > 0) out += ',';
    ++fields;
    if (i < prefix.size() && prefix[i] == '"') {
      std::string value;
      std::size_t j = i + 1;
      bool closed = false;
      while (j < prefix.size()) {
        if (prefix[j] == '"') {
          if (j + 1 < prefix.size() && prefix[j + 1] == '"') {
            value += '"';
            j += 2;
            continue;
          }
          if (j + 1 == prefix.size()) break;  // a closing quote or half an escaped one: treat as cut
          closed = true;
          ++j;
          break;
        }
        value += prefix[j++];
      }
      if (!closed) {
        value += truncation_marker(record_bytes);
        cut = true;
      }
      append_csv_field(value, out);
      i = j;
    } else {
      const std::size_t comma = prefix.find(',', i);
      if (comma == std::string_view::npos) {
        // An unquoted field (a number, a time) that was cut would be wrong or unreadable: leave it empty.
        cut = i < prefix.size();
        i = prefix.size() + 1;
        continue;
      }
      out.append(prefix.substr(i, comma - i));
      i = comma;
    }
    if (i < prefix.size() && prefix[i] == ',') {
      ++i;
    } else if (!cut) {
      cut = true;  // the prefix ended right after a field
    }
  }
  while (fields < columns) {
    out += ',';
    ++fields;
  }
  out += '\n';
  return out;
}

std::string_view record_time(LogType type, std::string_view record) {
  if (const auto format = text_format(type)) return parse_text_record(*format, record).timestamp;
  const std::size_t comma = record.find(',');
  return comma == std::string_view::npos ? std::string_view() : record.substr(0, comma);
}

}  // namespace pgstack::logs
