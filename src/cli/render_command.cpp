// pgstack render -f FILE... [--cluster NAME] [--instance N] [--what postgresql|patroni|pgbouncer|exporter]:
// prints the files one instance would run with, offline.
#include <iostream>
#include <memory>

#include <fmt/format.h>

#include "cli/cluster_inputs.h"
#include "cli/commands.h"
#include "cli/manifest_input.h"
#include "config/render_exporter.h"
#include "config/render_patroni.h"
#include "config/render_pgbouncer.h"
#include "config/render_postgresql.h"
#include "config/tuning.h"
#include "host/host_context.h"

namespace pgstack::cli {

void add_render_command(CLI::App& app, ExitStatus& status) {
  struct Options {
    std::vector<std::string> files;
    std::string cluster;
    int instance = 0;
    std::string what;
  };
  auto options = std::make_shared<Options>();
  CLI::App* command = app.add_subcommand("render", "Print the configuration files an instance would run with");
  command->add_option("-f,--filename", options->files, "Manifest file (YAML or JSON; - for stdin); repeatable")
      ->required();
  command->add_option("--cluster", options->cluster, "SGCluster to render (needed when the input has several)");
  command->add_option("--instance", options->instance, "Instance index, 0-based")->check(CLI::NonNegativeNumber);
  command->add_option("--what", options->what, "Only this file")
      ->check(CLI::IsMember({"postgresql", "patroni", "pgbouncer", "exporter"}));
  command->callback([options, &status] {
    const ManifestInput input = read_manifests(options->files);
    if (print_diagnostics(input.validation.diagnostics) > 0) {
      std::cerr << "render: the input is not valid; fix the errors above (pgstack validate shows the same)\n";
      status.code = 1;
      return;
    }
    host::HostValidationContext host;
    auto resolved =
        resolve_cluster_inputs(input.validation.documents, options->cluster, host.context().installed_postgres);
    if (!resolved.ok()) {
      std::cerr << "render: " << resolved.error().message << "\n";
      status.code = exit_code_for(resolved.error().code);
      return;
    }
    const ClusterInputs& inputs = resolved.value();
    if (options->instance >= inputs.cluster.instances) {
      std::cerr << fmt::format("render: --instance {} is out of range: SGCluster/{} has {} instance{} (0..{})\n",
                               options->instance, inputs.cluster.name, inputs.cluster.instances,
                               inputs.cluster.instances == 1 ? "" : "s", inputs.cluster.instances - 1);
      status.code = 1;
      return;
    }
    const int major = inputs.postgres.major;
    const auto tuning = config::tuning_input_for(inputs.cluster, inputs.profile,
                                                 inputs.postgres_config ? &*inputs.postgres_config : nullptr, major);
    const auto parameters = config::tune_postgres_parameters(tuning);
    for (const auto& dropped : config::dropped_user_parameters(tuning))
      std::cerr << fmt::format("note: {} = '{}' is not used: {}\n", dropped.name, dropped.value, dropped.source);
    for (const auto& ignored : config::ignored_patroni_overrides(inputs.cluster))
      std::cerr << fmt::format("note: configurations.patroni.{} is not used: pgstack derives it\n", ignored);
    print_diagnostics(tuning_warnings(inputs, input.validation.documents));
    const auto layout = config::default_instance_layout(inputs.cluster, options->instance, major);
    const auto* pooling = inputs.pooling_config ? &*inputs.pooling_config : nullptr;

    const bool all = options->what.empty();
    const auto section = [&](const std::string& title) {
      if (all) std::cout << fmt::format("# ===== {} =====\n", title);
    };
    if (all || options->what == "postgresql") {
      section(layout.config_dir + "/postgresql.conf");
      std::cout << config::render_postgresql_conf(inputs.cluster, inputs.profile, layout, parameters);
    }
    if (all || options->what == "patroni") {
      section(layout.config_dir + "/patroni.yaml");
      std::cout << config::render_patroni_yaml(inputs.cluster, layout, parameters);
    }
    if ((all || options->what == "pgbouncer")) {
      if (inputs.cluster.disable_connection_pooling) {
        std::cerr << fmt::format("note: SGCluster/{} disables connection pooling: no pgbouncer.ini\n",
                                 inputs.cluster.name);
        if (!all) status.code = 1;
      } else {
        section(layout.config_dir + "/pgbouncer.ini");
        std::cout << config::render_pgbouncer_ini(inputs.cluster, pooling, layout,
                                                  config::pgbouncer_pool_budget(tuning));
      }
    }
    // postgres_exporter's queries file: asked for by name only, it is the same for every cluster.
    if (options->what == "exporter") std::cout << config::render_exporter_queries();
  });
}

}  // namespace pgstack::cli
