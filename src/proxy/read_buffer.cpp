#include "proxy/read_buffer.h"

#include <cstring>
#include <vector>

namespace pgstack::proxy {
namespace {

// Large buffers given back by this worker's sessions, for the next that needs one (a worker is one thread).
constexpr std::size_t kSpares = 64;
std::vector<std::unique_ptr<std::array<std::uint8_t, ReadBuffer::kLarge>>>& spares() {
  thread_local std::vector<std::unique_ptr<std::array<std::uint8_t, ReadBuffer::kLarge>>> kept;
  return kept;
}

}  // namespace

ReadBuffer::~ReadBuffer() { give_back(); }

void ReadBuffer::give_back() {
  if (!large_) return;
  if (spares().size() < kSpares) spares().push_back(std::move(large_));
  large_.reset();
}

boost::asio::mutable_buffer ReadBuffer::small() {
  give_back();
  in_large_ = false;
  return boost::asio::buffer(small_);
}

boost::asio::mutable_buffer ReadBuffer::large() {
  if (!large_) {
    if (spares().empty()) {
      large_.reset(new Large);  // not zeroed: reads fill what is used
    } else {
      large_ = std::move(spares().back());
      spares().pop_back();
    }
  }
  in_large_ = true;
  return boost::asio::buffer(*large_);
}

boost::asio::mutable_buffer ReadBuffer::spill() {
  const auto whole = large();
  std::memcpy(large_->data(), small_.data(), kSmall);
  return whole + kSmall;
}

}  // namespace pgstack::proxy
