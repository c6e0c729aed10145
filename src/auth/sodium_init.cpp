#include "auth/sodium_init.h"

#include <mutex>
#include <sodium.h>
#include <stdexcept>

namespace pgstack::auth {

void ensure_sodium() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (sodium_init() < 0) throw std::runtime_error("libsodium could not be initialised");
  });
}

}  // namespace pgstack::auth
