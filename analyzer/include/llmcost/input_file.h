// Reading files that other people wrote: regular files only (a FIFO or device is refused at
// once rather than blocking), with a size cap checked before a byte is read or parsed.
#pragma once

#include <cstdint>
#include <string>

namespace llmcost {

// What a kind of input may be: its size, checked before reading, and how many values its parsed
// tree may hold, checked while parsing (a parsed value costs ~100 bytes, so the byte cap alone
// would still let a file of small numbers take gigabytes). Both are far above any real file.
struct InputLimits {
  const char* what;    // "config", "YAML file", "run/CI file": named in the error
  uint64_t max_bytes;
  int64_t max_values;
};

// Model configs (config.json: kilobytes; with a label map, under 1 MiB).
inline constexpr InputLimits kConfigInput{"config", uint64_t(16) << 20, int64_t(1) << 20};
// Hardware, scenario and model YAML (kilobytes). yaml-cpp builds its own node tree before ours
// (~150 bytes per input byte for a flow sequence), so the cap is tighter than for JSON.
inline constexpr InputLimits kYamlInput{"YAML file", uint64_t(4) << 20, int64_t(1) << 20};
// `llmcost run` JSON, Google Benchmark JSON, CI baselines and safetensors indexes (a baseline of
// 100,000 measurements is ~20 MB and 700,000 values; a 90,000-tensor index ~10 MB and 180,000).
inline constexpr InputLimits kRecordInput{"run/CI file", uint64_t(256) << 20, int64_t(1) << 21};

// Opens `path` for reading without blocking and checks that it is a regular file; returns the
// file descriptor (the caller closes it) and its size. Throws Error "PATH: cannot read file (...)"
// when it is missing or unreadable, or is a directory, a named pipe, a device or a socket.
int open_regular_file(const std::string& path, uint64_t* size_bytes);

// The whole file, refused before reading when it is larger than limits.max_bytes.
std::string read_input_file(const std::string& path, const InputLimits& limits);

// Human words for why `path` is not a regular file ("a named pipe", "a directory", ...),
// or "" when it is one or does not exist: for lookups that try a name as a path first.
std::string non_regular_kind(const std::string& path);

}  // namespace llmcost
