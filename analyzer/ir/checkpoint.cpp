// Counts from checkpoint headers and the family cross-check: which stored tensors are weights,
// packed codes or quantization data (the only place that reads checkpoint tensor-name suffixes),
// and each IR tensor against the header of the same name.
#include "llmcost/checkpoint.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "llmcost/error.h"
#include "llmcost/model_loader.h"

namespace fs = std::filesystem;

namespace llmcost {

// ---------------------------------------------------------------- the IR's stored tensors

std::vector<IrCheckpointTensor> ir_checkpoint_tensors(const ModelIR& ir, bool include_mtp) {
  std::vector<IrCheckpointTensor> out;
  auto add_op = [&](const Op& op, int layer, bool mtp) {
    for (const Tensor& t : op.tensors) {
      if (t.tied) continue;
      if (op.kind == OpKind::RoutedExperts && op.experts_stacked) {
        std::vector<int64_t> shape = {op.moe.n_experts};
        shape.insert(shape.end(), t.shape.begin(), t.shape.end());
        out.push_back({&op, &t, layer, -1, t.checkpoint_name, std::move(shape), mtp});
      } else if (op.kind == OpKind::RoutedExperts) {
        for (int64_t e = 0; e < op.moe.n_experts; ++e)
          out.push_back({&op, &t, layer, e, expert_checkpoint_name(t, e), t.shape, mtp});
      } else {
        out.push_back({&op, &t, layer, -1, t.checkpoint_name, t.shape, mtp});
      }
    }
  };
  for (const Op& op : ir.pre) add_op(op, -1, false);
  for (const Layer& l : ir.layers)
    for (const Op& op : l.ops) add_op(op, l.index, false);
  for (const Op& op : ir.post) add_op(op, -1, false);
  if (include_mtp)
    for (const Layer& l : ir.mtp_layers)
      for (const Op& op : l.ops) add_op(op, l.index, true);
  return out;
}

// ---------------------------------------------------------------- classification

namespace {

bool ends_with(const std::string& s, const std::string& suf) {
  return s.size() >= suf.size() && s.compare(s.size() - suf.size(), suf.size(), suf) == 0;
}

// The last dot-separated component of a name: "model.layers.0.q_proj.weight_scale" -> "weight_scale".
std::string last_component(const std::string& name) {
  size_t dot = name.rfind('.');
  return dot == std::string::npos ? name : name.substr(dot + 1);
}

// Quantization data as the common formats name it: fp8 block scales (weight_scale_inv), ModelOpt
// and compressed-tensors (weight_scale, weight_scale_2, input_scale, weight_global_scale,
// weight_zero_point, weight_shape), GPTQ/AWQ (.scales, .qzeros, .g_idx), bitsandbytes
// (.absmax, .quant_map, .nested_*, .quant_state.*), gpt-oss MXFP4 (<proj>_scales), KV-cache scales.
const char* const kAuxComponents[] = {
    "weight_scale_inv", "weight_scale", "weight_scale_2", "input_scale", "output_scale", "k_scale", "v_scale",
    "q_scale", "weight_global_scale", "input_global_scale", "weight_zero_point", "input_zero_point", "weight_shape",
    "scales", "qzeros", "g_idx", "absmax", "quant_map", "nested_absmax", "nested_quant_map",
};

std::string aux_suffix(const std::string& name, TensorDtype dtype) {
  if (name.find(".quant_state.") != std::string::npos) return ".quant_state.*";
  const std::string last = last_component(name);
  for (const char* c : kAuxComponents)
    if (last == c) return last;
  if (ends_with(last, "_scales")) return "*_scales";
  if (dtype == TensorDtype::F8_E8M0) return "F8_E8M0";  // a power-of-two scale format, never a weight
  return "";
}

// Storage bits per logical weight when `stored` (numel x bits) packs `expected_elements` weights
// into whole bits each, fewer than its own element width: 0 otherwise.
int64_t packed_bits(const TensorInfo& stored, int64_t expected_elements) {
  if (expected_elements <= 0 || !is_integer_dtype(stored.dtype)) return 0;
  const unsigned __int128 bits = static_cast<unsigned __int128>(stored.numel()) * tensor_dtype_bits(stored.dtype);
  if (bits % static_cast<uint64_t>(expected_elements) != 0) return 0;
  const unsigned __int128 per = bits / static_cast<uint64_t>(expected_elements);
  return per >= 1 && per <= 8 && per < tensor_dtype_bits(stored.dtype) ? static_cast<int64_t>(per) : 0;
}

int64_t numel_of(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

void add(StoredTotals& t, int64_t elements, uint64_t bytes) {
  t.tensors += 1;
  t.elements += elements;
  t.bytes += bytes;
}

template <class T>
void sort_by_bytes(std::vector<T>& v) {
  std::stable_sort(v.begin(), v.end(), [](const T& a, const T& b) { return a.totals.bytes > b.totals.bytes; });
}

}  // namespace

const char* stored_kind_name(StoredKind k) {
  switch (k) {
    case StoredKind::Weight: return "weight";
    case StoredKind::Packed: return "packed";
    case StoredKind::QuantAux: return "quant_aux";
  }
  return "?";
}

StoredKind classify_stored_tensor(const std::string& name, TensorDtype dtype, std::string* aux_group) {
  std::string suffix = aux_suffix(name, dtype);
  if (aux_group) *aux_group = suffix;
  if (!suffix.empty()) return StoredKind::QuantAux;
  // int8 weights hold one weight per element; other integer types pack codes (or are buffers).
  if (is_integer_dtype(dtype) && dtype != TensorDtype::I8) return StoredKind::Packed;
  return StoredKind::Weight;
}

// ---------------------------------------------------------------- summaries

CheckpointSummary summarize_checkpoint(const SafetensorsCheckpointHeaders& ck) {
  CheckpointSummary s;
  s.format = "safetensors";
  s.path = ck.path;
  s.index_path = ck.index_path;
  s.unindexed_tensors = ck.unindexed_tensors;
  for (const auto& f : ck.files) {
    s.files.push_back(f.path);
    s.file_bytes += f.file_bytes;
    s.header_bytes += f.data_offset();
  }
  std::map<std::string, DtypeTotals> by_dtype;
  std::map<std::string, AuxGroup> aux;
  for (const auto& [name, at] : ck.tensors) {
    const TensorInfo& t = ck.info(at);
    const int64_t n = t.numel();
    const uint64_t b = t.size_bytes();
    add(s.all, n, b);
    std::string group;
    switch (classify_stored_tensor(name, t.dtype, &group)) {
      case StoredKind::Weight: add(s.weights, n, b); break;
      case StoredKind::Packed: add(s.packed, n, b); break;
      case StoredKind::QuantAux:
        add(s.aux, n, b);
        aux[group].suffix = group;
        add(aux[group].totals, n, b);
        break;
    }
    DtypeTotals& d = by_dtype[tensor_dtype_name(t.dtype)];
    d.dtype = tensor_dtype_name(t.dtype);
    d.bits_per_element = static_cast<double>(tensor_dtype_bits(t.dtype));
    add(d.totals, n, b);
  }
  for (auto& [k, v] : by_dtype) s.by_dtype.push_back(v);
  for (auto& [k, v] : aux) s.aux_groups.push_back(v);
  sort_by_bytes(s.by_dtype);
  sort_by_bytes(s.aux_groups);
  return s;
}

CheckpointSummary summarize_checkpoint(const GgufHeader& g) {
  CheckpointSummary s;
  s.format = "gguf";
  s.path = g.path;
  s.files = {g.path};
  s.file_bytes = g.file_bytes;
  s.header_bytes = g.data_offset;
  s.architecture = g.architecture;
  s.model_name = g.model_name;
  s.gguf_version = g.version;
  std::map<std::string, DtypeTotals> by_type;
  for (const auto& t : g.tensors) {
    const GgmlType* gt = ggml_type(t.type);  // known: the reader refuses unknown types
    add(s.all, t.numel, t.bytes);
    add(s.weights, t.numel, t.bytes);  // GGUF dims are logical: every element is a weight
    DtypeTotals& d = by_type[gt->name];
    d.dtype = gt->name;
    d.bits_per_element = 8.0 * gt->block_bytes / gt->block;
    add(d.totals, t.numel, t.bytes);
  }
  for (auto& [k, v] : by_type) s.by_dtype.push_back(v);
  sort_by_bytes(s.by_dtype);
  return s;
}

// ---------------------------------------------------------------- cross-check

CheckpointCrossCheck cross_check_checkpoint(const ModelIR& ir, const SafetensorsCheckpointHeaders& ck) {
  CheckpointCrossCheck c;
  c.model_type = ir.model_type;
  c.config_path = ir.source_file;
  if (ir.shipped_quant) c.shipped_quant = ir.shipped_quant->method;
  std::set<std::string> used;  // checkpoint tensors an IR tensor accounts for
  auto entry = [](const IrCheckpointTensor& e, const TensorInfo* t) {
    CheckEntry ce;
    ce.name = e.name;
    ce.expected_shape = e.shape;
    if (t) {
      ce.stored_name = t->name;
      ce.stored_dtype = tensor_dtype_name(t->dtype);
      ce.stored_shape = t->shape;
    }
    return ce;
  };
  for (const IrCheckpointTensor& e : ir_checkpoint_tensors(ir, /*include_mtp=*/true)) {
    const int64_t n = numel_of(e.shape);
    const TensorInfo* t = ck.find(e.name);
    if (e.mtp) {
      ++c.mtp_expected;
      if (t) {
        used.insert(t->name);
        ++c.mtp_found;
        c.mtp_elements_found += t->numel();
      }
      continue;
    }
    ++c.expected_tensors;
    c.expected_elements += n;
    if (t && t->shape == e.shape) {
      used.insert(t->name);
      ++c.matched;
      c.matched_elements += n;
      continue;
    }
    if (t) {  // same name, another shape: packed codes, or a real mismatch
      used.insert(t->name);
      CheckEntry ce = entry(e, t);
      if ((ce.bits_per_weight = packed_bits(*t, n))) {
        c.packed.push_back(std::move(ce));
        c.packed_elements += n;
      } else {
        c.shape_mismatch.push_back(std::move(ce));
      }
      continue;
    }
    // Packed forms stored under another name: GPTQ/AWQ "<m>.qweight", compressed-tensors
    // "<m>.weight_packed", gpt-oss MXFP4 "<name>_blocks".
    std::vector<std::string> alts;
    if (ends_with(e.name, ".weight")) {
      const std::string base = e.name.substr(0, e.name.size() - 7);
      alts = {base + ".qweight", base + ".weight_packed"};
    }
    alts.push_back(e.name + "_blocks");
    const TensorInfo* alt = nullptr;
    for (const auto& a : alts)
      if ((alt = ck.find(a))) break;
    if (alt) {
      used.insert(alt->name);
      CheckEntry ce = entry(e, alt);
      if ((ce.bits_per_weight = packed_bits(*alt, n))) {
        c.packed.push_back(std::move(ce));
        c.packed_elements += n;
      } else {
        c.shape_mismatch.push_back(std::move(ce));
      }
      continue;
    }
    c.missing.push_back(entry(e, nullptr));
  }
  std::map<std::string, AuxGroup> aux;
  for (const auto& [name, at] : ck.tensors) {
    if (used.count(name)) continue;
    const TensorInfo& t = ck.info(at);
    std::string group;
    if (classify_stored_tensor(name, t.dtype, &group) == StoredKind::QuantAux) {
      aux[group].suffix = group;
      add(aux[group].totals, t.numel(), t.size_bytes());
      continue;
    }
    CheckEntry ce;
    ce.stored_name = name;
    ce.stored_dtype = tensor_dtype_name(t.dtype);
    ce.stored_shape = t.shape;
    c.extra.push_back(std::move(ce));
  }
  for (auto& [k, v] : aux) c.aux.push_back(v);
  sort_by_bytes(c.aux);
  return c;
}

// ---------------------------------------------------------------- finding a checkpoint

namespace {

std::optional<CheckpointLocation> checkpoint_in(const fs::path& p) {
  std::error_code ec;
  auto config_beside = [&](const fs::path& dir) {
    std::error_code e;
    return fs::is_regular_file(dir / "config.json", e) ? (dir / "config.json").string() : std::string();
  };
  const std::string s = p.string();
  if (fs::is_regular_file(p, ec)) {
    CheckpointLocation l;
    l.path = s;
    l.config_path = config_beside(p.parent_path().empty() ? fs::path(".") : p.parent_path());
    if (is_gguf_path(s)) l.format = CheckpointFormat::Gguf;
    else if (ends_with(s, ".safetensors") || ends_with(s, ".safetensors.index.json")) l.format = CheckpointFormat::Safetensors;
    else return std::nullopt;
    return l;
  }
  if (!fs::is_directory(p, ec)) return std::nullopt;
  if (has_safetensors(s)) return CheckpointLocation{CheckpointFormat::Safetensors, s, config_beside(p), ""};
  std::vector<std::string> ggufs;
  for (const auto& e : fs::directory_iterator(p, ec))
    if (e.is_regular_file(ec) && is_gguf_path(e.path().filename().string())) ggufs.push_back(e.path().string());
  if (ggufs.empty()) return std::nullopt;
  std::sort(ggufs.begin(), ggufs.end());
  if (ggufs.size() > 1) {
    std::string names;
    for (const auto& g : ggufs) names += (names.empty() ? "" : ", ") + fs::path(g).filename().string();
    throw Error(s + ": holds several .gguf files (" + names + "); name the file to read");
  }
  return CheckpointLocation{CheckpointFormat::Gguf, ggufs[0], config_beside(p), ""};
}

}  // namespace

std::optional<CheckpointLocation> find_checkpoint(const std::string& spec) {
  std::error_code ec;
  if (spec.empty()) return std::nullopt;
  if (fs::exists(fs::path(spec), ec)) return checkpoint_in(fs::path(spec));
  if (auto snap = hf_cache_snapshot(spec)) {
    auto l = checkpoint_in(fs::path(*snap));
    if (l) l->hf_snapshot = *snap;
    return l;
  }
  return std::nullopt;
}

}  // namespace llmcost
