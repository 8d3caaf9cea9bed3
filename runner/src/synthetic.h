// Deterministic numbers of the runner: synthetic weights and KV caches (weights.cpp) and forced
// routing draws (executor) come from (stream, index) hashes, so a seed reproduces a run anywhere.
// mix64, unit and synthetic_kv_unit also run on the GPU (the CUDA backend's fill_kv kernel).
#pragma once

#include <cstdint>
#include <string>

#include "hd.h"

namespace llmcost {

LLMCOST_HD uint64_t mix64(uint64_t z) {
  z += 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}
inline uint64_t hash_name(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}
// Uniform in [-1, 1) from (stream, index).
LLMCOST_HD float unit(uint64_t stream, uint64_t i) {
  return static_cast<float>(static_cast<double>(mix64(stream ^ mix64(i)) >> 11) * (2.0 / 9007199254740992.0) - 1.0);
}
// Synthetic KV value i (position-major: position x head_dim + dim) of sequence `seq`'s KV head
// `head` (of `heads`), keys or values, in the cache stream of one attention op
// (synthetic_kv_stream in weights.h).
LLMCOST_HD float synthetic_kv_unit(uint64_t op_stream, int64_t seq, int64_t heads, int64_t head, bool value, int64_t i) {
  return unit(op_stream ^ mix64(static_cast<uint64_t>((seq * heads + head) * 2 + (value ? 1 : 0))), static_cast<uint64_t>(i));
}

}  // namespace llmcost
