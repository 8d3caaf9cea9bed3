// Writers for `llmcost analyze` / `llmcost models`: JSON (exact integers) and tables (units).
#include "llmcost/analyze_report.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "llmcost/format.h"

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
  nlohmann::ordered_json b;
  for (int g = 0; g < kNumParamGroups; ++g) b[param_group_name(static_cast<ParamGroup>(g))] = p.breakdown[g];
  j["breakdown"] = b;
  return j;
}
}  // namespace

std::string analyze_json(const Analysis& a) {
  nlohmann::ordered_json j;
  j["model"] = model_json(a);
  j["params"] = params_json(a.params);
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
  if (ir.n_mtp_layers > 0) t.add_row({"mtp (not in total)", format_count(p.mtp), format_thousands(p.mtp)});
  for (int g = 0; g < kNumParamGroups; ++g) {
    if (p.breakdown[g] == 0) continue;
    t.add_row({std::string("  ") + param_group_name(static_cast<ParamGroup>(g)), format_count(p.breakdown[g]),
               format_thousands(p.breakdown[g])});
  }
  out += t.render();
  out += "B = 1e9 parameters. active = total minus the routed experts a token does not use (embedding and lm_head "
         "included); active_compute = active minus tables that are only gathered.\n";
  return out;
}

std::string models_table(const std::vector<ModelsRow>& rows) {
  TextTable t({"model", "alias", "architecture", "layers", "total", "active", "active_compute"}, {true, true, true});
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
