#include "model/document_diff.h"

#include <gtest/gtest.h>

namespace pgstack::model {
namespace {

Json cluster(int instances) {
  return {{"apiVersion", "stackgres.io/v1"},
          {"kind", "SGCluster"},
          {"metadata", {{"name", "demo"}, {"namespace", "default"}, {"resourceVersion", "7"}}},
          {"spec", {{"instances", instances}, {"postgres", {{"version", "15"}}}}},
          {"status", {{"ready", true}}}};
}

TEST(DocumentDiff, NamesEachChangedLeafByItsFieldPath) {
  Json after = cluster(2);
  after["metadata"]["resourceVersion"] = "9";  // not the user's
  after["status"] = {{"ready", false}};        // neither
  after["metadata"]["labels"] = {{"team", "a"}};
  after["spec"]["configurations"]["postgres"]["postgresql.conf"] = {{"work_mem", "8MB"}};
  const auto changes = diff_user_fields(cluster(1), after);
  ASSERT_EQ(changes.size(), 3u);
  EXPECT_EQ(changes[0].path, "metadata.labels");
  EXPECT_EQ(changes[0].kind, FieldChangeKind::kAdded);
  EXPECT_EQ(changes[1].path, "spec.configurations");
  EXPECT_EQ(changes[1].kind, FieldChangeKind::kAdded);
  EXPECT_EQ(changes[2].path, "spec.instances");
  EXPECT_EQ(changes[2].kind, FieldChangeKind::kChanged);
  EXPECT_EQ(changes[2].before, 1);
  EXPECT_EQ(changes[2].after, 2);
  EXPECT_EQ(field_change_to_json(changes[2]).dump(), R"({"path":"spec.instances","op":"replace","from":1,"to":2})");
  EXPECT_EQ(field_change_to_json(changes[0]).dump(), R"({"path":"metadata.labels","op":"add","to":{"team":"a"}})");
}

TEST(DocumentDiff, KeysWithDotsAreQuotedAndArraysComparedByIndex) {
  Json before = cluster(1);
  before["spec"]["configurations"]["postgres"]["postgresql.conf"] = {{"work_mem", "4MB"}};
  before["spec"]["managedSql"]["scripts"] = Json::array({{{"sgScript", "a"}}, {{"sgScript", "b"}}});
  Json after = before;
  after["spec"]["configurations"]["postgres"]["postgresql.conf"]["work_mem"] = "8MB";
  after["spec"]["managedSql"]["scripts"] = Json::array({{{"sgScript", "c"}}});
  const auto changes = diff_user_fields(before, after);
  ASSERT_EQ(changes.size(), 3u);
  EXPECT_EQ(changes[0].path, R"(spec.configurations.postgres."postgresql.conf".work_mem)");
  EXPECT_EQ(changes[1].path, "spec.managedSql.scripts[0].sgScript");
  EXPECT_EQ(changes[1].before, "a");
  EXPECT_EQ(changes[1].after, "c");
  EXPECT_EQ(changes[2].path, "spec.managedSql.scripts[1]");
  EXPECT_EQ(changes[2].kind, FieldChangeKind::kRemoved);
  EXPECT_EQ(field_change_to_json(changes[2]).dump(),
            R"({"path":"spec.managedSql.scripts[1]","op":"remove","from":{"sgScript":"b"}})");
}

TEST(DocumentDiff, SameUserFieldsAreNoChangeAndATypeChangeIsOne) {
  EXPECT_TRUE(diff_user_fields(cluster(3), cluster(3)).empty());
  Json after = cluster(3);
  after["spec"]["instances"] = "3";
  const auto changes = diff_user_fields(cluster(3), after);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].path, "spec.instances");
  // Not objects at all (a broken stored body): the sections are absent, nothing is invented.
  EXPECT_TRUE(diff_user_fields(Json(5), Json::array()).empty());
}

}  // namespace
}  // namespace pgstack::model
