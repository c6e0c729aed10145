// SGScript and spec.managedSql read into typed views; the validator's checks of an SGScript.
#include "model/script.h"

#include <algorithm>

#include <gtest/gtest.h>

#include "model/codec.h"
#include "model/validator.h"

namespace pgstack::model {
namespace {

Document document_of(const std::string& yaml) {
  const LoadResult loaded = load_documents(yaml, "script.yaml");
  EXPECT_FALSE(loaded.diagnostics.has_errors());
  return loaded.documents.empty() ? Document{} : loaded.documents.front();
}

std::vector<std::string> errors_of(const std::string& yaml) {
  const LoadResult loaded = load_documents(yaml, "script.yaml");
  const ValidationResult result = validate_documents(loaded.documents, ValidationContext{});
  std::vector<std::string> lines;
  for (const auto& diagnostic : result.diagnostics.items()) {
    if (diagnostic.severity == Severity::kError) lines.push_back(diagnostic.to_string());
  }
  return lines;
}

const char* kScript = R"(
apiVersion: stackgres.io/v1
kind: SGScript
metadata:
  name: setup
spec:
  continueOnError: true
  scripts:
  - name: first
    script: CREATE TABLE a (id int)
  - id: 7
    version: 3
    database: app
    user: alice
    wrapInTransaction: serializable
    retryOnError: true
    storeStatusInDatabase: true
    script: SELECT 1
  - scriptFrom:
      secretKeyRef:
        name: sql
        key: grant.sql
)";

TEST(Script, ReadsEntriesAndAssignsIdsAfterTheHighestGiven) {
  const Script script = script_from(document_of(kScript));
  EXPECT_EQ(script.name, "setup");
  EXPECT_TRUE(script.managed_versions);
  EXPECT_TRUE(script.continue_on_error);
  ASSERT_EQ(script.entries.size(), 3u);
  EXPECT_EQ(script.entries[0].id, 8);
  EXPECT_EQ(script.entries[0].name, "first");
  EXPECT_EQ(script.entries[0].database, "postgres");
  EXPECT_EQ(script.entries[0].user, "");
  EXPECT_EQ(script.entries[0].isolation, ScriptIsolation::kNone);
  EXPECT_FALSE(script.entries[0].version.has_value());
  EXPECT_EQ(script.entries[1].id, 7);
  EXPECT_EQ(script.entries[1].version, 3);
  EXPECT_EQ(script.entries[1].database, "app");
  EXPECT_EQ(script.entries[1].user, "alice");
  EXPECT_EQ(script.entries[1].isolation, ScriptIsolation::kSerializable);
  EXPECT_TRUE(script.entries[1].retry_on_error);
  EXPECT_TRUE(script.entries[1].store_status_in_database);
  EXPECT_EQ(script.entries[2].id, 9);
  ASSERT_TRUE(script.entries[2].secret_key_ref.has_value());
  EXPECT_EQ(script.entries[2].secret_key_ref->name, "sql");
  EXPECT_EQ(script.entries[2].secret_key_ref->key, "grant.sql");
  EXPECT_EQ(isolation_sql(ScriptIsolation::kRepeatableRead), "REPEATABLE READ");
}

TEST(Script, ManagedSqlOfACluster) {
  const ManagedSql managed = managed_sql_from(document_of(R"(
apiVersion: stackgres.io/v1
kind: SGCluster
metadata:
  name: demo
spec:
  managedSql:
    continueOnSGScriptError: true
    scripts:
    - sgScript: a
    - id: 4
      sgScript: b
    - sgScript: c
)"));
  EXPECT_TRUE(managed.continue_on_sgscript_error);
  ASSERT_EQ(managed.scripts.size(), 3u);
  EXPECT_EQ(managed.scripts[0].id, 5);
  EXPECT_EQ(managed.scripts[1].id, 4);
  EXPECT_EQ(managed.scripts[2].id, 6);
  EXPECT_EQ(managed.scripts[2].sg_script, "c");
  EXPECT_TRUE(
      managed_sql_from(document_of("kind: SGCluster\nmetadata:\n  name: x\nspec:\n  instances: 1\n")).scripts.empty());
}

TEST(Script, ValidatorRefusesWhatCannotRun) {
  const auto errors = errors_of(R"(
apiVersion: stackgres.io/v1
kind: SGScript
metadata:
  name: bad
spec:
  scripts:
  - id: 1
    name: a
    scriptFrom:
      configMapKeyRef:
        name: cm
        key: k
  - id: 1
    name: a
    script: SELECT 1
    storeStatusInDatabase: true
  - script: SELECT 1
    scriptFrom:
      secretKeyRef:
        name: s
        key: k
)");
  const std::vector<std::string> expected = {
      "script.yaml: SGScript/bad spec.scripts[0].scriptFrom.configMapKeyRef: pgstack has no ConfigMaps; expected "
      "the SQL in scriptFrom.secretKeyRef (a Secret: pgstack create secret) or inline in script",
      "script.yaml: SGScript/bad spec.scripts[1].storeStatusInDatabase: needs wrapInTransaction (read-committed, "
      "repeatable-read or serializable): the status is stored in the script's own transaction",
      "script.yaml: SGScript/bad spec.scripts[1].id: already used by spec.scripts[0]; expected a unique id",
      "script.yaml: SGScript/bad spec.scripts[1].name: already used by spec.scripts[0]; expected a unique name",
      "script.yaml: SGScript/bad spec.scripts[2]: expected exactly one of script or scriptFrom",
  };
  EXPECT_EQ(errors, expected);
}

TEST(Script, ValidatorRefusesDuplicateManagedSqlIds) {
  const auto errors = errors_of(R"(
apiVersion: stackgres.io/v1
kind: SGCluster
metadata:
  name: demo
spec:
  instances: 1
  postgres:
    version: '15'
  pods:
    persistentVolume:
      size: 1Gi
  managedSql:
    scripts:
    - id: 2
      sgScript: a
    - id: 2
      sgScript: b
)");
  const std::string expected =
      "script.yaml: SGCluster/demo spec.managedSql.scripts[1].id: id 2 is already used by "
      "spec.managedSql.scripts[0]; expected a unique id";
  EXPECT_NE(std::find(errors.begin(), errors.end(), expected), errors.end()) << testing::PrintToString(errors);
}

}  // namespace
}  // namespace pgstack::model
