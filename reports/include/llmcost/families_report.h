// Writer for `llmcost families`: every family and how each given config fares (counted, checked
// against a checkpoint count, or refused), as a table, Markdown (the README's table) or JSON.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace llmcost {

struct FamilyConfigRow {
  std::string file;         // config file name
  std::string family;       // IR architecture; empty when refused
  std::string refused;      // the one-line error when the config is refused
  int64_t total = 0, active = 0, mtp = 0;
  int64_t kv_bytes_per_token = 0;     // growing part, bf16, all attention layers
  int64_t state_bytes_per_sequence = 0;  // recurrent layers' constant state
  int64_t context = 0;
  int64_t bytes_at_context = 0;       // one sequence at `context`, bf16 KV + state
  std::optional<int64_t> reference_total;  // the checkpoint's count, when on file
};

struct FamilyRow {
  std::string name;
  std::vector<std::string> model_types;
  int configs = 0;  // of the rows, how many this family built
};

std::string families_table(const std::vector<FamilyRow>& fams, const std::vector<FamilyConfigRow>& rows);
std::string families_markdown(const std::vector<FamilyRow>& fams, const std::vector<FamilyConfigRow>& rows);
std::string families_json(const std::vector<FamilyRow>& fams, const std::vector<FamilyConfigRow>& rows);

// "exact: equals the checkpoint count", "DIFFERS from the checkpoint count N", "counted from the
// reference implementation" or "refused: ..." — the status column.
std::string family_row_status(const FamilyConfigRow& r);

}  // namespace llmcost
