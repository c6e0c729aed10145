// Which WAL segments a primary may push to the backup repository, and what to do when the
// repository already holds a different copy (issue 18). Pure: the wal-push command does the I/O.
//
// After a failover the surviving history is the newest timeline's: its history file lists, for each
// older timeline, the LSN where that timeline was left. A segment of an older timeline that reaches
// past that point holds WAL of an abandoned history (a killed primary's last writes, a replica's
// half-received segment): the surviving history reads that range from the next timeline's segment,
// and a copy pushed under the old name can differ from one already archived, which pgBackRest then
// refuses for ever (ArchiveDuplicateError) while Postgres keeps every later segment. So such a
// segment is set aside on the member, never pushed; a duplicate that still arises is resolved in
// favour of the archived copy only when both agree on every byte the surviving history uses.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pgstack::agent {

struct WalSegment {
  std::uint32_t timeline = 0;
  std::uint64_t number = 0;  // segment number: start LSN / segment size
};

// "00000003000000000000001A" with the cluster's segment size; nullopt for anything else (a
// .history, .partial or .backup file, a malformed name).
std::optional<WalSegment> parse_wal_segment_name(std::string_view name, std::uint64_t segment_size);

// One line of a timeline history file: `timeline` was left at `switch_lsn` for the next one.
struct TimelineSwitch {
  std::uint32_t timeline = 0;
  std::uint64_t switch_lsn = 0;
};

// "<tli>\t<X/Y>\t<reason>" lines of "<TLI>.history"; comments and blank lines skipped. nullopt when a
// line is malformed (a history that cannot be read must not be guessed at).
std::optional<std::vector<TimelineSwitch>> parse_timeline_history(std::string_view text);

// The newest timeline known and its history (empty for timeline 1).
struct SurvivingHistory {
  std::uint32_t timeline = 1;
  std::vector<TimelineSwitch> switches;
};

enum class PushVerdict {
  kPush,      // part of the surviving history: push it
  kSetAside,  // WAL of an abandoned history: keep it on the member, do not push
};

struct PushDecision {
  PushVerdict verdict = PushVerdict::kPush;
  std::string reason;  // for kSetAside: which history it belongs to and why it is not pushed
};

PushDecision decide_push(const WalSegment& segment, const SurvivingHistory& history, std::uint64_t segment_size);

enum class DuplicateVerdict {
  kArchivedCopyWins,  // the copies agree on everything the surviving history uses: set ours aside
  kConflict,          // they differ inside the surviving history: keep failing, a person must look
};

struct DuplicateDecision {
  DuplicateVerdict verdict = DuplicateVerdict::kConflict;
  std::string reason;
};

// `first_difference`: the offset of the first byte where this member's copy and the archived one
// differ (nullopt: they are equal, which pgBackRest would not have refused).
DuplicateDecision decide_duplicate(const WalSegment& segment, const SurvivingHistory& history,
                                   std::uint64_t segment_size, std::optional<std::uint64_t> first_difference);

// The segment's file name: 24 upper-case hex digits.
std::string wal_segment_name(const WalSegment& segment, std::uint64_t segment_size);

// The history file name of a timeline: "0000000A.history".
std::string timeline_history_name(std::uint32_t timeline);

}  // namespace pgstack::agent
