// safetensors checkpoints: bounds-checked reader (mmap; single file, directory, or sharded
// index.json), a writer (for tests and fixtures), and bf16/fp16/fp8 <-> fp32 conversions.
#pragma once

#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "llmcost/model_ir.h"
#include "llmcost/safetensors_header.h"

namespace llmcost {

// ---- scalar conversions (inline: the CPU kernels call them in their inner loops) ----

// bf16 bits -> fp32 (exact).
inline float bf16_to_fp32(uint16_t h) {
  uint32_t u = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
// fp32 -> bf16 bits, round to nearest even; NaN stays a (quiet) NaN.
inline uint16_t fp32_to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x0040u);
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<uint16_t>(u >> 16);
}
// IEEE half bits -> fp32 (exact, subnormals included).
float fp16_to_fp32(uint16_t h);
// fp32 -> IEEE half bits, round to nearest even, overflow to inf.
uint16_t fp32_to_fp16(float f);
// OCP FP8 E4M3 (the "e4m3fn" variant: no inf, 0x7f/0xff = NaN, max 448) -> fp32 (exact).
float fp8_e4m3_to_fp32(uint8_t b);
// fp32 -> E4M3 bits, round to nearest even, saturating to +-448; NaN -> 0x7f.
uint8_t fp32_to_fp8_e4m3(float f);
// OCP FP8 E5M2 -> fp32 (exact).
float fp8_e5m2_to_fp32(uint8_t b);
// OCP E8M0 scale -> fp32: 2^(b - 127); 0xff = NaN (2^-127 is a subnormal fp32, exact).
float fp8_e8m0_to_fp32(uint8_t b);

// Bulk forms (n elements).
void bf16_to_fp32(const uint16_t* in, float* out, size_t n);
void fp32_to_bf16(const float* in, uint16_t* out, size_t n);

// Dtypes, TensorInfo and the header parser live in the analyzer (llmcost/safetensors_header.h):
// one parser of the format, which `llmcost analyze` uses to count without reading any data.

// One .safetensors file, memory-mapped read-only. The header is checked in full when opened by
// parse_safetensors_header (llmcost/safetensors_header.h); every failure is an llmcost::Error
// naming the file and the header pointer or tensor, e.g.
//   "w.safetensors: header /model.norm.weight/data_offsets spans 64 bytes, expected 128 (F32 [32])".
class SafetensorsFile {
 public:
  explicit SafetensorsFile(const std::string& path);
  ~SafetensorsFile();
  SafetensorsFile(SafetensorsFile&&) noexcept;
  SafetensorsFile& operator=(SafetensorsFile&&) noexcept;
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::string& path() const;
  const SafetensorsHeader& header() const;
  const std::vector<TensorInfo>& tensors() const;                // header order is not kept: sorted by name
  const std::map<std::string, std::string>& metadata() const;    // "__metadata__" (string values)
  const TensorInfo* find(const std::string& name) const;         // nullptr when absent
  // Throws "<file>: tensor '<name>' not found".
  const TensorInfo& at(const std::string& name) const;
  // Raw little-endian bytes of a tensor of this file (valid while the file object lives).
  const uint8_t* data(const TensorInfo& t) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A checkpoint: a single .safetensors file, a directory holding model.safetensors.index.json
// (sharded) or *.safetensors files, or a path to an index.json. Tensor names must be unique
// across shards; the index's weight_map must name files that exist and hold those tensors.
class SafetensorsCheckpoint {
 public:
  explicit SafetensorsCheckpoint(const std::string& path);
  ~SafetensorsCheckpoint();
  SafetensorsCheckpoint(SafetensorsCheckpoint&&) noexcept;
  SafetensorsCheckpoint& operator=(SafetensorsCheckpoint&&) noexcept;

  const std::string& path() const;
  const SafetensorsCheckpointHeaders& headers() const;  // every shard's header, as the analyzer reads them
  std::vector<std::string> names() const;  // sorted
  size_t size() const;                     // number of tensors
  const TensorInfo* find(const std::string& name) const;
  // Throws "<checkpoint>: tensor '<name>' not found".
  const TensorInfo& at(const std::string& name) const;
  const uint8_t* data(const TensorInfo& t) const;

  // Checked loads: the tensor must exist and have exactly `expected_shape`; otherwise one line
  // "<file>: tensor '<name>' has shape [a, b], expected [c, d]"; a non-float dtype is
  // "<file>: tensor '<name>' has dtype I32, expected a float dtype (F32, F16, BF16, F8_E4M3, F8_E5M2, F8_E8M0, F64)".
  // Converts any float dtype to fp32.
  std::vector<float> load_f32(const std::string& name, const std::vector<int64_t>& expected_shape) const;
  // BF16 is copied; F32/F16/F8 are converted (rounded to nearest even).
  std::vector<uint16_t> load_bf16(const std::string& name, const std::vector<int64_t>& expected_shape) const;
  // Into a caller buffer of numel(expected_shape) elements.
  void read_f32(const std::string& name, const std::vector<int64_t>& expected_shape, float* out) const;
  void read_bf16(const std::string& name, const std::vector<int64_t>& expected_shape, uint16_t* out) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// ---- writing (tests, fixtures) ----

struct TensorData {
  std::string name;
  TensorDtype dtype = TensorDtype::F32;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;  // little-endian, numel(shape) x tensor_dtype_bytes(dtype)
};
// Builders from fp32 values (converted to the dtype; values.size() must equal numel(shape)).
TensorData tensor_from_f32(const std::string& name, TensorDtype dtype, const std::vector<int64_t>& shape,
                           const std::vector<float>& values);

// Writes a .safetensors file atomically (temp + rename): header JSON padded with spaces to a
// multiple of 8 bytes, tensors in the given order. Throws llmcost::Error on a size mismatch,
// a duplicate name or an I/O failure.
void write_safetensors(const std::string& path, const std::vector<TensorData>& tensors,
                       const std::map<std::string, std::string>& metadata = {});
// Writes <dir>/model.safetensors.index.json for shards already written: weight_map maps each
// tensor name to the file (relative name) that holds it; metadata.total_size is summed.
void write_safetensors_index(const std::string& index_path,
                             const std::map<std::string, std::string>& weight_map, uint64_t total_size_bytes);

}  // namespace llmcost
