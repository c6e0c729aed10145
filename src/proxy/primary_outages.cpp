#include "proxy/primary_outages.h"

#include <algorithm>
#include <cmath>

#include "common/time.h"

namespace pgstack::proxy {

void PrimaryOutages::check_failed(const std::string& primary, std::chrono::system_clock::time_point at) {
  if (!failing_since_ || failing_since_->first != primary) failing_since_ = std::pair{primary, at};
}

void PrimaryOutages::check_passed(const std::string& primary) {
  if (failing_since_ && failing_since_->first == primary) failing_since_.reset();
}

std::chrono::system_clock::time_point PrimaryOutages::failing_since(
    const std::string& member, std::chrono::system_clock::time_point otherwise) const {
  return failing_since_ && failing_since_->first == member ? failing_since_->second : otherwise;
}

void PrimaryOutages::observe(const std::optional<std::string>& primary, std::chrono::system_clock::time_point at) {
  if (primary == primary_) return;
  if (!primary) {
    // Lost: the outage began at the first failed check of that primary, if any came before.
    if (primary_ && !open_since_) {
      lost_ = *primary_;
      open_since_ = failing_since(lost_, at);
    }
  } else if (open_since_) {
    record({lost_, *primary, *open_since_, at});
    open_since_.reset();
  } else if (primary_) {
    // Straight from one primary to another: never without one, as far as the checks saw.
    record({*primary_, *primary, failing_since(*primary_, at), at});
  }
  // (The first primary ever seen, after a start, is no recovery from an outage: nothing is recorded.)
  failing_since_.reset();
  primary_ = primary;
}

void PrimaryOutages::record(PrimaryOutage outage) {
  outages_.push_back(std::move(outage));
  unsaved_ = std::min(unsaved_ + 1, kKeptOutages);
  while (outages_.size() > kKeptOutages) outages_.pop_front();
}

std::vector<PrimaryOutage> PrimaryOutages::unsaved() const {
  return {outages_.end() - static_cast<std::ptrdiff_t>(unsaved_), outages_.end()};
}

void PrimaryOutages::mark_saved(std::size_t count) { unsaved_ -= std::min(count, unsaved_); }

nlohmann::json to_json(const PrimaryOutage& outage) {
  return {{"from", outage.from},
          {"to", outage.to},
          {"startedAt", utc_millis(outage.started)},
          {"endedAt", utc_millis(outage.ended)},
          {"seconds", std::round(outage.seconds() * 1000) / 1000}};
}

nlohmann::json PrimaryOutages::to_json() const {
  nlohmann::json items = nlohmann::json::array();
  for (const auto& outage : outages_) items.push_back(proxy::to_json(outage));
  return items;
}

}  // namespace pgstack::proxy
