// Small text helpers shared by every area (no pgstack logic here).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pgstack {

// Levenshtein distance, used for "did you mean" suggestions.
std::size_t edit_distance(std::string_view a, std::string_view b);

// The candidate closest to `word`, if it is close enough to be a plausible typo.
std::optional<std::string> closest_match(std::string_view word, const std::vector<std::string>& candidates);

std::string to_lower(std::string_view text);
std::string trim(std::string_view text);
std::vector<std::string> split(std::string_view text, char separator);
// The last `count` lines of `text` that are not blank, in order (a partial first line included).
std::vector<std::string> last_lines(std::string_view text, std::size_t count);

bool starts_with_ignoring_case(std::string_view text, std::string_view prefix);

// Plain decimal digits that fit in 64 bits; nothing for "", "+1", "-1", " 1" or "1x".
std::optional<std::uint64_t> parse_unsigned(std::string_view text);

}  // namespace pgstack
