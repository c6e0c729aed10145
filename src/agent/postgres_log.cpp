#include "agent/postgres_log.h"

#include <fstream>
#include <vector>

namespace pgstack::agent {
namespace {

namespace fs = std::filesystem;

// csvlog columns (PostgreSQL 13-15 docs, "Using CSV-Format Log Output").
constexpr std::size_t kSeverity = 11;
constexpr std::size_t kMessage = 13;
constexpr std::size_t kDetail = 14;
constexpr std::size_t kBackendType = 23;

// One CSV record from `text` at `position` (RFC 4180: quoted fields may hold commas, newlines and
// doubled quotes); `position` moves past its line end.
std::vector<std::string> next_record(std::string_view text, std::size_t& position) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  while (position < text.size()) {
    const char c = text[position++];
    if (quoted) {
      if (c != '"') {
        fields.back() += c;
      } else if (position < text.size() && text[position] == '"') {
        fields.back() += '"';
        ++position;
      } else {
        quoted = false;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      fields.emplace_back();
    } else if (c == '\n') {
      break;
    } else if (c != '\r') {
      fields.back() += c;
    }
  }
  return fields;
}

// Postgres 15's messages (startup process, walreceiver, postmaster) for a data directory that cannot
// follow the primary's history.
constexpr std::string_view kDivergence[] = {
    "is not in this server's history",              // walsender: requested starting point ... (forked)
    "forked off current database system timeline",  // startup: new timeline forked before recovery point
    "is not a child of this server's history",      // startup: requested timeline
    "does not contain minimum recovery point",      // startup: requested timeline
    "could not locate a valid checkpoint record",   // startup PANIC
    "database system identifier differs",           // walreceiver: another cluster
    // walreceiver: the primary no longer has the WAL this member needs (and no archive gave it): also
    // what a member shows that is on a timeline of the same number forked elsewhere (two members promoted
    // to timeline N on either side of a short partition), which pg_rewind is never asked to fix.
    "has already been removed",
};
constexpr std::string_view kStreamingStarted = "started streaming WAL from primary";

// The end of the most recently written *.csv file in `log_dir` (whole records only): the agent reads
// it every few seconds, and what it looks for is recent.
std::optional<std::string> newest_csvlog_tail(const fs::path& log_dir) {
  constexpr std::uintmax_t kTailBytes = 1 << 20;
  std::error_code error;
  fs::path newest;
  fs::file_time_type newest_time{};
  for (const auto& entry : fs::directory_iterator(log_dir, error)) {
    if (entry.path().extension() != ".csv") continue;
    const auto written = entry.last_write_time(error);
    if (!error && (newest.empty() || written > newest_time)) {
      newest = entry.path();
      newest_time = written;
    }
  }
  if (newest.empty()) return std::nullopt;
  std::ifstream file(newest, std::ios::binary);
  const auto size = fs::file_size(newest, error);
  if (!file || error) return std::nullopt;
  const std::uintmax_t start = size > kTailBytes ? size - kTailBytes : 0;
  file.seekg(static_cast<std::streamoff>(start));
  std::string text(static_cast<std::size_t>(size - start), '\0');
  file.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(file.gcount()));
  // A record starts with its timestamp at the beginning of a line: skip the cut one.
  if (start > 0) {
    const auto line = text.find("\n20");
    text = line == std::string::npos ? std::string() : text.substr(line + 1);
  }
  return text;
}

}  // namespace

std::optional<std::string> divergence_in_log(std::string_view csvlog) {
  std::optional<std::string> found;
  std::size_t position = 0;
  while (position < csvlog.size()) {
    const std::vector<std::string> fields = next_record(csvlog, position);
    if (fields.size() <= kDetail) continue;
    const std::string& message = fields[kMessage];
    if (message.find(kStreamingStarted) != std::string::npos) {
      found.reset();
      continue;
    }
    for (const auto pattern : kDivergence) {
      if (message.find(pattern) == std::string::npos && fields[kDetail].find(pattern) == std::string::npos) continue;
      found = message;
      if (!fields[kDetail].empty()) *found += " (" + fields[kDetail] + ")";
      break;
    }
  }
  return found;
}

std::optional<std::string> divergence_in(const fs::path& log_dir) {
  const auto text = newest_csvlog_tail(log_dir);
  return text ? divergence_in_log(*text) : std::nullopt;
}

std::optional<std::string> last_startup_failure(std::string_view csvlog) {
  std::optional<std::string> found;
  std::size_t position = 0;
  while (position < csvlog.size()) {
    const std::vector<std::string> fields = next_record(csvlog, position);
    if (fields.size() <= kBackendType) continue;
    if (fields[kSeverity] != "FATAL" && fields[kSeverity] != "PANIC") continue;
    if (fields[kBackendType] != "startup" && fields[kBackendType] != "postmaster") continue;
    found = fields[kMessage];
    if (!fields[kDetail].empty()) *found += " (" + fields[kDetail] + ")";
  }
  return found;
}

std::optional<std::string> last_startup_failure_in(const fs::path& log_dir) {
  const auto text = newest_csvlog_tail(log_dir);
  return text ? last_startup_failure(*text) : std::nullopt;
}

}  // namespace pgstack::agent
