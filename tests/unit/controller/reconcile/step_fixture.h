// A cluster as the reconcile steps see it, for their tests.
#pragma once

#include <string>

#include "controller/reconcile/step.h"

namespace pgstack::controller::testing {

inline model::Document cluster_document(int instances = 1, const std::string& extra_spec = "{}") {
  model::Json body = model::Json::parse(R"({"apiVersion": "stackgres.io/v1", "kind": "SGCluster",
    "metadata": {"name": "demo", "namespace": "shop", "uid": "u-1", "resourceVersion": "7"},
    "spec": {"postgres": {"version": "15"}, "pods": {"persistentVolume": {"size": "5Gi"}}}})");
  body["spec"]["instances"] = instances;
  body["spec"].update(model::Json::parse(extra_spec));
  return model::Document{"test", 7, body};
}

inline model::InstalledPostgres postgres15() { return {15, "15.18"}; }

}  // namespace pgstack::controller::testing
