#include "controller/controller_metrics.h"

#include <gtest/gtest.h>

namespace pgstack::controller {
namespace {

TEST(RouteTemplate, NamesAndNamespacesBecomePlaceholders) {
  EXPECT_EQ(route_template({"apis", "pgstack.io", "v1", "namespaces", "prod", "sgclusters", "orders", "logs"}),
            "/apis/pgstack.io/v1/namespaces/{namespace}/sgclusters/{name}/logs");
  EXPECT_EQ(route_template({"apis", "stackgres.io", "v1", "namespaces", "default", "sgclusters"}),
            "/apis/stackgres.io/v1/namespaces/{namespace}/sgclusters");
  EXPECT_EQ(route_template({"apis", "stackgres.io", "v1", "namespaces", "prod", "SGCluster", "orders"}),
            "/apis/stackgres.io/v1/namespaces/{namespace}/sgclusters/{name}");
  EXPECT_EQ(route_template({"apis", "stackgres.io", "v1", "namespaces", "prod", "sgclusters", "orders", "status"}),
            "/apis/stackgres.io/v1/namespaces/{namespace}/sgclusters/{name}/status");
  EXPECT_EQ(route_template({"api", "v1", "namespaces", "default", "secrets", "s3"}),
            "/api/v1/namespaces/{namespace}/secrets/{name}");
  EXPECT_EQ(route_template({"apis", "pgstack.io", "v1", "users", "alice", "password"}),
            "/apis/pgstack.io/v1/users/{name}/password");
  EXPECT_EQ(route_template({"healthz"}), "/healthz");
  EXPECT_EQ(route_template({"auth", "login"}), "/auth/login");
}

TEST(RouteTemplate, UnknownPathsShareOneValue) {
  EXPECT_EQ(route_template({"wp-admin", "setup.php"}), "{other}");
  EXPECT_EQ(route_template({"apis", "stackgres.io", "v1", "namespaces", "default", "nosuchkind"}),
            "/apis/stackgres.io/v1/namespaces/{namespace}/{other}");
  EXPECT_EQ(route_template({"apis", "stackgres.io", "v1", "namespaces", "default", "sgclusters", "demo", "x1"}),
            "/apis/stackgres.io/v1/namespaces/{namespace}/sgclusters/{name}/{other}");
  EXPECT_EQ(route_template({"auth", "anything", "else"}), "/auth/{other}");
  // The console's files and routes are one label.
  EXPECT_EQ(route_template({"ui", "assets", "index-abc.js"}), "/ui/*");
  EXPECT_EQ(route_template({}), "/ui/*");
}

TEST(ControllerMetrics, RendersRequestsReconcilesAndLeadership) {
  ControllerMetrics metrics;
  metrics.record_request("GET", "/healthz", 200);
  metrics.record_request("GET", "/healthz", 200);
  metrics.record_request("BREW", "{other}", 405);
  metrics.record_reconcile("default/demo", std::chrono::milliseconds(30), false);
  metrics.record_reconcile("default/demo", std::chrono::seconds(2), true);
  metrics.record_skipped_pass();
  const std::string text = metrics.render(true);
  EXPECT_NE(text.find("pgstack_controller_leader 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("pgstack_controller_api_requests_total{method=\"GET\",route=\"/healthz\",code=\"200\"} 2\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("method=\"OTHER\",route=\"{other}\",code=\"405\"} 1\n"), std::string::npos) << text;
  const std::string labels = "namespace=\"default\",cluster=\"demo\"";
  EXPECT_NE(text.find("pgstack_controller_reconcile_duration_seconds_bucket{" + labels + ",le=\"0.025\"} 0\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("pgstack_controller_reconcile_duration_seconds_bucket{" + labels + ",le=\"0.05\"} 1\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("pgstack_controller_reconcile_duration_seconds_bucket{" + labels + ",le=\"2.5\"} 2\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("pgstack_controller_reconcile_duration_seconds_count{" + labels + "} 2\n"), std::string::npos);
  EXPECT_NE(text.find("pgstack_controller_reconcile_errors_total{" + labels + "} 1\n"), std::string::npos);
  EXPECT_NE(text.find("pgstack_controller_reconcile_skipped_passes_total 1\n"), std::string::npos);
  EXPECT_NE(metrics.render(false).find("pgstack_controller_leader 0\n"), std::string::npos);
}

TEST(ControllerMetrics, ExpectedReplicasOfTheLastPassOnlyWhileLeading) {
  ControllerMetrics metrics;
  metrics.set_expected_replicas({{"shop/demo", 2}, {"shop/gone", 1}});
  metrics.set_expected_replicas({{"shop/demo", 2}, {"shop/single", 0}});
  const std::string text = metrics.render(true);
  EXPECT_NE(text.find("pgstack_cluster_expected_replicas{namespace=\"shop\",cluster=\"demo\"} 2\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("pgstack_cluster_expected_replicas{namespace=\"shop\",cluster=\"single\"} 0\n"),
            std::string::npos);
  EXPECT_EQ(text.find("cluster=\"gone\""), std::string::npos);  // deleted since the previous pass
  EXPECT_EQ(metrics.render(false).find("pgstack_cluster_expected_replicas{"), std::string::npos);
}

}  // namespace
}  // namespace pgstack::controller
