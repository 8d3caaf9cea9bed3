// Deterministic numbers of the runner: synthetic weights and KV caches (weights.cpp) and forced
// routing draws (executor) come from (stream, index) hashes, so a seed reproduces a run anywhere.
#pragma once

#include <cstdint>
#include <string>

namespace llmcost {

inline uint64_t mix64(uint64_t z) {
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
inline float unit(uint64_t stream, uint64_t i) {
  return static_cast<float>(static_cast<double>(mix64(stream ^ mix64(i)) >> 11) * (2.0 / 9007199254740992.0) - 1.0);
}

}  // namespace llmcost
