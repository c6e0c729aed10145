// The vocabulary of the PostgreSQL v3 protocol as the decoders report it: statuses, limits, and
// message structs whose string_views and spans point into the decoder's buffer or the caller's input.
// Those views are valid only during the callback that receives them; copy what you keep.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace pgstack::pgwire {

// kReady: every byte fed so far was consumed and the stream is at a message boundary.
// kNeedMoreData: a partial message is buffered (or being skipped); feed more bytes.
// kError: the stream is malformed; sticky: every later feed() returns kError too.
enum class DecodeStatus { kNeedMoreData, kReady, kError };

inline constexpr std::string_view kSqlstateProtocolViolation = "08P01";
inline constexpr std::string_view kSqlstateFeatureNotSupported = "0A000";

// Why decoding stopped, worded for a client, with the SQLSTATE a proxy should answer with.
struct DecodeError {
  std::string message;
  std::string_view sqlstate = kSqlstateProtocolViolation;
};

// Caps on a message's body (the bytes after the length word), as Postgres applies them.
struct DecoderLimits {
  std::uint32_t startup_packet = 10000;      // MAX_STARTUP_PACKET_LENGTH
  std::uint32_t small_message = 10000;       // PQ_SMALL_MESSAGE_LIMIT: Sync, Execute, Describe...
  std::uint32_t auth_message = 65535;        // PG_MAX_AUTH_TOKEN_LENGTH: 'p' and 'R'
  std::uint32_t large_message = 0x3FFFFFFE;  // PQ_LARGE_MESSAGE_LIMIT (1 GiB - 2): Query, Bind, DataRow...

  static DecoderLimits frontend() { return {}; }
  // libpq accepts up to 30000 bytes for the backend messages that are not "long" types.
  static DecoderLimits backend() {
    DecoderLimits limits;
    limits.small_message = 30000;
    return limits;
  }
};

struct ProtocolVersion {
  std::uint16_t major = 3;
  std::uint16_t minor = 0;
  std::uint32_t code() const { return (std::uint32_t{major} << 16) | minor; }
  bool operator==(const ProtocolVersion&) const = default;
};

inline constexpr std::uint32_t kCancelRequestCode = 80877102;  // 1234.5678
inline constexpr std::uint32_t kSslRequestCode = 80877103;     // 1234.5679
inline constexpr std::uint32_t kGssencRequestCode = 80877104;  // 1234.5680
inline constexpr std::uint16_t kLatestMinorVersion = 2;        // 3.2 (PostgreSQL 18)
inline constexpr std::size_t kMaxSecretKeyLength = 256;        // 3.2 allows variable-length cancel keys

// ----------------------------------------------------------------------------------------------------
// Packed lists: `count` items back to back in wire format. The decoder checks the whole list before it
// reports it; iteration decodes lazily and stops early on bytes that do not decode, so a list built by
// hand can never read out of bounds.

template <typename Codec>
class PackedList {
 public:
  using value_type = typename Codec::Item;

  PackedList() = default;
  PackedList(std::size_t count, std::span<const std::uint8_t> bytes) : count_(count), bytes_(bytes) {}

  std::size_t size() const { return count_; }
  bool empty() const { return count_ == 0; }
  std::span<const std::uint8_t> bytes() const { return bytes_; }

  class Iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = typename Codec::Item;
    using difference_type = std::ptrdiff_t;
    using pointer = const value_type*;
    using reference = const value_type&;

    Iterator() = default;
    const value_type& operator*() const { return item_; }
    const value_type* operator->() const { return &item_; }
    Iterator& operator++() {
      ++index_;
      load();
      return *this;
    }
    void operator++(int) { ++*this; }
    bool operator==(const Iterator& other) const { return index_ == other.index_; }

   private:
    friend class PackedList;
    Iterator(std::size_t count, std::span<const std::uint8_t> bytes, std::size_t index)
        : count_(count), bytes_(bytes), index_(index) {
      load();
    }
    void load() {
      if (index_ < count_ && !Codec::decode(bytes_, offset_, item_)) index_ = count_;
    }
    std::size_t count_ = 0;
    std::span<const std::uint8_t> bytes_;
    std::size_t index_ = 0;
    std::size_t offset_ = 0;
    value_type item_{};
  };

  Iterator begin() const { return Iterator(count_, bytes_, 0); }
  Iterator end() const { return Iterator(count_, bytes_, count_); }

 private:
  std::size_t count_ = 0;
  std::span<const std::uint8_t> bytes_;
};

// A column or parameter value: Int32 length (-1 for NULL) then the bytes.
struct Value {
  bool is_null = true;
  std::span<const std::uint8_t> bytes;
  std::string_view text() const { return {reinterpret_cast<const char*>(bytes.data()), bytes.size()}; }
};
struct ValueCodec {
  using Item = Value;
  static bool decode(std::span<const std::uint8_t> bytes, std::size_t& offset, Value& out);
};
using ValueList = PackedList<ValueCodec>;

// NUL-terminated strings: SASL mechanisms, unrecognized protocol options.
struct StringCodec {
  using Item = std::string_view;
  static bool decode(std::span<const std::uint8_t> bytes, std::size_t& offset, std::string_view& out);
};
using StringList = PackedList<StringCodec>;

// One RowDescription field.
struct FieldDescription {
  std::string_view name;
  std::uint32_t table_oid = 0;
  std::int16_t column_number = 0;
  std::uint32_t type_oid = 0;
  std::int16_t type_size = 0;
  std::int32_t type_modifier = 0;
  std::int16_t format = 0;  // 0 text, 1 binary
};
struct FieldCodec {
  using Item = FieldDescription;
  static constexpr std::size_t kFixedBytes = 18;  // after the name
  static bool decode(std::span<const std::uint8_t> bytes, std::size_t& offset, FieldDescription& out);
};
using FieldList = PackedList<FieldCodec>;

// Fixed-width big-endian integers (format codes, type OIDs) with random access.
template <typename T>
class BigEndianArray {
 public:
  BigEndianArray() = default;
  explicit BigEndianArray(std::span<const std::uint8_t> bytes) : bytes_(bytes) {}
  std::size_t size() const { return bytes_.size() / sizeof(T); }
  bool empty() const { return size() == 0; }
  // Precondition: index < size().
  T operator[](std::size_t index) const {
    std::uint32_t value = 0;
    for (std::size_t i = 0; i < sizeof(T); ++i) value = (value << 8) | bytes_[index * sizeof(T) + i];
    return static_cast<T>(value);
  }

 private:
  std::span<const std::uint8_t> bytes_;
};
using Int16Array = BigEndianArray<std::int16_t>;  // format codes
using OidArray = BigEndianArray<std::uint32_t>;   // type OIDs

// ----------------------------------------------------------------------------------------------------
// Frontend messages.

struct StartupParameter {
  std::string_view name;
  std::string_view value;
};

struct StartupMessage {
  ProtocolVersion version;
  std::span<const StartupParameter> parameters;  // in wire order, including "_pq_." protocol options

  std::optional<std::string_view> find(std::string_view name) const;
  std::string_view user() const { return find("user").value_or(""); }
  std::string_view database() const { return find("database").value_or(""); }
  std::string_view application_name() const { return find("application_name").value_or(""); }
  std::string_view replication() const { return find("replication").value_or(""); }
  std::string_view options() const { return find("options").value_or(""); }
};

// The key a CancelRequest presents and BackendKeyData hands out (4 bytes in 3.0, up to 256 in 3.2).
struct BackendKey {
  std::int32_t process_id = 0;
  std::span<const std::uint8_t> secret_key;
};

enum class TargetKind { kStatement, kPortal };  // Describe / Close: 'S' or 'P'

struct ParseMessage {
  std::string_view statement;  // "" is the unnamed statement
  std::string_view query;
  OidArray parameter_types;
};

struct BindMessage {
  std::string_view portal;
  std::string_view statement;
  Int16Array parameter_formats;  // 0, 1 (applies to all) or one per parameter
  ValueList parameters;
  Int16Array result_formats;
};

struct FunctionCallMessage {
  std::uint32_t function_oid = 0;
  Int16Array argument_formats;
  ValueList arguments;
  std::int16_t result_format = 0;
};

// ----------------------------------------------------------------------------------------------------
// Backend messages.

enum class AuthenticationKind {
  kOk,                 // 0
  kKerberosV5,         // 2
  kCleartextPassword,  // 3
  kMd5Password,        // 5
  kGss,                // 7
  kGssContinue,        // 8
  kSspi,               // 9
  kSasl,               // 10
  kSaslContinue,       // 11
  kSaslFinal,          // 12
  kUnknown,
};
std::string_view authentication_kind_name(AuthenticationKind kind);

// Authentication payloads (salt, SASL data) are secrets in flight: only their size is reported.
struct AuthenticationRequest {
  AuthenticationKind kind = AuthenticationKind::kUnknown;
  std::int32_t code = -1;
  StringList sasl_mechanisms;  // kSasl only
  std::size_t data_size = 0;   // bytes after the code
};

enum class TransactionStatus { kIdle, kInTransaction, kFailed };  // 'I', 'T', 'E'
char transaction_status_byte(TransactionStatus status);

struct RowDescription {
  FieldList fields;
};

struct DataRow {
  ValueList values;
  std::size_t wire_size = 0;  // the whole message, type byte included
};

enum class CommandKind {
  kSelect,
  kInsert,
  kUpdate,
  kDelete,
  kMerge,
  kCopy,
  kFetch,
  kMove,
  kBegin,
  kCommit,
  kRollback,
  kOther,
};

// A CommandComplete tag: "INSERT 0 5" -> command "INSERT", rows 5; "CREATE TABLE" -> no row count.
struct CommandTag {
  std::string_view text;
  std::string_view command;
  CommandKind kind = CommandKind::kOther;
  std::optional<std::uint64_t> rows;
};
CommandTag parse_command_tag(std::string_view tag);

// ErrorResponse / NoticeResponse fields by their one-byte codes; absent fields are empty.
struct ErrorFields {
  std::string_view severity;               // S (localized)
  std::string_view severity_nonlocalized;  // V
  std::string_view sqlstate;               // C
  std::string_view message;                // M
  std::string_view detail;                 // D
  std::string_view hint;                   // H
  std::string_view position;               // P
  std::string_view internal_position;      // p
  std::string_view internal_query;         // q
  std::string_view where;                  // W
  std::string_view schema;                 // s
  std::string_view table;                  // t
  std::string_view column;                 // c
  std::string_view data_type;              // d
  std::string_view constraint;             // n
  std::string_view file;                   // F
  std::string_view line;                   // L
  std::string_view routine;                // R
};
// The member that holds field `code`, or nullptr for codes the protocol does not define.
std::string_view ErrorFields::*error_field_member(char code);

// CopyInResponse / CopyOutResponse / CopyBothResponse.
struct CopyResponse {
  std::int8_t format = 0;  // 0 text, 1 binary
  Int16Array column_formats;
};

struct Notification {
  std::int32_t process_id = 0;
  std::string_view channel;
  std::string_view payload;
};

struct NegotiateProtocolVersion {
  std::uint32_t newest_minor_version = 0;
  StringList unrecognized_options;
};

}  // namespace pgstack::pgwire
