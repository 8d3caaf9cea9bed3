// As-shipped weight formats: a checkpoint's quantization description -> each tensor's StoredFormat.
// What each method stores per quantized linear weight (the bytes come from stored_bytes, quant.cpp):
//  - fp8 (transformers FineGrainedFP8 / DeepSeek-V3): weight e4m3 [out, in] + weight_scale_inv fp32
//    [ceil(out/b0), ceil(in/b1)]; static activations add an fp32 input_scale.
//  - mxfp4 (gpt-oss): *_blocks u8 [.., ceil(in/32), 16] + *_scales e8m0 u8 [.., ceil(in/32)].
//  - compressed-tensors: pack-quantized weight_packed int32 [out, ceil(in/(32/bits))] + weight_scale
//    [out, groups] (scale_dtype, else the model dtype) + weight_shape int64 [2] (+ weight_zero_point
//    int32 packed over out when asymmetric, + weight_g_idx int32 [in] with actorder "group");
//    float-quantized weight e4m3 + weight_scale per strategy; nvfp4-pack-quantized weight_packed u8
//    [out, in/2] + weight_scale e4m3 [out, in/16] + weight_global_scale fp32 (+ input_global_scale);
//    mxfp4-pack-quantized weight_packed u8 [out, in/2] + weight_scale u8 [out, in/32]
//    (compressed_tensors/compressors/quantized_compressors/*.py).
//  - GPTQ (AutoGPTQ / GPTQModel QuantLinear, checkpoint v1/v2): qweight int32 [in*bits/32, out], qzeros
//    int32 [groups, out*bits/32], scales fp16 [groups, out], g_idx int32 [in] (always stored).
//  - AWQ GEMM (AutoAWQ WQLinear_GEMM): qweight int32 [in, out/8], qzeros int32 [in/g, out/8], scales fp16 [in/g, out].
//  - bitsandbytes 4-bit: weight u8 [ceil(n/2)], absmax fp32 per 64 (double quant: u8 per 64 + nested_absmax
//    fp32 per 256 blocks + nested_quant_map fp32 [256]), quant_map fp32 [16]. The packed JSON
//    quant_state entry (~100-200 B per tensor, its length depends on the values) is not counted.
//    8-bit: weight int8 + SCB fp32 [out].
//  - ModelOpt (hf_quant_config.json, or quant_method "modelopt"): FP8 weight e4m3 + weight_scale fp32
//    + input_scale fp32; NVFP4 weight u8 [out, in/2] + weight_scale e4m3 [out, in/16] + weight_scale_2
//    fp32 + input_scale fp32 (W4A16_NVFP4: no input_scale); MIXED_PRECISION per quantized_layers.
//    KV-cache scales (k_scale / v_scale, 8 B per attention layer) are not IR tensors and not counted.
// Which tensors a blanket rule ("Linear", every linear but the excluded) covers: Matmul weights, never
// embeddings (gathered), routers, a shared expert's scalar output gate or an MTP module's input
// projection (the checkpoints read keep them in 16 bits: DeepSeek-style gates are not nn.Linear, the
// others list them as not converted);
// lm_head only where the method quantizes it (compressed-tensors / ModelOpt unless ignored, GPTQ
// with lm_head: true). A module named explicitly (targets, quantized_layers) is covered whatever it is.
#include "llmcost/shipped_quant.h"

#include <algorithm>
#include <filesystem>
#include <functional>
#include <optional>
#include <regex>
#include <unordered_set>

#include "llmcost/error.h"
#include "llmcost/glob.h"
#include "llmcost/quant.h"

namespace llmcost {

namespace fs = std::filesystem;

struct ModulePatterns::Regex {
  std::regex re;
  // ".*LITERAL.*" or ".*A(x|y)B.*" (the usual shapes) is a substring test, no regex engine.
  std::optional<std::vector<std::string>> contains;
};

namespace {
// True when a quantified group contains a quantifier itself ("(a*)*", "(.+)+"): std::regex
// backtracks, and such a pattern from someone else's config could take exponential time.
bool nested_quantifier(const std::string& re) {
  std::vector<bool> inner;  // per open group: does it contain a quantifier
  bool last_group_quantified = false;
  for (size_t i = 0; i < re.size(); ++i) {
    const char c = re[i];
    const bool quant = c == '*' || c == '+' || c == '{' || (c == '?' && i > 0 && re[i - 1] != '(');
    if (c == '\\') {
      ++i;
      last_group_quantified = false;
    } else if (c == '(') {
      inner.push_back(false);
    } else if (c == ')') {
      last_group_quantified = !inner.empty() && inner.back();
      if (!inner.empty()) inner.pop_back();
      if (i + 1 < re.size() && (re[i + 1] == '*' || re[i + 1] == '+' || re[i + 1] == '{') && last_group_quantified) return true;
      if (!inner.empty() && last_group_quantified) inner.back() = true;
    } else if (quant && !inner.empty()) {
      inner.back() = true;
    }
  }
  return false;
}

// The strings X1, X2 ... when `re` is ".*X.*" with X free of regex operators ("\." read as ".")
// except one group of literal alternatives "(a|b|c)" (the usual shapes: "re:.*self_attn.*",
// "re:.*mlp\.(gate|up|down)_proj.*"): a match is then a substring test for any of them, no
// regex engine. nullopt for anything else.
std::optional<std::vector<std::string>> literals_between_wildcards(const std::string& re) {
  if (re.size() < 4 || re.compare(0, 2, ".*") != 0 || re.compare(re.size() - 2, 2, ".*") != 0) return std::nullopt;
  std::string head, tail;
  std::vector<std::string> alts;
  bool in_group = false, had_group = false;
  for (size_t i = 2; i + 2 < re.size(); ++i) {
    const char c = re[i];
    std::string& out = in_group ? alts.back() : (had_group ? tail : head);
    if (c == '\\' && i + 3 < re.size() && re[i + 1] == '.') {
      out += '.';
      ++i;
    } else if (c == '(' && !in_group && !had_group) {
      in_group = true;
      alts.emplace_back();
    } else if (c == '|' && in_group) {
      alts.emplace_back();
    } else if (c == ')' && in_group) {
      in_group = false;
      had_group = true;
    } else if (std::string_view(".*+?()[]{}|^$\\").find(c) != std::string_view::npos) {
      return std::nullopt;
    } else {
      out += c;
    }
  }
  if (in_group) return std::nullopt;
  if (!had_group) return std::vector<std::string>{head};
  std::vector<std::string> out;
  for (const auto& a : alts) out.push_back(head + a + tail);
  return out;
}
}  // namespace

ModulePatterns::ModulePatterns(const std::vector<std::string>& patterns, const std::string& file, const std::string& pointer) {
  for (size_t i = 0; i < patterns.size(); ++i) {
    const std::string& p = patterns[i];
    if (p.rfind("re:", 0) == 0) {
      if (nested_quantifier(p.substr(3)) || p.size() > 1000)
        throw ConfigError(file, pointer + "/" + std::to_string(i),
                          "must be a regular expression without nested quantifiers such as (a*)* and under 1000 characters, got " +
                              quote_for_message(p));
      auto r = std::make_shared<Regex>();
      r->contains = literals_between_wildcards(p.substr(3));
      if (!r->contains) try {
        r->re = std::regex(p.substr(3), std::regex::ECMAScript | std::regex::optimize);
      } catch (const std::regex_error& e) {
        throw ConfigError(file, pointer + "/" + std::to_string(i), "must be a valid regular expression, got " + quote_for_message(p));
      }
      regexes_.push_back(std::move(r));
    } else if (p.find('*') == p.size() - 1) {
      prefix_globs_.push_back(p.substr(0, p.size() - 1));  // "X*": the module starts with X
    } else if (p.find('*') != std::string::npos) {
      globs_.push_back(p);
    } else {
      exact_.push_back(p);
    }
  }
  for (const auto& e : exact_) exact_set_.insert(e);
}

bool ModulePatterns::matches(const std::string& module) const {
  // "X*" matches a parent path of the module exactly when it matches the module itself (every
  // parent is a prefix of it): one test per pattern, not one per parent.
  for (const auto& x : prefix_globs_)
    if (module.compare(0, x.size(), x) == 0) return true;
  auto exact = [&](std::string_view s) { return exact_set_.count(s) > 0; };
  // The path and its parents; its last components (for dot-free names).
  for (size_t end = 0;;) {
    end = module.find('.', end + 1);
    std::string_view prefix = std::string_view(module).substr(0, end);
    if (!exact_.empty() && exact(prefix)) return true;
    for (const auto& g : globs_)
      if (wildcard_match(g, prefix)) return true;
    if (end == std::string::npos) break;
  }
  if (!exact_.empty())
    for (size_t dot = module.find('.'); dot != std::string::npos; dot = module.find('.', dot + 1)) {
      std::string_view suffix = std::string_view(module).substr(dot + 1);
      if (suffix.find('.') == std::string_view::npos && exact(suffix)) return true;
    }
  for (const auto& r : regexes_) {
    if (r->contains) {
      for (const auto& lit : *r->contains)
        if (module.find(lit) != std::string::npos) return true;
    } else if (std::regex_search(module, r->re, std::regex_constants::match_continuous)) {
      return true;
    }
  }
  return false;
}

std::string hf_quant_config_beside(const std::string& config_path) {
  fs::path p(config_path);
  std::error_code ec;
  fs::path cand = p.stem() == "config" ? p.parent_path() / "hf_quant_config.json"
                                       : p.parent_path() / (p.stem().string() + ".hf_quant_config.json");
  if (fs::is_regular_file(cand, ec)) return cand.string();
  return "";
}

namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string join_some(const std::vector<std::string>& v, size_t max = 4) {
  std::string s;
  for (size_t i = 0; i < v.size() && i < max; ++i) s += (i ? ", " : "") + v[i];
  if (v.size() > max) s += ", ... (" + std::to_string(v.size()) + " in all)";
  return s;
}

// The module path of a tensor (its checkpoint name less ".weight" / ".bias"; expert 0 for "{e}").
std::string module_of(const Tensor& t) {
  std::string n = expert_checkpoint_name(t, 0);
  for (const char* suf : {".weight", ".bias"}) {
    const std::string s = suf;
    if (n.size() > s.size() && n.compare(n.size() - s.size(), s.size(), s) == 0) return n.substr(0, n.size() - s.size());
  }
  return n;
}

StoredScale scale_of_dtype(const std::string& torch_dtype) {
  StoredFormat f = plain_stored_format(torch_dtype);
  return f.elem == StoredElem::F32 ? StoredScale::F32 : f.elem == StoredElem::F16 ? StoredScale::F16 : StoredScale::BF16;
}

// The module paths a tensor is matched under, built on first use (most tensors of most methods
// are decided without a name).
class Names {
 public:
  Names(const Tensor& t, bool wrapped) : t_(t), wrapped_(wrapped) {}
  const std::vector<std::string>& get() const {
    if (v_.empty()) {
      v_.push_back(module_of(t_));
      // Multimodal wrappers keep the language model under model.language_model (transformers'
      // *ForConditionalGeneration); the IR names the text model as a causal LM does.
      if (wrapped_ && v_[0].rfind("model.", 0) == 0) v_.push_back("model.language_model." + v_[0].substr(6));
    }
    return v_;
  }

 private:
  const Tensor& t_;
  bool wrapped_;
  mutable std::vector<std::string> v_;
};

// What a tensor resolves to: a format, or nullopt for "stays plain".
using Resolve = std::function<std::optional<StoredFormat>(const Tensor& t, const Names& names)>;

// Blanket coverage: linear weights other than routers and scalar output gates; lm_head when `lm_head`.
bool blanket(const Tensor& t, bool lm_head) {
  if (t.use != TensorUse::Matmul || t.bias) return false;
  if (t.group == ParamGroup::Router || t.group == ParamGroup::Embedding || t.role == TensorRole::FfnOutGate) return false;
  // DeepSeek-V3's MTP eh_proj is bf16 in its fp8 checkpoint (the checkpoint's size says so: fp8 would
  // be 103 MB short of model.safetensors.index.json's total_size).
  if (t.role == TensorRole::MtpProj) return false;
  if (t.group == ParamGroup::LmHead && !lm_head) return false;
  return true;
}

bool any_match(const ModulePatterns& p, const Names& names) {
  if (p.empty()) return false;
  for (const auto& n : names.get())
    if (p.matches(n)) return true;
  return false;
}

// ---- fp8 (transformers FineGrainedFP8Config / DeepSeek-V3 checkpoints)
Resolve read_fp8(const ConfigReader& q, ShippedQuant& sq) {
  std::vector<int64_t> block = {128, 128};  // FineGrainedFP8Config's default
  if (const Value* v = q.raw("weight_block_size")) {
    bool ok = v->is_array() && v->items().size() == 2;
    if (ok)
      for (const auto& it : v->items()) ok = ok && it.is_int() && it.as_int() > 0 && it.as_int() <= (int64_t(1) << 20);
    if (!ok) {
      std::string got;
      if (v->is_array()) {
        got = "[";
        for (size_t i = 0; i < v->items().size() && i < 4; ++i) {
          const Value& it = v->items()[i];
          got += (i ? ", " : "") + (it.is_int() ? std::to_string(it.as_int()) : it.is_string() ? quote_for_message(it.as_string()) : std::string(Value::type_name(it.type())));
        }
        got += v->items().size() > 4 ? ", ...]" : "]";
      } else {
        got = std::string("a ") + Value::type_name(v->type());
      }
      q.fail("weight_block_size", "must be two positive integers, got " + got);
    }
    block = {v->items()[0].as_int(), v->items()[1].as_int()};
  }
  const std::string fmt = lower(q.str_or("fmt", "e4m3"));
  if (fmt != "e4m3" && fmt != "float8_e4m3fn")
    q.fail("fmt", "must be \"e4m3\" or \"float8_e4m3fn\" (the fp8 formats read), got " + quote_for_message(fmt));
  const std::string act = lower(q.str_or("activation_scheme", "dynamic"));
  if (act != "dynamic" && act != "static") q.fail("activation_scheme", "must be \"dynamic\" or \"static\", got " + quote_for_message(act));
  StoredFormat f;
  f.elem = StoredElem::FP8E4M3;
  f.bits = 8;
  f.block_rows = static_cast<int32_t>(block[0]);
  f.block_cols = static_cast<int32_t>(block[1]);
  f.scale = StoredScale::F32;
  f.fixed_bytes = act == "static" ? 4 : 0;
  f.compute = StoredCompute::FP8;
  sq.weight_block_size = block;
  sq.modules_to_not_convert = q.str_list("modules_to_not_convert");
  auto skip = std::make_shared<ModulePatterns>(sq.modules_to_not_convert, q.file(), q.pointer_of("modules_to_not_convert"));
  sq.description = "fp8 block-" + std::to_string(block[0]) + (block[0] == block[1] ? "" : "x" + std::to_string(block[1])) +
                   (act == "static" ? ", static activation scales" : "") +
                   (sq.modules_to_not_convert.empty() ? "" : " (modules_to_not_convert: " + join_some(sq.modules_to_not_convert) + ")");
  return [f, skip](const Tensor& t, const Names& names) -> std::optional<StoredFormat> {
    if (!blanket(t, false) || any_match(*skip, names)) return std::nullopt;
    return f;
  };
}

// ---- mxfp4 (transformers Mxfp4Config, gpt-oss)
Resolve read_mxfp4(const ConfigReader& q, ShippedQuant& sq) {
  sq.modules_to_not_convert = q.str_list("modules_to_not_convert");
  auto skip = std::make_shared<ModulePatterns>(sq.modules_to_not_convert, q.file(), q.pointer_of("modules_to_not_convert"));
  StoredFormat f = *scheme_stored_format(QuantScheme::MXFP4);
  sq.description = "mxfp4 (e2m1 + e8m0 scale per 32)" +
                   (sq.modules_to_not_convert.empty() ? std::string() : " (modules_to_not_convert: " + join_some(sq.modules_to_not_convert) + ")");
  return [f, skip](const Tensor& t, const Names& names) -> std::optional<StoredFormat> {
    if (!blanket(t, false) || any_match(*skip, names)) return std::nullopt;
    return f;
  };
}

// Scale dtype written as "torch.uint8", "torch.float8_e4m3fn", "torch.bfloat16", ...
std::optional<StoredScale> parse_scale_dtype(const std::string& s) {
  std::string d = lower(s);
  if (d.rfind("torch.", 0) == 0) d = d.substr(6);
  if (d == "float32") return StoredScale::F32;
  if (d == "float16") return StoredScale::F16;
  if (d == "bfloat16") return StoredScale::BF16;
  if (d == "float8_e4m3fn") return StoredScale::FP8E4M3;
  if (d == "uint8" || d == "float8_e8m0fnu") return StoredScale::E8M0;
  return std::nullopt;
}

// ---- compressed-tensors: one config group's weights -> the stored format
StoredFormat ct_group_format(const ConfigReader& g, const std::string& top_format, const std::string& model_dtype) {
  auto w = g.child("weights");
  if (!w) g.fail("weights", "is required (the weight quantization args) but is missing");
  const int64_t bits = w->req_int("num_bits", 1, 16);
  const std::string type = lower(w->str_or("type", "int"));
  if (type != "int" && type != "float") w->fail("type", "must be \"int\" or \"float\", got " + quote_for_message(type));
  const std::string strategy = lower(w->str_or("strategy", w->has("group_size") ? "group" : "tensor"));
  const bool symmetric = w->bool_or("symmetric", true);
  std::string format = g.str_or("format", top_format);
  if (format.empty() || format == "mixed-precision") {  // inferred as llm-compressor would write it
    if (type == "float" && bits == 4) format = w->int_or("group_size", 16) == 32 ? "mxfp4-pack-quantized" : "nvfp4-pack-quantized";
    else if (type == "float") format = "float-quantized";
    else format = bits < 8 ? "pack-quantized" : "int-quantized";
  }
  StoredFormat f;
  f.bits = static_cast<uint8_t>(bits);
  // Scale grid by strategy.
  int64_t group = 0;
  if (strategy == "group" || strategy == "tensor_group") {
    group = w->req_int("group_size", 1, int64_t(1) << 20);
    f.block_rows = 1;
    f.block_cols = static_cast<int32_t>(group);
  } else if (strategy == "channel") {
    f.block_rows = 1;
  } else if (strategy == "block") {
    auto bs = w->int_list("block_structure", 1, int64_t(1) << 20);
    if (bs.size() != 2) w->fail("block_structure", "must be two positive integers for strategy \"block\"");
    f.block_rows = static_cast<int32_t>(bs[0]);
    f.block_cols = static_cast<int32_t>(bs[1]);
  } else if (strategy != "tensor") {
    w->fail("strategy", "must be tensor, channel, group, tensor_group or block, got " + quote_for_message(strategy));
  }
  StoredScale sdt = scale_of_dtype(model_dtype);
  if (w->has("scale_dtype")) {
    auto s = parse_scale_dtype(w->str_or("scale_dtype", ""));
    if (!s) w->fail("scale_dtype", "must be a torch dtype name (torch.bfloat16, torch.float8_e4m3fn, torch.uint8, ...), got " +
                                       quote_for_message(w->str_or("scale_dtype", "")));
    sdt = *s;
  }
  f.scale = sdt;
  // Input activations: the arithmetic, and the static scales stored.
  auto in = g.child("input_activations");
  int64_t in_bits = 0;
  std::string in_type;
  bool in_static = false;
  if (in) {
    in_bits = in->int_or("num_bits", 8, 1, 16);
    in_type = lower(in->str_or("type", "int"));
    const Value* dyn = in->raw("dynamic");  // true, false, or "local" (nvfp4's per-group dynamic)
    in_static = !dyn || (dyn->is_bool() && !dyn->as_bool());
  }
  if (format == "pack-quantized") {
    if (type != "int" || 32 % bits != 0 || bits > 8)
      w->fail("num_bits", "must be 2, 4 or 8 with type int for format pack-quantized, got " + std::to_string(bits) + " (" + type + ")");
    f.elem = StoredElem::Int;
    f.word_bits = 32;
    f.fixed_bytes = 16;  // weight_shape: torch.tensor(weight.shape), int64 [2]
    if (!symmetric && (strategy == "group" || strategy == "channel")) {
      f.zero_bits = f.bits;
      f.zero_pack = StoredPack::Col;
      f.zero_word_bits = 32;
    }
    const Value* ao = w->raw("actorder");
    if (ao && ao->is_string() && lower(ao->as_string()) == "group") f.index_bytes_per_col = 4;
  } else if (format == "int-quantized" || (format == "naive-quantized" && type == "int")) {
    if (bits != 8) w->fail("num_bits", "must be 8 for format " + format + ", got " + std::to_string(bits));
    f.elem = StoredElem::Int;
    if (!symmetric) { f.zero_bits = 8; f.zero_pack = StoredPack::Flat; f.zero_word_bits = 8; }
  } else if (format == "float-quantized" || (format == "naive-quantized" && type == "float")) {
    if (bits != 8 || type != "float")
      w->fail("num_bits", "must be 8 with type float for format " + format + ", got " + std::to_string(bits) + " (" + type + ")");
    f.elem = StoredElem::FP8E4M3;
  } else if (format == "nvfp4-pack-quantized") {
    if (bits != 4 || type != "float") w->fail("num_bits", "must be 4 with type float for nvfp4-pack-quantized, got " + std::to_string(bits));
    f.elem = StoredElem::E2M1;
    f.scale = w->has("scale_dtype") ? sdt : StoredScale::FP8E4M3;
    f.fixed_bytes = 4;  // weight_global_scale fp32 [1]
    if (in) f.fixed_bytes += 4;  // input_global_scale fp32 [1]
  } else if (format == "mxfp4-pack-quantized") {
    if (bits != 4 || type != "float") w->fail("num_bits", "must be 4 with type float for mxfp4-pack-quantized, got " + std::to_string(bits));
    f.elem = StoredElem::E2M1;
    f.scale = w->has("scale_dtype") ? sdt : StoredScale::E8M0;
  } else {
    throw ConfigError(g.file(), g.has("format") ? g.pointer_of("format") : g.pointer(),
                      "compressed-tensors format " + quote_for_message(format) +
                          " is not read (read: pack-quantized, int-quantized, float-quantized, naive-quantized, "
                          "nvfp4-pack-quantized, mxfp4-pack-quantized)");
  }
  // Static input scales of 8-bit activations (the fp4 ones are the global scale counted above).
  if (in && in_static && in_bits == 8) f.fixed_bytes += static_cast<int32_t>(f.scale == StoredScale::F32 ? 4 : 2);
  if (in && in_bits == 8) f.compute = in_type == "float" ? StoredCompute::FP8 : StoredCompute::INT8;
  if (in && in_bits == 4 && in_type == "float") f.compute = StoredCompute::FP4;
  return f;
}

Resolve read_compressed_tensors(const ConfigReader& q, ShippedQuant& sq, const std::string& model_dtype) {
  auto groups = q.child("config_groups");
  if (!groups) q.fail("config_groups", "is required (the quantized groups) but is missing");
  const std::string top = q.str_or("format", "");
  struct Group {
    ModulePatterns targets;
    bool linear = false;  // targets the Linear class
    StoredFormat f;
  };
  auto gs = std::make_shared<std::vector<Group>>();
  std::vector<std::string> names;
  for (const auto& m : groups->node().members()) {
    auto g = groups->child(m.first);
    if (!g) continue;
    Group G;
    auto targets = g->str_list("targets");
    std::vector<std::string> named;
    for (const auto& t : targets) {
      if (t == "Linear") G.linear = true;
      else named.push_back(t);
    }
    G.targets = ModulePatterns(named, g->file(), g->pointer_of("targets"));
    G.f = ct_group_format(*g, top, model_dtype);
    names.push_back(stored_format_name(G.f));
    gs->push_back(std::move(G));
  }
  sq.modules_to_not_convert = q.str_list("ignore");
  auto ignore = std::make_shared<ModulePatterns>(sq.modules_to_not_convert, q.file(), q.pointer_of("ignore"));
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  sq.description = "compressed-tensors " + (top.empty() ? std::string() : top + " ") + join_some(names) +
                   (sq.modules_to_not_convert.empty() ? "" : " (ignore: " + join_some(sq.modules_to_not_convert) + ")");
  return [gs, ignore](const Tensor& t, const Names& n) -> std::optional<StoredFormat> {
    if (t.use != TensorUse::Matmul || t.bias || any_match(*ignore, n)) return std::nullopt;
    for (const auto& g : *gs)
      if ((g.linear && blanket(t, true)) || any_match(g.targets, n)) return g.f;
    return std::nullopt;
  };
}

// ---- GPTQ
Resolve read_gptq(const ConfigReader& q, ShippedQuant& sq) {
  const int64_t bits = q.int_or("bits", 4, 1, 16);
  if (bits != 2 && bits != 4 && bits != 8)
    q.fail("bits", "must be 2, 4 or 8 (packed in int32; 3-bit GPTQ is not read), got " + std::to_string(bits));
  const int64_t group = q.int_or("group_size", 128, -1, int64_t(1) << 20);
  if (group == 0) q.fail("group_size", "must be -1 (one group per row) or a positive integer, got 0");
  const bool lm_head = q.bool_or("lm_head", false);
  StoredFormat f;
  f.elem = StoredElem::Int;
  f.bits = static_cast<uint8_t>(bits);
  f.word_bits = 32;
  f.block_rows = 1;
  f.block_cols = group > 0 ? static_cast<int32_t>(group) : 0;
  f.scale = StoredScale::F16;
  f.zero_bits = f.bits;  // qzeros are stored whether or not sym
  f.zero_pack = StoredPack::Col;
  f.zero_word_bits = 32;
  f.index_bytes_per_col = 4;  // g_idx int32 [in], stored whether or not desc_act
  sq.modules_to_not_convert = q.str_list("modules_to_not_convert");
  auto skip = std::make_shared<ModulePatterns>(sq.modules_to_not_convert, q.file(), q.pointer_of("modules_to_not_convert"));
  sq.description = "gptq int" + std::to_string(bits) + " group " + (group > 0 ? std::to_string(group) : std::string("per row")) +
                   (q.bool_or("desc_act", false) ? " act-order" : "") + (q.bool_or("sym", true) ? " sym" : " asym") +
                   (lm_head ? ", lm_head quantized" : "");
  return [f, skip, lm_head](const Tensor& t, const Names& n) -> std::optional<StoredFormat> {
    if (!blanket(t, lm_head) || any_match(*skip, n)) return std::nullopt;
    return f;
  };
}

// ---- AWQ (AutoAWQ GEMM layout)
Resolve read_awq(const ConfigReader& q, ShippedQuant& sq) {
  const int64_t bits = q.has("bits") ? q.int_or("bits", 4, 1, 16) : q.int_or("w_bit", 4, 1, 16);
  if (bits != 4) q.fail(q.has("bits") ? "bits" : "w_bit", "must be 4 (AWQ stores 4-bit weights), got " + std::to_string(bits));
  const std::string gkey = q.has("group_size") ? "group_size" : "q_group_size";
  const int64_t group = q.int_or(gkey, 128, 1, int64_t(1) << 20);
  const std::string version = lower(q.str_or("version", "gemm"));
  if (version != "gemm")
    q.fail("version", "must be \"gemm\" (the AWQ layout read: qweight [in, out/8]); " + quote_for_message(version) + " is not read");
  StoredFormat f;
  f.elem = StoredElem::Int;
  f.bits = 4;
  f.pack = StoredPack::Col;  // qweight [in, out / 8]
  f.word_bits = 32;
  f.block_rows = 1;
  f.block_cols = static_cast<int32_t>(group);
  f.scale = StoredScale::F16;
  f.zero_bits = 4;  // qzeros int32 [in / g, out / 8], stored whether or not zero_point
  f.zero_pack = StoredPack::Col;
  f.zero_word_bits = 32;
  sq.modules_to_not_convert = q.str_list("modules_to_not_convert");
  auto skip = std::make_shared<ModulePatterns>(sq.modules_to_not_convert, q.file(), q.pointer_of("modules_to_not_convert"));
  sq.description = "awq int4 group " + std::to_string(group) + " (gemm)" +
                   (sq.modules_to_not_convert.empty() ? "" : " (modules_to_not_convert: " + join_some(sq.modules_to_not_convert) + ")");
  return [f, skip](const Tensor& t, const Names& n) -> std::optional<StoredFormat> {
    if (!blanket(t, false) || any_match(*skip, n)) return std::nullopt;
    return f;
  };
}

// ---- bitsandbytes
Resolve read_bnb(const ConfigReader& q, ShippedQuant& sq) {
  const bool b4 = q.bool_or("load_in_4bit", false), b8 = q.bool_or("load_in_8bit", false);
  if (b4 == b8) q.fail("load_in_4bit", std::string("must be true (4-bit) or load_in_8bit true (8-bit), one of them; got ") + (b4 ? "both" : "neither"));
  StoredFormat f;
  if (b4) {
    const std::string type = lower(q.str_or("bnb_4bit_quant_type", "fp4"));
    if (type != "nf4" && type != "fp4") q.fail("bnb_4bit_quant_type", "must be \"nf4\" or \"fp4\", got " + quote_for_message(type));
    const bool dq = q.bool_or("bnb_4bit_use_double_quant", false);
    f.elem = type == "nf4" ? StoredElem::NF4 : StoredElem::FP4;
    f.bits = 4;
    f.pack = StoredPack::Flat;
    f.block_cols = 64;  // transformers' blocksize for 4-bit
    f.scale = dq ? StoredScale::U8 : StoredScale::F32;
    f.nested_block = dq ? 256 : 0;
    f.fixed_bytes = 16 * 4 + (dq ? 256 * 4 : 0);  // quant_map fp32 [16] (+ nested_quant_map fp32 [256])
    sq.description = "bitsandbytes " + type + (dq ? " double-quant" : "") + " (blocks of 64)";
  } else {
    f.elem = StoredElem::Int;
    f.bits = 8;
    f.block_rows = 1;
    f.scale = StoredScale::F32;  // SCB fp32 [out]
    f.compute = StoredCompute::INT8;
    sq.description = "bitsandbytes int8 (LLM.int8, fp32 scale per row)";
  }
  sq.modules_to_not_convert = q.str_list("llm_int8_skip_modules");
  auto skip = std::make_shared<ModulePatterns>(sq.modules_to_not_convert, q.file(), q.pointer_of("llm_int8_skip_modules"));
  if (!sq.modules_to_not_convert.empty()) sq.description += " (llm_int8_skip_modules: " + join_some(sq.modules_to_not_convert) + ")";
  return [f, skip](const Tensor& t, const Names& n) -> std::optional<StoredFormat> {
    if (!blanket(t, false) || any_match(*skip, n)) return std::nullopt;
    return f;
  };
}

// ---- ModelOpt
StoredFormat modelopt_format(const std::string& algo, int64_t group, const ConfigReader& where, const std::string& key) {
  StoredFormat f;
  if (algo == "FP8") {
    f.elem = StoredElem::FP8E4M3;
    f.bits = 8;
    f.fixed_bytes = 8;  // weight_scale + input_scale, fp32 scalars
    f.compute = StoredCompute::FP8;
  } else if (algo == "NVFP4" || algo == "W4A16_NVFP4") {
    f.elem = StoredElem::E2M1;
    f.bits = 4;
    f.block_rows = 1;
    f.block_cols = static_cast<int32_t>(group);
    f.scale = StoredScale::FP8E4M3;
    f.fixed_bytes = algo == "NVFP4" ? 8 : 4;  // weight_scale_2 (+ input_scale), fp32 scalars
    f.compute = algo == "NVFP4" ? StoredCompute::FP4 : StoredCompute::BF16;
  } else {
    where.fail(key, "must be FP8, NVFP4, W4A16_NVFP4 or MIXED_PRECISION (the ModelOpt formats read), got " + quote_for_message(algo));
  }
  return f;
}

Resolve read_modelopt(const ConfigReader& q, ShippedQuant& sq) {
  const std::string algo = q.req_str("quant_algo");
  const int64_t group = q.int_or("group_size", 16, 1, int64_t(1) << 20);
  const std::string ex_key = q.has("exclude_modules") ? "exclude_modules" : "ignore";
  sq.modules_to_not_convert = q.str_list(ex_key);
  auto exclude = std::make_shared<ModulePatterns>(sq.modules_to_not_convert, q.file(), q.pointer_of(ex_key));
  const std::string kv = q.has("kv_cache_quant_algo") ? q.str_or("kv_cache_quant_algo", "") : std::string();
  std::string tail = (sq.modules_to_not_convert.empty() ? "" : " (" + ex_key + ": " + join_some(sq.modules_to_not_convert) + ")") +
                     (kv.empty() ? "" : "; the checkpoint was calibrated for a " + kv + " KV cache (--kv-dtype)");
  if (algo != "MIXED_PRECISION") {
    StoredFormat f = modelopt_format(algo, group, q, "quant_algo");
    sq.description = "modelopt " + algo + (f.block_cols ? " group " + std::to_string(group) : std::string()) + tail;
    return [f, exclude](const Tensor& t, const Names& n) -> std::optional<StoredFormat> {
      if (!blanket(t, true) || any_match(*exclude, n)) return std::nullopt;
      return f;
    };
  }
  auto layers = q.child("quantized_layers");
  if (!layers) q.fail("quantized_layers", "is required with quant_algo MIXED_PRECISION but is missing");
  // Per format, the modules that use it.
  struct Entry {
    StoredFormat f;
    std::vector<std::string> modules;
    std::string algo;
  };
  std::vector<Entry> entries;
  for (const auto& m : layers->node().members()) {
    auto e = layers->child(m.first);
    if (!e) continue;
    const std::string a = e->req_str("quant_algo");
    StoredFormat f = modelopt_format(a, e->int_or("group_size", group, 1, int64_t(1) << 20), *e, "quant_algo");
    auto it = std::find_if(entries.begin(), entries.end(), [&](const Entry& x) { return x.f == f; });
    if (it == entries.end()) entries.push_back({f, {}, a}), it = entries.end() - 1;
    it->modules.push_back(m.first);
  }
  auto rules = std::make_shared<std::vector<std::pair<StoredFormat, ModulePatterns>>>();
  std::string algos;
  for (const auto& e : entries) {
    rules->emplace_back(e.f, ModulePatterns(e.modules, q.file(), q.pointer_of("quantized_layers")));
    algos += (algos.empty() ? "" : " + ") + e.algo + " (" + std::to_string(e.modules.size()) + " modules)";
  }
  sq.description = "modelopt MIXED_PRECISION: " + algos + tail;
  return [rules, exclude](const Tensor& t, const Names& n) -> std::optional<StoredFormat> {
    if (t.use != TensorUse::Matmul || t.bias || any_match(*exclude, n)) return std::nullopt;
    for (const auto& r : *rules)
      if (any_match(r.second, n)) return r.first;
    return std::nullopt;
  };
}

template <class F>
void for_each_tensor(ModelIR& ir, F f) {
  for (auto& op : ir.pre)
    for (auto& t : op.tensors) f(t);
  for (auto& L : ir.layers)
    for (auto& op : L.ops)
      for (auto& t : op.tensors) f(t);
  for (auto& op : ir.post)
    for (auto& t : op.tensors) f(t);
  for (auto& L : ir.mtp_layers)
    for (auto& op : L.ops)
      for (auto& t : op.tensors) f(t);
}

}  // namespace

void resolve_shipped_quant(ModelIR& ir, const ConfigReader* quant, bool wrapped) {
  const StoredFormat plain = plain_stored_format(ir.torch_dtype);
  for_each_tensor(ir, [&](Tensor& t) { t.stored = plain; });
  ir.shipped_quant.reset();
  if (!quant) return;
  const ConfigReader& q = *quant;
  ShippedQuant sq;
  sq.source = q.file();
  // hf_quant_config.json: {"producer": ..., "quantization": {...}}.
  std::optional<ConfigReader> inner;
  const ConfigReader* src = &q;
  std::string method;
  if (auto qq = q.child("quantization"); qq && !q.has("quant_method")) {
    inner = qq;
    src = &*inner;
    method = "modelopt";
  } else {
    method = lower(q.str_or("quant_method", ""));
    // ModelOpt writes its own keys into config.json, sometimes under another quant_method.
    if (auto prod = q.child("producer"); prod && lower(prod->str_or("name", "")) == "modelopt" && q.has("quant_algo"))
      method = "modelopt";
  }
  sq.method = method;
  Resolve resolve;
  if (method == "fp8") resolve = read_fp8(*src, sq);
  else if (method == "mxfp4") resolve = read_mxfp4(*src, sq);
  else if (method == "compressed-tensors") resolve = read_compressed_tensors(*src, sq, ir.torch_dtype);
  else if (method == "gptq") resolve = read_gptq(*src, sq);
  else if (method == "awq") resolve = read_awq(*src, sq);
  else if (method == "bitsandbytes") resolve = read_bnb(*src, sq);
  else if (method == "modelopt") resolve = read_modelopt(*src, sq);
  if (!resolve) {
    sq.understood = false;
    sq.description = "quant_method " + quote_for_message(method) + " is not read (read: fp8, mxfp4, compressed-tensors, gptq, awq, "
                     "bitsandbytes, modelopt)";
    ir.notes.push_back(q.file() + ": " + sq.description + "; weights counted in the config's dtype");
    ir.shipped_quant = sq;
    return;
  }
  for_each_tensor(ir, [&](Tensor& t) {
    if (t.use == TensorUse::Vector || t.tied) return;
    if (auto f = resolve(t, Names(t, wrapped))) t.stored = *f;
  });
  ir.shipped_quant = sq;
}

}  // namespace llmcost
