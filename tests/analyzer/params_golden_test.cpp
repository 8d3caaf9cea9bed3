// Golden parameter counts: every bundled model against exact reference or publisher totals.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "llmcost/analysis.h"
#include "llmcost/model_loader.h"
#include "llmcost/params.h"

namespace llmcost {
namespace {

const std::string kConfigDir = LLMCOST_CONFIG_DIR;
const std::string kModels = kConfigDir + "/models/";

struct RefRow {
  std::string file, model_id;
  int64_t total = 0, active = 0, active_compute = 0;
};

std::vector<RefRow> read_reference() {
  std::ifstream in(std::string(LLMCOST_TEST_DATA) + "/reference_params.tsv");
  EXPECT_TRUE(in) << "cannot open reference_params.tsv";
  std::vector<RefRow> rows;
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    std::vector<std::string> f;
    std::stringstream ss(line);
    std::string cell;
    while (std::getline(ss, cell, '\t')) f.push_back(cell);
    if (f.size() < 5) {
      ADD_FAILURE() << "short row in reference_params.tsv: " << line;
      continue;
    }
    rows.push_back({f[0], f[1], std::stoll(f[2]), std::stoll(f[3]), std::stoll(f[4])});
  }
  return rows;
}

ParamCounts counts_of(const std::string& spec) { return count_params(load_model(spec, kConfigDir)); }

int64_t breakdown_sum(const ParamCounts& c) {
  int64_t s = 0;
  for (int64_t v : c.breakdown) s += v;
  return s;
}

TEST(GoldenParams, AllTwelveReferenceModelsExact) {
  auto rows = read_reference();
  ASSERT_EQ(rows.size(), 12u) << "reference_params.tsv should hold the 12 reference models";
  for (const auto& r : rows) {
    SCOPED_TRACE(r.model_id);
    ParamCounts c = counts_of(kModels + r.file);
    EXPECT_EQ(c.total, r.total);
    EXPECT_EQ(c.active, r.active);
    EXPECT_EQ(c.active_compute, r.active_compute);
    EXPECT_EQ(breakdown_sum(c), c.total);
    EXPECT_LE(c.active_compute, c.active);
    EXPECT_LE(c.active, c.total);
  }
}

TEST(GoldenParams, ReferenceModelsResolveByHfId) {
  for (const auto& r : read_reference()) {
    SCOPED_TRACE(r.model_id);
    EXPECT_EQ(counts_of(r.model_id).total, r.total);
  }
}

// Totals of the bundled configs that have no reference row, as their publishers (or the
// Hugging Face safetensors metadata / GGUF general.parameter_count of the checkpoint) state
// them. "code index id N" is a hit of the public-code index used while writing this test.
struct Published {
  const char* stem;
  int64_t total;
  const char* source;
};
const Published kPublished[] = {
    {"meta-llama__Llama-3.1-70B", 70553706496,
     "HF safetensors.total quoted by many vendored tables, e.g. HF_API mock {\"safetensors\": {\"total\": 70553706496}} "
     "(code index id 56014195682) and a per-model revision table (id 71571056092)"},
    {"meta-llama__Llama-3.1-405B", 405853388800,
     "(meta-llama/Llama-3.1-405B: (405853388800, b906e4dc...)) revision table, code index id 71571056092"},
    {"meta-llama__Llama-2-13b-hf", 13015864320,
     "deepspeed 'Reconstructed Trainable fp32 state dict with 363 params 13015864320 elements' (code index id "
     "13334078062); model_size_dict Llama-2-13b-chat-hf (id 2567470270)"},
    {"meta-llama__Llama-2-70b-hf", 68976648192, "togethercomputer/llama-2-70b pcount table (code index id 4120541175)"},
    {"meta-llama__Llama-3.2-1B-Instruct", 1235814400,
     "GPTQModel test LLAMA_3_2_1B_PARAMETER_COUNT = 1235814400 (code index id 9622389305)"},
    {"Qwen__Qwen2.5-72B-Instruct", 72706203648,
     "keras-hub qwen presets qwen2.5_instruct_72b_en params=72706203648 (code index id 3421640062)"},
    {"Qwen__Qwen3-235B-A22B", 235093634560,
     "keras-hub qwen3_moe_235b_a22b_en params (code index id 1878678529); HF API safetensors.total (id 68299976510)"},
    {"mistralai__Mixtral-8x22B-v0.1", 140620634112,
     "HF safetensors total table for mistral-community/Mixtral-8x22B-v0.1 (code index id 69468411049)"},
    {"openai__gpt-oss-120b", 116829156672,
     "Ollama gpt-oss:120b general.parameter_count 116829156672 (code index ids 14829319990, 59110102544)"},
    {"deepseek-ai__DeepSeek-V2", 235741434880,
     "HF safetensors total table for deepseek-ai/DeepSeek-V2 (code index id 69468411049)"},
    {"deepseek-ai__DeepSeek-V2-Lite-Chat", 15706484224,
     "HF safetensors total for DeepSeek-V2-Lite(-Chat) (code index id 69468411049); 'DeepSeek-V2 with 15706484224 "
     "parameters' (id 41727181442)"},
    {"moonshotai__Kimi-K2-Instruct", 1026408232448,
     "K2-Instruct checkpoint header audit, logical parameters 1026408232448 (code index id 68577105039); Fireworks "
     "paramCount (id 66729435508)"},
};

TEST(GoldenParams, PublishedTotalsOfMoreModels) {
  for (const auto& p : kPublished) {
    SCOPED_TRACE(p.stem);
    ParamCounts c = counts_of(kModels + p.stem + ".json");
    EXPECT_EQ(c.total, p.total) << "source: " << p.source;
    EXPECT_EQ(breakdown_sum(c), c.total);
    EXPECT_LE(c.active_compute, c.active);
    EXPECT_LE(c.active, c.total);
  }
}

TEST(GoldenParams, EveryBundledModelBreakdownSumsToTotal) {
  auto models = list_bundled_models(kConfigDir);
  ASSERT_GE(models.size(), 27u);
  for (const auto& m : models) {
    SCOPED_TRACE(m.stem);
    ParamCounts c = counts_of(m.path);
    EXPECT_EQ(breakdown_sum(c), c.total);
    EXPECT_GT(c.total, 0);
    EXPECT_LE(c.active_compute, c.active);
    EXPECT_LE(c.active, c.total);
  }
}

// gpt-oss-120b model card: 116.83B total, 5.13B active; the card's "active" excludes the
// (untied) embedding table, i.e. it is our active_compute; ours rounds to the card's 5.13B.
TEST(GoldenParams, GptOss120bActiveComputeMatchesCard) {
  ParamCounts c = counts_of("openai/gpt-oss-120b");
  EXPECT_EQ(c.active_compute, 5132849472);
  EXPECT_EQ(std::llround(c.active_compute / 1e7), 513);  // 5.13B
  // active = active_compute + embedding table (201088 x 2880 = 579,133,440).
  EXPECT_EQ(c.active - c.active_compute, 201088LL * 2880);
}

// Llama 4: Hugging Face's safetensors total includes the vision tower and projector
// (871,932,416 parameters, the same for Scout and Maverick); we count the text model only.
// Scout HF total 108,641,793,536 (code index ids 71422969007, 71142266638); Maverick HF total
// 401,583,781,376 (ids 71136150794, 16519339830) with decoder 400,711,848,960 and vision
// 871,932,416 stated in id 71465086325.
TEST(GoldenParams, Llama4TextModelIsHfTotalMinusVision) {
  const int64_t vision = 871932416;
  EXPECT_EQ(counts_of("meta-llama/Llama-4-Scout-17B-16E-Instruct").total, 108641793536 - vision);
  EXPECT_EQ(counts_of("meta-llama/Llama-4-Maverick-17B-128E-Instruct").total, 401583781376 - vision);
  ModelIR ir = load_model("meta-llama/Llama-4-Scout-17B-16E-Instruct", kConfigDir);
  ASSERT_FALSE(ir.notes.empty());
  EXPECT_NE(ir.notes[0].find("vision"), std::string::npos);
}

// DeepSeek-R1 has DeepSeek-V3's architecture: identical counts.
TEST(GoldenParams, DeepSeekR1EqualsV3) {
  ParamCounts v3 = counts_of("deepseek-ai/DeepSeek-V3");
  ParamCounts r1 = counts_of("deepseek-ai/DeepSeek-R1");
  EXPECT_EQ(r1.total, v3.total);
  EXPECT_EQ(r1.active, v3.active);
  EXPECT_EQ(r1.mtp, v3.mtp);
}

// The DeepSeek-V3 checkpoint holds 684,531,386,000 tensor elements (its per-tensor shape
// table; see reference_params.tsv). That is total + MTP + the fp32 block scales
// ("weight_scale_inv", one per 128x128 block) of every fp8 linear weight. Embeddings,
// lm_head, norms, the router gate and the MTP eh_proj stay bf16 and have no scales.
//
// Scales per layer, ceil(out/128) * ceil(in/128):
//   attention: q_a_proj [1536,7168] 12*56=672, q_b_proj [24576,1536] 192*12=2304,
//              kv_a_proj_with_mqa [576,7168] 5*56=280, kv_b_proj [32768,512] 256*4=1024,
//              o_proj [7168,16384] 56*128=7168                          -> 11,448
//   dense MLP: gate/up [18432,7168] 144*56=8064 each, down 56*144=8064 -> 24,192
//   one expert: gate/up [2048,7168] 16*56=896 each, down 56*16=896     ->  2,688
//   MoE MLP: 256 routed + 1 shared expert = 257 * 2,688               -> 690,816
// Main model: 61*11,448 + 3*24,192 + 58*690,816 = 698,328 + 72,576 + 40,067,328 = 40,838,232
// MTP layer (MoE): 11,448 + 690,816 = 702,264
// Scales: 41,540,496. total 671,026,419,200 + mtp 13,463,426,304 + 41,540,496 = 684,531,386,000.
TEST(GoldenParams, DeepSeekV3CheckpointElementCount) {
  ModelIR ir = load_model("deepseek-ai/DeepSeek-V3", kConfigDir);
  ParamCounts c = count_params(ir);
  EXPECT_EQ(c.total, 671026419200);
  EXPECT_EQ(c.mtp, 13463426304);

  // The same scale count, walked off the IR rather than written by hand.
  auto ceil128 = [](int64_t v) { return (v + 127) / 128; };
  int64_t scales = 0;
  auto walk = [&](const std::vector<Layer>& layers) {
    for (const auto& L : layers)
      for (const auto& op : L.ops)
        for (const auto& t : op.tensors) {
          if (t.use != TensorUse::Matmul || t.tied) continue;
          if (t.group == ParamGroup::Router || t.group == ParamGroup::LmHead || t.group == ParamGroup::Embedding) continue;
          if (t.role == TensorRole::MtpProj) continue;
          scales += ceil128(t.out_features) * ceil128(t.in_features) * op.copies();
        }
  };
  walk(ir.layers);
  walk(ir.mtp_layers);
  EXPECT_EQ(scales, 41540496);
  EXPECT_EQ(c.total + c.mtp + scales, 684531386000);
  EXPECT_EQ(61 * 11448 + 3 * 24192 + 58 * 690816 + (11448 + 690816), 41540496);
}

// Mixtral 8x7B: the blog's 46.7B total and 12.9B active; Qwen3-30B-A3B's 3.3B activated.
TEST(GoldenParams, ModelCardRoundings) {
  ParamCounts mx = counts_of("mixtral-8x7b");
  EXPECT_EQ(std::llround(mx.total / 1e8), 467);
  EXPECT_EQ(std::llround(mx.active / 1e8), 129);
  // The Qwen3 card ("3.3B activated") and DeepSeek-V3 README ("37B activated") truncate.
  EXPECT_EQ(counts_of("qwen3-30b-a3b").active / 100000000, 33);  // 3,353,032,704
  EXPECT_EQ(counts_of("deepseek-v3").active / 1000000000, 37);   // 37,552,297,472
}

}  // namespace
}  // namespace llmcost
