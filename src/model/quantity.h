// Kubernetes resource quantities as StackGres uses them: cpu "4", "500m", "1.5"; memory "16Gi", "512Mi", "2G".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/error.h"

namespace pgstack::model {

// CPU in millicores: "2" -> 2000, "500m" -> 500, "1.5" -> 1500.
Result<std::int64_t> parse_cpu_millicores(std::string_view text);

// Bytes: "16Gi" -> 16*2^30, "2G" -> 2*10^9, "1024" -> 1024. Suffixes Ki Mi Gi Ti Pi Ei, k M G T P E.
Result<std::int64_t> parse_memory_bytes(std::string_view text);

// The shortest exact binary form: 17179869184 -> "16Gi".
std::string format_memory_bytes(std::int64_t bytes);

}  // namespace pgstack::model
