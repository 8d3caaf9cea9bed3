// Writers for `llmcost analyze` on a checkpoint: JSON (exact integers, every difference) and the
// terminal table (units said, long lists cut with a count).
#include "llmcost/checkpoint_report.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "llmcost/format.h"
#include "llmcost/version.h"

namespace llmcost {

namespace {

using ojson = nlohmann::ordered_json;

// Parameters the headers establish: the weight tensors' elements, plus the logical weights behind
// packed tensors when the family cross-check explained every one of them; nullopt otherwise.
std::optional<int64_t> exact_parameters(const CheckpointReport& r) {
  const CheckpointSummary& s = r.summary;
  if (s.packed.tensors == 0) return s.weights.elements;
  if (r.check && static_cast<int64_t>(r.check->packed.size()) == s.packed.tensors)
    return s.weights.elements + r.check->packed_elements;
  return std::nullopt;
}

std::string parameters_what(const CheckpointReport& r) {
  const CheckpointSummary& s = r.summary;
  if (s.format == "gguf")
    return "sum of the element counts of every tensor (GGUF dims are logical, quantized or not)";
  if (s.packed.tensors == 0)
    return "sum of the element counts of every weight tensor (quantization scales/zeros excluded; MTP layers and "
           "anything else stored included)";
  if (exact_parameters(r))
    return "weight tensors' elements plus the weights behind the packed tensors, from the family's shapes";
  return "not exact from the headers alone: packed integer tensors hold storage elements, not parameters";
}

ojson totals_json(const StoredTotals& t) { return {{"tensors", t.tensors}, {"elements", t.elements}, {"bytes", t.bytes}}; }

ojson entry_json(const CheckEntry& e) {
  ojson j;
  if (!e.name.empty()) {
    j["name"] = e.name;
    j["expected_shape"] = e.expected_shape;
  }
  if (!e.stored_name.empty()) {
    j["stored_name"] = e.stored_name;
    j["stored_dtype"] = e.stored_dtype;
    j["stored_shape"] = e.stored_shape;
  }
  if (e.bits_per_weight) j["bits_per_weight"] = e.bits_per_weight;
  return j;
}

ojson entries_json(const std::vector<CheckEntry>& v) {
  ojson a = ojson::array();
  for (const auto& e : v) a.push_back(entry_json(e));
  return a;
}

ojson aux_json(const std::vector<AuxGroup>& v) {
  ojson a = ojson::array();
  for (const auto& g : v) {
    ojson j = totals_json(g.totals);
    j["suffix"] = g.suffix;
    a.push_back(j);
  }
  return a;
}

std::string n(int64_t v) { return format_thousands(v); }
std::string nb(uint64_t v) { return format_thousands(static_cast<int64_t>(v)); }

// Up to `max` lines of `v`, then how many more there are.
template <class F>
std::string listed(const std::vector<CheckEntry>& v, size_t max, const std::vector<std::string>& header,
                   const std::vector<bool>& left, F row) {
  if (v.empty()) return "";
  TextTable t(header, left);
  for (size_t i = 0; i < v.size() && i < max; ++i) t.add_row(row(v[i]));
  std::string out = t.render();
  if (v.size() > max) out += fmt::format("... and {} more (--format json lists them all)\n", v.size() - max);
  return out;
}

}  // namespace

std::string checkpoint_json(const CheckpointReport& r) {
  const CheckpointSummary& s = r.summary;
  ojson j;
  ojson c;
  c["format"] = s.format;
  c["path"] = s.path;
  if (!s.index_path.empty()) c["index"] = s.index_path;
  if (!r.hf_snapshot.empty()) c["hf_snapshot"] = r.hf_snapshot;
  c["files"] = s.files;
  c["file_bytes"] = s.file_bytes;
  c["header_bytes"] = s.header_bytes;
  if (s.format == "gguf") {
    c["gguf_version"] = s.gguf_version;
    c["architecture"] = s.architecture;
    c["model_name"] = s.model_name;
  }
  if (s.unindexed_tensors) c["unindexed_tensors"] = s.unindexed_tensors;
  j["checkpoint"] = c;
  j["units"] = {{"elements", "tensor elements as the headers give them"}, {"bytes", "bytes"}};
  ojson st;
  st["all"] = totals_json(s.all);
  st["weights"] = totals_json(s.weights);
  st["packed"] = totals_json(s.packed);
  st["quant_aux"] = totals_json(s.aux);
  j["stored"] = st;
  ojson p;
  auto exact = exact_parameters(r);
  p["exact"] = exact.has_value();
  p["total"] = exact ? ojson(*exact) : ojson(nullptr);
  p["counts"] = parameters_what(r);
  if (r.family_total >= 0) p["family_total"] = r.family_total;
  j["parameters"] = p;
  ojson bd = ojson::array();
  for (const auto& d : s.by_dtype) {
    ojson e;
    e["dtype"] = d.dtype;
    e["bits_per_element"] = d.bits_per_element;
    e["tensors"] = d.totals.tensors;
    e["elements"] = d.totals.elements;
    e["bytes"] = d.totals.bytes;
    bd.push_back(e);
  }
  j["by_dtype"] = bd;
  j["quant_aux_by_suffix"] = aux_json(s.aux_groups);
  if (r.check) {
    const CheckpointCrossCheck& k = *r.check;
    ojson x;
    x["model_type"] = k.model_type;
    x["config"] = k.config_path;
    if (!k.shipped_quant.empty()) x["shipped_quant"] = k.shipped_quant;
    x["exact"] = k.exact();
    x["expected_tensors"] = k.expected_tensors;
    x["expected_elements"] = k.expected_elements;
    x["matched"] = k.matched;
    x["matched_elements"] = k.matched_elements;
    x["packed_elements"] = k.packed_elements;
    x["mtp"] = {{"expected", k.mtp_expected}, {"found", k.mtp_found}, {"elements_found", k.mtp_elements_found}};
    x["missing"] = entries_json(k.missing);
    x["shape_mismatch"] = entries_json(k.shape_mismatch);
    x["packed"] = entries_json(k.packed);
    x["extra"] = entries_json(k.extra);
    x["quant_aux_extra"] = aux_json(k.aux);
    j["cross_check"] = x;
  } else {
    j["cross_check"] = nullptr;
  }
  j["notes"] = r.notes;
  j["llmcost_version"] = version_stamp();
  return j.dump(2) + "\n";
}

std::string checkpoint_table(const CheckpointReport& r, size_t max_listed) {
  const CheckpointSummary& s = r.summary;
  std::string out;
  out += fmt::format("{}  ({} checkpoint, {} file{}{})\n", s.path, s.format, s.files.size(), s.files.size() == 1 ? "" : "s",
                     s.index_path.empty() ? "" : ", index " + s.index_path);
  if (!r.hf_snapshot.empty()) out += "found in the Hugging Face cache: " + r.hf_snapshot + "\n";
  if (s.format == "gguf")
    out += fmt::format("GGUF v{}, architecture '{}'{}\n", s.gguf_version, s.architecture,
                       s.model_name.empty() ? "" : ", name '" + s.model_name + "'");
  out += fmt::format("files: {} bytes ({}); headers read: {} bytes (no tensor data is read)\n", nb(s.file_bytes),
                     format_gb(static_cast<double>(s.file_bytes)), nb(s.header_bytes));
  out += "\n";

  TextTable t({"stored tensors", "tensors", "elements", "bytes", "GB"}, {true, false, false, false, false});
  auto row = [&](const std::string& label, const StoredTotals& x) {
    t.add_row({label, n(x.tensors), n(x.elements), nb(x.bytes), format_gb(static_cast<double>(x.bytes))});
  };
  row(s.format == "gguf" ? "weights (elements = parameters; bytes include block scales)" : "weights (1 element = 1 parameter)",
      s.weights);
  if (s.packed.tensors) row("packed integer (elements = storage units)", s.packed);
  if (s.aux.tensors) row("quantization scales/zeros", s.aux);
  row("all", s.all);
  out += t.render();

  auto exact = exact_parameters(r);
  if (exact) out += fmt::format("\nparameters: {} ({}), exact: {}\n", n(*exact), format_count(*exact), parameters_what(r));
  else out += fmt::format("\nparameters: {}\n", parameters_what(r));
  if (r.family_total >= 0)
    out += fmt::format("family total (llmcost's count from config.json, MTP excluded): {} ({})\n", n(r.family_total),
                       format_count(r.family_total));

  out += "\nBy dtype\n";
  TextTable d({"dtype", "bits/element", "tensors", "elements", "bytes", "GB"}, {true, false, false, false, false, false});
  for (const auto& x : s.by_dtype)
    d.add_row({x.dtype, fmt::format("{:g}", x.bits_per_element), n(x.totals.tensors), n(x.totals.elements),
               nb(x.totals.bytes), format_gb(static_cast<double>(x.totals.bytes))});
  out += d.render();

  if (!s.aux_groups.empty()) {
    out += "\nQuantization data by name suffix (memory, not parameters)\n";
    TextTable a({"suffix", "tensors", "elements", "bytes"}, {true, false, false, false});
    for (const auto& g : s.aux_groups) a.add_row({g.suffix, n(g.totals.tensors), n(g.totals.elements), nb(g.totals.bytes)});
    out += a.render();
  }

  if (r.check) {
    const CheckpointCrossCheck& k = *r.check;
    out += fmt::format("\nCross-check against family '{}' ({}{})\n", k.model_type, k.config_path,
                       k.shipped_quant.empty() ? "" : ", ships " + k.shipped_quant);
    TextTable c({"IR tensors (MTP apart)", "tensors", "elements"}, {true, false, false});
    c.add_row({"expected", n(k.expected_tensors), n(k.expected_elements)});
    c.add_row({"matched (same name and shape)", n(k.matched), n(k.matched_elements)});
    if (!k.packed.empty()) c.add_row({"packed (explained by bits per weight)", n(static_cast<int64_t>(k.packed.size())), n(k.packed_elements)});
    c.add_row({"missing", n(static_cast<int64_t>(k.missing.size())), ""});
    c.add_row({"shape mismatch", n(static_cast<int64_t>(k.shape_mismatch.size())), ""});
    c.add_row({"extra in the checkpoint", n(static_cast<int64_t>(k.extra.size())), ""});
    if (k.mtp_expected) c.add_row({"MTP layer tensors found / expected", n(k.mtp_found) + " / " + n(k.mtp_expected), n(k.mtp_elements_found)});
    out += c.render();
    out += k.exact() ? "result: every IR tensor is in the checkpoint and nothing unexplained is left over\n"
                     : "result: differences, tensor by tensor:\n";
    auto shape_or = [](const std::vector<int64_t>& v) { return shape_string(v); };
    if (!k.missing.empty()) {
      out += "\nmissing from the checkpoint\n";
      out += listed(k.missing, max_listed, {"tensor", "expected shape"}, {true, false},
                    [&](const CheckEntry& e) { return std::vector<std::string>{e.name, shape_or(e.expected_shape)}; });
    }
    if (!k.shape_mismatch.empty()) {
      out += "\nshape mismatch\n";
      out += listed(k.shape_mismatch, max_listed, {"tensor", "expected shape", "stored as", "dtype", "stored shape"},
                    {true, false, true, true, false}, [&](const CheckEntry& e) {
                      return std::vector<std::string>{e.name, shape_or(e.expected_shape),
                                                      e.stored_name == e.name ? "(same name)" : e.stored_name,
                                                      e.stored_dtype, shape_or(e.stored_shape)};
                    });
    }
    if (!k.extra.empty()) {
      out += "\nin the checkpoint, not in the family's IR\n";
      out += listed(k.extra, max_listed, {"tensor", "dtype", "shape"}, {true, true, false}, [&](const CheckEntry& e) {
        return std::vector<std::string>{e.stored_name, e.stored_dtype, shape_or(e.stored_shape)};
      });
    }
    if (!k.packed.empty()) {
      out += "\npacked quantized tensors (logical shape from the IR; not differences)\n";
      out += listed(k.packed, max_listed, {"tensor", "logical shape", "stored as", "dtype", "stored shape", "bits/weight"},
                    {true, false, true, true, false, false}, [&](const CheckEntry& e) {
                      return std::vector<std::string>{e.name, shape_or(e.expected_shape),
                                                      e.stored_name == e.name ? "(same name)" : e.stored_name,
                                                      e.stored_dtype, shape_or(e.stored_shape),
                                                      std::to_string(e.bits_per_weight)};
                    });
    }
    if (!k.aux.empty()) {
      out += "\nquantization data beside the IR tensors (expected for a quantized checkpoint; not differences)\n";
      TextTable a({"suffix", "tensors", "elements", "bytes"}, {true, false, false, false});
      for (const auto& g : k.aux) a.add_row({g.suffix, n(g.totals.tensors), n(g.totals.elements), nb(g.totals.bytes)});
      out += a.render();
    }
  }
  for (const auto& note : r.notes) out += "note: " + note + "\n";
  out += "elements: tensor elements as the headers give them; B = 1e9; GB = 1e9 bytes.\n";
  return out;
}

}  // namespace llmcost
