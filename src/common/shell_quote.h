// Words for /bin/sh and for Patroni, which splits its commands with Python's shlex (POSIX mode):
// archive_command, restore_command, post_bootstrap and the scripts the agent writes.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace pgstack {

// The word as it is when it has only characters neither shell nor shlex treat specially
// (letters, digits and -_./=:,%@+); otherwise in single quotes, a ' inside written as '\''.
std::string shell_quote(std::string_view word);

// The words quoted and joined by spaces: one command line.
std::string shell_command(const std::vector<std::string>& argv);

}  // namespace pgstack
