// Formatting helpers shared by the writers: units, plain-text tables.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "llmcost/parallel.h"

namespace llmcost {

// A parallel layout in words: "1 device", "tp=4", "tp=2, pp=2".
std::string format_layout(const ParallelConfig& c);

// 7241732096 -> "7.242 B" (B = 1e9 parameters); small counts in M or K.
std::string format_count(int64_t n);
// 7241732096 -> "7,241,732,096"
std::string format_thousands(int64_t n);
// Bytes in decimal GB (1e9) with 2 decimals: "14.48 GB".
std::string format_gb(double bytes);
// Bytes in GiB (2^30): "13.49 GiB".
std::string format_gib(double bytes);

// A plain-text table: header row, rule, rows; columns right-aligned unless marked left.
class TextTable {
 public:
  explicit TextTable(std::vector<std::string> header, std::vector<bool> left_aligned = {});
  void add_row(std::vector<std::string> row);
  std::string render() const;

 private:
  std::vector<std::string> header_;
  std::vector<bool> left_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace llmcost
