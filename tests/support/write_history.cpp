#include "support/write_history.h"

#include <algorithm>
#include <cstddef>
#include <map>
#include <optional>
#include <utility>

#include <fmt/format.h>

namespace pgstack::testing {
namespace {

// The writes one member acknowledged on one timeline.
struct AckEpoch {
  std::string member;
  std::int64_t timeline = 0;
  const WriteRecord* earliest_end = nullptr;  // the first acknowledgement
  const WriteRecord* latest_start = nullptr;  // the write sent last
  std::vector<const WriteRecord*> writes;
};

std::string epoch_name(const AckEpoch& epoch) {
  return epoch.timeline > 0 ? fmt::format("{} (timeline {})", epoch.member, epoch.timeline)
                            : fmt::format("{} (timeline unknown)", epoch.member);
}

std::vector<AckEpoch> acknowledged_epochs(const std::vector<WriteRecord>& history) {
  std::map<std::pair<std::string, std::int64_t>, AckEpoch> by_key;
  for (const auto& write : history) {
    if (write.outcome != WriteOutcome::kAcknowledged) continue;
    AckEpoch& epoch = by_key[{write.member, write.timeline}];
    epoch.member = write.member;
    epoch.timeline = write.timeline;
    if (epoch.earliest_end == nullptr || write.end < epoch.earliest_end->end) epoch.earliest_end = &write;
    if (epoch.latest_start == nullptr || write.start > epoch.latest_start->start) epoch.latest_start = &write;
    epoch.writes.push_back(&write);
  }
  std::vector<AckEpoch> epochs;
  epochs.reserve(by_key.size());
  for (auto& [key, epoch] : by_key) epochs.push_back(std::move(epoch));
  return epochs;
}

// Older member `before` acknowledged a write sent after newer `after` had acknowledged one.
std::optional<SplitBrainEvidence> older_wrote_after_newer(const AckEpoch& before, const AckEpoch& after) {
  if (!(after.earliest_end->end < before.latest_start->start)) return std::nullopt;
  return SplitBrainEvidence{
      *before.latest_start, *after.earliest_end,
      fmt::format("{} acknowledged id {} (sent at {} us) after {} had acknowledged id {} (at {} us)",
                  epoch_name(before), before.latest_start->id, before.latest_start->start.count(), epoch_name(after),
                  after.earliest_end->id, after.earliest_end->end.count())};
}

// `outer` acknowledged writes both before and after a write `inner` acknowledged.
std::optional<SplitBrainEvidence> interleaved(const AckEpoch& outer, const AckEpoch& inner) {
  for (const WriteRecord* write : inner.writes) {
    if (outer.earliest_end->end < write->start && write->end < outer.latest_start->start) {
      return SplitBrainEvidence{
          *outer.latest_start, *write,
          fmt::format("{} acknowledged id {} before and id {} after {} acknowledged id {}", epoch_name(outer),
                      outer.earliest_end->id, outer.latest_start->id, epoch_name(inner), write->id)};
    }
  }
  return std::nullopt;
}

std::vector<SplitBrainEvidence> find_split_brain(const std::vector<WriteRecord>& history) {
  const std::vector<AckEpoch> epochs = acknowledged_epochs(history);
  std::vector<SplitBrainEvidence> found;
  for (std::size_t i = 0; i < epochs.size(); ++i) {
    for (std::size_t j = i + 1; j < epochs.size(); ++j) {
      const AckEpoch& a = epochs[i];
      const AckEpoch& b = epochs[j];
      if (a.member == b.member) continue;  // one server's timeline only moves forward
      std::optional<SplitBrainEvidence> evidence;
      if (a.timeline > 0 && b.timeline > 0) {
        if (a.timeline == b.timeline) {
          const bool a_first = a.earliest_end->end <= b.earliest_end->end;
          evidence = SplitBrainEvidence{
              a_first ? *a.earliest_end : *b.earliest_end, a_first ? *b.earliest_end : *a.earliest_end,
              fmt::format("{} and {} both acknowledged writes on timeline {} (ids {} and {}): a promotion always "
                          "starts a new timeline",
                          a.member, b.member, a.timeline, a.earliest_end->id, b.earliest_end->id)};
        } else {
          evidence = a.timeline < b.timeline ? older_wrote_after_newer(a, b) : older_wrote_after_newer(b, a);
        }
      } else {
        evidence = interleaved(a, b);
        if (!evidence) evidence = interleaved(b, a);
      }
      if (evidence) found.push_back(std::move(*evidence));
    }
  }
  return found;
}

std::string id_list(const std::vector<std::int64_t>& ids) {
  constexpr std::size_t kShown = 20;
  std::string text;
  for (std::size_t i = 0; i < ids.size() && i < kShown; ++i) text += (i == 0 ? "" : ", ") + std::to_string(ids[i]);
  if (ids.size() > kShown) text += fmt::format(", ... ({} in all)", ids.size());
  return text;
}

}  // namespace

std::string_view to_string(WriteOutcome outcome) {
  switch (outcome) {
    case WriteOutcome::kAcknowledged: return "acknowledged";
    case WriteOutcome::kFailed: return "failed";
    case WriteOutcome::kUnknown: return "unknown";
  }
  return "unknown";
}

bool HistoryVerdict::clean() const {
  return lost.empty() && duplicated.empty() && failed_but_present.empty() && never_written.empty() &&
         reused_ids.empty() && split_brain.empty();
}

std::string HistoryVerdict::summary() const {
  std::string text = fmt::format(
      "writes: {} acknowledged, {} failed, {} unknown ({} landed, {} not); acknowledged lost: {}; "
      "duplicated: {}; failed but present: {}; never written: {}; split brain: {}",
      acknowledged, failed, unknown, unknown_landed.size(), unknown_missing.size(), lost.size(), duplicated.size(),
      failed_but_present.size(), never_written.size(), split_brain.size());
  const auto add = [&](const char* what, const std::vector<std::int64_t>& ids) {
    if (!ids.empty()) text += fmt::format("\n  {}: {}", what, id_list(ids));
  };
  add("acknowledged but lost", lost);
  add("read back more than once", duplicated);
  add("failed but present", failed_but_present);
  add("read back but never written", never_written);
  add("written more than once by the workload", reused_ids);
  for (const auto& evidence : split_brain) text += "\n  split brain: " + evidence.reason;
  return text;
}

HistoryVerdict check_write_history(const std::vector<WriteRecord>& history,
                                   const std::vector<std::int64_t>& read_back) {
  HistoryVerdict verdict;
  std::map<std::int64_t, std::size_t> read_count;
  for (const std::int64_t id : read_back) ++read_count[id];
  for (const auto& [id, count] : read_count) {
    if (count > 1) verdict.duplicated.push_back(id);
  }

  std::map<std::int64_t, std::size_t> written_count;
  for (const auto& write : history) {
    if (++written_count[write.id] == 2) verdict.reused_ids.push_back(write.id);
    const bool present = read_count.contains(write.id);
    switch (write.outcome) {
      case WriteOutcome::kAcknowledged:
        ++verdict.acknowledged;
        if (!present) verdict.lost.push_back(write.id);
        break;
      case WriteOutcome::kFailed:
        ++verdict.failed;
        if (present) verdict.failed_but_present.push_back(write.id);
        break;
      case WriteOutcome::kUnknown:
        ++verdict.unknown;
        (present ? verdict.unknown_landed : verdict.unknown_missing).push_back(write.id);
        break;
    }
  }
  for (const auto& [id, count] : read_count) {
    if (!written_count.contains(id)) verdict.never_written.push_back(id);
  }
  for (auto* ids : {&verdict.lost, &verdict.failed_but_present, &verdict.unknown_landed, &verdict.unknown_missing,
                    &verdict.reused_ids})
    std::sort(ids->begin(), ids->end());
  verdict.split_brain = find_split_brain(history);
  return verdict;
}

}  // namespace pgstack::testing
