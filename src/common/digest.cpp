#include "common/digest.h"

#include <openssl/evp.h>

namespace pgstack {

std::string hex_lower(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(bytes.size() * 2);
  for (const char c : bytes) {
    const auto byte = static_cast<unsigned char>(c);
    hex += kHex[byte >> 4];
    hex += kHex[byte & 15];
  }
  return hex;
}

std::string sha256_hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(data.data(), data.size(), digest, &size, EVP_sha256(), nullptr);
  return hex_lower(std::string_view(reinterpret_cast<const char*>(digest), size));
}

std::string base64_encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');  // EVP_EncodeBlock writes a NUL after the text
  const int length =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                      reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(length));
  return out;
}

Result<std::string> base64_decode(std::string_view text) {
  const auto bad = [](std::string_view why) {
    return make_error(ErrorCode::kInvalidInput, "invalid base64: " + std::string(why));
  };
  if (text.size() % 4 != 0) return bad("the length is not a multiple of 4");
  std::size_t padding = 0;
  if (!text.empty() && text.back() == '=') ++padding;
  if (text.size() >= 2 && text[text.size() - 2] == '=') ++padding;
  // EVP_DecodeBlock skips whitespace and takes '=' anywhere; base64 here is neither.
  for (std::size_t i = 0; i + padding < text.size(); ++i) {
    const char c = text[i];
    const bool in_alphabet =
        (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
    if (!in_alphabet) return bad("a character outside the alphabet, or padding before the end");
  }
  std::string out(3 * (text.size() / 4) + 1, '\0');
  const int length =
      EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()), reinterpret_cast<const unsigned char*>(text.data()),
                      static_cast<int>(text.size()));
  if (length < 0) return bad("not decodable");
  out.resize(static_cast<std::size_t>(length) - padding);  // EVP_DecodeBlock counts padding as zero bytes
  return out;
}

}  // namespace pgstack
