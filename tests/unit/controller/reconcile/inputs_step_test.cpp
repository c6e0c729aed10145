#include "controller/reconcile/inputs_step.h"

#include <gtest/gtest.h>

#include "step_fixture.h"

namespace pgstack::controller {
namespace {

using model::Json;

model::Cluster cluster_with_references() {
  return model::cluster_from(
      testing::cluster_document(1, R"({"sgInstanceProfile": "big", "configurations": {"sgPostgresConfig": "pgconf",
             "backups": [{"sgObjectStorage": "objects"}]}})"));
}

TEST(InputsStep, ReferencesInTheOrderTheyAreChecked) {
  const model::Cluster cluster = cluster_with_references();
  EXPECT_EQ(referenced_documents(cluster),
            (std::vector<DocumentReference>{
                {"SGInstanceProfile", "big"}, {"SGPostgresConfig", "pgconf"}, {"SGObjectStorage", "objects"}}));
  EXPECT_TRUE(referenced_documents(model::cluster_from(testing::cluster_document())).empty());
}

TEST(InputsStep, ResolvesTheVersionAndTheDocuments) {
  const model::Cluster cluster = cluster_with_references();
  InputsObservation observed{&cluster, {testing::postgres15()}, {}};
  observed.found["SGInstanceProfile/big"] = Json{{"kind", "SGInstanceProfile"}};
  observed.found["SGPostgresConfig/pgconf"] = Json{{"kind", "SGPostgresConfig"}};
  observed.found["SGObjectStorage/objects"] = Json{{"kind", "SGObjectStorage"}};
  const InputsDecision decision = resolve_inputs(observed);
  EXPECT_FALSE(decision.outcome.stop) << decision.outcome.message;
  EXPECT_EQ(decision.inputs.postgres.version, "15.18");
  EXPECT_EQ(decision.inputs.profile["kind"], "SGInstanceProfile");
  EXPECT_EQ(decision.inputs.postgres_config["kind"], "SGPostgresConfig");
  EXPECT_TRUE(decision.inputs.pooling_config.is_null());
  EXPECT_EQ(decision.inputs.object_storage["kind"], "SGObjectStorage");
}

TEST(InputsStep, StopsOnTheFirstProblem) {
  const model::Cluster cluster = cluster_with_references();
  InputsObservation observed{&cluster, {testing::postgres15()}, {}};
  observed.found["SGInstanceProfile/big"] = Json::object();
  InputsDecision decision = resolve_inputs(observed);
  ASSERT_TRUE(decision.outcome.stop);
  EXPECT_EQ(decision.outcome.reason, "ReferencedResourceMissing");
  EXPECT_EQ(decision.outcome.message, "SGPostgresConfig/pgconf does not exist in namespace shop");

  observed.installed_postgres.clear();
  decision = resolve_inputs(observed);
  ASSERT_TRUE(decision.outcome.stop);
  EXPECT_EQ(decision.outcome.reason, "PostgresVersionNotInstalled");
}

}  // namespace
}  // namespace pgstack::controller
