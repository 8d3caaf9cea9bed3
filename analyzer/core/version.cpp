// The llmcost version: project(VERSION) in the top-level CMakeLists.txt, the one place it is set,
// plus `git describe` of the source tree when CMake was configured (absent outside a git checkout).
#include "llmcost/version.h"

#include "llmcost_version_generated.h"

namespace llmcost {

const char* version() { return LLMCOST_VERSION; }

const char* git_describe() { return LLMCOST_GIT_DESCRIBE; }

std::string version_stamp() {
  std::string out = LLMCOST_VERSION;
  if (*LLMCOST_GIT_DESCRIBE) out += std::string(" (git ") + LLMCOST_GIT_DESCRIBE + ")";
  return out;
}

std::string version_line() { return "llmcost " + version_stamp(); }

}  // namespace llmcost
