// Tests of the NVTX ranges (names registered once, push/pop per profiler range, the decorator
// profiler, CuptiProfiler pushing them) against a fake NvtxApi.
#include <gtest/gtest.h>

#include <map>
#include <thread>

#include "llmcost/cupti_profiler.h"
#include "llmcost/nvtx.h"

namespace llmcost {
namespace {

struct FakeNvtxState {
  std::vector<std::string> registered;  // in registration order
  std::vector<std::string> events;      // "push NAME" / "pop"
  std::map<const void*, std::string> names;
  int depth = 0;
};

class FakeNvtx : public NvtxApi {
 public:
  explicit FakeNvtx(FakeNvtxState* s) : s_(s) {}
  Handle register_name(const std::string& name) override {
    s_->registered.push_back(name);
    // A distinct non-null handle per registration (like nvtxStringHandle_t).
    Handle h = reinterpret_cast<Handle>(static_cast<uintptr_t>(s_->registered.size()));
    s_->names[h] = name;
    return h;
  }
  void push(Handle h) override {
    ++s_->depth;
    s_->events.push_back("push " + s_->names.at(h));
  }
  void pop() override {
    ASSERT_GT(s_->depth, 0) << "NVTX pop without push";
    --s_->depth;
    s_->events.push_back("pop");
  }

 private:
  FakeNvtxState* s_;
};

TEST(Nvtx, EachNameIsRegisteredOnce) {
  FakeNvtxState s;
  NvtxRanges r(std::make_unique<FakeNvtx>(&s));
  EXPECT_TRUE(r.enabled());
  for (int step = 0; step < 3; ++step) {
    r.push("decode_step");
    r.push("layers.0.attn.q_proj");
    r.pop();
    r.pop();
  }
  EXPECT_EQ(s.registered, (std::vector<std::string>{"decode_step", "layers.0.attn.q_proj"}));
  EXPECT_EQ(r.registered_names(), 2u);
  ASSERT_EQ(s.events.size(), 12u);
  EXPECT_EQ(s.events[0], "push decode_step");
  EXPECT_EQ(s.events[1], "push layers.0.attn.q_proj");
  EXPECT_EQ(s.events[11], "pop");
  EXPECT_EQ(s.depth, 0);
}

TEST(Nvtx, NullApiIsANoOp) {
  NvtxRanges r(nullptr);
  EXPECT_FALSE(r.enabled());
  r.push("x");
  r.pop();
  EXPECT_EQ(r.registered_names(), 0u);
}

TEST(Nvtx, ProfilerDecoratorTimesWithTheInnerAndMirrorsRangesInNvtx) {
  FakeNvtxState s;
  NvtxProfiler p(std::make_unique<CpuProfiler>(), std::make_unique<FakeNvtx>(&s));
  EXPECT_STREQ(p.backend(), "cpu");
  p.push("decode_step", "step");
  p.push("layers.0.mlp", "op", 64, 128);
  p.annotate(1, 2);
  p.pop();
  p.pop();
  auto recs = p.records();
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[1].name, "layers.0.mlp");
  EXPECT_DOUBLE_EQ(recs[1].bytes, 65);
  EXPECT_EQ(s.events, (std::vector<std::string>{"push decode_step", "push layers.0.mlp", "pop", "pop"}));
  // An unbalanced pop is refused by the inner profiler before NVTX is touched.
  EXPECT_THROW(p.pop(), std::logic_error);
  EXPECT_EQ(s.events.size(), 4u);
  p.clear();
  EXPECT_TRUE(p.records().empty());
  EXPECT_THROW(NvtxProfiler(nullptr, nullptr), std::invalid_argument);
}

TEST(Nvtx, RangesOfSeveralThreadsBalance) {
  FakeNvtxState s;  // the fake is not thread-safe: the threads run one after the other
  NvtxProfiler p(std::make_unique<CpuProfiler>(), std::make_unique<FakeNvtx>(&s));
  for (int t = 0; t < 2; ++t) {
    std::thread th([&] {
      p.push("worker");
      p.pop();
    });
    th.join();
  }
  EXPECT_EQ(s.registered.size(), 1u);
  EXPECT_EQ(p.records().size(), 2u);
  EXPECT_EQ(s.depth, 0);
}

TEST(Nvtx, FactoryMatchesTheBuild) {
#ifdef LLMCOST_WITH_CUPTI
  // nvtx3 without a tool attached: every call is a no-op, never a crash.
  auto api = make_nvtx_api();
  ASSERT_NE(api, nullptr);
  NvtxRanges r(std::move(api));
  r.push("layers.0.attn.q_proj");
  r.pop();
  EXPECT_EQ(r.registered_names(), 1u);
#else
  EXPECT_EQ(make_nvtx_api(), nullptr);
#endif
  EXPECT_STREQ(kNvtxDomain, "llmcost");
}

}  // namespace
}  // namespace llmcost
