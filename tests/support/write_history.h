// A Jepsen-style checker for a history of writes (issue 16): a workload writes unique ids and records
// each write's outcome as its client saw it; after the faults heal, the ids read back from the cluster
// are compared with that history. Pure: a history in, a verdict out.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pgstack::testing {

enum class WriteOutcome {
  kAcknowledged,  // the server said it committed
  kFailed,        // the server said it did not (an error that aborted the statement), or nothing was sent
  kUnknown,       // no answer (timeout, broken connection, a shutdown during commit): it may have landed
};
std::string_view to_string(WriteOutcome outcome);

struct WriteRecord {
  std::int64_t id = 0;
  WriteOutcome outcome = WriteOutcome::kUnknown;
  std::string member;         // who acknowledged it (acknowledged writes only)
  std::int64_t timeline = 0;  // the timeline it was acknowledged on; 0: not known
  // When the client sent it and when the outcome came back, from the workload's start.
  std::chrono::microseconds start{0};
  std::chrono::microseconds end{0};
  std::string error;  // why it failed or is unknown
};

// Two members accepted writes at overlapping times. `earlier` is the write of the member that led
// before (the older timeline, or whose writes came first); `later` the other's. The proof: `later`
// was acknowledged before `earlier` was even sent, or the older member acknowledged writes both
// before and after the other did.
struct SplitBrainEvidence {
  WriteRecord earlier;
  WriteRecord later;
  std::string reason;
};

struct HistoryVerdict {
  std::int64_t acknowledged = 0;
  std::int64_t failed = 0;
  std::int64_t unknown = 0;
  std::vector<std::int64_t> lost;                // acknowledged, not read back
  std::vector<std::int64_t> duplicated;          // read back more than once
  std::vector<std::int64_t> unknown_landed;      // unknown outcome, read back (allowed)
  std::vector<std::int64_t> unknown_missing;     // unknown outcome, not read back (allowed)
  std::vector<std::int64_t> failed_but_present;  // the client was told it failed, yet it is there
  std::vector<std::int64_t> never_written;       // read back, but no write of that id was made
  std::vector<std::int64_t> reused_ids;          // the history has more than one write of the id
  std::vector<SplitBrainEvidence> split_brain;

  // No acknowledged write lost, no duplicate, nothing present that failed or was never written, no
  // reused id, no split brain. (Async replication may lose acknowledged writes: a scenario then checks `lost` itself.)
  bool clean() const;
  // One line per finding, for a test's output.
  std::string summary() const;
};

// `history`: one record per write (ids are unique; a reused id is reported in `reused_ids`);
// `read_back`: every id the healed cluster holds, duplicates included. Writes are grouped by who
// acknowledged them, (member, timeline); a pair of groups is a split brain when the one on the older
// timeline acknowledged a write that was sent after the newer one had acknowledged one, or two
// members acknowledged on the same timeline. Without timelines (0) it is when a member acknowledged
// writes before and after another member did; a failback to the same member then looks the same,
// so the workload records timelines.
HistoryVerdict check_write_history(const std::vector<WriteRecord>& history, const std::vector<std::int64_t>& read_back);

}  // namespace pgstack::testing
