// The CUDA backend's staging ring (runner/src/cuda/staging_ring.h) on the CPU with a fake memory
// interface that plays the device: every put's device region is "in use" until the next recycle()
// (the stream drained), as the kernels queued after it read it. Neither a later put's copy nor a
// free may touch a region in use; each kernel finds the bytes it was given.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <random>
#include <set>
#include <vector>

#include "../../runner/src/cuda/staging_ring.h"

namespace llmcost {
namespace {

struct FakeMem {
  struct Region {
    const char* p;
    size_t n;
    std::vector<char> expect;  // what the kernel reading it must find
  };
  std::vector<std::unique_ptr<std::vector<char>>> blocks;  // every allocation (kept to detect use after free)
  std::set<const char*> live;
  std::vector<Region> in_use;  // device regions handed out since the last drain
  int frees_of_live_in_use = 0, overwrites_in_use = 0;

  char* alloc(size_t n) {  // 256-byte aligned, as cudaMalloc / cudaMallocHost
    blocks.push_back(std::make_unique<std::vector<char>>(n + 256));
    std::vector<char>& b = *blocks.back();
    char* p = b.data() + (256 - reinterpret_cast<uintptr_t>(b.data()) % 256) % 256;
    live.insert(p);
    return p;
  }
  char* alloc_host(size_t n) { return alloc(n); }
  char* alloc_dev(size_t n) { return alloc(n); }
  void release(char* p) {
    for (const Region& r : in_use)
      for (const auto& b : blocks)
        if (p >= b->data() && p < b->data() + b->size() && r.p >= b->data() && r.p < b->data() + b->size())
          ++frees_of_live_in_use;
    live.erase(p);
  }
  void free_host(char* p) { release(p); }
  void free_dev(char* p) { release(p); }
  void copy(char* dev, const char* host, size_t n) {
    for (const Region& r : in_use)
      if (dev < r.p + r.n && r.p < dev + n) ++overwrites_in_use;
    std::memcpy(dev, host, n);
  }
};

// A staged region still holds what was staged (an empty one trivially: memcmp may not see null).
bool same(const FakeMem::Region& r) { return r.n == 0 || std::memcmp(r.p, r.expect.data(), r.n) == 0; }

TEST(CudaStaging, RegionsStayIntactAndAliveUntilTheStreamDrains) {
  std::mt19937 rng(3);
  FakeMem mem;
  {
    cudak::StagingRing<FakeMem> ring(mem);
    for (int op = 0; op < 1000; ++op) {
      // An op stages 1..3 arrays (sizes from a few bytes to past the ring's capacity), then its
      // kernel "runs" later: the regions must still hold what was staged when the stream drains.
      const int arrays = 1 + static_cast<int>(rng() % 3);
      for (int a = 0; a < arrays; ++a) {
        const size_t n = rng() % 8 == 0 ? 200000 + rng() % 900000 : rng() % 4000;
        std::vector<char> src(n);
        for (char& c : src) c = static_cast<char>(rng());
        const char* d = ring.put(src.data(), n);
        ASSERT_EQ(reinterpret_cast<uintptr_t>(d) % 256, 0u);
        mem.in_use.push_back({d, n, src});
      }
      if (rng() % 20 == 0) {  // a drain: every kernel has read its regions
        for (const auto& r : mem.in_use) ASSERT_TRUE(same(r)) << "op " << op;
        mem.in_use.clear();
        ring.recycle();
      }
    }
    for (const auto& r : mem.in_use) ASSERT_TRUE(same(r));
    EXPECT_EQ(mem.overwrites_in_use, 0);
    EXPECT_EQ(mem.frees_of_live_in_use, 0);
    mem.in_use.clear();
    ring.recycle();
    // Retired pairs are freed at the drain: only the current pair is left.
    EXPECT_EQ(mem.live.size(), 2u);
    // It grew to about what one drain interval stages, not without bound.
    EXPECT_LE(ring.capacity(), size_t{64} << 20);
  }
  EXPECT_TRUE(mem.live.empty());
}

// The case that broke the first version: an op's second array does not fit after its first, so
// the ring must neither wrap onto the first one's region nor free its buffer.
TEST(CudaStaging, AnOverflowingPutKeepsTheEarlierPutsOfTheOp) {
  FakeMem mem;
  cudak::StagingRing<FakeMem> ring(mem);
  const size_t cap = cudak::StagingRing<FakeMem>::kMinBytes;
  std::vector<char> a(cap - 512, 'a'), b(cap - 512, 'b'), c(2 * cap, 'c');
  const char* pa = ring.put(a.data(), a.size());
  mem.in_use.push_back({pa, a.size(), a});
  const char* pb = ring.put(b.data(), b.size());  // does not fit: a fresh pair, `a` retired
  mem.in_use.push_back({pb, b.size(), b});
  const char* pc = ring.put(c.data(), c.size());  // larger than the ring: another pair
  mem.in_use.push_back({pc, c.size(), c});
  for (const auto& r : mem.in_use) EXPECT_TRUE(same(r));
  EXPECT_EQ(mem.overwrites_in_use, 0);
  EXPECT_EQ(mem.frees_of_live_in_use, 0);
  EXPECT_EQ(mem.live.size(), 6u);  // three pairs until the drain
  mem.in_use.clear();
  ring.recycle();
  EXPECT_EQ(mem.live.size(), 2u);
  EXPECT_GE(ring.capacity(), c.size());
}

}  // namespace
}  // namespace llmcost
