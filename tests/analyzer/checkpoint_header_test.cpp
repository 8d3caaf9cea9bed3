// Checkpoint headers: safetensors (single, sharded with an index) and GGUF files written byte by
// byte in the test, exact totals derived by hand; hostile headers each one clear error; the
// family cross-check naming a missing and an extra tensor; the Hugging Face cache lookup.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "analyzer/checkpoint_bytes.h"
#include "llmcost/checkpoint.h"
#include "llmcost/error.h"
#include "llmcost/families.h"
#include "llmcost/gguf_header.h"
#include "llmcost/model_loader.h"
#include "llmcost/params.h"
#include "llmcost/safetensors_header.h"
#include "llmcost/value.h"

namespace llmcost {
namespace {

namespace fs = std::filesystem;
using llmcost_test::GgufBytes;
using llmcost_test::safetensors_bytes;
using llmcost_test::safetensors_raw;
using llmcost_test::StTensor;
using llmcost_test::write_file;

class CheckpointHeaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("llmcost_ckpt_" + std::to_string(::getpid()) + "_" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string p(const std::string& n) const { return (dir_ / n).string(); }

  // The error `f` throws must start with `prefix` and contain every `parts`, on one line.
  template <class F>
  void expect_error(F f, const std::string& prefix, const std::vector<std::string>& parts) {
    try {
      f();
      ADD_FAILURE() << "no error; expected " << prefix;
    } catch (const Error& e) {
      std::string m = e.what();
      EXPECT_EQ(m.rfind(prefix, 0), 0u) << m;
      EXPECT_EQ(m.find('\n'), std::string::npos) << m;
      for (const auto& s : parts) EXPECT_NE(m.find(s), std::string::npos) << "'" << s << "' not in: " << m;
    }
  }
  std::string gguf(const std::string& name, const GgufBytes& g) {
    write_file(p(name), g.b);
    return p(name);
  }

  fs::path dir_;
};

// ---------------------------------------------------------------- safetensors

// Two shards + index. Hand count:
//   shard 1: embed BF16 [16, 8] = 128 el / 256 B; q_proj F8_E4M3 [8, 8] = 64 / 64; its weight_scale_inv F32 [1, 1] = 1 / 4
//   shard 2: norm F32 [8] = 8 / 32; lm_head BF16 [16, 8] = 128 / 256; down_proj.qweight I32 [1, 8] = 8 / 32 (packed);
//            down_proj.scales F16 [1, 8] = 8 / 16; x F4 [2, 4] = 8 / 4
//   weights: 128 + 64 + 8 + 128 + 8 = 336 elements, 256 + 64 + 32 + 256 + 4 = 612 bytes
//   packed: 1 tensor, 8 elements, 32 bytes; quantization data: 2 tensors, 9 elements, 20 bytes
//   all: 8 tensors, 353 elements, 664 bytes
TEST_F(CheckpointHeaderTest, ShardedSafetensorsExactTotals) {
  write_file(p("model-00001-of-00002.safetensors"),
             safetensors_bytes({{"model.embed_tokens.weight", "BF16", {16, 8}, 256},
                                {"model.layers.0.self_attn.q_proj.weight", "F8_E4M3", {8, 8}, 64},
                                {"model.layers.0.self_attn.q_proj.weight_scale_inv", "F32", {1, 1}, 4}},
                               R"({"format":"pt"})"));
  write_file(p("model-00002-of-00002.safetensors"),
             safetensors_bytes({{"model.norm.weight", "F32", {8}, 32},
                                {"lm_head.weight", "BF16", {16, 8}, 256},
                                {"model.layers.0.mlp.down_proj.qweight", "I32", {1, 8}, 32},
                                {"model.layers.0.mlp.down_proj.scales", "F16", {1, 8}, 16},
                                {"x", "F4", {2, 4}, 4}}));
  std::string wm;
  for (const char* n : {"model.embed_tokens.weight", "model.layers.0.self_attn.q_proj.weight",
                        "model.layers.0.self_attn.q_proj.weight_scale_inv"})
    wm += std::string(wm.empty() ? "" : ",") + "\"" + n + "\":\"model-00001-of-00002.safetensors\"";
  for (const char* n : {"model.norm.weight", "lm_head.weight", "model.layers.0.mlp.down_proj.qweight",
                        "model.layers.0.mlp.down_proj.scales", "x"})
    wm += ",\"" + std::string(n) + "\":\"model-00002-of-00002.safetensors\"";
  write_file(p("model.safetensors.index.json"), "{\"metadata\":{\"total_size\":664},\"weight_map\":{" + wm + "}}");

  SafetensorsCheckpointHeaders ck = read_safetensors_checkpoint(dir_.string());
  EXPECT_EQ(ck.index_path, p("model.safetensors.index.json"));
  ASSERT_EQ(ck.files.size(), 2u);
  EXPECT_EQ(ck.files[0].metadata.at("format"), "pt");
  CheckpointSummary s = summarize_checkpoint(ck);
  EXPECT_EQ(s.all.tensors, 8);
  EXPECT_EQ(s.all.elements, 353);
  EXPECT_EQ(s.all.bytes, 664u);
  EXPECT_EQ(s.weights.tensors, 5);
  EXPECT_EQ(s.weights.elements, 336);
  EXPECT_EQ(s.weights.bytes, 612u);
  EXPECT_EQ(s.packed.tensors, 1);
  EXPECT_EQ(s.packed.elements, 8);
  EXPECT_EQ(s.packed.bytes, 32u);
  EXPECT_EQ(s.aux.tensors, 2);
  EXPECT_EQ(s.aux.elements, 9);
  EXPECT_EQ(s.aux.bytes, 20u);
  // Sum of data bytes + headers = the files' sizes.
  EXPECT_EQ(s.file_bytes, s.all.bytes + s.header_bytes);
  // By dtype, most bytes first: BF16 512, F8_E4M3 64, F32 36, I32 32, F16 16, F4 4.
  ASSERT_EQ(s.by_dtype.size(), 6u);
  EXPECT_EQ(s.by_dtype[0].dtype, "BF16");
  EXPECT_EQ(s.by_dtype[0].totals.elements, 256);
  EXPECT_EQ(s.by_dtype[2].dtype, "F32");
  EXPECT_EQ(s.by_dtype[2].totals.tensors, 2);
  EXPECT_EQ(s.by_dtype[2].totals.bytes, 36u);
  EXPECT_EQ(s.by_dtype[5].dtype, "F4");
  EXPECT_EQ(s.by_dtype[5].bits_per_element, 4.0);
  ASSERT_EQ(s.aux_groups.size(), 2u);
  EXPECT_EQ(s.aux_groups[0].suffix, "scales");            // 16 bytes
  EXPECT_EQ(s.aux_groups[1].suffix, "weight_scale_inv");  // 4 bytes
}

// One file: the same totals whether named by file or by directory.
TEST_F(CheckpointHeaderTest, SingleSafetensorsFileAndDirectory) {
  write_file(p("model.safetensors"), safetensors_bytes({{"a", "F32", {3, 5}, 60}, {"b", "BF16", {7}, 14}, {"s", "F64", {}, 8}}));
  for (const std::string& where : {p("model.safetensors"), dir_.string()}) {
    CheckpointSummary s = summarize_checkpoint(read_safetensors_checkpoint(where));
    EXPECT_EQ(s.weights.elements, 15 + 7 + 1) << where;  // a scalar is one element
    EXPECT_EQ(s.all.bytes, 82u);
    EXPECT_EQ(s.files.size(), 1u);
  }
}

TEST_F(CheckpointHeaderTest, SafetensorsHeaderIsReadWithoutTheData) {
  // A sparse 16 GiB data section: reading the header must not touch (or allocate) it.
  std::string head = safetensors_raw(R"({"w":{"dtype":"BF16","shape":[8589934592],"data_offsets":[0,17179869184]}})", 0);
  write_file(p("big.safetensors"), head);
  if (::truncate(p("big.safetensors").c_str(), static_cast<off_t>(head.size() + (16ull << 30))) != 0)
    GTEST_SKIP() << "no sparse files here";
  SafetensorsHeader h = read_safetensors_header(p("big.safetensors"));
  ASSERT_EQ(h.tensors.size(), 1u);
  EXPECT_EQ(h.tensors[0].numel(), int64_t{8589934592});
  EXPECT_EQ(h.header_bytes, head.size() - 8);
}

TEST_F(CheckpointHeaderTest, HostileSafetensorsHeadersAreOneLineErrors) {
  auto bad = [&](const std::string& name, const std::string& bytes, const std::string& what, std::vector<std::string> parts) {
    write_file(p(name), bytes);
    expect_error([&] { read_safetensors_header(p(name)); }, p(name) + ": " + what, parts);
  };
  bad("short.safetensors", "abc", "truncated safetensors file", {"3 bytes"});
  bad("huge.safetensors", safetensors_raw("{}", 0, int64_t{1} << 62), "corrupt safetensors header", {"exceeds the file"});
  bad("dup.safetensors",
      safetensors_raw(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 8),
      "header /w is given twice", {"'w'"});
  bad("dtype.safetensors", safetensors_raw(R"({"w":{"dtype":"Q4_K","shape":[1],"data_offsets":[0,1]}})", 1),
      "header /w/dtype", {"\"Q4_K\"", "not a safetensors dtype", "F8_E4M3"});
  bad("span.safetensors", safetensors_raw(R"({"w":{"dtype":"BF16","shape":[4],"data_offsets":[0,4]}})", 8),
      "header /w/data_offsets spans 4 bytes, expected 8", {"BF16 [4]"});
  bad("f4odd.safetensors", safetensors_raw(R"({"w":{"dtype":"F4","shape":[3],"data_offsets":[0,2]}})", 2),
      "header /w/shape", {"do not fill whole bytes"});
  bad("outside.safetensors", safetensors_raw(R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", 8),
      "truncated: tensor 'w' ends at data byte 16", {"8 bytes"});
  bad("overlap.safetensors",
      safetensors_raw(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 12),
      "corrupt safetensors header: tensors 'a' and 'b' overlap", {});
  bad("deep.safetensors", safetensors_raw(std::string(100, '[') + std::string(100, ']'), 0), "corrupt safetensors header",
      {"nested deeper"});
  bad("overflow.safetensors",
      safetensors_raw(R"({"w":{"dtype":"F64","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,8]}})", 8),
      "header /w/data_offsets spans 8 bytes", {"more than the data section"});
  // Over the format's 100 MB limit (a sparse file, so nothing is written).
  write_file(p("limit.safetensors"), safetensors_raw("{}", 0, int64_t{150} << 20));
  if (::truncate(p("limit.safetensors").c_str(), static_cast<off_t>(200) << 20) == 0)
    expect_error([&] { read_safetensors_header(p("limit.safetensors")); }, p("limit.safetensors") + ": corrupt safetensors header",
                 {"100 MB limit"});
}

TEST_F(CheckpointHeaderTest, IndexNamingAShardOutsideItsDirectoryIsRefused) {
  write_file(p("a.safetensors"), safetensors_bytes({{"w", "F32", {1}, 4}}));
  write_file(p("model.safetensors.index.json"), R"({"weight_map":{"w":"../a.safetensors"}})");
  expect_error([&] { read_safetensors_checkpoint(dir_.string()); }, p("model.safetensors.index.json") + ": /weight_map/w",
               {"no absolute path or .."});
}

// ---------------------------------------------------------------- GGUF

// Hand count (ggml dims are [row, rows]):
//   token_embd   Q4_K [256, 4]   = 1,024 weights, 4 blocks x 144 = 576 bytes, offset 0
//   attn_q       Q6_K [256, 256] = 65,536, 256 blocks x 210 = 53,760 bytes, offset 576
//   output_norm  F32  [256]      = 256, 1,024 bytes, offset 54,336
//   ffn_down     Q8_0 [64, 8]    = 512, 16 blocks x 34 = 544 bytes, offset 55,360
//   total 67,328 parameters, 55,904 bytes
GgufBytes tiny_gguf() {
  GgufBytes g;
  g.header(3, 4, 5)
      .kv_str("general.architecture", "llama")
      .kv_str("general.name", "tiny")
      .kv_u32("general.alignment", 32)
      .kv_str_array("tokenizer.ggml.tokens", {"a", "bb", "ccc"})
      .kv_i32_array("tokenizer.ggml.token_type", {1, 1, 3});
  g.tensor("token_embd.weight", {256, 4}, 12, 0)
      .tensor("blk.0.attn_q.weight", {256, 256}, 14, 576)
      .tensor("output_norm.weight", {256}, 0, 54336)
      .tensor("blk.0.ffn_down.weight", {64, 8}, 8, 55360)
      .data(55904);
  return g;
}

TEST_F(CheckpointHeaderTest, GgufExactTotals) {
  GgufHeader h = read_gguf_header(gguf("tiny.gguf", tiny_gguf()));
  EXPECT_EQ(h.version, 3u);
  EXPECT_EQ(h.architecture, "llama");
  EXPECT_EQ(h.model_name, "tiny");
  ASSERT_EQ(h.tensors.size(), 4u);
  EXPECT_EQ(h.data_offset % 32, 0u);
  EXPECT_EQ(h.data_offset + 55904, h.file_bytes);
  CheckpointSummary s = summarize_checkpoint(h);
  EXPECT_EQ(s.format, "gguf");
  EXPECT_EQ(s.weights.elements, 67328);
  EXPECT_EQ(s.all.bytes, 55904u);
  EXPECT_EQ(s.packed.tensors, 0);
  ASSERT_EQ(s.by_dtype.size(), 4u);
  EXPECT_EQ(s.by_dtype[0].dtype, "Q6_K");
  EXPECT_EQ(s.by_dtype[0].totals.bytes, 53760u);
  EXPECT_DOUBLE_EQ(s.by_dtype[0].bits_per_element, 6.5625);
  EXPECT_EQ(s.by_dtype[2].dtype, "Q4_K");  // Q6_K 53,760, F32 1,024, Q4_K 576, Q8_0 544 bytes
  EXPECT_DOUBLE_EQ(s.by_dtype[2].bits_per_element, 4.5);
  EXPECT_EQ(s.by_dtype[3].dtype, "Q8_0");
  EXPECT_DOUBLE_EQ(s.by_dtype[3].bits_per_element, 8.5);
  // The array values are skipped and shown by length.
  bool tokens = false;
  for (const auto& [k, v] : h.metadata) tokens = tokens || (k == "tokenizer.ggml.tokens" && v == "[3 x string]");
  EXPECT_TRUE(tokens);
}

TEST_F(CheckpointHeaderTest, GgmlTypeTableMatchesTheBlockStructs) {
  // Bits per weight of the K-quants as ggml-common.h states them in its comments.
  auto bpw = [](uint32_t id) { return 8.0 * ggml_type(id)->block_bytes / ggml_type(id)->block; };
  EXPECT_DOUBLE_EQ(bpw(10), 2.625);   // Q2_K
  EXPECT_DOUBLE_EQ(bpw(11), 3.4375);  // Q3_K
  EXPECT_DOUBLE_EQ(bpw(13), 5.5);     // Q5_K
  EXPECT_DOUBLE_EQ(bpw(16), 2.0625);  // IQ2_XXS
  EXPECT_DOUBLE_EQ(bpw(17), 2.3125);  // IQ2_XS
  EXPECT_DOUBLE_EQ(bpw(22), 2.5625);  // IQ2_S
  EXPECT_DOUBLE_EQ(bpw(18), 3.0625);  // IQ3_XXS
  EXPECT_DOUBLE_EQ(bpw(21), 3.4375);  // IQ3_S
  EXPECT_DOUBLE_EQ(bpw(19), 1.5625);  // IQ1_S
  EXPECT_DOUBLE_EQ(bpw(29), 1.75);    // IQ1_M
  EXPECT_DOUBLE_EQ(bpw(34), 1.6875);  // TQ1_0
  EXPECT_DOUBLE_EQ(bpw(35), 2.0625);  // TQ2_0
  EXPECT_DOUBLE_EQ(bpw(39), 4.25);    // MXFP4
  EXPECT_DOUBLE_EQ(bpw(40), 4.5);     // NVFP4
  for (uint32_t removed : {4u, 5u, 31u, 32u, 33u, 36u, 37u, 38u, 43u}) EXPECT_EQ(ggml_type(removed), nullptr) << removed;
}

TEST_F(CheckpointHeaderTest, HostileGgufHeadersAreOneLineErrors) {
  auto bad = [&](const std::string& name, const GgufBytes& g, const std::string& what, std::vector<std::string> parts) {
    std::string path = gguf(name, g);
    expect_error([&] { read_gguf_header(path); }, path + ": GGUF header: " + what, parts);
  };
  GgufBytes magic;
  magic.b = "GGML";
  magic.u32(3).u64(0).u64(0);
  bad("magic.gguf", magic, "the file does not start with the magic", {});
  bad("v1.gguf", GgufBytes().header(1, 0, 0), "version 1", {"not supported"});
  bad("be.gguf", GgufBytes().header(0x03000000u, 0, 0), "version 3 in big-endian", {});
  bad("v9.gguf", GgufBytes().header(9, 0, 0), "version 9 is not supported", {});
  bad("short.gguf", [] { GgufBytes g; g.b = "GGUF"; g.u32(3); return g; }(), "truncated at byte 8 reading the tensor count", {});
  bad("ntensors.gguf", GgufBytes().header(3, uint64_t{1} << 40, 0), "tensor count 1099511627776 is more than the file can hold", {});
  bad("nkv.gguf", GgufBytes().header(3, 0, ~uint64_t{0}), "metadata count", {"more than the file can hold"});
  bad("keylen.gguf", GgufBytes().header(3, 0, 1).u64(uint64_t{1} << 60).u32(0).data(64), "metadata key 0 is 1152921504606846976 bytes long",
      {"65535-byte limit"});
  bad("strlen.gguf", GgufBytes().header(3, 0, 1).str("k").u32(8).u64(uint64_t{1} << 60), "truncated", {"metadata 'k'"});
  bad("arrlen.gguf", GgufBytes().header(3, 0, 1).str("k").u32(9).u32(10).u64(uint64_t{1} << 61),
      "metadata 'k' is an array of 2305843009213693952 u64 values", {"bytes left"});
  {
    GgufBytes g;
    g.header(3, 0, 1).str("k").u32(9);                   // an array value
    for (int i = 0; i < 6; ++i) g.u32(9).u64(1);         // of one array, of one array, ... 6 deep
    g.data(64);
    bad("nested.gguf", g, "metadata 'k'", {"nests arrays deeper than 4"});
  }
  bad("vtype.gguf", GgufBytes().header(3, 0, 1).str("k").u32(13).u64(0), "metadata 'k' has value type 13", {});
  bad("dupkey.gguf", GgufBytes().header(3, 0, 2).kv_u32("k", 1).kv_u32("k", 2), "metadata 'k' is given twice", {});
  bad("align.gguf", GgufBytes().header(3, 0, 1).kv_u32("general.alignment", 24), "metadata 'general.alignment' is 24",
      {"power of two"});
  bad("ndims.gguf", GgufBytes().header(3, 1, 0).tensor("t", {1, 1, 1, 1, 1}, 0, 0).data(4), "tensor 0 't' has 5 dimensions",
      {"at most 4"});
  bad("type.gguf", GgufBytes().header(3, 1, 0).tensor("t", {4}, 99, 0).data(16), "tensor 0 't' has ggml type 99", {});
  bad("removed.gguf", GgufBytes().header(3, 1, 0).tensor("t", {32}, 4, 0).data(32), "tensor 0 't' has ggml type 4", {"removed"});
  bad("block.gguf", GgufBytes().header(3, 1, 0).tensor("t", {100}, 12, 0).data(144), "tensor 0 't' has rows of 100 elements",
      {"Q4_K", "256"});
  bad("dims.gguf", GgufBytes().header(3, 1, 0).tensor("t", {uint64_t{1} << 40, uint64_t{1} << 40}, 0, 0).data(4),
      "tensor 0 't' has more than 2^62 elements", {});
  bad("misaligned.gguf", GgufBytes().header(3, 1, 0).tensor("t", {4}, 0, 8).data(64), "tensor 't' has offset 8",
      {"alignment 32"});
  bad("outside.gguf", GgufBytes().header(3, 1, 0).tensor("t", {64}, 0, 0).data(128), "truncated: tensor 't' spans data bytes 0 to 256",
      {"128 bytes"});
  bad("overlap.gguf", GgufBytes().header(3, 2, 0).tensor("a", {16}, 0, 0).tensor("b", {16}, 0, 32).data(128),
      "tensors 'a' and 'b' overlap", {});
  bad("dupname.gguf", GgufBytes().header(3, 2, 0).tensor("a", {8}, 0, 0).tensor("a", {8}, 0, 32).data(64),
      "tensor 'a' is given twice", {});
  bad("namelen.gguf", GgufBytes().header(3, 1, 0).u64(5000).data(64), "tensor 0 name is 5000 bytes long", {"1023-byte limit"});
  // Truncated in the middle of the tensor infos.
  GgufBytes cut = tiny_gguf();
  cut.b.resize(cut.b.size() - 55904 - 40);
  bad("cut.gguf", cut, "truncated at byte", {});
}

TEST_F(CheckpointHeaderTest, GgufZeroTensorsIsValid) {
  GgufHeader h = read_gguf_header(gguf("empty.gguf", GgufBytes().header(2, 0, 1).kv_str("general.architecture", "x")));
  EXPECT_EQ(h.version, 2u);
  EXPECT_TRUE(h.tensors.empty());
  EXPECT_EQ(summarize_checkpoint(h).weights.elements, 0);
}

// ---------------------------------------------------------------- cross-check

// Tiny llama, untied: d 8, 2 heads of 4, 1 KV head, d_ff 16, vocab 32, 1 layer.
//   embed 32*8 = 256, q 8*8 = 64, k 4*8 = 32, v 32, o 64, gate 16*8 = 128, up 128, down 128,
//   two layer norms 8 + 8, final norm 8, lm_head 256 -> 12 tensors, 1,112 elements
const char* kTinyLlama = R"({"model_type": "llama", "hidden_size": 8, "num_attention_heads": 2,
  "num_key_value_heads": 1, "intermediate_size": 16, "vocab_size": 32, "num_hidden_layers": 1,
  "tie_word_embeddings": false})";

TEST_F(CheckpointHeaderTest, CrossCheckNamesTheMissingAndTheExtraTensor) {
  ModelIR ir = build_model_ir(parse_json(kTinyLlama, "config.json"), "config.json");
  std::vector<StTensor> ts;
  int64_t elements = 0;
  for (const auto& t : ir_checkpoint_tensors(ir)) {
    int64_t n = 1;
    for (int64_t d : t.shape) n *= d;
    elements += n;
    if (t.name == "model.layers.0.mlp.up_proj.weight") continue;  // left out: must be reported missing
    if (t.name == "model.layers.0.self_attn.k_proj.weight") {     // stored with the wrong shape
      ts.push_back({t.name, "BF16", {8, 8}, 128});
      continue;
    }
    ts.push_back({t.name, "BF16", t.shape, static_cast<uint64_t>(2 * n)});
  }
  EXPECT_EQ(elements, 1112);
  ts.push_back({"model.layers.0.self_attn.rotary_emb.inv_freq", "F32", {2}, 8});       // extra
  ts.push_back({"model.layers.0.self_attn.q_proj.weight_scale", "F32", {1}, 4});       // quantization data
  write_file(p("model.safetensors"), safetensors_bytes(ts));
  CheckpointCrossCheck c = cross_check_checkpoint(ir, read_safetensors_checkpoint(p("model.safetensors")));
  EXPECT_EQ(c.model_type, "llama");
  EXPECT_EQ(c.expected_tensors, 12);
  EXPECT_EQ(c.expected_elements, 1112);
  EXPECT_EQ(c.expected_elements, count_params(ir).total);
  EXPECT_EQ(c.matched, 10);
  EXPECT_EQ(c.matched_elements, 1112 - 128 - 32);
  ASSERT_EQ(c.missing.size(), 1u);
  EXPECT_EQ(c.missing[0].name, "model.layers.0.mlp.up_proj.weight");
  EXPECT_EQ(c.missing[0].expected_shape, (std::vector<int64_t>{16, 8}));
  ASSERT_EQ(c.shape_mismatch.size(), 1u);
  EXPECT_EQ(c.shape_mismatch[0].name, "model.layers.0.self_attn.k_proj.weight");
  EXPECT_EQ(c.shape_mismatch[0].stored_shape, (std::vector<int64_t>{8, 8}));
  ASSERT_EQ(c.extra.size(), 1u);
  EXPECT_EQ(c.extra[0].stored_name, "model.layers.0.self_attn.rotary_emb.inv_freq");
  ASSERT_EQ(c.aux.size(), 1u);
  EXPECT_EQ(c.aux[0].suffix, "weight_scale");
  EXPECT_FALSE(c.exact());
}

TEST_F(CheckpointHeaderTest, CrossCheckExplainsPackedInt4Weights) {
  ModelIR ir = build_model_ir(parse_json(kTinyLlama, "config.json"), "config.json");
  std::vector<StTensor> ts;
  for (const auto& t : ir_checkpoint_tensors(ir)) {
    int64_t n = 1;
    for (int64_t d : t.shape) n *= d;
    if (t.name == "model.layers.0.mlp.down_proj.weight") {
      // GPTQ: qweight I32 [in / 8, out] = [2, 8] holds 16 x 8 = 128 int4 weights (16 x 32 bits / 128 = 4 bits each).
      ts.push_back({"model.layers.0.mlp.down_proj.qweight", "I32", {2, 8}, 64});
      ts.push_back({"model.layers.0.mlp.down_proj.scales", "F16", {1, 8}, 16});
      ts.push_back({"model.layers.0.mlp.down_proj.qzeros", "I32", {1, 1}, 4});
      continue;
    }
    if (t.name == "model.layers.0.mlp.up_proj.weight") {  // bitsandbytes-style U8 [n / 2, 1] under the same name
      ts.push_back({t.name, "U8", {64, 1}, 64});
      continue;
    }
    ts.push_back({t.name, "BF16", t.shape, static_cast<uint64_t>(2 * n)});
  }
  write_file(p("model.safetensors"), safetensors_bytes(ts));
  SafetensorsCheckpointHeaders ck = read_safetensors_checkpoint(p("model.safetensors"));
  CheckpointCrossCheck c = cross_check_checkpoint(ir, ck);
  EXPECT_TRUE(c.exact());
  ASSERT_EQ(c.packed.size(), 2u);
  EXPECT_EQ(c.packed_elements, 256);
  for (const auto& e : c.packed) EXPECT_EQ(e.bits_per_weight, 4) << e.name;
  EXPECT_EQ(c.matched, 10);
  ASSERT_EQ(c.aux.size(), 2u);  // .scales and .qzeros, not "extra"
  // The summary counts the packed tensors as storage, the qzeros (I32) as quantization data.
  CheckpointSummary s = summarize_checkpoint(ck);
  EXPECT_EQ(s.packed.tensors, 2);
  EXPECT_EQ(s.packed.elements, 16 + 64);
  EXPECT_EQ(s.aux.tensors, 2);
  EXPECT_EQ(s.weights.elements + c.packed_elements, 1112);
}

// gpt-oss as shipped: stacked experts in MXFP4, "<proj>_blocks" U8 [E, rows, in / 32, 16] and
// "<proj>_scales" U8 [E, rows, in / 32] in place of the bf16 "<proj>". Tiny config of
// families_test.cpp (hand count there: 203,984 parameters); per layer:
//   gate_up_proj [4, 64, 64] = 16,384 weights <- blocks [4, 64, 2, 16] = 8,192 bytes = 4 bits each
//   down_proj    [4, 32, 64] =  8,192 weights <- blocks [4, 64, 1, 16] = 4,096 bytes = 4 bits each
TEST_F(CheckpointHeaderTest, CrossCheckExplainsGptOssMxfp4Experts) {
  ModelIR ir = build_model_ir(parse_json(R"({"model_type": "gpt_oss", "hidden_size": 64, "num_attention_heads": 4,
    "num_key_value_heads": 2, "head_dim": 16, "intermediate_size": 32, "num_local_experts": 4,
    "experts_per_token": 2, "num_hidden_layers": 2, "vocab_size": 1000, "sliding_window": 128,
    "layer_types": ["sliding_attention", "full_attention"]})", "config.json"), "config.json");
  std::vector<StTensor> ts;
  for (const auto& t : ir_checkpoint_tensors(ir)) {
    int64_t n = 1;
    for (int64_t d : t.shape) n *= d;
    const bool gate_up = t.name.size() > 12 && t.name.compare(t.name.size() - 12, 12, "gate_up_proj") == 0;
    const bool down = t.name.size() > 9 && t.name.compare(t.name.size() - 9, 9, "down_proj") == 0 &&
                      t.name.find("experts") != std::string::npos;
    if (gate_up || down) {
      const int64_t rows = 64, groups = gate_up ? 2 : 1;  // rows: 2 x 32 (gate_up) or d = 64 (down); groups: in / 32
      ts.push_back({t.name + "_blocks", "U8", {4, rows, groups, 16}, static_cast<uint64_t>(4 * rows * groups * 16)});
      ts.push_back({t.name + "_scales", "U8", {4, rows, groups}, static_cast<uint64_t>(4 * rows * groups)});
      continue;
    }
    ts.push_back({t.name, "BF16", t.shape, static_cast<uint64_t>(2 * n)});
  }
  write_file(p("model.safetensors"), safetensors_bytes(ts));
  SafetensorsCheckpointHeaders ck = read_safetensors_checkpoint(p("model.safetensors"));
  CheckpointCrossCheck c = cross_check_checkpoint(ir, ck);
  EXPECT_TRUE(c.exact());
  ASSERT_EQ(c.packed.size(), 4u);  // 2 layers x (gate_up, down)
  EXPECT_EQ(c.packed_elements, 2 * (16384 + 8192));
  ASSERT_EQ(c.aux.size(), 1u);
  EXPECT_EQ(c.aux[0].suffix, "*_scales");
  EXPECT_EQ(c.aux[0].totals.tensors, 4);
  CheckpointSummary s = summarize_checkpoint(ck);
  EXPECT_EQ(s.weights.elements + c.packed_elements, 203984);
  EXPECT_EQ(c.expected_elements, 203984);
}

// ---------------------------------------------------------------- Hugging Face cache

TEST_F(CheckpointHeaderTest, HuggingFaceCacheSnapshotFromRefsMain) {
  const fs::path repo = dir_ / "hub" / "models--Org--Tiny-Model";
  fs::create_directories(repo / "snapshots" / "abc123");
  fs::create_directories(repo / "snapshots" / "old456");
  fs::create_directories(repo / "refs");
  write_file((repo / "refs" / "main").string(), "abc123\n");
  write_file((repo / "snapshots" / "abc123" / "config.json").string(), kTinyLlama);
  write_file((repo / "snapshots" / "abc123" / "model.safetensors").string(), safetensors_bytes({{"w", "F32", {2}, 8}}));
  const char* old = std::getenv("HF_HUB_CACHE");
  std::string saved = old ? old : "";
  ::setenv("HF_HUB_CACHE", (dir_ / "hub").c_str(), 1);
  EXPECT_EQ(hf_cache_dir(), (dir_ / "hub").string());
  EXPECT_EQ(hf_cache_snapshot("Org/Tiny-Model"), (repo / "snapshots" / "abc123").string());
  EXPECT_EQ(hf_cache_snapshot("Org/Other"), std::nullopt);
  EXPECT_EQ(hf_cache_snapshot("../Tiny-Model"), std::nullopt);  // not a hub id: never a path
  EXPECT_EQ(resolve_model_path("Org/Tiny-Model", LLMCOST_CONFIG_DIR), (repo / "snapshots" / "abc123" / "config.json").string());
  auto loc = find_checkpoint("Org/Tiny-Model");
  ASSERT_TRUE(loc.has_value());
  EXPECT_EQ(loc->format, CheckpointFormat::Safetensors);
  EXPECT_EQ(loc->hf_snapshot, (repo / "snapshots" / "abc123").string());
  EXPECT_EQ(loc->config_path, (repo / "snapshots" / "abc123" / "config.json").string());
  // A bundled alias still resolves (no cache entry for it).
  EXPECT_NE(resolve_model_path("mixtral-8x7b", LLMCOST_CONFIG_DIR).find("Mixtral"), std::string::npos);
  // refs/main that is not a plain revision is refused, never followed.
  write_file((repo / "refs" / "main").string(), "../../../etc\n");
  expect_error([&] { hf_cache_snapshot("Org/Tiny-Model"); }, (repo / "refs" / "main").string() + ": must hold a revision", {});
  // No refs/main and two snapshots: ambiguous.
  fs::remove(repo / "refs" / "main");
  expect_error([&] { hf_cache_snapshot("Org/Tiny-Model"); }, (repo / "snapshots").string() + ": holds 2 snapshots", {});
  fs::remove_all(repo / "snapshots" / "old456");
  EXPECT_EQ(hf_cache_snapshot("Org/Tiny-Model"), (repo / "snapshots" / "abc123").string());
  if (old) ::setenv("HF_HUB_CACHE", saved.c_str(), 1);
  else ::unsetenv("HF_HUB_CACHE");
}

TEST_F(CheckpointHeaderTest, HuggingFaceCacheFromHfHome) {
  const char* names[] = {"HF_HUB_CACHE", "HF_HOME"};
  std::string saved[2];
  bool had[2];
  for (int i = 0; i < 2; ++i) {
    const char* v = std::getenv(names[i]);
    had[i] = v != nullptr;
    saved[i] = v ? v : "";
  }
  ::unsetenv("HF_HUB_CACHE");
  ::setenv("HF_HOME", (dir_ / "hfhome").c_str(), 1);
  EXPECT_EQ(hf_cache_dir(), (dir_ / "hfhome" / "hub").string());
  for (int i = 0; i < 2; ++i) {
    if (had[i]) ::setenv(names[i], saved[i].c_str(), 1);
    else ::unsetenv(names[i]);
  }
}

}  // namespace
}  // namespace llmcost
