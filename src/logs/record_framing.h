// Where one log record ends and the next begins, in bytes read from a log file (pure, no I/O). The
// shipper reads from its last committed offset, which is always a record boundary, so framing needs
// no state beyond the buffer: it reports the complete records and how many bytes they take; the rest
// is read again, with more bytes, next time.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

namespace pgstack::logs {

struct FramedRecords {
  std::vector<std::string_view> records;  // each without its final newline
  std::size_t consumed = 0;               // bytes of `records`, newlines included; the rest is a partial record
};

// Postgres csvlog: a record ends at a newline outside double quotes ("" is an escaped quote inside
// them), so a query with newlines stays one record. A record with no newline yet is left for later.
FramedRecords frame_csv_records(std::string_view bytes);

// Logs of text lines that start with a timestamp: a record starts at a line of its format and runs until
// the next such line, so a traceback or a multi-line message stays with its record.
//   kPatroni     `2026-12-04 05:30:08,123 INFO: message` (local time, no zone)
//   kPgbouncer   `2026-12-04 05:30:08.123 UTC [1234] LOG message` (with its zone)
//   kPgbackrest  `2026-12-04 05:30:08.123 P00   INFO: message` (local time, no zone)
//   kSpdlog      `[2026-12-04 05:30:08.123] [info] message` (pgstack-proxy; local time, no zone)
enum class TextFormat { kPatroni, kPgbouncer, kPgbackrest, kSpdlog };

bool starts_text_record(TextFormat format, std::string_view line);

// The last record can still grow; it is complete only when `final` (the file was renamed away, or
// nothing was appended for a while). Bytes before the first record start (the middle of a rotated
// record) form a record of their own, so they are not lost.
FramedRecords frame_text_records(TextFormat format, std::string_view bytes, bool final);

// One record's parts, as written.
struct TextRecord {
  std::string_view timestamp;  // "2026-12-04 05:30:08,123"; empty for bytes that start no record
  bool zoned = false;          // the timestamp names its zone (PgBouncer's); otherwise it is local time
  std::string_view severity;   // INFO, WARNING, LOG, info, WARN, ... (text_csv_row normalizes)
  std::string_view message;    // the rest, continuation lines included
};
TextRecord parse_text_record(TextFormat format, std::string_view record);

// Patroni's, as above (kept for the shipper's tests and callers that only know Patroni).
using PatroniRecord = TextRecord;
FramedRecords frame_patroni_records(std::string_view bytes, bool final);
bool starts_patroni_record(std::string_view line);
PatroniRecord parse_patroni_record(std::string_view record);

}  // namespace pgstack::logs
