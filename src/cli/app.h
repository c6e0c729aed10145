#pragma once

namespace pgstack::cli {

// The whole `pgstack` command line; returns the process exit code.
int run(int argc, char** argv);

}  // namespace pgstack::cli
