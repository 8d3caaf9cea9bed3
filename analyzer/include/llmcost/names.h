// Name matching shared by every lookup of a bundled thing (hardware, models): case-folding and the
// "did you mean" suggestions for an unknown name.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace llmcost {

// ASCII lower case (names are compared without regard to case).
std::string lower_ascii(const std::string& s);
// Levenshtein distance (single-character insertions, deletions, substitutions).
size_t edit_distance(const std::string& a, const std::string& b);
// Up to five of `candidates` close to `given` for a "did you mean" (those containing it first,
// then by edit distance), comma-separated; empty when none is close.
std::string closest_names(const std::string& given, const std::vector<std::string>& candidates);
// The same where a candidate is matched by one name and shown by another ({alias, its full id}):
// each shown name appears once.
std::string closest_names_shown(const std::string& given, const std::vector<std::pair<std::string, std::string>>& candidates);

}  // namespace llmcost
