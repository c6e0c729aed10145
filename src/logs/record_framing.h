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

// Patroni's log (`2026-12-04 05:30:08,123 INFO: message`): a record starts at a line with that
// timestamp prefix and runs until the next such line, so a traceback stays with its record. The last
// record can still grow; it is complete only when `final` (the file was renamed away, or nothing was
// appended for a while). Bytes before the first record start (the middle of a rotated record) form a
// record of their own, so they are not lost.
FramedRecords frame_patroni_records(std::string_view bytes, bool final);

// Whether a line starts a Patroni record: "YYYY-MM-DD HH:MM:SS,mmm LEVEL: ".
bool starts_patroni_record(std::string_view line);

// One Patroni record's parts; its timestamp as written (local time of the host, no zone).
struct PatroniRecord {
  std::string_view timestamp;  // "2026-12-04 05:30:08,123"
  std::string_view severity;   // INFO, WARNING, ERROR, ...
  std::string_view message;    // the rest, continuation lines included
};
PatroniRecord parse_patroni_record(std::string_view record);

}  // namespace pgstack::logs
