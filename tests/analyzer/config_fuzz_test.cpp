// Random-mutation fuzz test of the config loader: mutated bundled configs (tree and byte
// level) must either load or throw llmcost::Error - never another exception, crash or hang.
// Bounded by LLMCOST_FUZZ_SECONDS (default 10); iteration i uses seed LLMCOST_FUZZ_SEED + i.
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <iterator>
#include <cstdlib>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "llmcost/analysis.h"
#include "llmcost/families.h"
#include "llmcost/model_loader.h"
#include "llmcost/params.h"
#include "llmcost/value.h"

namespace llmcost {
namespace {

const std::string kConfigDir = LLMCOST_CONFIG_DIR;

double env_double(const char* name, double def) {
  const char* v = std::getenv(name);
  if (!v || !*v) return def;
  char* end = nullptr;
  double d = std::strtod(v, &end);
  return end && *end == '\0' ? d : def;
}

struct Corpus {
  std::vector<std::string> names, texts;
  std::vector<Value> trees;
  std::vector<std::string> keys;  // every key seen in any bundled config, plus options we read
};

void collect_keys(const Value& v, std::set<std::string>& out) {
  if (v.is_object())
    for (const auto& kv : v.members()) {
      out.insert(kv.first);
      collect_keys(kv.second, out);
    }
  else if (v.is_array())
    for (const auto& x : v.items()) collect_keys(x, out);
}

const Corpus& corpus() {
  static const Corpus c = [] {
    Corpus c;
    std::set<std::string> keys = {"head_dim", "q_lora_rank", "attention_bias", "mlp_bias", "qkv_bias",
                                  "tie_word_embeddings", "first_k_dense_replace", "moe_layer_freq",
                                  "decoder_sparse_step", "mlp_only_layers", "interleave_moe_layer_step",
                                  "moe_layers", "shared_expert_intermediate_size", "n_shared_experts",
                                  "topk_method", "num_nextn_predict_layers", "layer_types", "rope_parameters",
                                  "dtype", "text_config", "architectures", "model_type", "sliding_window",
                                  "use_sliding_window", "max_window_layers", "lm_head_bias", "no_rope_layers",
                                  "num_experts", "num_local_experts", "n_routed_experts", "n_group", "topk_group",
                                  "sliding_window_pattern", "intermediate_size_mlp", "n_inner", "n_positions"};
    for (const auto& m : list_bundled_models(kConfigDir)) {
      c.names.push_back(m.stem);
      c.texts.push_back(read_text_file(m.path));
      c.trees.push_back(parse_json(c.texts.back(), m.path));
      collect_keys(c.trees.back(), keys);
    }
    c.keys.assign(keys.begin(), keys.end());
    return c;
  }();
  return c;
}

class Mutator {
 public:
  explicit Mutator(uint64_t seed) : rng_(seed) {}

  size_t pick(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }
  bool coin(int one_in) { return pick(one_in) == 0; }

  Value random_scalar() {
    static const int64_t kInts[] = {0, 1, -1, 2, 3, 7, 8, 64, 128, 4096, 100000, 100001, 1 << 20, (1 << 20) + 1,
                                    int64_t(1) << 31, int64_t(1) << 32, (int64_t(1) << 32) + 1, int64_t(1) << 40,
                                    INT64_MAX, INT64_MIN, -4096};
    static const double kFloats[] = {0.5, -0.0, 1e300, -1e300, 4096.0, 1e-9, 3.0e15, 9.5e15, 1.5};
    static const char* kStrings[] = {"", "llama", "deepseek_v3", "qwen3_moe", "gpt_oss", "llama4_text", "gemma3",
                                     "sliding_attention", "full_attention", "chunked_attention", "noaux_tc", "greedy",
                                     "sigmoid", "softmax", "silu", "gelu", "x\ny", "\xff\xfe", "DeepseekV3ForCausalLM"};
    switch (pick(5)) {
      case 0: return Value::null();
      case 1: return Value::boolean(coin(2));
      case 2: return Value::integer(kInts[pick(std::size(kInts))]);
      case 3: return Value::number(kFloats[pick(std::size(kFloats))]);
      default: return Value::string(kStrings[pick(std::size(kStrings))]);
    }
  }

  Value random_value(int depth = 0) {
    if (depth > 3 || !coin(4)) return random_scalar();
    Value v = coin(2) ? Value::array() : Value::object();
    size_t n = pick(5);
    for (size_t i = 0; i < n; ++i) {
      if (v.is_array())
        v.push(coin(2) ? random_scalar() : random_value(depth + 1));
      else
        v.set(random_key(), random_value(depth + 1));
    }
    return v;
  }

  std::string random_key() { return corpus().keys[pick(corpus().keys.size())]; }

  // One structural mutation somewhere in the object tree.
  void mutate_tree(Value& root) {
    Value* target = &root;
    // Descend into a nested object now and then (text_config, rope_parameters, ...).
    for (int d = 0; d < 2 && coin(3); ++d) {
      std::vector<std::string> objs;
      for (const auto& kv : target->members())
        if (kv.second.is_object()) objs.push_back(kv.first);
      if (objs.empty()) break;
      target = const_cast<Value*>(target->find(objs[pick(objs.size())]));
    }
    if (!target->is_object()) return;
    const auto& members = target->members();
    switch (pick(7)) {
      case 0: {  // delete a key
        if (members.empty()) return;
        std::string k = members[pick(members.size())].first;
        Value out = Value::object();
        for (const auto& kv : members)
          if (kv.first != k) out.set(kv.first, kv.second);
        *target = std::move(out);
        return;
      }
      case 1:  // replace an existing key's value with a scalar of any type
        if (members.empty()) return;
        target->set(members[pick(members.size())].first, random_scalar());
        return;
      case 2:  // set a known key to anything
        target->set(random_key(), random_value());
        return;
      case 3: {  // scale an integer: huge, negative, zero, off by one
        if (members.empty()) return;
        const auto& kv = members[pick(members.size())];
        if (!kv.second.is_int()) return;
        // Unsigned arithmetic wraps instead of overflowing (the values may be INT64_MAX).
        const uint64_t x = static_cast<uint64_t>(kv.second.as_int());
        const int64_t choices[] = {0, static_cast<int64_t>(0 - x), static_cast<int64_t>(x + 1),
                                   static_cast<int64_t>(x - 1), static_cast<int64_t>(x * 2),
                                   static_cast<int64_t>(x * 1000), kv.second.as_int() / 3};
        target->set(kv.first, Value::integer(choices[pick(std::size(choices))]));
        return;
      }
      case 4: {  // flip a type: number <-> string, scalar -> array
        if (members.empty()) return;
        const auto& kv = members[pick(members.size())];
        Value arr = Value::array();
        arr.push(kv.second);
        Value flipped = kv.second.is_int() ? Value::string(std::to_string(kv.second.as_int())) : arr;
        target->set(kv.first, flipped);
        return;
      }
      case 5: {  // deep nesting under a key
        Value v = random_scalar();
        int depth = static_cast<int>(pick(80));
        for (int i = 0; i < depth; ++i) {
          Value a = Value::array();
          a.push(std::move(v));
          v = std::move(a);
        }
        target->set(random_key(), std::move(v));
        return;
      }
      default: {  // resize a list (layer_types, mlp_only_layers, ...)
        if (members.empty()) return;
        const auto& kv = members[pick(members.size())];
        if (!kv.second.is_array()) return;
        Value a = Value::array();
        size_t n = kv.second.items().size();
        size_t m = coin(2) ? n / 2 : n + 1 + pick(3);
        for (size_t i = 0; i < m; ++i)
          a.push(i < n && !coin(8) ? kv.second.items()[i] : random_scalar());
        target->set(kv.first, std::move(a));
        return;
      }
    }
  }

  // One byte-level mutation of a document's text.
  void mutate_text(std::string& s) {
    if (s.empty()) {
      s = "{";
      return;
    }
    switch (pick(6)) {
      case 0: s.resize(pick(s.size())); return;                                // truncate
      case 1: s[pick(s.size())] = static_cast<char>(pick(256)); return;          // replace a byte
      case 2: s.erase(pick(s.size()), 1 + pick(16)); return;                     // delete a run
      case 3: s.insert(pick(s.size()), std::string(1 + pick(200), "[{\"'-:,"[pick(7)])); return;  // nesting / junk
      case 4: {                                                                   // duplicate a slice
        size_t a = pick(s.size()), n = pick(64);
        s.insert(pick(s.size()), s.substr(a, n));
        return;
      }
      default: {  // change a digit run into something huge
        size_t p = s.find_first_of("0123456789", pick(s.size()));
        if (p != std::string::npos) s.insert(p, coin(2) ? "99999999999999999999" : "-");
        return;
      }
    }
  }

 private:
  std::mt19937_64 rng_;
};

// Build, count and summarize; true if it loaded, false if it threw llmcost::Error.
// Any other exception fails the test with the seed that reproduces it.
bool exercise(const std::function<ModelIR()>& load, uint64_t seed, const std::string& what) {
  try {
    Analysis a = analyze(load());
    // Invariants that must hold for anything accepted.
    int64_t sum = 0;
    for (auto x : a.params.breakdown) sum += x;
    EXPECT_EQ(sum, a.params.total) << "seed " << seed << " " << what;
    EXPECT_LE(a.params.active, a.params.total) << "seed " << seed << " " << what;
    EXPECT_GE(a.params.active_compute, 0) << "seed " << seed << " " << what;
    return true;
  } catch (const Error& e) {
    std::string msg = e.what();
    EXPECT_FALSE(msg.empty()) << "seed " << seed;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << "seed " << seed << " " << what << ": " << msg;
    return false;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "seed " << seed << " " << what << ": non-llmcost exception: " << e.what();
  } catch (...) {
    ADD_FAILURE() << "seed " << seed << " " << what << ": unknown exception";
  }
  return false;
}

TEST(ConfigFuzz, MutatedBundledConfigsOnlyThrowLlmcostError) {
  const Corpus& c = corpus();
  ASSERT_FALSE(c.trees.empty());
  const double seconds = env_double("LLMCOST_FUZZ_SECONDS", 10.0);
  const uint64_t base = static_cast<uint64_t>(env_double("LLMCOST_FUZZ_SEED", 1.0));
  const auto start = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };

  int64_t iterations = 0, loaded = 0;
  for (uint64_t i = 0; elapsed() < seconds || iterations < 50; ++i, ++iterations) {
    const uint64_t seed = base + i;
    Mutator m(seed);
    const size_t which = m.pick(c.trees.size());
    const std::string what = c.names[which];
    if (m.coin(2)) {
      Value tree = c.trees[which];
      const size_t n = 1 + m.pick(4);
      for (size_t k = 0; k < n; ++k) m.mutate_tree(tree);
      loaded += exercise([&] { return build_model_ir(tree, what + ".json"); }, seed, what + " (tree)");
    } else {
      std::string text = c.texts[which];
      const size_t n = 1 + m.pick(3);
      for (size_t k = 0; k < n; ++k) m.mutate_text(text);
      const bool yaml = m.coin(3);
      loaded += exercise(
          [&] {
            Value v = yaml ? parse_yaml(text, what + ".yaml") : parse_json(text, what + ".json");
            return build_model_ir(v, what + (yaml ? ".yaml" : ".json"));
          },
          seed, what + (yaml ? " (yaml bytes)" : " (json bytes)"));
    }
    if (::testing::Test::HasFailure()) break;  // stop at the first failing seed
  }
  RecordProperty("iterations", std::to_string(iterations));
  RecordProperty("loaded", std::to_string(loaded));
  std::printf("config fuzz: %lld iterations in %.1f s (seeds %llu..%llu), %lld loaded\n",
              static_cast<long long>(iterations), elapsed(), static_cast<unsigned long long>(base),
              static_cast<unsigned long long>(base + iterations - 1), static_cast<long long>(loaded));
  // The mutations must not be so destructive that nothing ever loads (the test would then
  // only exercise error paths).
  EXPECT_GT(loaded, iterations / 20);
}

}  // namespace
}  // namespace llmcost
