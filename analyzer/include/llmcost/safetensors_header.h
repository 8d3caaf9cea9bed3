// safetensors headers, read without touching the weight data: dtypes, the per-file header (8-byte
// little-endian length + JSON, every field bounds-checked) and a checkpoint's files (a single
// file, a directory of shards, or a sharded index.json). The runner maps the data of the same
// files (runner/include/llmcost/safetensors.h); `llmcost analyze` only counts.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace llmcost {

// ---- dtypes ----

// F8_E8M0: the power-of-two scale format of MXFP4 checkpoints (value 2^(b - 127), 0xff = NaN).
// F4 (E2M1, two per byte), F6_E2M3 / F6_E3M2 (packed 6-bit floats) and C64 are in the format
// since safetensors 0.6; their bytes are numel x bits / 8, which must be whole.
enum class TensorDtype {
  F64, F32, F16, BF16, F8_E4M3, F8_E5M2, I64, I32, I16, I8, U8, BOOL, U16, U32, U64, F8_E8M0,
  F4, F6_E2M3, F6_E3M2, C64,
};
// The safetensors spelling: "F32", "BF16", "F8_E4M3" ...
const char* tensor_dtype_name(TensorDtype d);
// Bits of one element (4 for F4, 6 for F6_*, 8 x bytes otherwise).
size_t tensor_dtype_bits(TensorDtype d);
// Bytes of one element for the whole-byte dtypes; 0 for F4 and F6_* (less than a byte).
size_t tensor_dtype_bytes(TensorDtype d);
// nullopt for a name safetensors does not define.
std::optional<TensorDtype> parse_tensor_dtype(const std::string& name);
// The dtypes the runner converts to fp32: F32, F16, BF16, F8_E4M3, F8_E5M2, F8_E8M0, F64.
bool is_float_dtype(TensorDtype d);
// Integer and bool dtypes (I*, U*, BOOL): what packed quantized weights are stored as.
bool is_integer_dtype(TensorDtype d);
// The dtype names the reader accepts, for messages: "F64, F32, ..., BOOL".
std::string tensor_dtype_list();

// "[2, 3]"
std::string shape_string(const std::vector<int64_t>& shape);

// ---- one file ----

struct TensorInfo {
  std::string name;            // Hugging Face tensor name, e.g. "model.layers.0.mlp.up_proj.weight"
  TensorDtype dtype = TensorDtype::F32;
  std::vector<int64_t> shape;  // [] for a scalar
  uint64_t begin_bytes = 0;    // offsets in the data section (after the header), as in the file
  uint64_t end_bytes = 0;
  std::string file;            // the .safetensors file that holds it

  int64_t numel() const;       // product of shape (1 for a scalar); the header check keeps it < 2^56
  uint64_t size_bytes() const { return end_bytes - begin_bytes; }
};

// The parsed header of one .safetensors file.
struct SafetensorsHeader {
  std::string path;
  uint64_t file_bytes = 0;
  uint64_t header_bytes = 0;               // the JSON's length (the 8-byte prefix not included)
  std::vector<TensorInfo> tensors;         // sorted by name (header order is not kept)
  std::map<std::string, std::string> metadata;  // "__metadata__" (string values)

  uint64_t data_offset() const { return 8 + header_bytes; }
  const TensorInfo* find(const std::string& name) const;  // nullptr when absent
};

// The format's own header limit (100 MB, as the reference implementation).
inline constexpr uint64_t kSafetensorsMaxHeaderBytes = 100ull << 20;

// Checks and parses a header from the file's first bytes: `prefix` holds the 8-byte length and at
// least that many bytes of JSON after it (prefix_bytes may be the whole file); `file_bytes` is the
// file's size. Checked: the length within the file and the 100 MB limit, a JSON object nesting at
// most 8 levels, no name given twice, each tensor's dtype known, shape of non-negative integers,
// data_offsets [begin, end] inside the data section spanning exactly numel x bits / 8 bytes, and no
// two tensors' bytes overlapping. Every failure is one llmcost::Error naming the file and the header
// pointer or tensor, e.g.
//   "w.safetensors: header /model.norm.weight/data_offsets spans 64 bytes, expected 128 (F32 [32])".
SafetensorsHeader parse_safetensors_header(const std::string& path, const uint8_t* prefix, uint64_t prefix_bytes,
                                           uint64_t file_bytes);
// Opens `path` (a regular file), reads the 8-byte length and then only the header (never the data)
// and parses it as above.
SafetensorsHeader read_safetensors_header(const std::string& path);
// The same from an open descriptor of a file of `file_bytes` bytes (pread; the offset is not moved).
SafetensorsHeader read_safetensors_header_fd(int fd, const std::string& path, uint64_t file_bytes);

// ---- a checkpoint ----

// The headers of a checkpoint: a single .safetensors file, a directory holding
// model.safetensors.index.json (or exactly one *.safetensors.index.json) or *.safetensors files, or
// a path to an index.json. Tensor names are unique across shards; an index's weight_map must name
// files beside it (no absolute path, no ".."; symlinks inside are fine: the Hugging Face cache links
// shards into blobs/) that exist and hold those tensors.
struct SafetensorsCheckpointHeaders {
  std::string path;        // as given
  std::string index_path;  // "" without an index
  std::vector<SafetensorsHeader> files;  // in the order first named
  // name -> (index into files, index into that file's tensors)
  std::map<std::string, std::pair<size_t, size_t>> tensors;
  // Tensors in the shards that the index's weight_map does not name (not part of the checkpoint).
  int64_t unindexed_tensors = 0;

  const TensorInfo* find(const std::string& name) const;  // nullptr when absent
  const TensorInfo& info(const std::pair<size_t, size_t>& at) const { return files[at.first].tensors[at.second]; }
};

// Reads one shard's header; the runner passes one that also maps the file's data.
using SafetensorsShardReader = std::function<SafetensorsHeader(const std::string& path)>;

// Finds and reads every header of the checkpoint at `path` (see SafetensorsCheckpointHeaders).
// Errors: "<path>: no such safetensors file or directory", "<dir>: no .safetensors files in this
// directory", "<index>: /weight_map/<name> names \"s2.safetensors\", which does not exist", "<dir>:
// tensor 'a' appears in both s1.safetensors and s2.safetensors", and each shard's own header errors.
SafetensorsCheckpointHeaders read_safetensors_checkpoint(const std::string& path,
                                                         const SafetensorsShardReader& read_shard = read_safetensors_header);

// True when `dir` is a directory that holds *.safetensors files or a *.safetensors.index.json.
bool has_safetensors(const std::string& dir);

}  // namespace llmcost
