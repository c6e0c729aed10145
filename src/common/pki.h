// pgstack's own certificate authority: one CA per installation (made by `pgstack up`, its key never
// leaves that host) signs the certificates of Postgres, Patroni's REST API, etcd and the controller, so
// that a client holding ca.crt verifies every server (sslmode=verify-full) without trusting each one.
// EC P-256 everywhere: small keys, fast handshakes, accepted by every client pgstack runs.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <sys/types.h>

#include "common/error.h"

namespace pgstack::pki {

using Clock = std::chrono::system_clock;

inline constexpr std::chrono::hours kCaLifetime{24 * 3653};   // ~10 years
inline constexpr std::chrono::hours kLeafLifetime{24 * 365};  // a year, renewed at 2/3 of it
// How far before its making a certificate's notBefore is set: a host whose clock is slightly behind still
// accepts a certificate made just now. Renewal counts the lifetime from the making, not from notBefore.
inline constexpr std::chrono::seconds kNotBeforeBackdate{60};

// PEM text of a certificate and of its private key (PKCS#8, unencrypted).
struct KeyPair {
  std::string certificate_pem;
  std::string private_key_pem;
};

enum class Usage { kServer, kClient, kServerAndClient };

struct LeafRequest {
  std::string common_name;
  std::vector<std::string> dns_names;     // subjectAltName DNS entries
  std::vector<std::string> ip_addresses;  // subjectAltName IP entries (IPv4 or IPv6 text)
  Usage usage = Usage::kServer;
  std::chrono::seconds lifetime = kLeafLifetime;
};

// What pgstack needs to know of a certificate to decide whether to keep it.
struct CertificateInfo {
  std::string subject_common_name;
  std::string issuer_common_name;
  Clock::time_point not_before;
  Clock::time_point not_after;
  std::vector<std::string> dns_names;
  std::vector<std::string> ip_addresses;  // normalized text (inet_ntop)
  bool is_ca = false;
};

// A new CA: EC P-256, basicConstraints critical CA:TRUE pathlen:0, keyCertSign and cRLSign.
Result<KeyPair> create_ca(const std::string& common_name, std::chrono::seconds lifetime = kCaLifetime);

// A leaf certificate signed by `ca` for a fresh EC P-256 key. Names must not be empty; IPs must parse.
Result<KeyPair> issue_certificate(const KeyPair& ca, const LeafRequest& request);

Result<CertificateInfo> inspect_certificate(std::string_view certificate_pem);

// Whether `certificate_pem` was signed by `ca_certificate_pem` and is within its validity at `now`.
Result<bool> verify_signed_by(std::string_view certificate_pem, std::string_view ca_certificate_pem,
                              Clock::time_point now);

// Why a certificate should be replaced now (empty: keep it): past 2/3 of its lifetime, not valid yet,
// or its names do not cover `wanted` (the host's address changed). Pure.
std::string renewal_reason(const CertificateInfo& certificate, const LeafRequest& wanted, Clock::time_point now);

// "127.0.0.1" and "::1" are IPs, "db-1.example" is not.
bool is_ip_address(std::string_view text);

// The CA of an installation under `dir`: ca.crt (0644) and ca.key (0600). Made when neither exists;
// an existing one is loaded and returned as it is.
struct CaFiles {
  std::filesystem::path certificate;
  std::filesystem::path private_key;
};
CaFiles ca_files_in(const std::filesystem::path& dir);
Result<KeyPair> load_or_create_ca(const std::filesystem::path& dir, const std::string& common_name);
Result<KeyPair> load_ca(const CaFiles& files);

// Writes the key (0600) then the certificate (0644), each atomically, and gives both to `owner` when
// set. The key first: a reader that finds the new certificate finds its key.
struct FileOwner {
  uid_t uid;
  gid_t gid;
};
Result<bool> write_key_pair(const KeyPair& pair, const std::filesystem::path& certificate,
                            const std::filesystem::path& private_key, std::optional<FileOwner> owner = std::nullopt);

// Issues `request` from `ca` into the two files unless they hold a certificate `ca` signed that
// renewal_reason() keeps. Why it issued one; empty when it kept them.
Result<std::string> ensure_certificate(const KeyPair& ca, const LeafRequest& request,
                                       const std::filesystem::path& certificate,
                                       const std::filesystem::path& private_key,
                                       std::optional<FileOwner> owner = std::nullopt);

Result<bool> write_certificate(const std::string& certificate_pem, const std::filesystem::path& path,
                               std::optional<FileOwner> owner = std::nullopt);

}  // namespace pgstack::pki
