#include "agent/archive_continuity.h"

#include <algorithm>
#include <map>

#include "common/time.h"

namespace pgstack::agent {
namespace {

using model::Json;

// "15-2" -> 2: pgBackRest names an archive id <Postgres major>-<history id>; a stanza upgrade adds one.
std::optional<long long> archive_history_id(const std::string& directory) {
  const auto dash = directory.find('-');
  if (dash == std::string::npos || dash == 0 || dash + 1 == directory.size()) return std::nullopt;
  for (std::size_t i = 0; i < directory.size(); ++i) {
    if (i != dash && (directory[i] < '0' || directory[i] > '9')) return std::nullopt;
  }
  return std::stoll(directory.substr(dash + 1));
}

Json segment_json(const ArchivedSegment& segment, std::uint64_t segment_size) {
  return {{"segment", wal_segment_name(segment.segment, segment_size)},
          {"archivedAt", utc_timestamp(segment.archived_at)}};
}

}  // namespace

Result<std::vector<ArchivedSegment>> archived_segments(const Json& listing, std::uint64_t segment_size) {
  if (!listing.is_object())
    return make_error(ErrorCode::kInvalidInput, "pgbackrest repo-ls answered something that is not a JSON object");
  std::optional<long long> newest_id;
  std::string newest_directory;
  for (const auto& [path, entry] : listing.items()) {
    if (path.find('/') != std::string::npos || !entry.is_object() || entry.value("type", "") != "path") continue;
    const auto id = archive_history_id(path);
    if (id && (!newest_id || *id > *newest_id)) {
      newest_id = id;
      newest_directory = path;
    }
  }
  std::vector<ArchivedSegment> segments;
  if (!newest_id) return segments;
  const std::string prefix = newest_directory + "/";
  for (const auto& [path, entry] : listing.items()) {
    if (path.rfind(prefix, 0) != 0 || !entry.is_object() || entry.value("type", "") != "file") continue;
    const std::string file = path.substr(path.rfind('/') + 1);
    // "<segment>-<sha1 of the segment>[.gz|.lz4|.zst|.bz2]": a partial segment is "<segment>.partial-...".
    if (file.size() < 25 || file[24] != '-') continue;
    const auto segment = parse_wal_segment_name(std::string_view(file).substr(0, 24), segment_size);
    if (!segment) continue;
    const Json time = entry.value("time", Json());
    const std::chrono::seconds since_epoch(time.is_number_integer() ? time.get<std::int64_t>() : 0);
    segments.push_back({*segment, std::chrono::sys_seconds(since_epoch)});
  }
  return segments;
}

std::vector<ArchiveHole> archive_holes(const std::vector<ArchivedSegment>& segments, std::uint64_t from_segment) {
  // One entry per segment number (the latest archived of its timelines' copies), in order.
  std::map<std::uint64_t, ArchivedSegment> by_number;
  for (const auto& segment : segments) {
    if (segment.segment.number < from_segment) continue;
    auto [it, inserted] = by_number.emplace(segment.segment.number, segment);
    if (!inserted && segment.archived_at > it->second.archived_at) it->second = segment;
  }
  std::vector<ArchiveHole> holes;
  std::optional<ArchivedSegment> previous;
  std::uint64_t expected = from_segment;
  for (const auto& [number, segment] : by_number) {
    if (number > expected) holes.push_back({expected, number - 1, previous, segment});
    previous = segment;
    expected = number + 1;
  }
  return holes;
}

Json archive_continuity_json(const std::vector<ArchivedSegment>& segments, std::uint64_t from_segment,
                             std::chrono::system_clock::time_point checked_at, std::uint64_t segment_size) {
  Json out = {{"checkedAt", utc_timestamp(checked_at)},
              {"fromSegment", wal_segment_name({1, from_segment}, segment_size).substr(8)},
              {"newestSegment", nullptr},
              {"newestArchivedAt", nullptr},
              {"segments", 0},
              {"holes", Json::array()}};
  const ArchivedSegment* newest = nullptr;
  std::size_t counted = 0;
  for (const auto& segment : segments) {
    if (segment.segment.number < from_segment) continue;
    ++counted;
    if (newest == nullptr || segment.segment.number > newest->segment.number ||
        (segment.segment.number == newest->segment.number && segment.archived_at > newest->archived_at))
      newest = &segment;
  }
  out["segments"] = counted;
  if (newest != nullptr) {
    out["newestSegment"] = wal_segment_name(newest->segment, segment_size);
    out["newestArchivedAt"] = utc_timestamp(newest->archived_at);
  }
  for (const auto& hole : archive_holes(segments, from_segment)) {
    // Names without a timeline: no timeline has these numbers.
    out["holes"].push_back({{"missingFrom", wal_segment_name({1, hole.first_missing}, segment_size).substr(8)},
                            {"missingTo", wal_segment_name({1, hole.last_missing}, segment_size).substr(8)},
                            {"before", hole.before ? segment_json(*hole.before, segment_size) : Json(nullptr)},
                            {"after", segment_json(hole.after, segment_size)}});
  }
  return out;
}

}  // namespace pgstack::agent
