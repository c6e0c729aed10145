#include "golden.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <gtest/gtest.h>

namespace pgstack::config::testing {

void expect_matches_golden(const std::string& name, const std::string& actual) {
  const std::filesystem::path path = std::filesystem::path(PGSTACK_TEST_DATA) / "golden" / name;
  const char* update = std::getenv("PGSTACK_UPDATE_GOLDEN");
  if (update != nullptr && std::string(update) == "1") {
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << actual;
    return;
  }
  std::ifstream file(path, std::ios::binary);
  ASSERT_TRUE(file.good()) << path << " is missing: run with PGSTACK_UPDATE_GOLDEN=1 to create it";
  std::stringstream expected;
  expected << file.rdbuf();
  EXPECT_EQ(expected.str(), actual) << "differs from " << path
                                    << " (PGSTACK_UPDATE_GOLDEN=1 rewrites it; review the diff)";
}

model::InstanceProfile profile_of(int cpus, int memory_gi) {
  model::InstanceProfile profile;
  profile.name = fmt::format("{}cpu-{}gi", cpus, memory_gi);
  profile.cpu_millicores = cpus * 1000LL;
  profile.memory_bytes = static_cast<std::int64_t>(memory_gi) << 30;
  return profile;
}

model::Cluster demo_cluster() {
  model::Cluster cluster;
  cluster.name = "demo";
  cluster.namespace_name = "default";
  cluster.instances = 3;
  cluster.postgres_version = "15";
  cluster.volume_size = "5Gi";
  return cluster;
}

}  // namespace pgstack::config::testing
