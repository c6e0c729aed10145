#include "logs/log_shipper.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <map>
#include <optional>
#include <unistd.h>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <sys/stat.h>

#include "common/digest.h"
#include "common/strings.h"
#include "logs/log_store_plan.h"

namespace pgstack::logs {
namespace {

using postgres::quote_literal;

// Closes a file descriptor when it goes out of scope.
class ShipperFile {
 public:
  explicit ShipperFile(int fd) : fd_(fd) {}
  ~ShipperFile() {
    if (fd_ >= 0) ::close(fd_);
  }
  ShipperFile(const ShipperFile&) = delete;
  ShipperFile& operator=(const ShipperFile&) = delete;
  int fd() const { return fd_; }

 private:
  int fd_;
};

Error shipper_io_error(const std::string& what, const std::filesystem::path& path) {
  return make_error(ErrorCode::kUnavailable, fmt::format("{} {}: {}", what, path.string(), std::strerror(errno)));
}

// Up to `length` bytes at `offset` (fewer at the end of the file).
Result<std::string> read_at(int fd, std::uint64_t offset, std::size_t length, const std::filesystem::path& path) {
  std::string bytes(length, '\0');
  std::size_t got = 0;
  while (got < length) {
    const ssize_t n = ::pread(fd, bytes.data() + got, length - got, static_cast<off_t>(offset + got));
    if (n < 0) {
      if (errno == EINTR) continue;
      return shipper_io_error("cannot read", path);
    }
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  bytes.resize(got);
  return bytes;
}

Result<std::vector<LogFile>> list_log_files(LogType type, const std::filesystem::path& directory) {
  std::error_code error;
  std::filesystem::directory_iterator entries(directory, error);
  if (error)
    return make_error(ErrorCode::kNotFound,
                      fmt::format("log directory {} cannot be listed: {}", directory.string(), error.message()));
  std::vector<LogFile> files;
  for (const auto& entry : entries) {
    const std::string name = entry.path().filename().string();
    if (!is_log_file(type, name)) continue;
    struct stat info {};
    if (::stat(entry.path().c_str(), &info) != 0 || !S_ISREG(info.st_mode)) continue;  // gone since listed
    files.push_back(LogFile{name, static_cast<std::uint64_t>(info.st_dev), static_cast<std::uint64_t>(info.st_ino),
                            static_cast<std::uint64_t>(info.st_size),
                            static_cast<std::int64_t>(info.st_mtim.tv_sec) * 1000000000 + info.st_mtim.tv_nsec});
  }
  return files;
}

// Where the record starting at `from` ends (the start of the next one), scanning without keeping the
// bytes; nothing while it may still grow.
Result<std::optional<std::uint64_t>> find_record_end(int fd, LogType type, std::uint64_t from, std::uint64_t size,
                                                     bool final, const std::filesystem::path& path) {
  constexpr std::size_t kChunk = 1 << 20;
  const auto format = text_format(type);
  bool quoted = false;
  for (std::uint64_t at = from; at < size; at += kChunk) {
    ASSIGN_OR_RETURN(const std::string chunk, read_at(fd, at, kChunk, path));
    for (std::size_t i = 0; i < chunk.size(); ++i) {
      const char c = chunk[i];
      if (!format) {
        if (c == '"') quoted = !quoted;
        if (c == '\n' && !quoted) return std::optional<std::uint64_t>(at + i + 1);
      } else if (c == '\n' && at + i + 1 > from + 1) {
        ASSIGN_OR_RETURN(const std::string line, read_at(fd, at + i + 1, 64, path));
        if (starts_text_record(*format, line)) return std::optional<std::uint64_t>(at + i + 1);
      }
    }
    if (chunk.size() < kChunk) break;
  }
  if (final) return std::optional<std::uint64_t>(size);
  return std::optional<std::uint64_t>();
}

std::string utc_time_of(std::int64_t nanoseconds) {
  const std::time_t seconds = static_cast<std::time_t>(nanoseconds / 1000000000);
  std::tm parts{};
  gmtime_r(&seconds, &parts);
  char text[40];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S+00", &parts);
  return text;
}

}  // namespace

std::string local_time_zone_name() {
  if (const char* tz = std::getenv("TZ"); tz != nullptr && *tz != '\0') return tz[0] == ':' ? tz + 1 : tz;
  std::error_code error;
  const auto target = std::filesystem::read_symlink("/etc/localtime", error);
  if (!error) {
    const std::string text = target.string();
    const auto at = text.find("zoneinfo/");
    if (at != std::string::npos) return text.substr(at + 9);
  }
  return "UTC";
}

LogShipper::LogShipper(ShipperSettings settings) : settings_(std::move(settings)) {
  time_zone_ = settings_.local_time_zone.empty() ? local_time_zone_name() : settings_.local_time_zone;
  if (settings_.store.application_name == "pgstack") settings_.store.application_name = "pgstack-log-shipper";
  if (settings_.store.dead_server_timeout.count() == 0) settings_.store.dead_server_timeout = std::chrono::seconds(30);
}

LogShipper::~LogShipper() = default;

Result<bool> LogShipper::ensure_session() {
  if (session_) return true;
  ASSIGN_OR_RETURN(session_, postgres::PostgresSession::connect(settings_.store));
  return true;
}

Result<ShipOutcome> LogShipper::ship_once() {
  auto outcome = ship_next();
  if (!outcome.ok()) {
    // The transaction dies with the connection; the next call reconnects and reads the state again.
    session_.reset();
    ++status_.errors_total;
    status_.last_error = outcome.error().message;
    return outcome.error();
  }
  status_.last_error.clear();
  status_.last_success = std::chrono::system_clock::now();
  status_.bytes_behind = outcome->bytes_behind;
  if (outcome->shipped) {
    ++status_.batches_total;
    status_.records_total += outcome->records;
    if (!outcome->last_record_time.empty()) status_.last_record_time = outcome->last_record_time;
  }
  status_.bytes_skipped_total += outcome->bytes_skipped;
  return outcome;
}

Result<std::uint64_t> LogShipper::ship_all() {
  std::uint64_t batches = 0;
  while (true) {
    ASSIGN_OR_RETURN(const ShipOutcome outcome, ship_once());
    if (!outcome.shipped) return batches;
    ++batches;
  }
}

Result<ShipOutcome> LogShipper::ship_next() {
  const LogType type = settings_.type;
  if (settings_.current_role) settings_.source.role = settings_.current_role();
  const LogSource& source = settings_.source;
  const std::string type_name(log_type_name(type));
  if (cluster_logs_deleted_) {
    ShipOutcome outcome;
    outcome.cluster_logs_deleted = true;
    return outcome;
  }
  RETURN_IF_ERROR(ensure_session());
  ASSIGN_OR_RETURN(std::vector<LogFile> listed, list_log_files(type, settings_.directory));
  const std::vector<LogFile> files = order_log_files(type, std::move(listed));

  ASSIGN_OR_RETURN(const postgres::Rows rows,
                   session_->query(fmt::format("SELECT device, inode, offset_bytes, head_bytes, head_digest "
                                               "FROM log_ingest_state WHERE namespace = {} AND cluster = {} AND "
                                               "instance = {} AND log_type = {}",
                                               quote_literal(source.namespace_name), quote_literal(source.cluster),
                                               quote_literal(source.instance), quote_literal(type_name))));
  std::map<std::pair<std::uint64_t, std::uint64_t>, IngestState> states;
  for (const auto& row : rows) {
    IngestState state;
    state.device = static_cast<std::uint64_t>(std::stoll(row[0]));
    state.inode = static_cast<std::uint64_t>(std::stoll(row[1]));
    state.offset = std::stoull(row[2]);
    state.head_bytes = std::stoull(row[3]);
    state.head_digest = row[4];
    states[{state.device, state.inode}] = state;
  }

  // Where each file stands; the oldest with bytes left is shipped from.
  std::vector<std::optional<IngestState>> file_states(files.size());
  std::vector<ResumePoint> resumes(files.size());
  std::vector<std::uint64_t> offsets(files.size());
  for (std::size_t i = 0; i < files.size(); ++i) {
    const LogFile& file = files[i];
    if (auto found = states.find({file.device, file.inode}); found != states.end()) file_states[i] = found->second;
    std::string head_digest;
    if (file_states[i] && file_states[i]->head_bytes > 0) {
      const auto path = settings_.directory / file.name;
      ShipperFile handle(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
      struct stat opened {};
      if (handle.fd() < 0 || ::fstat(handle.fd(), &opened) != 0 ||
          static_cast<std::uint64_t>(opened.st_ino) != file.inode ||
          static_cast<std::uint64_t>(opened.st_dev) != file.device) {
        offsets[i] = file.size;  // renamed or gone since listed: the next call sees it where it is now
        continue;
      }
      ASSIGN_OR_RETURN(const std::string head, read_at(handle.fd(), 0, file_states[i]->head_bytes, path));
      head_digest = sha256_hex(head);
    }
    resumes[i] = resume_point(file, file_states[i], head_digest);
    offsets[i] = resumes[i].offset;
  }
  const NextFile next = next_file(files, offsets);
  const std::uint64_t behind = next.bytes_behind;
  ShipOutcome outcome;
  outcome.bytes_behind = behind;
  for (std::size_t i = 0; i < files.size(); ++i) outcome.shipped_bytes[files[i].name] = offsets[i];
  if (!next.index) return outcome;

  const std::size_t index = *next.index;
  const LogFile& listed_file = files[index];
  const std::uint64_t offset = offsets[index];
  const auto path = settings_.directory / listed_file.name;
  ShipperFile handle(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (handle.fd() < 0) return shipper_io_error("cannot open", path);
  struct stat now_info {};
  if (::fstat(handle.fd(), &now_info) != 0) return shipper_io_error("cannot stat", path);
  // Renamed or replaced since it was listed: the next call sees the new layout.
  if (static_cast<std::uint64_t>(now_info.st_ino) != listed_file.inode ||
      static_cast<std::uint64_t>(now_info.st_dev) != listed_file.device)
    return outcome;
  LogFile file = listed_file;
  file.size = static_cast<std::uint64_t>(now_info.st_size);
  file.modified_ns = static_cast<std::int64_t>(now_info.st_mtim.tv_sec) * 1000000000 + now_info.st_mtim.tv_nsec;
  const std::uint64_t size = file.size;
  if (size <= offset) return outcome;
  const auto now_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  const bool final = file_is_finished(type, file, index + 1 == files.size(), now_ns, settings_.settle);

  const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(settings_.batch_bytes, size - offset));
  ASSIGN_OR_RETURN(const std::string bytes, read_at(handle.fd(), offset, want, path));
  const bool at_end = offset + bytes.size() >= size;
  const BatchDecision decision = decide_batch(type, bytes, bytes.size() == settings_.batch_bytes, final && at_end);
  FramedRecords framed = decision.framed;
  std::string notice = resumes[index].why;
  // A batch the store refused at this very place is being narrowed down (ship_once); anywhere else it is over.
  const bool narrowing =
      refusal_ && refusal_->device == file.device && refusal_->inode == file.inode && refusal_->offset == offset;
  if (refusal_ && !narrowing) refusal_.reset();
  std::optional<std::size_t> skip;
  if (narrowing && refusal_->records_limit == 0) {
    skip = next_record_start(type, bytes);
    if (!skip && ((final && at_end) || bytes.size() == settings_.batch_bytes)) skip = bytes.size();
    if (!skip) return outcome;  // where the next record begins is not written yet
  } else if (narrowing && decision.kind == BatchKind::kRecords && framed.records.size() > refusal_->records_limit) {
    framed.consumed = static_cast<std::size_t>(framed.records[refusal_->records_limit].data() - bytes.data());
    framed.records.resize(refusal_->records_limit);
  }
  std::string data;  // the COPY input
  std::uint64_t records = 0;
  std::uint64_t consumed = framed.consumed;
  std::string last_time;
  const std::string fallback_time = utc_time_of(file.modified_ns);
  const auto format = text_format(type);
  const auto add_text_record = [&](std::string_view record) {
    std::string valid;
    append_valid_utf8(record, valid);
    const TextRecord parsed = parse_text_record(*format, valid);
    data += text_csv_row(type, parsed, fallback_time);
    last_time = std::string(parsed.timestamp);
  };
  if (skip) {
    consumed = *skip;
    outcome.bytes_skipped = *skip;
    notice = fmt::format("{}: skipped {} bytes at offset {}: the store refused them even as one record ({})", file.name,
                         *skip, offset, refusal_->error);
  } else if (decision.kind == BatchKind::kRecords) {
    records = framed.records.size();
    if (!format) {
      append_valid_utf8(std::string_view(bytes).substr(0, consumed), data);
    } else {
      for (std::string_view record : framed.records) add_text_record(record);
    }
    last_time = std::string(record_time(type, framed.records.back()));
  } else if (decision.kind == BatchKind::kOversizedRecord) {
    // One record larger than a batch: stored cut, so the shipper moves on.
    ASSIGN_OR_RETURN(const auto end, find_record_end(handle.fd(), type, offset, size, final, path));
    if (!end) return outcome;  // still being written
    const std::uint64_t record_bytes = *end - offset;
    std::string valid;
    append_valid_utf8(bytes, valid);
    if (!format) {
      data = truncate_csv_record(valid, record_bytes);
      last_time = std::string(record_time(type, valid));
    } else {
      TextRecord parsed = parse_text_record(*format, valid);
      const std::string message = std::string(parsed.message) + truncation_marker(record_bytes);
      parsed.message = message;
      data = text_csv_row(type, parsed, fallback_time);
      last_time = std::string(parsed.timestamp);
    }
    records = 1;
    consumed = record_bytes;
    notice = fmt::format("{}: a record of {} bytes at offset {} was stored cut to {} bytes", file.name, record_bytes,
                         offset, bytes.size());
  } else if (decision.kind == BatchKind::kFinalTail) {
    // A finished file's last record without its newline.
    if (format) {
      add_text_record(bytes);
    } else {
      append_valid_utf8(bytes, data);
      data += '\n';
      last_time = std::string(record_time(type, bytes));
    }
    records = 1;
    consumed = bytes.size();
  } else if (decision.kind == BatchKind::kBrokenTail) {
    // Cut inside quotes: every later quote reads the wrong way round, so what follows is framed again from
    // the next record's start.
    consumed = next_record_start(type, bytes).value_or(bytes.size());
    outcome.bytes_skipped = consumed;
    notice = fmt::format("{}: skipped {} bytes at offset {}, a csvlog record cut inside quotes in a finished file",
                         file.name, consumed, offset);
  } else {
    return outcome;  // a record still being written
  }

  // One transaction: the rows and the offset they end at, or neither.
  const std::uint64_t new_offset = offset + consumed;
  const std::uint64_t head_bytes = head_bytes_for(new_offset);
  std::string head = bytes.substr(0, static_cast<std::size_t>(std::min<std::uint64_t>(head_bytes, bytes.size())));
  if (offset != 0) {
    ASSIGN_OR_RETURN(head, read_at(handle.fd(), 0, head_bytes, path));
  }
  // One round trip. The LOCK is held to the commit: a deletion of the cluster's logs (render_delete_cluster_logs)
  // waits for this batch, and a batch that begins during one waits at the LOCK, then sees the deletion's mark
  // in the last SELECT, a statement of its own whose snapshot is taken after the lock is granted.
  std::string begin = fmt::format(
      "BEGIN; LOCK TABLE log_deleted_clusters IN ACCESS SHARE MODE; SELECT set_config('pgstack.namespace', {}, "
      "true), set_config('pgstack.cluster', {}, true), set_config('pgstack.instance', {}, true), "
      "set_config('pgstack.role', {}, true), set_config('statement_timeout', '60s', true)",
      quote_literal(source.namespace_name), quote_literal(source.cluster), quote_literal(source.instance),
      quote_literal(source.role));
  if (format) begin += fmt::format("; SELECT set_config('TimeZone', {}, true)", quote_literal(time_zone_));
  begin += fmt::format(
      "; SELECT EXISTS (SELECT 1 FROM log_deleted_clusters WHERE namespace = {} AND cluster = {} AND uid = {})",
      quote_literal(source.namespace_name), quote_literal(source.cluster), quote_literal(source.cluster_uid));
  ASSIGN_OR_RETURN(const postgres::Rows deleted, session_->query(begin));
  if (!deleted.empty() && !deleted.front().empty() && deleted.front()[0] == "t") {
    RETURN_IF_ERROR(session_->query("ROLLBACK"));
    cluster_logs_deleted_ = true;
    outcome = ShipOutcome{};
    outcome.cluster_logs_deleted = true;
    outcome.notice = "the cluster's logs were deleted from the log store on request: nothing more is shipped";
    return outcome;
  }
  if (!data.empty()) {
    const std::string copy =
        fmt::format("COPY {} ({}) FROM STDIN (FORMAT csv)", log_table_for(type), copy_columns_for(type));
    auto copied = session_->copy_from(copy, data);
    if (!copied) {
      const std::string sqlstate = session_->last_failure().sqlstate;
      if (!is_refused_content(sqlstate)) return copied.error();
      // The same bytes would be refused for ever: narrow the batch down from here (ship_once).
      refusal_ = Refusal{file.device, file.inode, offset, static_cast<std::size_t>(records / 2),
                         session_->last_failure().message};
      return make_error(ErrorCode::kInvalidInput,
                        fmt::format("{}: the store refused {} record{} at offset {} ({}); {}", file.name, records,
                                    records == 1 ? "" : "s", offset, copied.error().message,
                                    records > 1 ? fmt::format("trying {} at a time", records / 2)
                                                : std::string("skipping it to the next record")));
    }
    if (*copied != records)
      return make_error(ErrorCode::kInternal,
                        fmt::format("{}: COPY stored {} rows for {} records", file.name, *copied, records));
  }
  if (outcome.bytes_skipped > 0) {
    // Skipped, not lost: the bytes go to log_quarantine in the transaction that moves the offset past them.
    const std::string reason = skip ? "the store refused it even as one record: " + refusal_->error
                                    : std::string("a csvlog record cut inside quotes in a finished file");
    RETURN_IF_ERROR(session_->query(fmt::format(
        "INSERT INTO {} (log_type, file_name, offset_bytes, bytes, reason) VALUES ({}, {}, {}, {}::bytea, {})",
        kQuarantineTable, quote_literal(type_name), quote_literal(file.name), offset,
        quote_literal("\\x" + hex_lower(std::string_view(bytes).substr(0, consumed))), quote_literal(reason))));
    notice += "; kept in log_quarantine";
  }
  const std::string expected = file_states[index] ? std::to_string(file_states[index]->offset) : "-1";
  ASSIGN_OR_RETURN(
      const postgres::Rows moved,
      session_->query(fmt::format(
          "INSERT INTO log_ingest_state AS s (namespace, cluster, instance, log_type, device, inode, offset_bytes, "
          "file_name, head_bytes, head_digest) VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}, {}) "
          "ON CONFLICT (namespace, cluster, instance, log_type, device, inode) DO UPDATE SET "
          "offset_bytes = EXCLUDED.offset_bytes, file_name = EXCLUDED.file_name, head_bytes = EXCLUDED.head_bytes, "
          "head_digest = EXCLUDED.head_digest, updated_at = now() WHERE s.offset_bytes = {} RETURNING 1",
          quote_literal(source.namespace_name), quote_literal(source.cluster), quote_literal(source.instance),
          quote_literal(type_name), static_cast<std::int64_t>(file.device), static_cast<std::int64_t>(file.inode),
          new_offset, quote_literal(file.name), head_bytes, quote_literal(sha256_hex(head)), expected)));
  if (moved.size() != 1)
    return make_error(
        ErrorCode::kConflict,
        fmt::format("{}: its shipped offset moved since it was read (another shipper of the same files?); "
                    "the batch was not committed",
                    file.name));
  // Rows of files gone for a week (rotated away, deleted) are dropped, so the table does not grow for ever.
  std::string present;
  for (const LogFile& listed : files)
    present += fmt::format("{}({}, {})", present.empty() ? "" : ", ", static_cast<std::int64_t>(listed.device),
                           static_cast<std::int64_t>(listed.inode));
  RETURN_IF_ERROR(session_->query(fmt::format(
      "DELETE FROM log_ingest_state WHERE namespace = {} AND cluster = {} AND instance = {} AND log_type = {} AND "
      "updated_at < now() - interval '7 days'{}",
      quote_literal(source.namespace_name), quote_literal(source.cluster), quote_literal(source.instance),
      quote_literal(type_name), present.empty() ? "" : " AND (device, inode) NOT IN (" + present + ")")));
  if (settings_.before_commit) settings_.before_commit();
  RETURN_IF_ERROR(session_->query("COMMIT"));

  // Past the refused record: back to whole batches. Past good ones while narrowing: twice as many next.
  if (refusal_ && (skip || refusal_->records_limit == 0)) {
    refusal_.reset();
  } else if (refusal_) {
    refusal_->offset = new_offset;
    refusal_->records_limit *= 2;
  }
  outcome.shipped = true;
  outcome.shipped_bytes[file.name] = new_offset;
  outcome.file = file.name;
  outcome.records = records;
  outcome.bytes = consumed;
  outcome.bytes_behind = behind - consumed;
  outcome.last_record_time = last_time;
  outcome.notice = notice;
  return outcome;
}

}  // namespace pgstack::logs
