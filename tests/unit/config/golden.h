// Golden files: rendered output compared byte for byte with tests/unit/config/golden/<name>.
// PGSTACK_UPDATE_GOLDEN=1 rewrites them instead; read the diff before committing it.
#pragma once

#include <string>

#include "model/resources.h"

namespace pgstack::config::testing {

void expect_matches_golden(const std::string& name, const std::string& actual);

// A profile of `cpus` whole CPUs and `memory_gi` GiB, named like "4cpu-16gi".
model::InstanceProfile profile_of(int cpus, int memory_gi);

// The cluster the golden files use: default/demo, 3 instances, 5Gi volume unless changed.
model::Cluster demo_cluster();

}  // namespace pgstack::config::testing
