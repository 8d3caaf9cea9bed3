// Wildcard matching without backtracking blow-up: patterns come from files other people wrote
// (a config's modules_to_not_convert, a CI --declare), so the time is linear-bounded, never
// exponential in the number of '*'.
#pragma once

#include <string_view>

namespace llmcost {

// '*' matches any run of characters (including none); everything else matches itself.
// Two pointers with one remembered '*': O(|pattern| x |text|) at worst, usually linear.
bool wildcard_match(std::string_view pattern, std::string_view text);

// Module-path glob as transformers' modules_to_not_convert uses it: '*' matches within one
// dot-separated component ("model.layers.*.self_attn"), never across a '.'.
bool module_glob_match(std::string_view pattern, std::string_view path);

}  // namespace llmcost
