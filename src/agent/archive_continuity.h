// Whether the backup repository holds every WAL segment a restore would replay (issue 15: the recovery
// window never offers a time that cannot be reached). pg_stat_archiver only says what Postgres pushed;
// a segment lost in the repository since (deleted by hand, a bucket's lifecycle rule, a copy restored
// from elsewhere) would only show when a restore stops before its target. So the primary's agent lists
// the repository's archive (`pgbackrest repo-ls`) now and then, and these find the segment numbers
// missing from the oldest backup's first segment to the newest one archived. Pure: the BackupRunner
// does the I/O and stores the result for the controller's recovery window (controller/restore_source.h).
//
// A segment number counts as present when any timeline has it: after a failover, the new timeline's
// segments continue the old one's numbers. What this cannot see: a number present only on a timeline
// that the surviving history left before it (docs/backups.md).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "agent/wal_archive_policy.h"
#include "common/error.h"
#include "model/document.h"

namespace pgstack::agent {

// pgstack's clusters are initialised with initdb's default segment size.
inline constexpr std::uint64_t kWalSegmentSize = 16ULL * 1024 * 1024;

struct ArchivedSegment {
  WalSegment segment;
  std::chrono::sys_seconds archived_at{};  // the repository file's time
};

// The WAL segments in `pgbackrest repo-ls archive/<stanza> --recurse --output=json` (an object of
// relative path -> {"type", "size", "time"}), of the newest archive id ("15-2" after a stanza upgrade
// from "15-1"): the files named "<24 hex digits>-<checksum>[.gz|...]". History, .partial and .backup
// files are not segments. kInvalidInput when the listing is not such an object.
Result<std::vector<ArchivedSegment>> archived_segments(const model::Json& listing, std::uint64_t segment_size);

// A run of segment numbers that no timeline has, with the segments archived around it.
struct ArchiveHole {
  std::uint64_t first_missing = 0;
  std::uint64_t last_missing = 0;
  std::optional<ArchivedSegment> before;  // nullopt: the hole starts at `from_segment` itself
  ArchivedSegment after;                  // the next segment present
};

// The holes from segment number `from_segment` (the oldest backup's first segment) to the newest one
// archived, oldest first. Later segments are not archived yet: not a hole.
std::vector<ArchiveHole> archive_holes(const std::vector<ArchivedSegment>& segments, std::uint64_t from_segment);

// What the agent stores (store/keys.h archive_continuity): {"checkedAt", "fromSegment", "newestSegment",
// "newestArchivedAt", "segments", "holes": [{"missingFrom", "missingTo", "before": {"segment",
// "archivedAt"} | null, "after": {...}}]} with segment names and UTC timestamps.
model::Json archive_continuity_json(const std::vector<ArchivedSegment>& segments, std::uint64_t from_segment,
                                    std::chrono::system_clock::time_point checked_at, std::uint64_t segment_size);

}  // namespace pgstack::agent
