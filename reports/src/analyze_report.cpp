// Writers for `llmcost analyze` / `llmcost models`: JSON (exact integers) and tables (units).
#include "llmcost/analyze_report.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "llmcost/format.h"
#include "llmcost/version.h"

namespace llmcost {

namespace {
nlohmann::ordered_json model_json(const Analysis& a) {
  const ModelIR& ir = a.ir;
  const ModelSummary& s = a.summary;
  nlohmann::ordered_json m;
  m["name"] = ir.name;
  m["architecture"] = ir.architecture;
  m["model_type"] = ir.model_type;
  m["source_file"] = ir.source_file;
  m["n_layers"] = ir.n_layers;
  m["d_model"] = ir.d_model;
  m["vocab_size"] = ir.vocab_size;
  m["attention"] = s.attention;
  m["n_heads"] = s.n_heads;
  m["n_kv_heads"] = s.n_kv_heads;
  m["head_dim"] = s.head_dim;
  m["tie_word_embeddings"] = ir.tie_word_embeddings;
  m["n_dense_layers"] = s.n_dense_layers;
  m["n_moe_layers"] = s.n_moe_layers;
  if (s.n_moe_layers > 0) {
    m["n_experts"] = s.n_experts;
    m["n_experts_per_tok"] = s.top_k;
    m["n_shared_experts"] = s.n_shared_experts;
  }
  m["n_sliding_window_layers"] = s.n_sliding_layers;
  if (s.sliding_window) m["sliding_window"] = s.sliding_window;
  if (s.chunk_size) m["attention_chunk_size"] = s.chunk_size;
  m["n_mtp_layers"] = ir.n_mtp_layers;
  m["torch_dtype"] = ir.torch_dtype;
  m["notes"] = ir.notes;
  return m;
}

nlohmann::ordered_json params_json(const ParamCounts& p) {
  nlohmann::ordered_json j;
  j["total"] = p.total;
  j["active"] = p.active;
  j["active_compute"] = p.active_compute;
  j["mtp"] = p.mtp;
  j["mtp_unique"] = p.mtp - p.mtp_shared_copies;
  j["mtp_shared_copies"] = p.mtp_shared_copies;
  nlohmann::ordered_json b;
  for (int g = 0; g < kNumParamGroups; ++g) b[param_group_name(static_cast<ParamGroup>(g))] = p.breakdown[g];
  j["breakdown"] = b;
  return j;
}

// Memory and FLOP keys of `analyze --format json` (issue 3): exact integers, bytes and FLOPs.
void add_cost_json(nlohmann::ordered_json& j, const Analysis& a) {
  nlohmann::ordered_json wb;
  for (const auto& [scheme, bytes] : a.weight_bytes) wb[quant_scheme_name(scheme)] = bytes;
  j["weight_bytes"] = wb;
  j["weight_bytes_policy"] = quant_policy_name(a.options.policy);
  if (a.weight_bytes_as_shipped) {
    j["weight_bytes_as_shipped"] = *a.weight_bytes_as_shipped;
    j["weight_format_as_shipped"] = a.shipped_format;
    j["weight_format_as_shipped_source"] = a.ir.shipped_quant->source;
    nlohmann::ordered_json by;
    for (const auto& [name, bytes] : a.shipped_bytes_by_format) by[name] = bytes;
    j["weight_bytes_as_shipped_by_format"] = by;
  }

  const KvCache& bf16 = a.kv(KvDtype::BF16);
  nlohmann::ordered_json kv;
  kv["bytes_per_token"] = bf16.bytes_per_token;
  kv["bytes_at_context"] = bf16.bytes_at_context;
  kv["context"] = bf16.context;
  if (bf16.expanded_bytes_per_token != bf16.bytes_per_token) {
    kv["expanded_bytes_per_token"] = bf16.expanded_bytes_per_token;
    kv["expanded_bytes_at_context"] = bf16.expanded_bytes_at_context;
  }
  if (bf16.n_recurrent_layers > 0) {
    kv["recurrent_layers"] = bf16.n_recurrent_layers;
    kv["state_bytes_per_sequence"] = bf16.state_bytes_per_sequence;  // in bytes_at_context
  }
  kv["dtype"] = kv_dtype_name(a.options.kv_dtype);
  nlohmann::ordered_json by;
  for (KvDtype d : all_kv_dtypes()) {
    nlohmann::ordered_json e;
    e["bytes_per_token"] = a.kv(d).bytes_per_token;
    e["bytes_at_context"] = a.kv(d).bytes_at_context;
    by[kv_dtype_name(d)] = e;
  }
  kv["by_dtype"] = by;
  j["kv_cache"] = kv;

  nlohmann::ordered_json f, dec, pre;
  dec["context"] = a.decode_flops.context;
  dec["matmul"] = a.decode_flops.matmul;
  dec["attention"] = a.decode_flops.attention;
  dec["total"] = a.decode_flops.total;
  pre["tokens"] = a.prefill_flops.tokens;
  pre["matmul"] = a.prefill_flops.matmul;
  pre["attention"] = a.prefill_flops.attention;
  pre["total"] = a.prefill_flops.total;
  f["decode_per_token"] = dec;
  f["prefill"] = pre;
  j["flops"] = f;
}

std::string bytes_cells(int64_t b) { return format_thousands(b); }

// FLOPs with a decimal prefix: 629984329728 -> "629.98 GFLOP".
std::string si_flops(int64_t flops) {
  const double f = static_cast<double>(flops);
  if (f >= 1e15) return fmt::format("{:.2f} PFLOP", f / 1e15);
  if (f >= 1e12) return fmt::format("{:.2f} TFLOP", f / 1e12);
  return fmt::format("{:.2f} GFLOP", f / 1e9);
}

// Memory and FLOP sections of the analyze table.
std::string cost_table(const Analysis& a) {
  std::string out;
  out += fmt::format("\nWeight memory (quant policy: {}; tensors a scheme does not cover stay bf16; fp32/bf16/fp16 apply to all)\n",
                     quant_policy_name(a.options.policy));
  TextTable w({"scheme", "bytes", "GB", "GiB"}, {true, false, false, false});
  for (const auto& [scheme, bytes] : a.weight_bytes)
    w.add_row({quant_scheme_name(scheme), bytes_cells(bytes), format_gb(static_cast<double>(bytes)),
               format_gib(static_cast<double>(bytes))});
  if (a.weight_bytes_as_shipped) {
    const double b = static_cast<double>(*a.weight_bytes_as_shipped);
    w.add_row({"as shipped (" + a.ir.shipped_quant->method + ")", bytes_cells(*a.weight_bytes_as_shipped), format_gb(b),
               format_gib(b)});
  }
  out += w.render();
  if (a.weight_bytes_as_shipped) {
    out += fmt::format("\nWeight memory {} (read from {}), by stored format (elements + scales + zeros as stored)\n",
                       a.shipped_format, a.ir.shipped_quant->source);
    TextTable f({"stored format", "bytes", "GB", "GiB", "share"}, {true, false, false, false, false});
    for (const auto& [name, bytes] : a.shipped_bytes_by_format)
      f.add_row({name, bytes_cells(bytes), format_gb(static_cast<double>(bytes)), format_gib(static_cast<double>(bytes)),
                 fmt::format("{:.1f}%", 100.0 * static_cast<double>(bytes) / static_cast<double>(*a.weight_bytes_as_shipped))});
    out += f.render();
  }

  const KvCache& bf16 = a.kv(KvDtype::BF16);
  out += fmt::format("\nKV cache at context {} tokens per sequence ({} of {} attention layers capped by a window or chunk{})\n",
                     bf16.context, bf16.n_capped_layers, bf16.n_attention_layers,
                     bf16.n_shared_layers ? fmt::format("; {} more layers read another layer's cache and store none",
                                                        bf16.n_shared_layers)
                                          : std::string());
  TextTable k({"kv dtype", "bytes per token", "bytes at context", "GB at context", "GiB at context"},
              {true, false, false, false, false});
  auto kv_row = [&](const std::string& label, int64_t per_tok, int64_t at_ctx) {
    k.add_row({label, format_thousands(per_tok), format_thousands(at_ctx), format_gb(static_cast<double>(at_ctx)),
               format_gib(static_cast<double>(at_ctx))});
  };
  kv_row("bf16", bf16.bytes_per_token, bf16.bytes_at_context);
  if (bf16.expanded_bytes_per_token != bf16.bytes_per_token)
    kv_row("bf16 MLA expanded", bf16.expanded_bytes_per_token, bf16.expanded_bytes_at_context);
  if (a.options.kv_dtype != KvDtype::BF16) {
    const KvCache& sel = a.kv(a.options.kv_dtype);
    kv_row(kv_dtype_name(a.options.kv_dtype), sel.bytes_per_token, sel.bytes_at_context);
  }
  out += k.render();
  out += "bytes per token: no window cap; at context: sliding windows and chunks applied; one sequence.\n";
  if (bf16.n_recurrent_layers > 0)
    out += fmt::format("at context includes the {} recurrent layers' state: {} bytes per sequence whatever the context "
                       "(conv + recurrent state in their own dtypes, not the KV dtype).\n",
                       bf16.n_recurrent_layers, format_thousands(bf16.state_bytes_per_sequence));

  out += "\nFLOPs (2 per multiply-add; G/T/P = 1e9/1e12/1e15)\n";
  TextTable f({"pass", "matmul FLOPs", "attention FLOPs", "total FLOPs", "total"}, {true, false, false, false, false});
  auto frow = [&](const std::string& label, int64_t mm, int64_t at, int64_t tot) {
    f.add_row({label, format_thousands(mm), format_thousands(at), format_thousands(tot), si_flops(tot)});
  };
  frow(fmt::format("decode, per token at context {}", a.decode_flops.context), a.decode_flops.matmul,
       a.decode_flops.attention, a.decode_flops.total);
  frow(fmt::format("prefill of {} tokens (causal)", a.prefill_flops.tokens), a.prefill_flops.matmul,
       a.prefill_flops.attention, a.prefill_flops.total);
  out += f.render();
  return out;
}
}  // namespace

std::string analyze_json(const Analysis& a) {
  nlohmann::ordered_json j;
  j["model"] = model_json(a);
  j["params"] = params_json(a.params);
  add_cost_json(j, a);
  j["llmcost_version"] = version_stamp();
  return j.dump(2) + "\n";
}

std::string analyze_table(const Analysis& a) {
  const ModelIR& ir = a.ir;
  const ModelSummary& s = a.summary;
  const ParamCounts& p = a.params;
  std::string out;
  out += fmt::format("{}  ({}, {})\n", ir.name, ir.architecture, ir.source_file);
  std::string shape = fmt::format("{} layers, d_model {}, vocab {}, {} attention: {} heads, {} KV heads, head_dim {}",
                                  ir.n_layers, ir.d_model, ir.vocab_size, s.attention, s.n_heads, s.n_kv_heads, s.head_dim);
  out += shape + "\n";
  if (s.n_moe_layers > 0)
    out += fmt::format("MoE: {} of {} layers, {} routed experts, top-{}{}\n", s.n_moe_layers, ir.n_layers, s.n_experts,
                       s.top_k, s.n_shared_experts ? fmt::format(", {} shared", s.n_shared_experts) : std::string());
  if (s.n_sliding_layers > 0)
    out += fmt::format("Sliding-window attention on {} of {} layers (window {} tokens)\n", s.n_sliding_layers, ir.n_layers,
                       s.sliding_window);
  if (s.chunk_size > 0) out += fmt::format("Chunked attention (chunk {} tokens) on RoPE layers\n", s.chunk_size);
  for (const auto& n : ir.notes) out += "note: " + n + "\n";
  out += "\n";

  TextTable t({"parameters", "count", "exact"}, {true, false, false});
  t.add_row({"total", format_count(p.total), format_thousands(p.total)});
  t.add_row({"active per token", format_count(p.active), format_thousands(p.active)});
  t.add_row({"active_compute per token", format_count(p.active_compute), format_thousands(p.active_compute)});
  if (ir.n_mtp_layers > 0) {
    t.add_row({"mtp as stored (not in total)", format_count(p.mtp), format_thousands(p.mtp)});
    const int64_t unique = p.mtp - p.mtp_shared_copies;
    t.add_row({"  mtp unique weights", format_count(unique), format_thousands(unique)});
    if (p.mtp_shared_copies > 0)
      t.add_row({"  mtp copies of embedding/lm_head", format_count(p.mtp_shared_copies), format_thousands(p.mtp_shared_copies)});
  }
  for (int g = 0; g < kNumParamGroups; ++g) {
    if (p.breakdown[g] == 0) continue;
    t.add_row({std::string("  ") + param_group_name(static_cast<ParamGroup>(g)), format_count(p.breakdown[g]),
               format_thousands(p.breakdown[g])});
  }
  out += t.render();
  out += "B = 1e9 parameters. active = total minus the routed experts a token does not use (embedding and lm_head "
         "included); active_compute = active minus tables that are only gathered.\n";
  out += cost_table(a);
  out += "GB = 1e9 bytes, GiB = 2^30 bytes.\n";
  return out;
}

std::string models_table(const std::vector<ModelsRow>& rows) {
  TextTable t({"model", "alias", "architecture", "layers", "total", "active", "active_compute"}, {true, true, true});
  t.set_optional(2, 2).set_optional(6, 1);  // architecture, then active_compute, give way in a narrow terminal
  for (const auto& r : rows) {
    const auto& p = r.analysis.params;
    t.add_row({r.id, r.alias, r.analysis.ir.architecture, std::to_string(r.analysis.ir.n_layers), format_count(p.total),
               format_count(p.active), format_count(p.active_compute)});
  }
  return t.render() + "Parameters in B = 1e9. active = per token (model-card convention); active_compute = weights multiplied per token.\n";
}

std::string models_json(const std::vector<ModelsRow>& rows) {
  nlohmann::ordered_json arr = nlohmann::ordered_json::array();
  for (const auto& r : rows) {
    nlohmann::ordered_json j;
    j["id"] = r.id;
    j["alias"] = r.alias;
    j["model"] = model_json(r.analysis);
    j["params"] = params_json(r.analysis.params);
    arr.push_back(j);
  }
  return arr.dump(2) + "\n";
}

}  // namespace llmcost
