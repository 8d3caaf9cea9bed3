// GGUF headers (llama.cpp's single-file format), read without touching the tensor data: magic,
// version (2 or 3, little-endian), the metadata key/values (each value's length checked and
// skipped unless it is one we keep), the tensor infos (name, dims, ggml type, offset), and the
// ggml storage types with their block sizes.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace llmcost {

// A ggml tensor type as GGUF stores it: `block` elements take `block_bytes` bytes (F32: 1 and 4;
// Q4_K: 256 and 144). From ggml.c's type_traits and ggml-common.h's block structs.
struct GgmlType {
  uint32_t id;
  const char* name;     // "Q4_K", "BF16", ...
  uint32_t block;       // elements per block
  uint32_t block_bytes; // bytes per block
  bool quantized;       // a block format (a tensor's bytes hold scales and codes together)
};
// nullptr for an id ggml does not define or has removed (4, 5, 31-33, 36-38).
const GgmlType* ggml_type(uint32_t id);

struct GgufTensorInfo {
  std::string name;             // llama.cpp's name, e.g. "blk.0.attn_q.weight"
  std::vector<int64_t> dims;    // ggml order: dims[0] is the contiguous (innermost) axis
  uint32_t type = 0;            // ggml type id (ggml_type(type) is known)
  uint64_t offset = 0;          // in the data section, a multiple of the alignment
  int64_t numel = 0;            // product of dims: the weights the tensor holds, quantized or not
  uint64_t bytes = 0;           // numel / block x block_bytes
};

struct GgufHeader {
  std::string path;
  uint64_t file_bytes = 0;
  uint32_t version = 0;         // 2 or 3
  uint64_t alignment = 32;      // general.alignment, else 32
  uint64_t data_offset = 0;     // where the data section starts (after the infos, aligned)
  std::string architecture;     // general.architecture ("" when absent)
  std::string model_name;       // general.name ("" when absent)
  uint64_t n_metadata = 0;      // metadata key/values in the file
  // The scalar metadata as text (strings cut at 200 bytes), arrays as "[N x type]"; the first 4096.
  std::vector<std::pair<std::string, std::string>> metadata;
  std::vector<GgufTensorInfo> tensors;  // in file order
};

// Limits on a header that the reader enforces before allocating (real files: a few thousand
// tensors, tens of MB of vocabulary): everything before the data section within 256 MiB, at most
// 2^20 tensors, tensor names under 1024 bytes, keys under 65536, at most 4 dims, arrays nested at most 4 deep.
inline constexpr uint64_t kGgufMaxHeaderBytes = 256ull << 20;
inline constexpr uint64_t kGgufMaxTensors = 1ull << 20;

// Opens `path` (a regular file) and reads its header incrementally (64 KiB at a time, never the
// data). Every failure is one llmcost::Error naming the file, what was wrong and where, e.g.
//   "m.gguf: GGUF header: tensor 3 'blk.0.attn_q.weight' has ggml type 99, which ggml does not define"
//   "m.gguf: GGUF header: truncated at byte 1234 reading metadata 'tokenizer.ggml.tokens' (needs 8 bytes, the file has 1236)"
// Checked: magic "GGUF", version 2 or 3 (a byte-swapped version is a big-endian file: refused),
// counts that the file could hold, string and array lengths inside the file, value types,
// general.alignment a power of two, n_dims <= 4, dims >= 0 with a product < 2^62, known ggml types,
// rows a whole number of blocks, names unique, offsets aligned, inside the data section and not
// overlapping.
GgufHeader read_gguf_header(const std::string& path);

// True when `path` ends in ".gguf".
bool is_gguf_path(const std::string& path);

}  // namespace llmcost
