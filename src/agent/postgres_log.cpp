#include "agent/postgres_log.h"

#include <vector>

#include "common/files.h"

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
    "is not in this server's history",               // walsender: requested starting point ... (forked)
    "forked off current database system timeline",   // startup: new timeline forked before recovery point
    "is not a child of this server's history",       // startup: requested timeline
    "does not contain minimum recovery point",       // startup: requested timeline
    "could not locate a valid checkpoint record",    // startup PANIC
    "database system identifier differs",            // walreceiver: another cluster
};
constexpr std::string_view kStreamingStarted = "started streaming WAL from primary";

fs::path newest_csvlog(const fs::path& log_dir) {
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
  return newest;
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
  const fs::path newest = newest_csvlog(log_dir);
  if (newest.empty()) return std::nullopt;
  auto text = read_file(newest);
  if (!text) return std::nullopt;
  return divergence_in_log(text.value());
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
  const fs::path newest = newest_csvlog(log_dir);
  if (newest.empty()) return std::nullopt;
  auto text = read_file(newest);
  if (!text) return std::nullopt;
  return last_startup_failure(text.value());
}

}  // namespace pgstack::agent
