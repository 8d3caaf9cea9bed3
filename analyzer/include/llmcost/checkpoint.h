// Exact counts from a checkpoint's headers (safetensors or GGUF), for any architecture, and the
// cross-check of a family's IR tensor list against them. Every tensor the IR stores, under its
// checkpoint name, is listed once here (ir_checkpoint_tensors), for this check and for the
// runner's weight staging.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "llmcost/gguf_header.h"
#include "llmcost/model_ir.h"
#include "llmcost/safetensors_header.h"

namespace llmcost {

// ---- the IR's stored tensors ----

struct IrCheckpointTensor {
  const Op* op = nullptr;
  const Tensor* tensor = nullptr;
  int layer = -1;              // decoder (or MTP) layer index; -1 for embeddings, final norm, lm_head
  int64_t expert = -1;         // routed expert index; -1 otherwise (and for stacked experts)
  std::string name;            // checkpoint name, the expert's "{e}" filled in
  std::vector<int64_t> shape;  // as stored ([n_experts, ...] for stacked experts)
  bool mtp = false;            // a tensor of a multi-token-prediction layer
};
// Every stored tensor of `ir` in model order (embeddings, layers, final norm, lm_head, then the
// MTP layers when include_mtp), each once: routed experts one entry per expert, or one [n_experts,
// ...] entry when stacked; a tied lm_head is left out (it is the embedding table).
std::vector<IrCheckpointTensor> ir_checkpoint_tensors(const ModelIR& ir, bool include_mtp = false);

// ---- what a checkpoint stores ----

// How a stored tensor's elements count.
enum class StoredKind {
  Weight,    // one element = one parameter (float, fp8, fp4, int8; every GGUF tensor: its dims are logical)
  Packed,    // integer-typed (U8, I32, ...): packed quantized codes or integer buffers; elements are storage units
  QuantAux,  // quantization scales, zero points, group indices (by name: weight_scale, .qzeros, ...; any F8_E8M0)
};
const char* stored_kind_name(StoredKind k);
// The class of a safetensors tensor, from its name and dtype; `aux_group` gets the name suffix
// that marked it as quantization data ("weight_scale_inv", ".qzeros", ...), else "".
StoredKind classify_stored_tensor(const std::string& name, TensorDtype dtype, std::string* aux_group = nullptr);

struct StoredTotals {
  int64_t tensors = 0;
  int64_t elements = 0;
  uint64_t bytes = 0;
};

struct DtypeTotals {
  std::string dtype;           // safetensors dtype or ggml type name
  StoredTotals totals;
  double bits_per_element = 0; // storage bits per element (GGUF block types: block bytes x 8 / block)
};

struct AuxGroup {
  std::string suffix;          // "weight_scale_inv", ".qzeros", "F8_E8M0", ...
  StoredTotals totals;
};

struct CheckpointSummary {
  std::string format;          // "safetensors" or "gguf"
  std::string path;            // as given
  std::string index_path;      // safetensors index, "" without
  std::vector<std::string> files;
  uint64_t file_bytes = 0;     // sum of the files' sizes
  uint64_t header_bytes = 0;   // sum of their headers (safetensors: 8 + JSON; GGUF: up to the data section)
  StoredTotals all;            // every tensor
  StoredTotals weights;        // StoredKind::Weight: exact parameters
  StoredTotals packed;         // StoredKind::Packed: storage elements, not parameters
  StoredTotals aux;            // StoredKind::QuantAux
  std::vector<DtypeTotals> by_dtype;  // most bytes first
  std::vector<AuxGroup> aux_groups;   // most bytes first
  int64_t unindexed_tensors = 0;      // in shards but not in the index's weight_map (not counted)
  std::string architecture;    // GGUF general.architecture
  std::string model_name;      // GGUF general.name
  uint32_t gguf_version = 0;
};

CheckpointSummary summarize_checkpoint(const SafetensorsCheckpointHeaders& ck);
CheckpointSummary summarize_checkpoint(const GgufHeader& gguf);

// ---- the family's tensors against the headers ----

struct CheckEntry {
  std::string name;                     // the IR's checkpoint name ("" for an extra)
  std::vector<int64_t> expected_shape;
  std::string stored_name;              // the checkpoint's tensor ("" when missing)
  std::string stored_dtype;
  std::vector<int64_t> stored_shape;
  int64_t bits_per_weight = 0;          // packed: storage bits per expected weight
};

struct CheckpointCrossCheck {
  std::string model_type;
  std::string config_path;
  std::string shipped_quant;            // the config's quantization method, "" when none
  int64_t expected_tensors = 0;         // the IR's stored tensors, MTP layers excluded
  int64_t expected_elements = 0;        // their elements: the family's total as stored (tied counted once)
  int64_t matched = 0;                  // same name, same shape (any float/fp8/int8 dtype)
  int64_t matched_elements = 0;
  std::vector<CheckEntry> missing;      // no tensor under the name (nor a packed form of it)
  std::vector<CheckEntry> shape_mismatch;
  // Stored in a packed integer form (same name with a packed shape, or .qweight / .weight_packed /
  // _blocks) whose bits come to a whole number per expected weight: explained, not a mismatch.
  std::vector<CheckEntry> packed;
  int64_t packed_elements = 0;          // the expected (logical) elements behind them
  int64_t mtp_expected = 0, mtp_found = 0, mtp_elements_found = 0;
  std::vector<AuxGroup> aux;            // unexpected tensors that are quantization data, by suffix
  std::vector<CheckEntry> extra;        // every other unexpected tensor

  bool exact() const { return missing.empty() && shape_mismatch.empty() && extra.empty(); }
};

// Name by name: each IR tensor (ir_checkpoint_tensors, MTP included and reported apart) against
// the checkpoint's headers.
CheckpointCrossCheck cross_check_checkpoint(const ModelIR& ir, const SafetensorsCheckpointHeaders& ck);

// ---- finding a checkpoint ----

enum class CheckpointFormat { Safetensors, Gguf };
struct CheckpointLocation {
  CheckpointFormat format = CheckpointFormat::Safetensors;
  std::string path;         // what to read: a .gguf file, a .safetensors file, an index.json or a directory
  std::string config_path;  // config.json beside it, "" when none
  std::string hf_snapshot;  // the Hugging Face cache snapshot it was found in, "" when given as a path
};
// `spec` as a checkpoint: a .gguf, .safetensors or *.safetensors.index.json file, a directory
// holding safetensors (or exactly one .gguf), or a Hugging Face id whose cache snapshot does
// (hf_cache_snapshot). nullopt when it is none of these (a config, a bundled model name).
// Throws for a directory of several .gguf files ("name the file to read").
std::optional<CheckpointLocation> find_checkpoint(const std::string& spec);

}  // namespace llmcost
