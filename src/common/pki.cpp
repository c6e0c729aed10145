#include "common/pki.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <memory>
#include <unistd.h>

#include <arpa/inet.h>
#include <fmt/format.h>
#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/files.h"

namespace pgstack::pki {

namespace {

template <typename T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using Key = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using Certificate = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using Bio = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using Extension = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION, X509_EXTENSION_free>>;
using Store = std::unique_ptr<X509_STORE, Deleter<X509_STORE, X509_STORE_free>>;
using StoreContext = std::unique_ptr<X509_STORE_CTX, Deleter<X509_STORE_CTX, X509_STORE_CTX_free>>;
void free_general_names(GENERAL_NAMES* names) { GENERAL_NAMES_free(names); }
using GeneralNames = std::unique_ptr<GENERAL_NAMES, Deleter<GENERAL_NAMES, free_general_names>>;

Error openssl_error(std::string_view what) {
  std::string detail;
  while (const unsigned long code = ERR_get_error()) {
    char text[256];
    ERR_error_string_n(code, text, sizeof text);
    if (!detail.empty()) detail += "; ";
    detail += text;
  }
  return make_error(ErrorCode::kInternal, fmt::format("{}: {}", what, detail.empty() ? "OpenSSL failed" : detail));
}

Result<Key> new_p256_key() {
  Key key(EVP_EC_gen("P-256"));
  if (!key) return openssl_error("EC P-256 key generation");
  return key;
}

std::string to_pem(const Key& key) {
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) return {};
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

std::string to_pem(const Certificate& certificate) {
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), certificate.get()) != 1) return {};
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

Result<Certificate> certificate_from(std::string_view pem) {
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  Certificate certificate(bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!certificate) return openssl_error("reading a PEM certificate");
  return certificate;
}

Result<Key> key_from(std::string_view pem) {
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  Key key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!key) return openssl_error("reading a PEM private key");
  return key;
}

Result<bool> add_extension(X509* certificate, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, issuer, certificate, nullptr, nullptr, 0);
  Extension extension(X509V3_EXT_conf_nid(nullptr, &context, nid, value.c_str()));
  if (!extension || X509_add_ext(certificate, extension.get(), -1) != 1)
    return openssl_error(fmt::format("extension {} = {}", OBJ_nid2sn(nid), value));
  return true;
}

// A random positive 127-bit serial (RFC 5280: unique per CA, at most 20 octets).
Result<bool> set_random_serial(X509* certificate) {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof bytes) != 1) return openssl_error("random serial");
  bytes[0] &= 0x7f;
  std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_free>> number(BN_bin2bn(bytes, sizeof bytes, nullptr));
  if (!number || BN_to_ASN1_INTEGER(number.get(), X509_get_serialNumber(certificate)) == nullptr)
    return openssl_error("serial number");
  return true;
}

Result<Certificate> new_certificate(const std::string& common_name, const Key& key, std::chrono::seconds lifetime) {
  Certificate certificate(X509_new());
  if (!certificate) return openssl_error("X509_new");
  if (X509_set_version(certificate.get(), X509_VERSION_3) != 1) return openssl_error("version");
  RETURN_IF_ERROR(set_random_serial(certificate.get()));
  if (X509_gmtime_adj(X509_getm_notBefore(certificate.get()), -kNotBeforeBackdate.count()) == nullptr ||
      X509_time_adj_ex(X509_getm_notAfter(certificate.get()), 0, static_cast<long>(lifetime.count()), nullptr) ==
          nullptr)
    return openssl_error("validity");
  X509_NAME* name = X509_get_subject_name(certificate.get());
  if (X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>("pgstack"), -1, -1,
                                 0) != 1 ||
      X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(common_name.c_str()),
                                 -1, -1, 0) != 1)
    return openssl_error("subject name");
  if (X509_set_pubkey(certificate.get(), key.get()) != 1) return openssl_error("public key");
  return certificate;
}

Clock::time_point time_point_of(const ASN1_TIME* time) {
  std::tm parts{};
  if (ASN1_TIME_to_tm(time, &parts) != 1) return Clock::time_point{};
  return Clock::from_time_t(::timegm(&parts));
}

std::string common_name_of(X509_NAME* name) {
  char text[256] = {};
  if (X509_NAME_get_text_by_NID(name, NID_commonName, text, sizeof text) < 0) return {};
  return text;
}

std::string normalized_ip(std::string_view text) {
  unsigned char bytes[16];
  char out[INET6_ADDRSTRLEN] = {};
  const std::string copy(text);
  if (::inet_pton(AF_INET, copy.c_str(), bytes) == 1 && ::inet_ntop(AF_INET, bytes, out, sizeof out)) return out;
  if (::inet_pton(AF_INET6, copy.c_str(), bytes) == 1 && ::inet_ntop(AF_INET6, bytes, out, sizeof out)) return out;
  return {};
}

Result<bool> write_owned(const std::filesystem::path& path, const std::string& content, std::filesystem::perms mode,
                         std::optional<FileOwner> owner) {
  // Given to its owner before it is renamed into place: a reader never meets a file it cannot open.
  const std::filesystem::path staged = path.string() + ".new";
  if (auto written = write_file_atomically(staged, content, mode); !written) return written;
  if (owner && ::chown(staged.c_str(), owner->uid, owner->gid) != 0) {
    const std::string reason = std::strerror(errno);
    ::unlink(staged.c_str());
    return make_error(ErrorCode::kUnavailable, fmt::format("{}: cannot chown: {}", staged.string(), reason));
  }
  if (::rename(staged.c_str(), path.c_str()) != 0) {
    const std::string reason = std::strerror(errno);
    ::unlink(staged.c_str());
    return make_error(ErrorCode::kUnavailable, fmt::format("{}: cannot rename into place: {}", path.string(), reason));
  }
  return true;
}

}  // namespace

bool is_ip_address(std::string_view text) { return !normalized_ip(text).empty(); }

Result<KeyPair> create_ca(const std::string& common_name, std::chrono::seconds lifetime) {
  auto key = new_p256_key();
  RETURN_IF_ERROR(key);
  auto certificate = new_certificate(common_name, *key, lifetime);
  RETURN_IF_ERROR(certificate);
  X509* self = certificate->get();
  if (X509_set_issuer_name(self, X509_get_subject_name(self)) != 1) return openssl_error("issuer name");
  for (const auto& [nid, value] :
       {std::pair{NID_basic_constraints, "critical,CA:TRUE,pathlen:0"},
        std::pair{NID_key_usage, "critical,keyCertSign,cRLSign"}, std::pair{NID_subject_key_identifier, "hash"}}) {
    RETURN_IF_ERROR(add_extension(self, self, nid, value));
  }
  if (X509_sign(self, key->get(), EVP_sha256()) == 0) return openssl_error("signing the CA certificate");
  return KeyPair{to_pem(*certificate), to_pem(*key)};
}

Result<KeyPair> issue_certificate(const KeyPair& ca, const LeafRequest& request) {
  if (request.common_name.empty()) return make_error(ErrorCode::kInvalidInput, "a certificate needs a common name");
  auto ca_certificate = certificate_from(ca.certificate_pem);
  RETURN_IF_ERROR(ca_certificate);
  auto ca_key = key_from(ca.private_key_pem);
  RETURN_IF_ERROR(ca_key);
  auto key = new_p256_key();
  RETURN_IF_ERROR(key);
  auto certificate = new_certificate(request.common_name, *key, request.lifetime);
  RETURN_IF_ERROR(certificate);
  X509* leaf = certificate->get();
  if (X509_set_issuer_name(leaf, X509_get_subject_name(ca_certificate->get())) != 1) return openssl_error("issuer");

  std::string names;
  const auto append = [&names](std::string_view kind, std::string_view value) {
    names += fmt::format("{}{}:{}", names.empty() ? "" : ",", kind, value);
  };
  for (const auto& dns : request.dns_names) {
    if (dns.empty() || dns.find_first_of(",: \t\n") != std::string::npos)
      return make_error(ErrorCode::kInvalidInput, fmt::format("'{}' is not a DNS name", dns));
    append("DNS", dns);
  }
  for (const auto& ip : request.ip_addresses) {
    const std::string normalized = normalized_ip(ip);
    if (normalized.empty()) return make_error(ErrorCode::kInvalidInput, fmt::format("'{}' is not an IP address", ip));
    append("IP", normalized);
  }
  const char* extended = request.usage == Usage::kServer   ? "serverAuth"
                         : request.usage == Usage::kClient ? "clientAuth"
                                                           : "serverAuth,clientAuth";
  std::vector<std::pair<int, std::string>> extensions = {{NID_basic_constraints, "critical,CA:FALSE"},
                                                         {NID_key_usage, "critical,digitalSignature,keyAgreement"},
                                                         {NID_ext_key_usage, extended},
                                                         {NID_subject_key_identifier, "hash"},
                                                         {NID_authority_key_identifier, "keyid:always"}};
  if (!names.empty()) extensions.emplace_back(NID_subject_alt_name, names);
  for (const auto& [nid, value] : extensions) {
    RETURN_IF_ERROR(add_extension(leaf, ca_certificate->get(), nid, value));
  }
  if (X509_sign(leaf, ca_key->get(), EVP_sha256()) == 0) return openssl_error("signing a certificate");
  return KeyPair{to_pem(*certificate), to_pem(*key)};
}

Result<CertificateInfo> inspect_certificate(std::string_view certificate_pem) {
  auto certificate = certificate_from(certificate_pem);
  RETURN_IF_ERROR(certificate);
  X509* x509 = certificate->get();
  CertificateInfo info;
  info.subject_common_name = common_name_of(X509_get_subject_name(x509));
  info.issuer_common_name = common_name_of(X509_get_issuer_name(x509));
  info.not_before = time_point_of(X509_get0_notBefore(x509));
  info.not_after = time_point_of(X509_get0_notAfter(x509));
  info.is_ca = X509_check_ca(x509) != 0;
  GeneralNames names(static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(x509, NID_subject_alt_name, nullptr, nullptr)));
  for (int i = 0; names && i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
    if (name->type == GEN_DNS) {
      const ASN1_IA5STRING* dns = name->d.dNSName;
      info.dns_names.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(dns)),
                                  static_cast<std::size_t>(ASN1_STRING_length(dns)));
    } else if (name->type == GEN_IPADD) {
      const ASN1_OCTET_STRING* ip = name->d.iPAddress;
      char out[INET6_ADDRSTRLEN] = {};
      const int family = ASN1_STRING_length(ip) == 4 ? AF_INET : AF_INET6;
      if (::inet_ntop(family, ASN1_STRING_get0_data(ip), out, sizeof out) != nullptr)
        info.ip_addresses.emplace_back(out);
    }
  }
  return info;
}

Result<bool> verify_signed_by(std::string_view certificate_pem, std::string_view ca_certificate_pem,
                              Clock::time_point now) {
  auto certificate = certificate_from(certificate_pem);
  RETURN_IF_ERROR(certificate);
  auto ca = certificate_from(ca_certificate_pem);
  RETURN_IF_ERROR(ca);
  Store store(X509_STORE_new());
  StoreContext context(X509_STORE_CTX_new());
  if (!store || !context || X509_STORE_add_cert(store.get(), ca->get()) != 1 ||
      X509_STORE_CTX_init(context.get(), store.get(), certificate->get(), nullptr) != 1)
    return openssl_error("certificate store");
  X509_STORE_CTX_set_time(context.get(), 0, Clock::to_time_t(now));
  return X509_verify_cert(context.get()) == 1;
}

std::string renewal_reason(const CertificateInfo& certificate, const LeafRequest& wanted, Clock::time_point now) {
  if (now < certificate.not_before) return "it is not valid yet";
  // Two thirds of the lifetime it was made with: with the backdate counted, a 60-s certificate would be
  // renewed 20 s after its making and a 30-s one at once, again and again.
  const auto made = std::min(certificate.not_before + kNotBeforeBackdate, certificate.not_after);
  if (now >= made + (certificate.not_after - made) * 2 / 3) return "two thirds of its lifetime have passed";
  for (const auto& dns : wanted.dns_names) {
    if (std::find(certificate.dns_names.begin(), certificate.dns_names.end(), dns) == certificate.dns_names.end())
      return fmt::format("it does not name {}", dns);
  }
  for (const auto& ip : wanted.ip_addresses) {
    const std::string normalized = normalized_ip(ip);
    if (std::find(certificate.ip_addresses.begin(), certificate.ip_addresses.end(), normalized) ==
        certificate.ip_addresses.end())
      return fmt::format("it does not name {}", ip);
  }
  return {};
}

CaFiles ca_files_in(const std::filesystem::path& dir) { return {dir / "ca.crt", dir / "ca.key"}; }

Result<KeyPair> load_ca(const CaFiles& files) {
  auto certificate = read_file(files.certificate);
  RETURN_IF_ERROR(certificate);
  auto key = read_file(files.private_key);
  RETURN_IF_ERROR(key);
  auto parsed = certificate_from(*certificate);
  if (!parsed)
    return make_error(ErrorCode::kFailedPrecondition,
                      fmt::format("{}: {}", files.certificate.string(), parsed.error().message));
  auto parsed_key = key_from(*key);
  if (!parsed_key)
    return make_error(ErrorCode::kFailedPrecondition,
                      fmt::format("{}: {}", files.private_key.string(), parsed_key.error().message));
  if (X509_check_private_key(parsed->get(), parsed_key->get()) != 1)
    return make_error(ErrorCode::kFailedPrecondition,
                      fmt::format("{} is not the key of {}", files.private_key.string(), files.certificate.string()));
  return KeyPair{*certificate, *key};
}

Result<KeyPair> load_or_create_ca(const std::filesystem::path& dir, const std::string& common_name) {
  const CaFiles files = ca_files_in(dir);
  std::error_code error;
  const bool has_certificate = std::filesystem::exists(files.certificate, error);
  const bool has_key = std::filesystem::exists(files.private_key, error);
  if (has_certificate || has_key) {
    if (!has_certificate || !has_key)
      return make_error(ErrorCode::kFailedPrecondition,
                        fmt::format("{} holds half a CA ({} is missing): restore it, or remove the directory to make "
                                    "a new CA (every certificate is then reissued)",
                                    dir.string(), (has_certificate ? files.private_key : files.certificate).string()));
    return load_ca(files);
  }
  std::filesystem::create_directories(dir, error);
  if (error)
    return make_error(ErrorCode::kUnavailable, fmt::format("cannot create {}: {}", dir.string(), error.message()));
  std::filesystem::permissions(dir, std::filesystem::perms(0755), error);
  auto ca = create_ca(common_name);
  RETURN_IF_ERROR(ca);
  RETURN_IF_ERROR(write_key_pair(*ca, files.certificate, files.private_key));
  return ca;
}

Result<bool> write_key_pair(const KeyPair& pair, const std::filesystem::path& certificate,
                            const std::filesystem::path& private_key, std::optional<FileOwner> owner) {
  if (auto written = write_owned(private_key, pair.private_key_pem, std::filesystem::perms(0600), owner); !written)
    return written;
  return write_owned(certificate, pair.certificate_pem, std::filesystem::perms(0644), owner);
}

Result<std::string> ensure_certificate(const KeyPair& ca, const LeafRequest& request,
                                       const std::filesystem::path& certificate,
                                       const std::filesystem::path& private_key, std::optional<FileOwner> owner) {
  std::string reason = "there is none";
  std::error_code error;
  if (auto current = read_file(certificate); current && std::filesystem::exists(private_key, error)) {
    auto signed_by = verify_signed_by(*current, ca.certificate_pem, Clock::now());
    auto info = inspect_certificate(*current);
    if (!signed_by || !*signed_by) {
      reason = "the CA did not sign it";
    } else if (!info) {
      reason = info.error().message;
    } else {
      reason = renewal_reason(*info, request, Clock::now());
    }
  }
  if (reason.empty()) return reason;
  auto issued = issue_certificate(ca, request);
  RETURN_IF_ERROR(issued);
  RETURN_IF_ERROR(write_key_pair(*issued, certificate, private_key, owner));
  return reason;
}

Result<bool> write_certificate(const std::string& certificate_pem, const std::filesystem::path& path,
                               std::optional<FileOwner> owner) {
  return write_owned(path, certificate_pem, std::filesystem::perms(0644), owner);
}

}  // namespace pgstack::pki
