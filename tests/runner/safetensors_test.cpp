// Tests of the safetensors reader/writer: round trips per dtype, sharded index, dtype
// conversions, and one-line errors for corrupt, truncated or mismatching files.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <map>

#include "llmcost/families.h"
#include "llmcost/safetensors.h"
#include "llmcost/weights.h"
#include "llmcost/value.h"

namespace llmcost {
namespace {

namespace fs = std::filesystem;

class SafetensorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() / (std::string("llmcost_st_") + info->name() + "_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string p(const std::string& name) const { return (dir_ / name).string(); }

  // A file from a raw header string and raw data bytes (for corruption tests).
  std::string raw(const std::string& name, const std::string& header, const std::string& data, int64_t len_override = -1) {
    std::string path = p(name);
    std::ofstream out(path, std::ios::binary);
    uint64_t len = len_override >= 0 ? static_cast<uint64_t>(len_override) : header.size();
    for (int i = 0; i < 8; ++i) out.put(static_cast<char>((len >> (8 * i)) & 0xff));
    out << header << data;
    return path;
  }
  fs::path dir_;
};

// Runs f, expects an llmcost::Error whose message is one line starting with `prefix` and
// containing every string of `parts`.
void expect_error(const std::function<void()>& f, const std::string& prefix, const std::vector<std::string>& parts) {
  try {
    f();
    ADD_FAILURE() << "expected an Error starting with " << prefix;
  } catch (const Error& e) {
    std::string msg = e.what();
    EXPECT_EQ(msg.rfind(prefix, 0), 0u) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    for (const auto& s : parts) EXPECT_NE(msg.find(s), std::string::npos) << "'" << s << "' not in: " << msg;
  }
}

std::vector<float> ramp(size_t n, float scale) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = scale * (static_cast<float>(i) - static_cast<float>(n) / 2.0f);
  return v;
}

TEST(Conversions, Bf16RoundsToNearestEvenAndKeepsNaN) {
  EXPECT_EQ(fp32_to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(bf16_to_fp32(0x3f80), 1.0f);
  EXPECT_EQ(fp32_to_bf16(1.0f + 1.0f / 256.0f), 0x3f80);          // tie -> even (down)
  EXPECT_EQ(fp32_to_bf16(1.0f + 3.0f / 256.0f), 0x3f82);          // tie -> even (up)
  EXPECT_EQ(fp32_to_bf16(1.0f + 1.5f / 256.0f), 0x3f81);          // above the tie
  EXPECT_EQ(fp32_to_bf16(-2.0f), 0xc000);
  EXPECT_TRUE(std::isnan(bf16_to_fp32(fp32_to_bf16(std::numeric_limits<float>::quiet_NaN()))));
  EXPECT_TRUE(std::isinf(bf16_to_fp32(fp32_to_bf16(std::numeric_limits<float>::infinity()))));
  // Every finite bf16 survives bf16 -> fp32 -> bf16.
  for (uint32_t h = 0; h < 0x10000; ++h) {
    float f = bf16_to_fp32(static_cast<uint16_t>(h));
    if (std::isnan(f)) continue;
    ASSERT_EQ(fp32_to_bf16(f), h) << h;
  }
  std::vector<float> in = {0.5f, -3.25f, 1e-3f}, back(3);
  std::vector<uint16_t> mid(3);
  fp32_to_bf16(in.data(), mid.data(), 3);
  bf16_to_fp32(mid.data(), back.data(), 3);
  EXPECT_EQ(back[0], 0.5f);
  EXPECT_EQ(back[1], -3.25f);
  EXPECT_NEAR(back[2], 1e-3f, 1e-3f / 128);
}

TEST(Conversions, Fp16EveryCodeRoundTrips) {
  EXPECT_EQ(fp16_to_fp32(0x3c00), 1.0f);
  EXPECT_EQ(fp16_to_fp32(0x7bff), 65504.0f);
  EXPECT_EQ(fp16_to_fp32(0x0001), std::ldexp(1.0f, -24));  // smallest subnormal
  EXPECT_EQ(fp32_to_fp16(65520.0f), 0x7c00);                 // rounds to inf
  EXPECT_EQ(fp32_to_fp16(std::ldexp(1.0f, -25)), 0x0000);    // tie -> even (zero)
  EXPECT_EQ(fp32_to_fp16(std::ldexp(3.0f, -25)), 0x0002);    // tie -> even
  for (uint32_t h = 0; h < 0x10000; ++h) {
    float f = fp16_to_fp32(static_cast<uint16_t>(h));
    if (std::isnan(f)) continue;
    ASSERT_EQ(fp32_to_fp16(f), h) << h;
  }
}

TEST(Conversions, Fp8E4M3AndE5M2) {
  EXPECT_EQ(fp8_e4m3_to_fp32(0x7e), 448.0f);
  EXPECT_EQ(fp8_e4m3_to_fp32(0x38), 1.0f);
  EXPECT_EQ(fp8_e4m3_to_fp32(0x08), std::ldexp(1.0f, -6));   // smallest normal
  EXPECT_EQ(fp8_e4m3_to_fp32(0x01), std::ldexp(1.0f, -9));   // smallest subnormal
  EXPECT_EQ(fp8_e4m3_to_fp32(0xb8), -1.0f);
  EXPECT_TRUE(std::isnan(fp8_e4m3_to_fp32(0x7f)));
  EXPECT_EQ(fp32_to_fp8_e4m3(1000.0f), 0x7e);                 // saturates
  EXPECT_EQ(fp32_to_fp8_e4m3(-1000.0f), 0xfe);
  for (int c = 0; c < 256; ++c) {
    float f = fp8_e4m3_to_fp32(static_cast<uint8_t>(c));
    if (std::isnan(f)) continue;
    ASSERT_EQ(fp32_to_fp8_e4m3(f), c) << c;
  }
  EXPECT_EQ(fp8_e5m2_to_fp32(0x3c), 1.0f);
  EXPECT_EQ(fp8_e5m2_to_fp32(0x7b), 57344.0f);
  EXPECT_TRUE(std::isinf(fp8_e5m2_to_fp32(0x7c)));
  EXPECT_TRUE(std::isnan(fp8_e5m2_to_fp32(0x7d)));
  EXPECT_EQ(fp8_e8m0_to_fp32(127), 1.0f);
  EXPECT_EQ(fp8_e8m0_to_fp32(130), 8.0f);
  EXPECT_EQ(fp8_e8m0_to_fp32(0), std::ldexp(1.0f, -127));
  EXPECT_TRUE(std::isnan(fp8_e8m0_to_fp32(0xff)));
}

TEST(Dtypes, NamesSizesAndFloatness) {
  for (const char* n : {"F64", "F32", "F16", "BF16", "F8_E4M3", "F8_E5M2", "F8_E8M0", "I64", "I32", "I16", "I8", "U64", "U32",
                        "U16", "U8", "BOOL"}) {
    auto d = parse_tensor_dtype(n);
    ASSERT_TRUE(d.has_value()) << n;
    EXPECT_STREQ(tensor_dtype_name(*d), n);
  }
  EXPECT_FALSE(parse_tensor_dtype("Q4").has_value());
  // Sub-byte dtypes (safetensors 0.6) are read from headers but not converted by the runner.
  EXPECT_EQ(tensor_dtype_bits(*parse_tensor_dtype("F4")), 4u);
  EXPECT_EQ(tensor_dtype_bytes(TensorDtype::F4), 0u);
  EXPECT_FALSE(is_float_dtype(TensorDtype::F4));
  EXPECT_EQ(tensor_dtype_bytes(TensorDtype::U16), 2u);
  EXPECT_EQ(tensor_dtype_bytes(TensorDtype::F8_E8M0), 1u);
  EXPECT_TRUE(is_float_dtype(TensorDtype::F8_E8M0));
  EXPECT_FALSE(is_float_dtype(TensorDtype::U32));
}

TEST_F(SafetensorsTest, RoundTripEveryFloatDtypeWithMetadata) {
  std::vector<float> w = ramp(6 * 4, 0.25f);  // exactly representable in every dtype below
  std::vector<TensorData> ts = {
      tensor_from_f32("model.layers.0.w_f32", TensorDtype::F32, {6, 4}, w),
      tensor_from_f32("model.layers.0.w_bf16", TensorDtype::BF16, {6, 4}, w),
      tensor_from_f32("model.layers.0.w_f16", TensorDtype::F16, {6, 4}, w),
      tensor_from_f32("model.layers.0.w_f8", TensorDtype::F8_E4M3, {6, 4}, w),
      tensor_from_f32("model.norm.weight", TensorDtype::F32, {3}, {1.5f, -2.0f, 0.0f}),
      tensor_from_f32("scalar", TensorDtype::F32, {}, {7.0f}),
      tensor_from_f32("empty", TensorDtype::BF16, {0, 4}, {}),
      tensor_from_f32("model.layers.0.w_f64", TensorDtype::F64, {6, 4}, w),
      TensorData{"scales", TensorDtype::F8_E8M0, {3}, {127, 128, 120}},
  };
  write_safetensors(p("model.safetensors"), ts, {{"format", "pt"}});
  SafetensorsFile f(p("model.safetensors"));
  EXPECT_EQ(f.metadata().at("format"), "pt");
  EXPECT_EQ(f.tensors().size(), ts.size());
  const TensorInfo& bf = f.at("model.layers.0.w_bf16");
  EXPECT_EQ(bf.dtype, TensorDtype::BF16);
  EXPECT_EQ(bf.shape, (std::vector<int64_t>{6, 4}));
  EXPECT_EQ(bf.size_bytes(), 48u);

  SafetensorsCheckpoint ck(p("model.safetensors"));
  EXPECT_EQ(ck.size(), ts.size());
  for (const char* n : {"model.layers.0.w_f32", "model.layers.0.w_bf16", "model.layers.0.w_f16", "model.layers.0.w_f8",
                        "model.layers.0.w_f64"}) {
    EXPECT_EQ(ck.load_f32(n, {6, 4}), w) << n;
    std::vector<uint16_t> b = ck.load_bf16(n, {6, 4});
    for (size_t i = 0; i < w.size(); ++i) ASSERT_EQ(bf16_to_fp32(b[i]), w[i]) << n << " " << i;
  }
  EXPECT_EQ(ck.load_f32("model.norm.weight", {3}), (std::vector<float>{1.5f, -2.0f, 0.0f}));
  EXPECT_EQ(ck.load_f32("scalar", {}), (std::vector<float>{7.0f}));
  EXPECT_TRUE(ck.load_bf16("empty", {0, 4}).empty());
  EXPECT_EQ(ck.load_f32("scales", {3}), (std::vector<float>{1.0f, 2.0f, 1.0f / 128.0f}));
  // Raw bytes of a BF16 tensor are the little-endian bf16 codes.
  const uint8_t* raw_bf = ck.data(ck.at("model.layers.0.w_bf16"));
  uint16_t first = static_cast<uint16_t>(raw_bf[0] | (raw_bf[1] << 8));
  EXPECT_EQ(first, fp32_to_bf16(w[0]));
  // Header length is a multiple of 8 (the writer pads), and no temp file is left.
  size_t n_files = 0;
  for (auto& e : fs::directory_iterator(dir_)) n_files += e.is_regular_file();
  EXPECT_EQ(n_files, 1u);
}

TEST_F(SafetensorsTest, LargeTensorsConvertAcrossBlockBoundaries) {
  const int64_t n = 3 * 4096 + 17;
  std::vector<float> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = static_cast<float>((i * 7919) % 2001 - 1000) / 64.0f;
  write_safetensors(p("big.safetensors"), {tensor_from_f32("w", TensorDtype::F16, {n}, v),
                                           tensor_from_f32("x", TensorDtype::F32, {n}, v)});
  SafetensorsCheckpoint ck(p("big.safetensors"));
  std::vector<uint16_t> from_f16 = ck.load_bf16("w", {n}), from_f32 = ck.load_bf16("x", {n});
  for (size_t i = 0; i < v.size(); ++i) {
    ASSERT_EQ(from_f16[i], fp32_to_bf16(v[i])) << i;  // v is exact in fp16
    ASSERT_EQ(from_f32[i], fp32_to_bf16(v[i])) << i;
  }
  EXPECT_EQ(ck.load_f32("w", {n}), v);
}

TEST_F(SafetensorsTest, ShardedIndexAndDirectoryLoading) {
  write_safetensors(p("model-00001-of-00002.safetensors"), {tensor_from_f32("a", TensorDtype::F32, {2}, {1, 2})});
  write_safetensors(p("model-00002-of-00002.safetensors"),
                    {tensor_from_f32("b", TensorDtype::BF16, {2, 2}, {1, 2, 3, 4}),
                     tensor_from_f32("c", TensorDtype::F32, {1}, {9})});
  // Without an index every file's tensors are merged.
  {
    SafetensorsCheckpoint ck(dir_.string());
    EXPECT_EQ(ck.names(), (std::vector<std::string>{"a", "b", "c"}));
    EXPECT_EQ(ck.at("c").file, p("model-00002-of-00002.safetensors"));
  }
  EXPECT_TRUE(has_safetensors(dir_.string()));
  // With an index, its weight_map decides.
  write_safetensors_index(p("model.safetensors.index.json"),
                          {{"a", "model-00001-of-00002.safetensors"}, {"b", "model-00002-of-00002.safetensors"}}, 16);
  for (const std::string& where : {dir_.string(), p("model.safetensors.index.json")}) {
    SafetensorsCheckpoint ck(where);
    EXPECT_EQ(ck.names(), (std::vector<std::string>{"a", "b"})) << where;
    EXPECT_EQ(ck.load_f32("b", {2, 2}), (std::vector<float>{1, 2, 3, 4}));
    EXPECT_EQ(ck.load_f32("a", {2}), (std::vector<float>{1, 2}));
  }
}

TEST_F(SafetensorsTest, IndexErrorsNameTheIndexAndTensor) {
  write_safetensors(p("s1.safetensors"), {tensor_from_f32("a", TensorDtype::F32, {2}, {1, 2})});
  write_safetensors_index(p("model.safetensors.index.json"), {{"a", "s1.safetensors"}, {"model.x", "s2.safetensors"}}, 8);
  expect_error([&] { SafetensorsCheckpoint ck(dir_.string()); }, p("model.safetensors.index.json") + ": /weight_map/model.x",
               {"s2.safetensors", "does not exist"});
  write_safetensors_index(p("model.safetensors.index.json"), {{"a", "s1.safetensors"}, {"model.x", "s1.safetensors"}}, 8);
  expect_error([&] { SafetensorsCheckpoint ck(dir_.string()); }, p("model.safetensors.index.json") + ": /weight_map/model.x",
               {"has no tensor 'model.x'"});
  std::ofstream(p("model.safetensors.index.json")) << "{\"weight_map\": [1]}";
  expect_error([&] { SafetensorsCheckpoint ck(dir_.string()); }, p("model.safetensors.index.json") + ": /weight_map", {"object"});
}

TEST_F(SafetensorsTest, DuplicateTensorAcrossShardsWithoutIndex) {
  write_safetensors(p("s1.safetensors"), {tensor_from_f32("a", TensorDtype::F32, {1}, {1})});
  write_safetensors(p("s2.safetensors"), {tensor_from_f32("a", TensorDtype::F32, {1}, {2})});
  expect_error([&] { SafetensorsCheckpoint ck(dir_.string()); }, dir_.string() + ": tensor 'a' appears in both", {"s1", "s2"});
}

TEST_F(SafetensorsTest, MissingTensorWrongShapeAndNonFloatDtype) {
  write_safetensors(p("m.safetensors"), {tensor_from_f32("model.embed_tokens.weight", TensorDtype::BF16, {4, 2}, ramp(8, 1)),
                                         tensor_from_f32("ids", TensorDtype::I32, {2}, {3, 4})});
  SafetensorsCheckpoint ck(p("m.safetensors"));
  expect_error([&] { ck.load_f32("model.norm.weight", {2}); }, p("m.safetensors") + ": tensor 'model.norm.weight' not found", {});
  expect_error([&] { ck.load_bf16("model.embed_tokens.weight", {2, 4}); },
               p("m.safetensors") + ": tensor 'model.embed_tokens.weight' has shape [4, 2], expected [2, 4]", {});
  expect_error([&] { ck.load_f32("ids", {2}); }, p("m.safetensors") + ": tensor 'ids' has dtype I32", {"float dtype"});
  expect_error([&] { SafetensorsCheckpoint c2(p("nope.safetensors")); }, p("nope.safetensors") + ":", {"no such"});
  expect_error([&] { SafetensorsCheckpoint c3((dir_ / "sub").string()); }, (dir_ / "sub").string(), {});
  fs::create_directories(dir_ / "empty");
  expect_error([&] { SafetensorsCheckpoint c4((dir_ / "empty").string()); }, (dir_ / "empty").string() + ": no .safetensors files", {});
}

TEST_F(SafetensorsTest, CorruptHeadersAreOneLineErrors) {
  const std::string ok_data(8, '\0');
  // File shorter than the 8-byte length prefix.
  std::ofstream(p("tiny.safetensors")) << "abc";
  expect_error([&] { SafetensorsFile f(p("tiny.safetensors")); }, p("tiny.safetensors") + ": truncated", {"8"});
  // Header length past the end of the file.
  std::string path = raw("len.safetensors", "{}", "", 1000);
  expect_error([&] { SafetensorsFile f(path); }, path + ": corrupt safetensors header", {"1000", "exceeds the file"});
  // Not JSON / not an object.
  path = raw("json.safetensors", "{\"a\": ", "");
  expect_error([&] { SafetensorsFile f(path); }, path + ": corrupt safetensors header: not valid JSON", {});
  path = raw("arr.safetensors", "[1, 2]", "");
  expect_error([&] { SafetensorsFile f(path); }, path + ": corrupt safetensors header: must be a JSON object", {});
  // Unsupported dtype names the tensor and the pointer.
  path = raw("dt.safetensors", R"({"layers.0/w": {"dtype": "Q4", "shape": [2], "data_offsets": [0, 1]}})", ok_data);
  expect_error([&] { SafetensorsFile f(path); }, path + ": header /layers.0~1w/dtype", {"\"Q4\"", "not a safetensors dtype", "'layers.0/w'"});
  // Bad shape entry.
  path = raw("sh.safetensors", R"({"w": {"dtype": "F32", "shape": [2, -1], "data_offsets": [0, 8]}})", ok_data);
  expect_error([&] { SafetensorsFile f(path); }, path + ": header /w/shape/1", {"non-negative integer", "'w'"});
  // data_offsets span does not match dtype x shape.
  path = raw("span.safetensors", R"({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 8]}})", ok_data);
  expect_error([&] { SafetensorsFile f(path); }, path + ": header /w/data_offsets spans 8 bytes, expected 16", {"'w'", "F32 [4]"});
  // Huge shape cannot overflow the check.
  path = raw("huge.safetensors",
             R"({"w": {"dtype": "F32", "shape": [4294967296, 4294967296, 4294967296], "data_offsets": [0, 8]}})", ok_data);
  expect_error([&] { SafetensorsFile f(path); }, path + ": header /w/data_offsets spans 8 bytes", {"more than the data section"});
  // Offsets malformed.
  path = raw("off.safetensors", R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [8]}})", ok_data);
  expect_error([&] { SafetensorsFile f(path); }, path + ": header /w/data_offsets must be [begin, end]", {});
  path = raw("rev.safetensors", R"({"w": {"dtype": "F32", "shape": [0], "data_offsets": [8, 0]}})", ok_data);
  expect_error([&] { SafetensorsFile f(path); }, path + ": header /w/data_offsets begin 8 > end 0", {});
  // Overlapping tensors.
  path = raw("ovl.safetensors",
             R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "b": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}})",
             ok_data);
  expect_error([&] { SafetensorsFile f(path); }, path + ": corrupt safetensors header: tensors 'a' and 'b' overlap", {});
  // Metadata must hold strings.
  path = raw("meta.safetensors", R"({"__metadata__": {"format": 1}})", "");
  expect_error([&] { SafetensorsFile f(path); }, path + ": header /__metadata__/format must be a string", {});
}

TEST_F(SafetensorsTest, TruncatedDataNamesTheTensor) {
  write_safetensors(p("t.safetensors"), {tensor_from_f32("a", TensorDtype::F32, {4}, {1, 2, 3, 4}),
                                         tensor_from_f32("model.lm_head.weight", TensorDtype::F32, {4}, {1, 2, 3, 4})});
  auto size = fs::file_size(p("t.safetensors"));
  fs::resize_file(p("t.safetensors"), size - 3);
  expect_error([&] { SafetensorsCheckpoint ck(p("t.safetensors")); }, p("t.safetensors") + ": truncated: tensor 'model.lm_head.weight'",
               {"ends at data byte 32", "has 29 bytes"});
}

const char* kTinyMixtral =
    R"({"architectures": ["MixtralForCausalLM"], "model_type": "mixtral", "hidden_size": 16, "intermediate_size": 32,
        "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 50,
        "num_local_experts": 4, "num_experts_per_tok": 2, "max_position_embeddings": 128, "rms_norm_eps": 1e-5,
        "tie_word_embeddings": false})";

TEST_F(SafetensorsTest, ExpectedTensorsUseHuggingFaceNames) {
  ModelIR ir = build_model_ir(parse_json(kTinyMixtral, "config.json"), "config.json");
  auto all = expected_checkpoint_tensors(ir);
  auto slice = expected_checkpoint_tensors(ir, {1});
  std::map<std::string, std::vector<int64_t>> by;
  for (const auto& e : slice) by[e.name] = e.shape;
  EXPECT_EQ(by.at("model.embed_tokens.weight"), (std::vector<int64_t>{50, 16}));
  EXPECT_EQ(by.at("model.layers.1.self_attn.k_proj.weight"), (std::vector<int64_t>{8, 16}));
  EXPECT_EQ(by.at("model.layers.1.block_sparse_moe.gate.weight"), (std::vector<int64_t>{4, 16}));
  EXPECT_EQ(by.at("model.layers.1.block_sparse_moe.experts.3.w2.weight"), (std::vector<int64_t>{16, 32}));
  EXPECT_EQ(by.at("lm_head.weight"), (std::vector<int64_t>{50, 16}));
  EXPECT_EQ(by.count("model.layers.0.self_attn.q_proj.weight"), 0u);
  // Per layer: 2 norms + 4 attention + router + 4 experts x 3 = 19; plus embedding, norm, head.
  EXPECT_EQ(slice.size(), 19u + 3u);
  EXPECT_EQ(all.size(), 2 * 19u + 3u);

  // A checkpoint written from the list verifies; a missing or misshapen tensor is one line.
  std::vector<TensorData> ts;
  for (const auto& e : all) {
    int64_t n = 1;
    for (int64_t d : e.shape) n *= d;
    ts.push_back(tensor_from_f32(e.name, TensorDtype::BF16, e.shape, std::vector<float>(static_cast<size_t>(n), 0.5f)));
  }
  write_safetensors(p("model.safetensors"), ts);
  verify_checkpoint(SafetensorsCheckpoint(p("model.safetensors")), all, &ir);

  auto missing = ts;
  missing.erase(missing.begin() + 5);
  write_safetensors(p("model.safetensors"), missing);
  expect_error([&] { verify_checkpoint(SafetensorsCheckpoint(p("model.safetensors")), all, &ir); },
               p("model.safetensors") + ": tensor '" + ts[5].name + "' not found", {});
  auto wrong = ts;
  wrong[2] = tensor_from_f32(ts[2].name, TensorDtype::BF16, {3}, {1, 2, 3});
  write_safetensors(p("model.safetensors"), wrong);
  expect_error([&] { verify_checkpoint(SafetensorsCheckpoint(p("model.safetensors")), all, &ir); },
               p("model.safetensors") + ": tensor '" + ts[2].name + "' has shape [3], expected " + shape_string(all[2].shape), {});
}

TEST_F(SafetensorsTest, TiedHeadIsNotExpected) {
  ModelIR ir = build_model_ir(
      parse_json(R"({"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 16, "intermediate_size": 32,
                     "num_hidden_layers": 1, "num_attention_heads": 4, "num_key_value_heads": 4, "vocab_size": 50,
                     "max_position_embeddings": 64, "rms_norm_eps": 1e-5, "tie_word_embeddings": true})",
                 "config.json"),
      "config.json");
  for (const auto& e : expected_checkpoint_tensors(ir)) EXPECT_NE(e.name, "lm_head.weight");
}

TEST_F(SafetensorsTest, WriterRefusesInconsistentInput) {
  TensorData bad{"w", TensorDtype::F32, {2, 2}, std::vector<uint8_t>(12)};
  expect_error([&] { write_safetensors(p("w.safetensors"), {bad}); }, p("w.safetensors") + ": tensor 'w' has 12 bytes, expected 16", {});
  auto t = tensor_from_f32("w", TensorDtype::F32, {1}, {1});
  expect_error([&] { write_safetensors(p("w.safetensors"), {t, t}); }, p("w.safetensors") + ": tensor name 'w'", {"twice"});
  expect_error([&] { tensor_from_f32("w", TensorDtype::F32, {3}, {1, 2}); }, "tensor 'w': 2 values for shape [3]", {});
  EXPECT_FALSE(fs::exists(p("w.safetensors")));
}

// ---------------------------------------------------------------- hostile checkpoints (issue 14)

TEST_F(SafetensorsTest, IndexShardPathsStayInsideTheCheckpoint) {
  const std::string index = p("model.safetensors.index.json");
  write_safetensors(p("s1.safetensors"), {tensor_from_f32("a", TensorDtype::F32, {2}, {1, 2})});
  for (const std::string& escape : {std::string("/etc/passwd"), std::string("../outside.safetensors"),
                                    std::string("sub/../../outside.safetensors"), std::string("")}) {
    std::ofstream(index) << R"({"weight_map": {"a": ")" << escape << R"("}})";
    // The index the user gave is named, with the pointer; no byte of the other file is read.
    expect_error([&] { SafetensorsCheckpoint ck(dir_.string()); }, index + ": /weight_map/a must name a file inside " + dir_.string(),
                 {"no absolute path or ..", "\"" + escape + "\""});
  }
  // A shard inside the directory that is not a safetensors file: its error, prefixed with the index.
  std::ofstream(p("junk.safetensors")) << "root:x:0:0:root:/root:/bin/bash\n";
  std::ofstream(index) << R"({"weight_map": {"a": "junk.safetensors"}})";
  expect_error([&] { SafetensorsCheckpoint ck(index); }, index + ": /weight_map/a names a shard that cannot be used: " + p("junk.safetensors"),
               {"corrupt safetensors header"});
  // Subdirectories inside the checkpoint stay allowed.
  fs::create_directories(dir_ / "sub");
  write_safetensors(p("sub/s2.safetensors"), {tensor_from_f32("a", TensorDtype::F32, {2}, {3, 4})});
  std::ofstream(index) << R"({"weight_map": {"a": "sub/s2.safetensors"}})";
  SafetensorsCheckpoint ck(index);
  EXPECT_EQ(ck.load_f32("a", {2}), (std::vector<float>{3, 4}));
}

TEST_F(SafetensorsTest, FifosAreRefusedWithoutBlocking) {
  ASSERT_EQ(::mkfifo(p("pipe.safetensors").c_str(), 0600), 0);
  expect_error([&] { SafetensorsFile f(p("pipe.safetensors")); }, p("pipe.safetensors") + ": cannot read file (it is a named pipe",
               {});
  expect_error([&] { SafetensorsCheckpoint ck(p("pipe.safetensors")); },
               p("pipe.safetensors") + ": cannot read checkpoint (it is a named pipe, not a regular file)", {});
  ASSERT_EQ(::mkfifo(p("model.safetensors.index.json").c_str(), 0600), 0);
  expect_error([&] { SafetensorsCheckpoint ck(p("model.safetensors.index.json")); },
               p("model.safetensors.index.json") + ": cannot read checkpoint (it is a named pipe", {});
  // An index naming a FIFO shard.
  fs::create_directories(dir_ / "ck");
  ASSERT_EQ(::mkfifo(p("ck/shard.safetensors").c_str(), 0600), 0);
  std::ofstream(p("ck/model.safetensors.index.json")) << R"({"weight_map": {"a": "shard.safetensors"}})";
  expect_error([&] { SafetensorsCheckpoint ck(p("ck")); }, p("ck/model.safetensors.index.json") + ": /weight_map/a names \"shard.safetensors\", which is a named pipe",
               {});
}

TEST_F(SafetensorsTest, DeeplyNestedHeaderIsRefusedQuickly) {
  // 90 MB of '[' once took 4.8 GB and 39 s before "not valid JSON".
  std::string header(90u << 20, '[');
  std::string path = raw("deep.safetensors", header, "");
  header.clear();
  header.shrink_to_fit();
  auto t0 = std::chrono::steady_clock::now();
  expect_error([&] { SafetensorsFile f(path); }, path + ": corrupt safetensors header: nested deeper than 8 levels", {});
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 1.0);
  // Past the format's 100 MB cap, the header length alone decides.
  path = raw("long.safetensors", "{}", std::string(16, '\0'), (100ll << 20) + 1);
  expect_error([&] { SafetensorsFile f(path); }, path + ": corrupt safetensors header", {"exceeds"});
}

}  // namespace
}  // namespace llmcost
