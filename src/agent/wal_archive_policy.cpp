#include "agent/wal_archive_policy.h"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "common/strings.h"
#include "model/lsn.h"

namespace pgstack::agent {
namespace {

std::optional<std::uint64_t> hex(std::string_view text) {
  if (text.empty() || text.size() > 16) return std::nullopt;
  std::uint64_t value = 0;
  for (const char c : text) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) return std::nullopt;
    value = value * 16 + static_cast<std::uint64_t>(
                             std::isdigit(static_cast<unsigned char>(c)) ? c - '0' : std::toupper(c) - 'A' + 10);
  }
  return value;
}

// Where the surviving history left `timeline`; nullopt when it is the newest or not part of it.
std::optional<std::uint64_t> switch_point(const SurvivingHistory& history, std::uint32_t timeline) {
  for (const auto& entry : history.switches) {
    if (entry.timeline == timeline) return entry.switch_lsn;
  }
  return std::nullopt;
}

}  // namespace

std::optional<WalSegment> parse_wal_segment_name(std::string_view name, std::uint64_t segment_size) {
  if (name.size() != 24 || segment_size == 0) return std::nullopt;
  const auto timeline = hex(name.substr(0, 8));
  const auto high = hex(name.substr(8, 8));
  const auto low = hex(name.substr(16, 8));
  if (!timeline || !high || !low || *timeline == 0) return std::nullopt;
  const std::uint64_t per_xlogid = 0x100000000ULL / segment_size;
  if (*low >= per_xlogid) return std::nullopt;
  return WalSegment{static_cast<std::uint32_t>(*timeline), *high * per_xlogid + *low};
}

std::string wal_segment_name(const WalSegment& segment, std::uint64_t segment_size) {
  const std::uint64_t per_xlogid = 0x100000000ULL / segment_size;
  return fmt::format("{:08X}{:08X}{:08X}", segment.timeline, segment.number / per_xlogid, segment.number % per_xlogid);
}

std::string timeline_history_name(std::uint32_t timeline) { return fmt::format("{:08X}.history", timeline); }

std::optional<std::vector<TimelineSwitch>> parse_timeline_history(std::string_view text) {
  std::vector<TimelineSwitch> switches;
  for (const auto& raw : split(std::string(text), '\n')) {
    const std::string line = trim(raw);
    if (line.empty() || line[0] == '#') continue;
    // Postgres writes "<parentTLI>\t<switchpoint>\t<reason>"; the reason is free text.
    std::size_t first_end = line.find_first_of(" \t");
    if (first_end == std::string::npos) return std::nullopt;
    const std::size_t second_start = line.find_first_not_of(" \t", first_end);
    if (second_start == std::string::npos) return std::nullopt;
    const std::size_t second_end = line.find_first_of(" \t", second_start);
    const std::string timeline_text = line.substr(0, first_end);
    if (timeline_text.find_first_not_of("0123456789") != std::string::npos || timeline_text.size() > 9)
      return std::nullopt;
    const auto lsn = model::parse_lsn(
        line.substr(second_start, second_end == std::string::npos ? std::string::npos : second_end - second_start));
    if (!lsn) return std::nullopt;
    switches.push_back({static_cast<std::uint32_t>(std::stoul(timeline_text)), *lsn});
  }
  return switches;
}

PushDecision decide_push(const WalSegment& segment, const SurvivingHistory& history, std::uint64_t segment_size) {
  // The newest timeline, or one newer than any history known here (nothing to judge it by).
  if (segment.timeline >= history.timeline) return {PushVerdict::kPush, ""};
  const auto left_at = switch_point(history, segment.timeline);
  const std::string name = wal_segment_name(segment, segment_size);
  if (!left_at) {
    return {PushVerdict::kSetAside,
            fmt::format("{} is on timeline {}, which is not part of timeline {}'s history (an abandoned branch)", name,
                        segment.timeline, history.timeline)};
  }
  const std::uint64_t end = (segment.number + 1) * segment_size;
  if (end <= *left_at) return {PushVerdict::kPush, ""};
  return {PushVerdict::kSetAside,
          fmt::format("{} reaches past {}, where timeline {} was left for timeline {}: the surviving history reads "
                      "that range from timeline {}'s segment, and this copy's WAL after {} belongs to an abandoned "
                      "history",
                      name, model::format_lsn(*left_at), segment.timeline, segment.timeline + 1, segment.timeline + 1,
                      model::format_lsn(*left_at))};
}

DuplicateDecision decide_duplicate(const WalSegment& segment, const SurvivingHistory& history,
                                   std::uint64_t segment_size, std::optional<std::uint64_t> first_difference) {
  const std::string name = wal_segment_name(segment, segment_size);
  if (!first_difference) return {DuplicateVerdict::kArchivedCopyWins, fmt::format("{}: both copies are equal", name)};
  const std::uint64_t start = segment.number * segment_size;
  // How many bytes of this segment the surviving history uses.
  std::uint64_t used = segment_size;
  if (segment.timeline < history.timeline) {
    const auto left_at = switch_point(history, segment.timeline);
    used = !left_at || *left_at <= start ? 0 : std::min(segment_size, *left_at - start);
  }
  if (*first_difference >= used) {
    return {DuplicateVerdict::kArchivedCopyWins,
            fmt::format("{}: the archived copy and this member's agree on the {} bytes the surviving history (timeline "
                        "{}) uses and differ from byte {} on, in WAL of an abandoned history",
                        name, used, history.timeline, *first_difference)};
  }
  return {
      DuplicateVerdict::kConflict,
      fmt::format("{}: the archived copy and this member's differ at byte {} (LSN {}), inside the surviving history "
                  "of timeline {}; neither is discarded, archiving stops at this segment until someone decides",
                  name, *first_difference, model::format_lsn(start + *first_difference), history.timeline)};
}

}  // namespace pgstack::agent
