#include "agent/wal_push.h"

#include <chrono>
#include <fstream>
#include <iostream>
#include <optional>
#include <unistd.h>
#include <vector>

#include <fmt/format.h>

#include "agent/instance_report.h"
#include "agent/wal_archive_policy.h"
#include "common/files.h"
#include "common/process.h"
#include "common/time.h"
#include "model/document.h"

namespace pgstack::agent {
namespace {

namespace fs = std::filesystem;

constexpr int kArchiveDuplicateError = 45;  // pgBackRest's ArchiveDuplicateError
constexpr int kMostTimelinesProbed = 64;

void say(const std::string& text) { std::cerr << "pgstack-wal-push: " << text << "\n"; }

std::vector<std::string> pgbackrest(const WalPushOptions& options, std::vector<std::string> arguments) {
  std::vector<std::string> argv = {options.pgbackrest_program, "--config=" + options.pgbackrest_config,
                                   "--stanza=" + options.stanza};
  argv.insert(argv.end(), arguments.begin(), arguments.end());
  return argv;
}

// A plain synchronous archive-get into `destination`: true when the repository has `name`.
bool fetch_from_archive(const WalPushOptions& options, const std::string& name, const fs::path& destination) {
  auto got = run_command(pgbackrest(options, {"--no-archive-async", "archive-get", name, destination.string()}));
  return got.ok() && got->exit_code == 0 && fs::exists(destination);
}

std::optional<std::string> history_text(const fs::path& path) {
  auto text = read_file(path);
  if (!text) return std::nullopt;
  return text.value();
}

// The newest timeline's history, from pg_wal and from the repository (a newer primary pushes its
// history file at promotion, so a former primary learns there that its timeline was left).
std::optional<SurvivingHistory> newest_history(const WalPushOptions& options, const fs::path& wal_dir,
                                               std::uint32_t at_least, const fs::path& scratch) {
  std::uint32_t newest = 0;
  std::optional<std::string> newest_text;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(wal_dir, error)) {
    const std::string name = entry.path().filename().string();
    if (name.size() != 16 || !name.ends_with(".history")) continue;
    const auto timeline = std::strtoul(name.substr(0, 8).c_str(), nullptr, 16);
    if (timeline > newest) {
      if (auto text = history_text(entry.path())) {
        newest = static_cast<std::uint32_t>(timeline);
        newest_text = std::move(text);
      }
    }
  }
  for (std::uint32_t timeline = std::max(newest, at_least) + 1, probes = 0; probes < kMostTimelinesProbed;
       ++timeline, ++probes) {
    const std::string name = timeline_history_name(timeline);
    const fs::path fetched = scratch / name;
    if (!fetch_from_archive(options, name, fetched)) break;
    if (auto text = history_text(fetched)) {
      newest = timeline;
      newest_text = std::move(text);
    }
  }
  if (newest == 0 || !newest_text) return SurvivingHistory{at_least, {}};
  auto switches = parse_timeline_history(*newest_text);
  if (!switches) {
    say(fmt::format("cannot read {}: the segment is pushed without checking its history",
                    timeline_history_name(newest)));
    return std::nullopt;
  }
  return SurvivingHistory{newest, std::move(*switches)};
}

// The offset of the first differing byte, nullopt when equal; an unreadable file differs at 0.
std::optional<std::uint64_t> first_difference(const fs::path& left, const fs::path& right) {
  std::ifstream a(left, std::ios::binary);
  std::ifstream b(right, std::ios::binary);
  if (!a || !b) return 0;
  std::vector<char> x(1 << 16), y(1 << 16);
  std::uint64_t offset = 0;
  while (true) {
    a.read(x.data(), static_cast<std::streamsize>(x.size()));
    b.read(y.data(), static_cast<std::streamsize>(y.size()));
    const auto got_a = static_cast<std::size_t>(a.gcount());
    const auto got_b = static_cast<std::size_t>(b.gcount());
    const std::size_t common = std::min(got_a, got_b);
    for (std::size_t i = 0; i < common; ++i) {
      if (x[i] != y[i]) return offset + i;
    }
    if (got_a != got_b) return offset + common;
    if (got_a == 0) return std::nullopt;
    offset += got_a;
  }
}

// Copies the segment into the set-aside directory with a record of why; true when both are written.
bool set_aside(const WalPushOptions& options, const fs::path& wal_file, const std::string& name,
               const std::string& outcome, const std::string& reason) {
  std::error_code error;
  const fs::path copy = options.set_aside_dir / name;
  fs::copy_file(wal_file, copy, fs::copy_options::overwrite_existing, error);
  if (error) {
    say(fmt::format("cannot keep {} in {}: {}", name, options.set_aside_dir.string(), error.message()));
    return false;
  }
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  const model::Json record = {{"segment", name},       {"outcome", outcome}, {"reason", reason},
                              {"copy", copy.string()}, {"host", host},       {"at", utc_timestamp_now()}};
  if (auto written = write_file_atomically(options.set_aside_dir / (name + ".json"), record.dump() + "\n"); !written) {
    say(written.error().message);
    return false;
  }
  return true;
}

int push(const WalPushOptions& options) {
  auto pushed = run_command(pgbackrest(options, {"archive-push", options.wal_path.string()}));
  if (!pushed.ok()) {
    say(pushed.error().message);
    return 1;
  }
  std::cerr << pushed->standard_output << pushed->standard_error;
  return pushed->exit_code;
}

}  // namespace

int wal_push(const WalPushOptions& options) {
  const std::string name = options.wal_path.filename().string();
  std::error_code error;
  const auto size = fs::file_size(options.wal_path, error);
  const auto segment = error ? std::nullopt : parse_wal_segment_name(name, size);
  // History files, .partial and .backup files carry their own names: nothing to judge.
  if (!segment) return push(options);

  fs::create_directories(options.set_aside_dir, error);
  const fs::path scratch = options.set_aside_dir / fmt::format(".scratch-{}", ::getpid());
  fs::remove_all(scratch, error);
  fs::create_directories(scratch, error);
  struct Cleanup {
    fs::path path;
    ~Cleanup() {
      std::error_code ignored;
      fs::remove_all(path, ignored);
    }
  } cleanup{scratch};

  const fs::path wal_dir = options.wal_path.parent_path().empty() ? fs::path(".") : options.wal_path.parent_path();
  const auto history = newest_history(options, wal_dir, segment->timeline, scratch);
  if (history) {
    const PushDecision decision = decide_push(*segment, *history, size);
    if (decision.verdict == PushVerdict::kSetAside) {
      if (!set_aside(options, options.wal_path, name, "not pushed", decision.reason)) return 1;
      say(fmt::format("not pushed: {}; kept in {}", decision.reason, options.set_aside_dir.string()));
      return 0;
    }
  }
  const int code = push(options);
  if (code != kArchiveDuplicateError || !history) return code;

  // The repository holds a different copy: compare them where the surviving history reads them.
  const fs::path archived = scratch / (name + ".archived");
  if (!fetch_from_archive(options, name, archived)) {
    say(fmt::format("{}: the repository refused it as a duplicate but its copy cannot be read back", name));
    return code;
  }
  const DuplicateDecision decision =
      decide_duplicate(*segment, *history, size, first_difference(options.wal_path, archived));
  if (decision.verdict == DuplicateVerdict::kArchivedCopyWins) {
    if (!set_aside(options, options.wal_path, name, "archived copy kept", decision.reason)) return code;
    say(fmt::format("{}; the archived copy stays, this member's is kept in {}", decision.reason,
                    options.set_aside_dir.string()));
    return 0;
  }
  set_aside(options, options.wal_path, name, "conflict", decision.reason);
  say(decision.reason);
  return code;
}

}  // namespace pgstack::agent
