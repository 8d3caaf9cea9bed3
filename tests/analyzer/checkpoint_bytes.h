// Test helpers (header-only): the bytes of small safetensors and GGUF files, written field by
// field from the formats' specs (not with llmcost's own code), so header readers are tested
// against files built independently. Shared by the analyzer and CLI tests and the fuzz seeds.
#pragma once

#include <cstdint>
#include <cstring>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

namespace llmcost_test {

// ---- safetensors ----

struct StTensor {
  std::string name, dtype;
  std::vector<int64_t> shape;
  uint64_t bytes;  // data bytes (zeros are written)
};

// 8-byte little-endian length + JSON (tensors laid out one after another) + zero data.
inline std::string safetensors_bytes(const std::vector<StTensor>& ts, const std::string& metadata_json = "") {
  std::string h = "{";
  if (!metadata_json.empty()) h += "\"__metadata__\":" + metadata_json;
  uint64_t off = 0;
  for (const auto& t : ts) {
    if (h.size() > 1) h += ",";
    h += "\"" + t.name + "\":{\"dtype\":\"" + t.dtype + "\",\"shape\":[";
    for (size_t i = 0; i < t.shape.size(); ++i) h += (i ? "," : "") + std::to_string(t.shape[i]);
    h += "],\"data_offsets\":[" + std::to_string(off) + "," + std::to_string(off + t.bytes) + "]}";
    off += t.bytes;
  }
  h += "}";
  while (h.size() % 8) h += ' ';
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((static_cast<uint64_t>(h.size()) >> (8 * i)) & 0xff);
  return out + h + std::string(off, '\0');
}

// A header given as raw JSON text, then `data_bytes` zero bytes; `declared_len` overrides the length prefix.
inline std::string safetensors_raw(const std::string& json, uint64_t data_bytes, int64_t declared_len = -1) {
  std::string out(8, '\0');
  const uint64_t len = declared_len >= 0 ? static_cast<uint64_t>(declared_len) : json.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((len >> (8 * i)) & 0xff);
  return out + json + std::string(data_bytes, '\0');
}

inline void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// ---- GGUF ----

class GgufBytes {
 public:
  std::string b;

  template <typename T>
  GgufBytes& pod(T v) {
    char c[sizeof(T)];
    std::memcpy(c, &v, sizeof(T));  // little-endian hosts
    b.append(c, sizeof(T));
    return *this;
  }
  GgufBytes& u32(uint32_t v) { return pod(v); }
  GgufBytes& u64(uint64_t v) { return pod(v); }
  GgufBytes& str(const std::string& s) {
    u64(s.size());
    b += s;
    return *this;
  }
  GgufBytes& header(uint32_t version, uint64_t n_tensors, uint64_t n_kv) {
    b += "GGUF";
    return u32(version).u64(n_tensors).u64(n_kv);
  }
  // Key/values of the common types.
  GgufBytes& kv_str(const std::string& k, const std::string& v) { return str(k).u32(8).str(v); }
  GgufBytes& kv_u32(const std::string& k, uint32_t v) { return str(k).u32(4).u32(v); }
  GgufBytes& kv_f32(const std::string& k, float v) { return str(k).u32(6).pod(v); }
  GgufBytes& kv_str_array(const std::string& k, const std::vector<std::string>& v) {
    str(k).u32(9).u32(8).u64(v.size());
    for (const auto& s : v) str(s);
    return *this;
  }
  GgufBytes& kv_i32_array(const std::string& k, const std::vector<int32_t>& v) {
    str(k).u32(9).u32(5).u64(v.size());
    for (int32_t x : v) pod(x);
    return *this;
  }
  GgufBytes& tensor(const std::string& name, const std::vector<uint64_t>& dims, uint32_t type, uint64_t offset) {
    str(name).u32(static_cast<uint32_t>(dims.size()));
    for (uint64_t d : dims) u64(d);
    return u32(type).u64(offset);
  }
  // Pads to `alignment` and appends `data_bytes` zeros: the data section.
  GgufBytes& data(uint64_t data_bytes, uint64_t alignment = 32) {
    while (b.size() % alignment) b += '\0';
    b += std::string(data_bytes, '\0');
    return *this;
  }
};

}  // namespace llmcost_test
