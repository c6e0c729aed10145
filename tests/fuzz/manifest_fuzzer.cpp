// libFuzzer target: any bytes through the manifest parser, the validator and the serializer.
// Nothing may crash, hang or leak, whatever the input.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "model/codec.h"
#include "model/validator.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace pgstack::model;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const LoadResult loaded = load_documents(text, "fuzz.yaml");
  ValidationContext context;
  context.installed_postgres = {{15, "15.18"}};
  const ValidationResult validated = validate_documents(loaded.documents, context);
  for (const auto& diagnostic : validated.diagnostics.items()) (void)diagnostic.to_string();
  // What we print must read back.
  const std::string yaml = documents_to_yaml(validated.documents);
  (void)load_documents(yaml, "roundtrip.yaml");
  (void)documents_to_json(validated.documents);
  return 0;
}
