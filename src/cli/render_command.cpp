#include "cli/commands.h"
namespace pgstack::cli {
void add_render_command(CLI::App&, ExitStatus&) {}
}
