// The CUDA backend's staging of host arrays (positions, sequences, window starts, token ids,
// expert rows and weights): copied into pinned host memory, then asynchronously to the device on
// the backend's stream, each put at its own offset of one buffer pair. Host-only logic over a
// memory interface, so tests/runner/cuda_staging_test.cpp checks it on the CPU with a fake.
//
// The rule that keeps it safe: a region handed out is neither rewritten nor freed before the
// stream has drained (recycle()). An op stages several arrays before its kernel is queued
// (attention: seq, pos and lo), so a put that does not fit must not wrap onto the regions of
// the earlier puts, nor free their buffer: the full pair is retired (freed at the next recycle)
// and a larger pair allocated. Between two drains the ring thus grows to what one drain interval
// stages (twice at most), then stays.
//
// Mem: char* alloc_host(size_t), char* alloc_dev(size_t), void free_host(char*),
// void free_dev(char*), void copy(char* dev, const char* host, size_t bytes) (queued on the stream).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <vector>

namespace llmcost {
namespace cudak {

template <class Mem>
class StagingRing {
 public:
  static constexpr size_t kAlign = 256, kMinBytes = size_t{1} << 20;

  explicit StagingRing(Mem& mem) : mem_(mem) {}
  ~StagingRing() {
    free_retired();
    if (host_) mem_.free_host(host_);
    if (dev_) mem_.free_dev(dev_);
  }
  StagingRing(const StagingRing&) = delete;
  StagingRing& operator=(const StagingRing&) = delete;

  // Device address of a copy of src[0, bytes), valid until the recycle() after its use.
  const char* put(const void* src, size_t bytes) {
    const size_t need = (std::max<size_t>(bytes, 1) + kAlign - 1) / kAlign * kAlign;
    if (off_ + need > cap_) {
      const size_t want = std::max(need, std::max(2 * cap_, kMinBytes));
      if (host_) retired_host_.push_back(host_);
      if (dev_) retired_dev_.push_back(dev_);
      host_ = dev_ = nullptr;
      cap_ = off_ = 0;
      host_ = mem_.alloc_host(want);
      dev_ = mem_.alloc_dev(want);
      cap_ = want;
    }
    if (bytes > 0) {
      std::memcpy(host_ + off_, src, bytes);
      mem_.copy(dev_ + off_, host_ + off_, bytes);
    }
    const char* out = dev_ + off_;
    off_ += need;
    return out;
  }
  // The caller synchronized the stream: every region may be reused, retired buffers freed.
  void recycle() {
    off_ = 0;
    free_retired();
  }
  size_t capacity() const { return cap_; }

 private:
  void free_retired() {
    for (char* p : retired_host_) mem_.free_host(p);
    for (char* p : retired_dev_) mem_.free_dev(p);
    retired_host_.clear();
    retired_dev_.clear();
  }

  Mem& mem_;
  std::vector<char*> retired_host_, retired_dev_;
  char* host_ = nullptr;
  char* dev_ = nullptr;
  size_t cap_ = 0, off_ = 0;
};

}  // namespace cudak
}  // namespace llmcost
