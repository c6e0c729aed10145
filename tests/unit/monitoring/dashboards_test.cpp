// The Grafana dashboards (monitoring/dashboards/*.json) are importable into any Grafana and serve every
// cluster: they parse, each has its own uid and title, every panel queries Prometheus through the
// datasource variable, and only variables the dashboard defines (or Grafana's built-ins) are used.
// tests/integration/monitoring runs every query against a real Prometheus.
#include "monitoring/dashboards.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

#include <gtest/gtest.h>

namespace pgstack::monitoring {
namespace {

using nlohmann::json;

const std::filesystem::path kDashboardsDir = std::filesystem::path(PGSTACK_SOURCE_DIR) / "monitoring" / "dashboards";

// Grafana's global variables that may appear in a query.
const std::set<std::string> kBuiltIns = {"__rate_interval", "__interval", "__interval_ms", "__range",
                                         "__range_s",       "__range_ms", "__from",        "__to"};

std::map<std::string, json> load_dashboards() {
  std::map<std::string, json> out;
  for (const auto& entry : std::filesystem::directory_iterator(kDashboardsDir)) {
    if (entry.path().extension() != ".json") continue;
    std::ifstream file(entry.path());
    std::stringstream text;
    text << file.rdbuf();
    out[entry.path().filename().string()] = json::parse(text.str(), nullptr, false);
  }
  return out;
}

bool uses_datasource_variable(const json& object) {
  return object.is_object() && object.contains("datasource") && object["datasource"].is_object() &&
         object["datasource"].value("type", "") == "prometheus" &&
         object["datasource"].value("uid", "") == "${datasource}";
}

TEST(Dashboards, TheEightDashboardsParseWithTheirOwnUidAndTitle) {
  const auto dashboards = load_dashboards();
  std::set<std::string> files, uids, titles;
  for (const auto& [file, dashboard] : dashboards) {
    files.insert(file);
    ASSERT_TRUE(dashboard.is_object()) << file << " is not a JSON object";
    EXPECT_TRUE(uids.insert(dashboard.value("uid", "")).second) << file << ": uid used twice";
    EXPECT_TRUE(titles.insert(dashboard.value("title", "")).second) << file << ": title used twice";
    EXPECT_FALSE(dashboard.value("uid", "").empty()) << file;
    EXPECT_LE(dashboard.value("uid", "").size(), 40u) << file << ": Grafana's uid limit";
    EXPECT_GE(dashboard.value("schemaVersion", 0), 36) << file << ": Grafana 9/10 schema";
    EXPECT_TRUE(dashboard["id"].is_null()) << file << ": an id would clash on import";
  }
  EXPECT_EQ(files, (std::set<std::string>{"activity.json", "archiving-and-backups.json", "host.json", "overview.json",
                                          "pooling.json", "proxy.json", "queries.json", "replication.json"}));
}

TEST(Dashboards, EveryPanelQueriesPrometheusThroughTheDatasourceVariable) {
  for (const auto& [file, dashboard] : load_dashboards()) {
    const auto panels = dashboard_panels(dashboard);
    EXPECT_GE(panels.size(), 8u) << file;
    std::set<int> ids;
    std::set<std::string> titles;  // the e2e test and its exemptions name panels by title
    for (const auto& panel : panels) {
      const std::string title = panel.value("title", "");
      const std::string where = file + " / " + title;
      EXPECT_FALSE(title.empty()) << file << ": a panel without a title";
      EXPECT_TRUE(titles.insert(title).second) << where << ": title used twice";
      EXPECT_TRUE(ids.insert(panel.value("id", 0)).second) << where << ": panel id used twice";
      EXPECT_TRUE(panel.contains("gridPos")) << where;
      EXPECT_TRUE(uses_datasource_variable(panel)) << where << ": " << panel.value("datasource", json()).dump();
      std::size_t exprs = 0;
      for (const auto& target : panel.value("targets", json::array())) {
        EXPECT_TRUE(uses_datasource_variable(target)) << where << " / " << target.value("refId", "");
        if (!target.value("expr", "").empty()) ++exprs;
      }
      EXPECT_GE(exprs, 1u) << where << ": no target with an expr";
    }
  }
}

TEST(Dashboards, OnlyDefinedVariablesAreUsedAndEveryQueryIsScopedToTheSelection) {
  for (const auto& [file, dashboard] : load_dashboards()) {
    std::set<std::string> defined;
    bool has_datasource = false;
    for (const auto& variable : dashboard.value("/templating/list"_json_pointer, json::array())) {
      defined.insert(variable.value("name", ""));
      if (variable.value("type", "") == "datasource") {
        has_datasource = variable.value("name", "") == "datasource" && variable.value("query", "") == "prometheus";
      } else if (variable.value("type", "") == "query") {
        EXPECT_TRUE(uses_datasource_variable(variable)) << file << " / variable " << variable.value("name", "");
        const std::string definition = variable.value("definition", "");
        EXPECT_EQ(definition.rfind("label_values(", 0), 0u) << file << ": " << definition;
        for (const auto& name : referenced_variables(definition))
          EXPECT_TRUE(defined.contains(name))
              << file << ": variable " << variable.value("name", "") << " uses $" << name << " before it is defined";
      }
    }
    EXPECT_TRUE(has_datasource) << file << ": no datasource variable of type prometheus";
    EXPECT_TRUE(defined.contains("namespace") && defined.contains("cluster")) << file;

    for (const auto& panel : dashboard_panels(dashboard)) {
      for (const auto& target : panel.value("targets", json::array())) {
        const std::string where = file + " / " + panel.value("title", "") + " / " + target.value("refId", "");
        const std::string expr = target.value("expr", "");
        const auto used = referenced_variables(expr + " " + target.value("legendFormat", ""));
        for (const auto& name : used)
          EXPECT_TRUE(defined.contains(name) || kBuiltIns.contains(name)) << where << ": unknown $" << name;
        // One dashboard for every cluster: each query picks the selected cluster (or its hosts).
        EXPECT_TRUE(used.contains("cluster") || used.contains("host")) << where << ": " << expr;
      }
    }
  }
}

TEST(Dashboards, TheBuiltInDashboardsAreTheCheckedInFilesAndCanBeWritten) {
  const auto files = load_dashboards();
  const auto built_in = built_in_dashboards();
  ASSERT_EQ(built_in.size(), files.size());
  for (const auto& dashboard : built_in) {
    std::ifstream file(kDashboardsDir / dashboard.name);
    std::stringstream text;
    text << file.rdbuf();
    EXPECT_EQ(dashboard.text, text.str()) << dashboard.name;
  }
  char pattern[] = "/tmp/pgstack-dashboards-XXXXXX";
  ASSERT_NE(::mkdtemp(pattern), nullptr);
  const std::filesystem::path dir = std::filesystem::path(pattern) / "monitoring" / "dashboards";
  auto written = write_dashboards(dir);
  ASSERT_TRUE(written.ok()) << written.error().message;
  for (const auto& dashboard : built_in) {
    EXPECT_EQ(std::filesystem::file_size(dir / dashboard.name), dashboard.text.size()) << dashboard.name;
    EXPECT_EQ(std::filesystem::status(dir / dashboard.name).permissions(), std::filesystem::perms(0644));
  }
  std::filesystem::remove_all(pattern);
}

TEST(Dashboards, PanelsInsideRowsAreFoundCollapsedOrNot) {
  const json dashboard = json::parse(R"({"panels": [
    {"type": "row", "title": "open", "collapsed": false, "panels": []},
    {"type": "stat", "title": "a", "targets": [{"refId": "A", "expr": "up"}]},
    {"type": "row", "title": "closed", "collapsed": true, "panels": [
      {"type": "timeseries", "title": "b", "targets": [{"refId": "A", "expr": "x"}, {"refId": "B"},
                                                        {"refId": "C", "expr": "y"}]}]}]})");
  const auto panels = dashboard_panels(dashboard);
  ASSERT_EQ(panels.size(), 2u);
  EXPECT_EQ(panels[0]["title"], "a");
  EXPECT_EQ(panels[1]["title"], "b");
  const auto queries = dashboard_queries(dashboard);
  ASSERT_EQ(queries.size(), 3u);
  EXPECT_EQ(queries[1].panel, "b");
  EXPECT_EQ(queries[1].ref_id, "A");
  EXPECT_EQ(queries[2].expr, "y");
}

TEST(Dashboards, VariablesAreFoundAndSubstitutedInEveryGrafanaSyntax) {
  const std::string expr =
      R"(rate(x{ns="$namespace",c="${cluster}",i=~"${instance_name:regex}",h="[[host]]",j="$instance"}[$__rate_interval]) $ [5m])";
  EXPECT_EQ(referenced_variables(expr),
            (std::set<std::string>{"namespace", "cluster", "instance_name", "host", "instance", "__rate_interval"}));
  const std::map<std::string, std::string> values = {{"namespace", "default"},
                                                     {"cluster", "demo"},
                                                     {"instance_name", "demo-0|demo-1"},
                                                     {"host", "h1"},
                                                     {"__rate_interval", "1m"}};
  // The longest name wins ($instance_name is not $instance followed by "_name"); unknown ones stay.
  EXPECT_EQ(substitute_variables(expr, values),
            R"(rate(x{ns="default",c="demo",i=~"demo-0|demo-1",h="h1",j="$instance"}[1m]) $ [5m])");
  EXPECT_EQ(substitute_variables("${unclosed", values), "${unclosed");
  EXPECT_EQ(substitute_variables("a[[b", values), "a[[b");
}

}  // namespace
}  // namespace pgstack::monitoring
