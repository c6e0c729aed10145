#include "model/extension_catalogue.h"

#include <set>

#include <gtest/gtest.h>

namespace pgstack::model {
namespace {

TEST(ExtensionCatalogue, MapsNamesToThePackageOfTheMajor) {
  auto cron = resolve_extension("pg_cron", 15);
  ASSERT_TRUE(cron.ok());
  EXPECT_EQ(*cron, (ResolvedExtension{"pg_cron", "postgresql-15-cron", "pg_cron", false}));
  EXPECT_EQ(resolve_extension("hypopg", 15)->package, "postgresql-15-hypopg");
  EXPECT_EQ(resolve_extension("hypopg", 15)->preload, "");
  EXPECT_EQ(resolve_extension("postgis", 15)->package, "postgresql-15-postgis-3");
  EXPECT_EQ(resolve_extension("postgis_topology", 16)->package, "postgresql-16-postgis-3");
  EXPECT_EQ(resolve_extension("pg_partman", 15)->package, "postgresql-15-partman");
  EXPECT_EQ(resolve_extension("pg_repack", 15)->package, "postgresql-15-repack");
  EXPECT_EQ(resolve_extension("pg_stat_kcache", 15)->package, "postgresql-15-pg-stat-kcache");
  EXPECT_EQ(resolve_extension("plpython3u", 15)->package, "postgresql-plpython3-15");
  EXPECT_EQ(resolve_extension("pgaudit", 15)->preload, "pgaudit");
  EXPECT_EQ(resolve_extension("orafce", 15)->preload, "");
}

TEST(ExtensionCatalogue, ContribIsTheServerPackage) {
  for (const char* name : {"pg_stat_statements", "pgcrypto", "hstore", "uuid-ossp", "pg_trgm"}) {
    auto resolved = resolve_extension(name, 15);
    ASSERT_TRUE(resolved.ok()) << name;
    EXPECT_TRUE(resolved->contrib) << name;
    EXPECT_EQ(resolved->package, "postgresql-15") << name;
  }
  EXPECT_EQ(resolve_extension("pg_stat_statements", 15)->preload, "pg_stat_statements");
}

TEST(ExtensionCatalogue, NamesAreUniqueAndPackagesNameTheMajor) {
  std::set<std::string_view> names;
  for (const auto& entry : extension_catalogue()) {
    EXPECT_TRUE(names.insert(entry.name).second) << entry.name;
    if (entry.name != "pgagent") {
      EXPECT_NE(entry.package.find("{major}"), std::string_view::npos) << entry.name;
    }
  }
  EXPECT_GT(names.size(), 140u);
}

TEST(ExtensionCatalogue, UnknownNameListsNearMatches) {
  auto typo = resolve_extension("pg_crn", 15);
  ASSERT_FALSE(typo.ok());
  EXPECT_EQ(typo.error().code, ErrorCode::kInvalidInput);
  EXPECT_NE(typo.error().message.find("unknown extension \"pg_crn\""), std::string::npos) << typo.error().message;
  EXPECT_NE(typo.error().message.find("did you mean pg_cron"), std::string::npos) << typo.error().message;

  EXPECT_EQ(near_extension_names("partman").front(), "pg_partman");
  EXPECT_EQ(near_extension_names("hypopgg").front(), "hypopg");
  EXPECT_EQ(near_extension_names("postgis").front(), "postgis");
  EXPECT_LE(near_extension_names("postgis").size(), 3u);
  EXPECT_TRUE(near_extension_names("zzzzzzzzzzzzzzzz").empty());
  auto far = resolve_extension("timescaledb", 15);
  ASSERT_FALSE(far.ok());
  EXPECT_EQ(far.error().message.find("did you mean"), std::string::npos) << far.error().message;
}

TEST(ExtensionCatalogue, PreloadMergeKeepsOrderAndAddsOnlyWhatIsMissing) {
  EXPECT_EQ(merge_preload_libraries("pg_stat_statements, auto_explain", {"pg_cron"}),
            "pg_stat_statements, auto_explain, pg_cron");
  EXPECT_EQ(merge_preload_libraries("'pg_cron',\"pg_stat_statements\"", {"pg_cron", "pg_stat_statements, pgaudit"}),
            "pg_cron, pg_stat_statements, pgaudit");
  EXPECT_EQ(merge_preload_libraries("", {"pgaudit", "pgaudit"}), "pgaudit");
  EXPECT_EQ(merge_preload_libraries(" , ", {}), "");
  EXPECT_EQ(split_preload_libraries("a, 'b' ,,c"), (std::vector<std::string>{"a", "b", "c"}));
}

}  // namespace
}  // namespace pgstack::model
