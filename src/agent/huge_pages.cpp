#include "agent/huge_pages.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace pgstack::agent {

namespace {

std::string mebibytes(std::int64_t bytes) { return fmt::format("{}MiB", bytes / (1024 * 1024)); }

}  // namespace

HugePagesDecision plan_huge_pages(const std::vector<std::int64_t>& instances_bytes, const HugePagesState& state,
                                  std::optional<std::int64_t> baseline) {
  HugePagesDecision decision;
  const std::int64_t limit_pages = state.memory_bytes / 4 * 3 / kHugePageBytes;
  std::int64_t wanted_pages = 0;
  std::int64_t left_out_bytes = 0;
  for (const std::int64_t bytes : instances_bytes) {
    const std::int64_t pages = (std::max<std::int64_t>(0, bytes) + kHugePageBytes - 1) / kHugePageBytes;
    if (wanted_pages + pages > limit_pages) {
      ++decision.instances_left_out;
      left_out_bytes += pages * kHugePageBytes;
      continue;
    }
    wanted_pages += pages;
  }
  if (decision.instances_left_out > 0)
    decision.problem = fmt::format(
        "{} of the {} instances here would take the huge pages past 3/4 of the host's {} memory ({} more): they use "
        "normal pages",
        decision.instances_left_out, instances_bytes.size(), mebibytes(state.memory_bytes), mebibytes(left_out_bytes));
  const std::int64_t floor = baseline.value_or(state.total);
  const std::int64_t target = std::max(floor, wanted_pages);
  if (target != state.total) decision.set_to = target;
  return decision;
}

HugePagesKeeper::HugePagesKeeper(HugePagesPaths paths) : paths_(std::move(paths)) {}

void HugePagesKeeper::say_once(bool warning, std::string message) {
  if (message == last_message_) return;
  if (warning) {
    spdlog::warn("huge pages: {}", message);
  } else {
    spdlog::info("huge pages: {}", message);
  }
  last_message_ = std::move(message);
}

void HugePagesKeeper::ensure(const std::vector<std::int64_t>& instances_bytes) {
  const std::optional<std::int64_t> baseline = host::read_huge_pages_baseline(paths_.baseline_file);
  if (instances_bytes.empty() && !baseline) return;  // never touched the pool, nothing to give back
  auto state = host::read_huge_pages(paths_.sysfs_dir, paths_.meminfo);
  if (!state) return say_once(true, "cannot read the host's 2MiB page pool: " + state.error().message);
  const HugePagesDecision decision = plan_huge_pages(instances_bytes, *state, baseline);
  if (!decision.set_to) {
    if (!decision.problem.empty()) say_once(true, decision.problem);
    return;
  }
  if (!baseline && *decision.set_to > state->total) {
    // Before the first raise: what to come back to. Written first, so a crash cannot lose it.
    std::ofstream out(paths_.baseline_file);
    out << state->total << '\n';
    out.flush();
    if (!out) return say_once(true, "cannot write " + paths_.baseline_file + ": the pool is left as it is");
  }
  if (auto written = host::write_huge_pages(paths_.sysfs_dir, *decision.set_to); !written)
    return say_once(true, fmt::format("the instances here map {} 2MiB pages, the pool has {}: {}", *decision.set_to,
                                      state->total, written.error().message));
  auto after = host::read_huge_pages(paths_.sysfs_dir, paths_.meminfo);
  const std::int64_t now = after ? after->total : 0;
  std::string message =
      fmt::format("the host's 2MiB page pool went from {} to {} pages for the instances here", state->total, now);
  if (now<*decision.set_to&& * decision.set_to> state->total)
    message += fmt::format(" (asked for {}: memory too fragmented; an instance that does not fit uses normal pages)",
                           *decision.set_to);
  if (now > *decision.set_to) message += fmt::format(" (asked for {}: the rest is in use)", *decision.set_to);
  if (!decision.problem.empty()) message += "; " + decision.problem;
  say_once(now < *decision.set_to || !decision.problem.empty(), std::move(message));
}

}  // namespace pgstack::agent
