// Where a session reads a client's or a server's bytes. Most messages of an OLTP workload are short
// (a query, its row and ReadyForQuery: a few hundred bytes), so a read goes to a small array inside
// the session; a read that fills it is drained at once into a large buffer taken from the worker's
// spares and given back before the next read. A session waiting for bytes thus holds 512 bytes, not
// 16 KiB, and keeps asio's speculative read (an async_wait would cost an epoll_ctl per read).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>

#include <boost/asio/buffer.hpp>

namespace pgstack::proxy {

class ReadBuffer {
 public:
  static constexpr std::size_t kSmall = 512;
  static constexpr std::size_t kLarge = 16384;

  ReadBuffer() = default;
  ~ReadBuffer();
  ReadBuffer(const ReadBuffer&) = delete;
  ReadBuffer& operator=(const ReadBuffer&) = delete;

  // For the next read: the small array (the large buffer goes back to the spares).
  boost::asio::mutable_buffer small();
  // The small array was filled: its bytes move to the start of the large buffer, and the rest of that
  // is where to read what else is waiting.
  boost::asio::mutable_buffer spill();
  // For a TLS stream, which reads records whole into its own buffer: always the large one.
  boost::asio::mutable_buffer large();
  // The bytes of the last read.
  const std::uint8_t* data() const { return in_large_ ? large_->data() : small_.data(); }

 private:
  using Large = std::array<std::uint8_t, kLarge>;
  void give_back();

  std::array<std::uint8_t, kSmall> small_;
  std::unique_ptr<Large> large_;
  bool in_large_ = false;
};

}  // namespace pgstack::proxy
